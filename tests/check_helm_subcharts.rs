//! Issue 18 leftovers: an umbrella chart's dependency switches, without the helm binary and
//! with it (`TRACEGATE_HELM`, from `.ci/setup` or PATH; the helm half is skipped without one).
//! Starts from the shape `helm-umbrella-chart` (its `legacy-admin` subchart, off by
//! `condition: legacy-admin.enabled`), switched instead by `tags:` in the parent's values and
//! by the subchart's own default; each with its twin that turns it on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

#[path = "common/tree.rs"]
mod tree;

fn helm() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for venv in [
        manifest.join(".venv/bin/helm"),
        manifest.join("../../main/.venv/bin/helm"),
    ] {
        if venv.is_file() {
            return Some(venv);
        }
    }
    std::process::Command::new("helm")
        .arg("version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("helm"))
}

/// The names of the services `check` reports, with `helm` as the helm binary ("" none).
fn names(root: &Path, helm: &str) -> Vec<String> {
    let json = tree::check_json(root, &[("TRACEGATE_HELM", helm)]);
    let mut names: Vec<String> = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// The shape with `edit` applied to (file, from, to) triples.
fn shape(edits: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let from =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check/shapes/helm-umbrella-chart");
    let dir = tempfile::tempdir().unwrap();
    tree::copy_dir(&from, dir.path());
    for (rel, a, b) in edits {
        let path = dir.path().join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(a), "{rel}: no {a:?}");
        std::fs::write(path, text.replace(a, b)).unwrap();
    }
    dir
}

const CHART: &str = "deploy/shop/Chart.yaml";
const VALUES: &str = "deploy/shop/values.yaml";
const OWN: &str = "deploy/shop/charts/legacy-admin/values.yaml";
const CONDITION: &str = "    condition: legacy-admin.enabled\n";
const SWITCH: &str = "legacy-admin:\n  enabled: false\n";

#[test]
fn tags_and_subchart_defaults_switch_subcharts_off() {
    let without = ["cart", "checkout", "reviews"];
    let with = ["cart", "checkout", "reviews", "shop-legacy-admin"];
    let cases: Vec<(&str, tempfile::TempDir, &[&str])> = vec![
        (
            "tags: legacy: false",
            shape(&[
                (CHART, CONDITION, "    tags:\n      - legacy\n"),
                (VALUES, SWITCH, "tags:\n  legacy: false\n"),
            ]),
            &without,
        ),
        (
            "tags: legacy: true",
            shape(&[
                (CHART, CONDITION, "    tags:\n      - legacy\n"),
                (VALUES, SWITCH, "tags:\n  legacy: true\n"),
            ]),
            &with,
        ),
        (
            "a condition beats the tags",
            shape(&[
                (
                    CHART,
                    CONDITION,
                    "    condition: legacy-admin.enabled\n    tags:\n      - legacy\n",
                ),
                (
                    VALUES,
                    SWITCH,
                    "tags:\n  legacy: true\nlegacy-admin:\n  enabled: false\n",
                ),
            ]),
            &without,
        ),
        (
            "the subchart's own default: enabled: false",
            shape(&[
                (VALUES, SWITCH, ""),
                (
                    OWN,
                    "replicaCount: 1\n",
                    "enabled: false\nreplicaCount: 1\n",
                ),
            ]),
            &without,
        ),
        (
            "the subchart's own default, the parent turns it on",
            shape(&[
                (VALUES, SWITCH, "legacy-admin:\n  enabled: true\n"),
                (
                    OWN,
                    "replicaCount: 1\n",
                    "enabled: false\nreplicaCount: 1\n",
                ),
            ]),
            &with,
        ),
    ];
    let helm = helm();
    if helm.is_none() {
        eprintln!("helm not installed: the helm half is skipped");
    }
    for (why, dir, want) in &cases {
        assert_eq!(names(dir.path(), ""), *want, "{why}");
        if let Some(h) = &helm {
            assert_eq!(
                names(dir.path(), h.to_str().unwrap()),
                *want,
                "{why}, with helm"
            );
        }
    }
}

/// A Flask service `api` whose chart's own Deployment takes its export endpoint from
/// `.Values.otel.endpoint`, which the chart imports from its vendored `otel-defaults`
/// subchart (`import-values: [{child: otel, parent: otel}]`); `chart` edits the Chart.yaml.
fn importing(root: &Path, chart_deps: &str) {
    use tree::write;
    tree::flask_api_service(root);
    write(
        root,
        "deploy/charts/api/Chart.yaml",
        &format!("apiVersion: v2\nname: api\nversion: 0.3.0\nappVersion: \"1.4.2\"\ndependencies:\n{chart_deps}"),
    );
    write(
        root,
        "deploy/charts/api/values.yaml",
        "image:\n  repository: ghcr.io/acme/api\n",
    );
    write(
        root,
        "deploy/charts/api/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector:\n    matchLabels:\n      app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n    spec:\n      containers:\n        - name: api\n          image: \"{{ .Values.image.repository }}:{{ .Chart.AppVersion }}\"\n          env:\n            - name: OTEL_SERVICE_NAME\n              value: {{ .Release.Name }}\n            {{- with .Values.otel }}\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: {{ .endpoint | quote }}\n            {{- end }}\n",
    );
    write(
        root,
        "deploy/charts/api/charts/otel-defaults/Chart.yaml",
        "apiVersion: v2\nname: otel-defaults\nversion: 0.1.0\n",
    );
    write(
        root,
        "deploy/charts/api/charts/otel-defaults/values.yaml",
        "otel:\n  endpoint: http://otel-collector.observability:4317\n",
    );
}

/// (verdict of `api` and its rules, the repository's findings' rules and lines).
fn api(root: &Path, helm: &str) -> (String, Vec<String>, Vec<String>) {
    let json = tree::check_json(root, &[("TRACEGATE_HELM", helm)]);
    let s = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "api")
        .unwrap_or_else(|| panic!("{json:#}"));
    let rules = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    let repo = json["repository_findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    format!(
                        "{} {}:{}",
                        f["rule"].as_str().unwrap(),
                        f["file"].as_str().unwrap(),
                        f["line"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (s["verdict"].as_str().unwrap().to_string(), rules, repo)
}

#[test]
fn import_values_carry_the_endpoint_from_the_subchart_to_its_parent() {
    let plain = "  - name: otel-defaults\n    version: 0.1.0\n    import-values:\n      - child: otel\n        parent: otel\n";
    let dir = tempfile::tempdir().unwrap();
    importing(dir.path(), plain);
    let (verdict, rules, repo) = api(dir.path(), "");
    assert_eq!((verdict.as_str(), rules.len()), ("pass", 0), "{rules:?}");
    assert!(repo.is_empty(), "{repo:?}");
    if let Some(h) = helm() {
        assert_eq!(api(dir.path(), h.to_str().unwrap()).0, "pass", "with helm");
    }
    // Twin: nothing imported (no import-values): no endpoint, TG201.
    let dir = tempfile::tempdir().unwrap();
    importing(dir.path(), "  - name: otel-defaults\n    version: 0.1.0\n");
    let (verdict, rules, _) = api(dir.path(), "");
    assert_eq!(verdict, "fail");
    assert!(rules.contains(&"TG201".to_string()), "{rules:?}");
    // A path the subchart's values do not hold: a note at the Chart.yaml's import-values.
    let dir = tempfile::tempdir().unwrap();
    importing(
        dir.path(),
        &plain.replace("child: otel", "child: telemetry"),
    );
    let (_, _, repo) = api(dir.path(), "");
    assert_eq!(repo, ["TG199 deploy/charts/api/Chart.yaml:8"], "{repo:?}");
}
