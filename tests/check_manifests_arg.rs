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

/// A service repository with its own chart, whose defaults leave the endpoint empty: the
/// pipeline renders the release with each environment's values and pipes it in.
const CHART_REPO: &str = "fixtures/check/piped-helm-chart";

/// What `helm template quotes charts/quotes -f quotes-prod.yaml` prints, the endpoint set
/// (the tests put the value in place of `@ENDPOINT@`).
const RELEASE: &str = "---
# Source: quotes/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: quotes
  labels:
    app.kubernetes.io/name: quotes
    app.kubernetes.io/instance: quotes
    app.kubernetes.io/version: \"1.7.2\"
spec:
  type: ClusterIP
  ports:
    - port: 80
      targetPort: http
      name: http
  selector:
    app.kubernetes.io/name: quotes
    app.kubernetes.io/instance: quotes
---
# Source: quotes/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: quotes
  labels:
    app.kubernetes.io/name: quotes
    app.kubernetes.io/instance: quotes
    app.kubernetes.io/version: \"1.7.2\"
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: quotes
      app.kubernetes.io/instance: quotes
  template:
    metadata:
      labels:
        app.kubernetes.io/name: quotes
        app.kubernetes.io/instance: quotes
    spec:
      containers:
        - name: quotes
          image: \"ghcr.io/acme/quotes:1.7.2\"
          imagePullPolicy: IfNotPresent
          ports:
            - name: http
              containerPort: 8080
          env:
            - name: OTEL_SERVICE_NAME
              value: quotes
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: @ENDPOINT@
";

fn check_in(dir: &str, args: &[&str], stdin: &str) -> (Option<i32>, Value, String) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", dir, "--format", "json"])
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

/// Every finding of every service, as `rule file`.
fn findings(report: &Value) -> Vec<String> {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["findings"].as_array().unwrap())
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["file"].as_str().unwrap()
            )
        })
        .collect()
}

/// The piped release replaces the tree's chart: it is not rendered again with its defaults
/// (which leave the endpoint empty), so a release that sets the endpoint passes.
#[test]
fn a_piped_release_replaces_the_chart_in_the_tree() {
    // Twin: alone, the chart is rendered with its defaults and fails TG201 there.
    let (code, report, stderr) = check_in(CHART_REPO, &[], "");
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        findings(&report),
        ["TG201 charts/quotes/templates/deployment.yaml"],
        "{report:#}"
    );

    let release = RELEASE.replace("@ENDPOINT@", "http://otel-collector.observability:4318");
    let (code, report, stderr) = check_in(CHART_REPO, &["--manifests", "-"], &release);
    assert_eq!(findings(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["services"][0]["name"], "quotes");
    assert_eq!(report["services"][0]["verdict"], "pass");

    // The same release without an endpoint fails, at the stream alone.
    let release = RELEASE.replace("@ENDPOINT@", "\"\"");
    let (code, report, stderr) = check_in(CHART_REPO, &["--manifests", "-"], &release);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(findings(&report), ["TG201 <stdin>"], "{report:#}");
}

/// `kustomize build` output piped in replaces the tree's kustomize builds: the staging
/// overlay that lacks the endpoint is not built again beside it, and its files are no
/// workloads of their own.
#[test]
fn a_piped_kustomize_build_replaces_the_tree_builds() {
    let dir = "fixtures/check/shapes/kustomize-overlays";
    // Twin: alone, the staging build of checkoutservice fails TG201.
    let (code, report, _) = check_in(dir, &[], "");
    assert_eq!(code, Some(1));
    assert!(
        findings(&report)
            .iter()
            .any(|f| f.starts_with("TG201 kustomize/")),
        "{report:#}"
    );
    // What `kustomize build kustomize/overlays/production` prints for the two services.
    let mut build = String::new();
    for (name, image) in [
        ("frontend", "frontend"),
        ("checkoutservice", "checkoutservice"),
    ] {
        build.push_str(&format!(
            "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: boutique-production
spec:
  template:
    spec:
      containers:
        - name: server
          image: us-docker.pkg.dev/example/boutique/{image}:v0.10.1
          env:
            - name: OTEL_SERVICE_NAME
              value: {name}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: http://opentelemetrycollector:4317
"
        ));
    }
    let (code, report, stderr) = check_in(dir, &["--manifests", "-"], &build);
    let fired = findings(&report);
    assert!(
        !fired.iter().any(|f| f.contains(" kustomize/")),
        "{fired:?}"
    );
    assert_eq!(code, Some(0), "{stderr} {report:#}");
}
