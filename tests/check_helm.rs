//! Helm charts in the tree rendered with their default values (the built-in template
//! interpreter), end to end through the binary on `fixtures/check/helm-chart`: a chart laid
//! out as `helm create` makes it, and one whose template calls a function that is not
//! followed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::copy_dir;

const FIXTURE: &str = "fixtures/check/helm-chart";

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

fn rules(service: &Value) -> Vec<(String, String, u64)> {
    service["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["file"].as_str().unwrap_or_default().to_owned(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn the_rendered_deployment_carries_the_values_env() {
    let report = check(Path::new(FIXTURE));
    let checkout = service(&report, "checkout");
    assert_eq!(checkout["verdict"], "pass", "{checkout}");
    assert_eq!(checkout["path"], "services/checkout");
    // Two services: the chart `checkout` is the service's deployment, not one more service.
    assert_eq!(report["summary"]["services"], 2, "{report}");
}

#[test]
fn values_without_otel_variables_fail_at_the_template_line() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    let values = dir.path().join("deploy/charts/checkout/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    let start = text.find("env:\n").unwrap();
    let end = text.find("service:\n").unwrap();
    std::fs::write(
        &values,
        format!("{}env: []\n\n{}", &text[..start], &text[end..]),
    )
    .unwrap();

    let report = check(dir.path());
    let checkout = service(&report, "checkout");
    assert_eq!(checkout["verdict"], "fail", "{checkout}");
    // The Deployment's `metadata.name` is line 4 of templates/deployment.yaml.
    assert!(
        rules(checkout).contains(&(
            "TG201".into(),
            "deploy/charts/checkout/templates/deployment.yaml".into(),
            4
        )),
        "{:?}",
        rules(checkout)
    );
}

#[test]
fn a_template_not_followed_is_a_note_and_its_values_stand_for_the_workload() {
    let report = check(Path::new(FIXTURE));
    let notes: Vec<(String, u64, String)> = report["repository_findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "TG199")
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        notes[0].0,
        "deploy/charts/legacy-gateway/templates/deployment.yaml"
    );
    assert_eq!(notes[0].1, 6);
    assert!(
        notes[0]
            .2
            .contains("Helm template not followed: the function `lookupCertificate`"),
        "{notes:?}"
    );
    let gateway = service(&report, "legacy-gateway");
    assert!(
        rules(gateway)
            .iter()
            .any(|(_, file, _)| file == "deploy/charts/legacy-gateway/values.yaml"),
        "{gateway}"
    );
}
