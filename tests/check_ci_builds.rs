//! Images built by CI and build scripts (GitHub Actions, GitLab CI, Makefiles, shell scripts,
//! bake files), end to end through the binary: what must not join. Broken files never fail
//! the check; a workflow `tracegate.yaml` excludes is not read; an image's last path segment
//! built from two directories joins neither. (The layouts that join are the shapes
//! `ci-built-images-actions`, `makefile-script-images`, `docker-bake-targets`,
//! `gitlab-ci-kaniko-images`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A traced Node service at `dir`, with its Dockerfile.
fn node_service(root: &Path, dir: &str, name: &str) {
    write(
        root,
        &format!("{dir}/package.json"),
        &format!(
            r#"{{"name":"{name}","scripts":{{"start":"node --require @opentelemetry/auto-instrumentations-node/register server.js"}},
"dependencies":{{"express":"4.21.1","@opentelemetry/api":"1.9.0","@opentelemetry/auto-instrumentations-node":"0.52.1"}}}}"#
        ),
    );
    write(
        root,
        &format!("{dir}/server.js"),
        "const express = require('express');\nconst app = express();\napp.get('/', async (req, res) => res.send(await (await fetch(process.env.UP)).text()));\napp.listen(8080);\n",
    );
    write(
        root,
        &format!("{dir}/Dockerfile"),
        "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nENV OTEL_PROPAGATORS=tracecontext,baggage\nCMD [\"npm\", \"start\"]\n",
    );
}

fn deployment(root: &Path, name: &str, image: &str) {
    write(
        root,
        &format!("deploy/{name}.yaml"),
        &format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          image: {image}\n          env:\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://collector:4317\n            - name: OTEL_SERVICE_NAME\n              value: {name}\n"
        ),
    );
}

/// (name, path) of every service, sorted; the check must not stop (exit 0 or 1).
fn services(root: &Path) -> Vec<(String, String)> {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(root)
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<(String, String)> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    names.sort();
    names
}

const WORKFLOW: &str = "jobs:\n  build:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          context: services/ledger\n          tags: ghcr.io/${{ github.repository_owner }}/shop-ledger:${{ github.sha }}\n";

#[test]
fn a_workflow_joins_and_an_excluded_one_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    node_service(root, "services/ledger", "ledger");
    deployment(root, "shop-ledger", "ghcr.io/acme/shop-ledger:1.0.0");
    write(root, ".github/workflows/images.yml", WORKFLOW);
    assert_eq!(
        services(root),
        [("shop-ledger".to_string(), "services/ledger".to_string())]
    );
    write(
        root,
        "tracegate.yaml",
        "exclude:\n  - .github/workflows/images.yml\n",
    );
    assert_eq!(
        services(root),
        [
            ("ledger".to_string(), "services/ledger".to_string()),
            ("shop-ledger".to_string(), "deploy".to_string()),
        ]
    );
}

#[test]
fn a_segment_two_directories_build_joins_neither() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    node_service(root, "services/ledger", "ledger");
    node_service(root, "legacy/ledger-v1", "ledger-v1");
    deployment(root, "shop-ledger", "ghcr.io/acme/shop-ledger:1.0.0");
    write(root, ".github/workflows/images.yml", WORKFLOW);
    write(
        root,
        "Makefile",
        "legacy:\n\tdocker build -t registry.example.com/old/shop-ledger legacy/ledger-v1\n",
    );
    assert_eq!(
        services(root),
        [
            ("ledger".to_string(), "services/ledger".to_string()),
            ("ledger-v1".to_string(), "legacy/ledger-v1".to_string()),
            ("shop-ledger".to_string(), "deploy".to_string()),
        ]
    );
}

#[test]
fn broken_ci_files_never_stop_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    node_service(root, "services/ledger", "ledger");
    deployment(root, "shop-ledger", "ghcr.io/acme/shop-ledger:1.0.0");
    write(
        root,
        ".github/workflows/broken.yml",
        "jobs: [docker build\n  - :\n",
    );
    write(
        root,
        ".gitlab-ci.yml",
        "build:\n  script: [\"docker build -t x .\"\n",
    );
    write(
        root,
        "Makefile",
        "x:\n\tdocker build -t $(shell \"unterminated\n",
    );
    write(root, "docker-bake.hcl", "target \"x\" { tags = [\"a\"\n");
    write(root, "docker-bake.json", "{\"target\": ");
    write(
        root,
        "scripts/build.sh",
        "for x in $(; do docker build -t \"x",
    );
    // Nothing builds `shop-ledger` readably: as without CI files.
    assert_eq!(
        services(root),
        [
            ("ledger".to_string(), "services/ledger".to_string()),
            ("shop-ledger".to_string(), "deploy".to_string()),
        ]
    );
}
