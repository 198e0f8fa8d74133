//! `tracegate check --format json` on the coverage fixture organisation: the `team`, `waived`
//! and `declared` additions (and their absence where no source names them).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

fn org(repo: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/coverage/org")
        .join(repo)
}

/// `check ROOT --format json --today 2026-11-29`: exit code and report.
fn check(root: &Path) -> (i32, Value) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .arg("check")
        .arg(root)
        .args(["--format", "json", "--today", "2026-11-29"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

fn summary(report: &Value) -> Vec<(String, String, Value)> {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["verdict"].as_str().unwrap().to_owned(),
                s.get("team").cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[test]
fn codeowners_teams_and_the_waiver_that_keeps_checkout_passing() {
    let (code, report) = check(&org("payments"));
    assert_eq!(code, 1, "ledger fails: {report:#}");
    assert_eq!(
        summary(&report),
        [
            ("checkout".into(), "pass".into(), json!("payments")),
            ("ledger".into(), "fail".into(), json!("payments")),
            ("pricing".into(), "pass".into(), json!("payments")),
        ]
    );
    let services = report["services"].as_array().unwrap();
    assert_eq!(
        services[0]["waived"],
        json!([{
            "rule": "TG105",
            "reason": "moving to the batch span processor with the exporter upgrade, PAY-1432",
            "expires": "2026-12-08"
        }])
    );
    assert!(services[1].get("waived").is_none());
    assert_eq!(services[1]["findings"][0]["rule"], "TG101");
    assert!(report.get("declared").is_none());
}

#[test]
fn tracegate_yaml_teams_and_an_unknown_ruby_service() {
    let (code, report) = check(&org("identity"));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        summary(&report),
        [
            ("accounts".into(), "pass".into(), json!("identity")),
            ("notifications".into(), "unknown".into(), json!("identity")),
        ]
    );
}

#[test]
fn backstage_owner_and_a_declared_component_no_discovery_found() {
    let (code, report) = check(&org("edge"));
    assert_eq!(
        code, 0,
        "a declared service does not fail check: {report:#}"
    );
    assert_eq!(
        summary(&report),
        [("gateway".into(), "pass".into(), json!("platform"))]
    );
    assert_eq!(
        report["declared"],
        json!([{"name": "search", "team": "platform", "source": "backstage", "file": "catalog-info.yaml"}])
    );
    // The summary counts discovered services only, as before.
    assert_eq!(report["summary"]["services"], 1);
}

#[test]
fn root_codeowners_and_a_client_without_injection() {
    let (code, report) = check(&org("risk"));
    assert_eq!(code, 1);
    assert_eq!(
        summary(&report),
        [("fraud-check".into(), "fail".into(), json!("risk"))]
    );
    assert_eq!(report["services"][0]["findings"][0]["rule"], "TG104");
}

#[test]
fn without_owner_sources_the_report_has_no_new_keys() {
    let monorepo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/monorepo");
    let (_, report) = check(&monorepo);
    for service in report["services"].as_array().unwrap() {
        assert!(service.get("team").is_none(), "{service:#}");
        assert!(service.get("waived").is_none(), "{service:#}");
    }
    assert!(report.get("declared").is_none());
}

#[test]
fn a_malformed_owner_file_is_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let svc = dir.path().join("svc");
    std::fs::create_dir_all(&svc).unwrap();
    std::fs::write(svc.join("go.mod"), "module example.com/svc\n\ngo 1.22\n").unwrap();
    std::fs::write(svc.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::write(
        dir.path().join(".github/CODEOWNERS"),
        "# owners\n* @acme/all\n!svc/ @acme/svc\n",
    )
    .unwrap();
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .arg("check")
        .arg(dir.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "tracegate: error: {}:3: `!svc/`: negation (`!`) is not supported",
        dir.path().join(".github/CODEOWNERS").display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    std::fs::remove_file(dir.path().join(".github/CODEOWNERS")).unwrap();
    std::fs::write(
        svc.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\nspec:\n  type: service\n",
    )
    .unwrap();
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .arg("check")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "tracegate: error: {}:1: Component `svc` without a `spec.owner`",
        svc.join("catalog-info.yaml").display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
}
