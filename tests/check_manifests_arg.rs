//! `check --manifests FILE|-`: rendered Kubernetes manifests (the output of `helm template` or
//! `kustomize build`) read beside the repository's own, end to end through the binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use serde_json::Value;

/// Python services `email`, `notifier` and `recommendation`; `email` passes on its code alone.
const SHAPE: &str = "fixtures/check/shapes/python-entrypoints";

/// What `helm template shop charts/shop` prints for the email service: a Deployment without
/// any OTEL_* variable, after a ConfigMap whose data holds `{{` (an alert template, not an
/// unrendered Helm template).
const RENDERED: &str = "---
# Source: shop/templates/alerts.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: alert-templates
data:
  slack.tmpl: '{{ define \"slack.title\" }}{{ .Status }}{{ end }}'
---
# Source: shop/templates/email.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: email
spec:
  template:
    spec:
      containers:
        - name: email
          image: registry.example.com/shop/email:2.3.0
";

fn check(args: &[&str], stdin: &str) -> (Option<i32>, Value, String) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", SHAPE, "--format", "json"])
        .args(args)
        .env("TRACEGATE_CARGO", "")
        .write_stdin(stdin)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn email(report: &Value) -> &Value {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "email")
        .unwrap()
}

#[test]
fn a_rendered_workload_on_stdin_is_judged_with_its_code() {
    // Twin: without the rendered manifests, email passes on its code alone.
    let (_, report, _) = check(&[], "");
    assert_eq!(email(&report)["verdict"], "pass");

    let (code, report, stderr) = check(&["--manifests", "-"], RENDERED);
    assert_eq!(code, Some(1), "{stderr}");
    let email = email(&report);
    assert_eq!(email["verdict"], "fail");
    let tg201 = email["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "TG201")
        .expect("TG201 for the Deployment without OTEL_* variables");
    assert_eq!(tg201["file"], "<stdin>");
    // The Deployment's `metadata.name` is on line 14 of the stream.
    assert_eq!(tg201["line"], 14);
    // No service is made of the ConfigMap, and the services count is the same.
    assert_eq!(report["summary"]["services"], 3);
}

#[test]
fn a_rendered_file_is_named_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, RENDERED).unwrap();
    let (code, report, stderr) = check(&["--manifests", file.to_str().unwrap()], "");
    assert_eq!(code, Some(1), "{stderr}");
    let files: Vec<&str> = email(&report)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["file"].as_str())
        .collect();
    assert!(
        files.contains(&file.to_str().unwrap()),
        "{files:?} should name {}",
        file.display()
    );
}

#[test]
fn bad_rendered_input_is_one_line_and_exit_2() {
    let cases: &[(&[&str], &[u8], &str, &str)] = &[
        (
            &["--manifests", "-"],
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata: [name: x\n",
            "<stdin>:",
            "invalid YAML in a Deployment: the line is named",
        ),
        (
            &["--manifests", "-"],
            b"apiVersion: v1\nkind: ConfigMap\ndata:\n  a: \"\xff\xfe\"\n",
            "--manifests <stdin>: not UTF-8 text",
            "binary input",
        ),
        (
            &["--manifests", "-", "--manifests", "-"],
            b"",
            "--manifests -: standard input can be given once",
            "stdin twice",
        ),
        (
            &["--manifests", "no/such/rendered.yaml"],
            b"",
            "--manifests no/such/rendered.yaml: cannot open",
            "a missing file",
        ),
    ];
    for (args, stdin, expected, why) in cases {
        let out = Command::cargo_bin("tracegate")
            .unwrap()
            .args(["check", SHAPE])
            .args(*args)
            .env("TRACEGATE_CARGO", "")
            .write_stdin(stdin.to_vec())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{why}: {stderr}");
        assert!(stderr.contains(expected), "{why}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{why}: one line: {stderr}"
        );
    }
}
