//! Trees of files for the `check` tests: write one, copy one, list a fixture's subdirectories,
//! read its YAML, check one.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

/// Write `text` to `root/rel`, creating its directories.
pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A traced Flask service `api` under `services/api` (requirements, Dockerfile, app), for the
/// tests that deploy it with a Helm chart of their own.
pub fn flask_api_service(root: &Path) {
    write(
        root,
        "services/api/requirements.txt",
        "flask==3.0.3\nopentelemetry-sdk==1.27.0\nopentelemetry-exporter-otlp-proto-grpc==1.27.0\nopentelemetry-instrumentation-flask==0.48b0\n",
    );
    write(
        root,
        "services/api/Dockerfile",
        "FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n",
    );
    write(
        root,
        "services/api/app.py",
        "from flask import Flask\nfrom opentelemetry import trace\nfrom opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter\nfrom opentelemetry.instrumentation.flask import FlaskInstrumentor\nfrom opentelemetry.sdk.trace import TracerProvider\nfrom opentelemetry.sdk.trace.export import BatchSpanProcessor\n\nprovider = TracerProvider()\nprovider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))\ntrace.set_tracer_provider(provider)\napp = Flask(__name__)\nFlaskInstrumentor().instrument_app(app)\n",
    );
}

/// The names of the directories directly in `dir`, sorted.
pub fn subdirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `path` read as YAML into `T`; a panic names the file.
pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Copy the directory tree `from` into `to` (created), files and directories only.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `tracegate check . --format json` run in `root` (cargo never runs) with `env` set; a run
/// that is neither pass nor fail panics with its stderr.
pub fn check_json(root: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = assert_cmd::Command::cargo_bin("tracegate").unwrap();
    // A relative root: whatever the check runs elsewhere must be given absolute paths.
    cmd.current_dir(root)
        .args(["check", ".", "--format", "json"])
        .env("TRACEGATE_CARGO", "");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A finding as one line: `RULE file:line message`.
pub fn finding_line(f: &serde_json::Value) -> String {
    format!(
        "{} {}:{} {}",
        f["rule"].as_str().unwrap(),
        f["file"].as_str().unwrap_or_default(),
        f["line"].as_u64().unwrap_or_default(),
        f["message"].as_str().unwrap_or_default()
    )
}
