//! Code of the tree that is deployed only as infrastructure — a collector distribution built
//! here, or tracegate's own repository, whose binary runs only as its verifier Jobs — is
//! listed under `infrastructure`, never reported as a service failing for missing tracing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A platform repository: a traced Go `api`, and a custom OpenTelemetry Collector build in
/// `otelcol/` deployed by `deploy/collector.yaml` with the image `image`.
fn platform(root: &Path, image: &str) {
    write(
        root,
        "api/go.mod",
        "module github.com/acme/api\n\ngo 1.22\n\nrequire (\n\tgo.opentelemetry.io/otel v1.31.0\n\
         \tgo.opentelemetry.io/otel/sdk v1.31.0\n\tgo.opentelemetry.io/contrib/instrumentation/net/http/otelhttp v0.56.0\n)\n",
    );
    write(
        root,
        "api/main.go",
        "package main\n\nimport (\n\t\"net/http\"\n\n\t\"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp\"\n\
         \t\"go.opentelemetry.io/otel\"\n\t\"go.opentelemetry.io/otel/propagation\"\n\tsdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n)\n\n\
         func main() {\n\totel.SetTracerProvider(sdktrace.NewTracerProvider())\n\
         \totel.SetTextMapPropagator(propagation.TraceContext{})\n\
         \thttp.ListenAndServe(\":8080\", otelhttp.NewHandler(http.DefaultServeMux, \"api\"))\n}\n",
    );
    write(
        root,
        "otelcol/go.mod",
        "module github.com/acme/otelcol\n\ngo 1.22\n\nrequire go.opentelemetry.io/collector/otelcol v0.112.0\n",
    );
    write(
        root,
        "otelcol/main.go",
        "package main\n\nimport \"go.opentelemetry.io/collector/otelcol\"\n\n\
         func main() {\n\t_ = otelcol.CollectorSettings{}\n}\n",
    );
    write(
        root,
        "deploy/collector.yaml",
        &format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: otel-gateway\nspec:\n  template:\n    \
             spec:\n      containers:\n        - name: collector\n          image: {image}\n"
        ),
    );
}

fn check(root: &Path) -> (Option<i32>, Value) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(root)
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

#[test]
fn a_collector_built_here_and_deployed_as_one_is_infrastructure() {
    let dir = tempfile::tempdir().unwrap();
    platform(dir.path(), "ghcr.io/acme/otelcol:0.112.0");
    let (code, report) = check(dir.path());
    assert_eq!(code, Some(0), "{report}");
    let names: Vec<&str> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api"]);
    let gateway = &report["infrastructure"][0];
    assert_eq!(gateway["name"], "otel-gateway");
    assert_eq!(gateway["kind"], "collector");
    let places: Vec<(&str, &str)> = gateway["places"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["file"].as_str().unwrap(), p["workload"].as_str().unwrap()))
        .collect();
    assert_eq!(
        places,
        [
            ("deploy/collector.yaml", "Deployment"),
            ("otelcol/go.mod", "code")
        ]
    );
}

#[test]
fn the_same_code_deployed_under_another_image_name_stays_a_service() {
    // Twin: the image is not named after the code, and not a known infrastructure image: the
    // Deployment is an application workload, and `otelcol` a service judged like any other.
    let dir = tempfile::tempdir().unwrap();
    platform(dir.path(), "ghcr.io/acme/edge-gateway:3.1");
    let (_, report) = check(dir.path());
    let names: Vec<&str> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"otelcol"), "{names:?}");
    assert!(report.get("infrastructure").is_none(), "{report}");
}

#[test]
fn this_repository_has_no_service_only_its_verifier_jobs() {
    // tracegate's own repository: the crate runs only as the verifier Jobs of deploy/, so the
    // gate has nothing to judge (exit 2), and says what it found.
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .arg("check")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "no service found, only infrastructure, which is listed and never judged: \
             tracegate-coverage, tracegate-coverage-shards, tracegate-verify"
        ),
        "{stderr}"
    );
}
