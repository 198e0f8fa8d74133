//! kustomize trees built, not read file by file, end to end through the binary on
//! `fixtures/check/shapes/kustomize-overlays`: a base, a component generating the export
//! ConfigMap, and staging/production overlays of which only production patches the endpoint
//! into `checkoutservice`. Each positive case has its negative twin on a modified copy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::copy_dir;

const FIXTURE: &str = "fixtures/check/shapes/kustomize-overlays";

fn check(root: &Path) -> Value {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(root)
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn service<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service {name}: {report}"))
}

/// (rule, file, line, message) of a service's findings.
fn findings(report: &Value, name: &str) -> Vec<(String, String, u64, String)> {
    service(report, name)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["file"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    dir
}

fn edit(root: &Path, rel: &str, from: &str, to: &str) {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} holds no {from:?}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn overlays_are_built_and_a_finding_names_the_overlay_it_comes_from() {
    let report = check(Path::new(FIXTURE));
    assert_eq!(service(&report, "frontend")["verdict"], "pass", "{report}");
    let got = findings(&report, "checkoutservice");
    assert_eq!(got.len(), 1, "{got:?}");
    let (rule, file, line, message) = &got[0];
    assert_eq!(
        (rule.as_str(), file.as_str(), *line),
        ("TG201", "kustomize/base/checkoutservice.yaml", 4)
    );
    assert!(
        message.contains("kustomize/overlays/staging/kustomization.yaml")
            && !message.contains("production"),
        "only the staging build lacks the endpoint: {message}"
    );
}

#[test]
fn a_patch_file_no_kustomization_uses_is_read_as_a_workload_again() {
    // Negative twin of "the patch is no second copy": production no longer lists it.
    let dir = copy();
    edit(
        dir.path(),
        "kustomize/overlays/production/kustomization.yaml",
        "patches:\n  - path: checkoutservice-otel.yaml\n",
        "",
    );
    let got = findings(&check(dir.path()), "checkoutservice");
    assert!(
        got.iter().any(|(rule, file, _, _)| rule == "TG203"
            && file == "kustomize/overlays/production/checkoutservice-otel.yaml"),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|(rule, _, _, m)| rule == "TG201" && m.contains("overlays/production")),
        "without the patch production lacks the endpoint too: {got:?}"
    );
}

#[test]
fn the_generated_config_map_is_what_gives_frontend_its_endpoint() {
    // Negative twin of frontend passing: the component generates no ConfigMap.
    let dir = copy();
    edit(
        dir.path(),
        "kustomize/components/opentelemetry/kustomization.yaml",
        "configMapGenerator:\n  - name: otel-export\n    envs:\n      - otel-export.env\n",
        "",
    );
    let report = check(dir.path());
    assert_eq!(service(&report, "frontend")["verdict"], "fail");
}

#[test]
fn a_patch_deleting_an_env_entry_is_honoured_and_named() {
    let dir = copy();
    edit(
        dir.path(),
        "kustomize/overlays/production/checkoutservice-otel.yaml",
        "          env:\n",
        "          env:\n            - name: OTEL_SERVICE_NAME\n              $patch: delete\n",
    );
    let got = findings(&check(dir.path()), "checkoutservice");
    let tg203: Vec<_> = got.iter().filter(|(rule, ..)| rule == "TG203").collect();
    assert_eq!(tg203.len(), 1, "{got:?}");
    assert!(tg203[0]
        .3
        .contains("overlays/production/kustomization.yaml"));
}

#[test]
fn an_inline_json_patch_adds_the_endpoint_in_staging() {
    let dir = copy();
    edit(
        dir.path(),
        "kustomize/overlays/staging/kustomization.yaml",
        "images:\n",
        "patches:\n  - target:\n      kind: Deployment\n      name: checkoutservice\n    patch: |-\n      - op: add\n        path: /spec/template/spec/containers/0/env/-\n        value:\n          name: OTEL_EXPORTER_OTLP_ENDPOINT\n          value: http://opentelemetrycollector:4317\nimages:\n",
    );
    let report = check(dir.path());
    assert_eq!(
        service(&report, "checkoutservice")["verdict"],
        "pass",
        "{report}"
    );
}

#[test]
fn remote_bases_and_cycles_are_notes_not_stops() {
    let dir = copy();
    edit(
        dir.path(),
        "kustomize/overlays/staging/kustomization.yaml",
        "  - ../../base\n",
        "  - ../../base\n  - github.com/example/platform//deploy/base?ref=v1.2.0\n",
    );
    edit(
        dir.path(),
        "kustomize/base/kustomization.yaml",
        "  - checkoutservice.yaml\n",
        "  - checkoutservice.yaml\n  - ../loop\n",
    );
    std::fs::create_dir_all(dir.path().join("kustomize/loop")).unwrap();
    std::fs::write(
        dir.path().join("kustomize/loop/kustomization.yaml"),
        "resources:\n  - ../base\n",
    )
    .unwrap();
    let text = check(dir.path()).to_string();
    assert!(text.contains("remote resource"), "{text}");
    assert!(text.contains("cycle"), "{text}");
}

#[test]
fn a_base_under_an_excluded_path_is_not_read_by_the_overlays() {
    // Negative twin of the first test: with `kustomize/base` excluded, no build reads it,
    // so no workload of `checkoutservice` is judged (no TG201 naming staging).
    let dir = copy();
    std::fs::write(
        dir.path().join("tracegate.yaml"),
        "exclude:\n  - kustomize/base\n",
    )
    .unwrap();
    let report = check(dir.path());
    let got = findings(&report, "checkoutservice");
    assert!(got.iter().all(|(rule, ..)| rule != "TG201"), "{got:?}");
}
