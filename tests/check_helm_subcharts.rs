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
