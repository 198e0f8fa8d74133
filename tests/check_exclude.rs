//! `tracegate.yaml` `exclude:`: paths and globs that hold no service, end to end through the
//! binary. The tree is a small platform repository with a samples folder (a runnable demo
//! app with a start script), a load-test harness (its own package.json and Dockerfile) and a
//! legacy deploy folder whose workload would otherwise become a service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A traced Node service in `services/api`, plus things that look like services.
fn platform(root: &Path) {
    write(
        root,
        "services/api/package.json",
        r#"{"name":"api","scripts":{"start":"node --require ./tracing.js server.js"},
"dependencies":{"express":"^4.19.2","@opentelemetry/sdk-node":"^0.52.0",
"@opentelemetry/auto-instrumentations-node":"^0.47.0"}}"#,
    );
    write(
        root,
        "services/api/tracing.js",
        "const { NodeSDK } = require('@opentelemetry/sdk-node');\n\
         const { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node');\n\
         new NodeSDK({ instrumentations: [getNodeAutoInstrumentations()] }).start();\n",
    );
    write(
        root,
        "services/api/server.js",
        "const express = require('express');\nconst app = express();\n\
         app.get('/health', (req, res) => res.send('ok'));\napp.listen(8080);\n",
    );
    write(
        root,
        "samples/quickstart/package.json",
        r#"{"name":"quickstart","scripts":{"start":"node index.js"},"dependencies":{"express":"^4.19.2"}}"#,
    );
    write(
        root,
        "samples/quickstart/index.js",
        "const express = require('express');\nexpress().listen(3000);\n",
    );
    write(
        root,
        "tools/loadtest/package.json",
        r#"{"name":"loadtest","scripts":{"start":"node run.js"},"dependencies":{"axios":"^1.7.0"}}"#,
    );
    write(
        root,
        "tools/loadtest/run.js",
        "const axios = require('axios');\nsetInterval(() => axios.get('http://api:8080/health'), 100);\n",
    );
    write(
        root,
        "deploy/legacy/reports.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: legacy-reports\nspec:\n  \
         template:\n    spec:\n      containers:\n        - name: reports\n          \
         image: registry.example.com/legacy-reports:1.4\n",
    );
}

/// `tracegate check ROOT`: exit code and standard error.
fn run_check(root: &Path) -> (Option<i32>, String) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .arg("check")
        .arg(root)
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn services(root: &Path) -> Vec<String> {
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
    let mut names: Vec<String> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn without_exclude_the_samples_harness_and_legacy_workload_are_services() {
    let dir = tempfile::tempdir().unwrap();
    platform(dir.path());
    assert_eq!(
        services(dir.path()),
        ["api", "legacy-reports", "loadtest", "quickstart"]
    );
}

#[test]
fn excluded_paths_and_globs_hold_no_service() {
    let dir = tempfile::tempdir().unwrap();
    platform(dir.path());
    write(
        dir.path(),
        "tracegate.yaml",
        "exclude:\n  - tools/loadtest/\n  - \"samples/**\"\n  - ./deploy/legacy\n",
    );
    assert_eq!(services(dir.path()), ["api"]);
    // The one service left passes: the gate passes.
    assert_eq!(run_check(dir.path()).0, Some(0));
}

#[test]
fn a_mistyped_exclude_path_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    platform(dir.path());
    write(
        dir.path(),
        "tracegate.yaml",
        "rules: {}\nexclude:\n  - samples\n  - tools/load-test\n",
    );
    let (code, stderr) = run_check(dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(":4: exclude[1]: `tools/load-test` does not exist under"),
        "{stderr}"
    );
}

#[test]
fn excluding_a_declared_service_or_the_root_or_a_bad_glob_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    platform(dir.path());
    write(
        dir.path(),
        "tracegate.yaml",
        "services:\n  - name: quickstart\n    path: samples/quickstart\n    team: devrel\n\
         exclude:\n  - \"samples/**\"\n  - .\n  - \"src/[a\"\n",
    );
    let (code, stderr) = run_check(dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    for expected in [
        "tracegate.yaml:3: services[0].path: `samples/quickstart` is excluded by `samples/**`",
        "tracegate.yaml:7: exclude[1]: must not be the repository root",
        "tracegate.yaml:8: exclude[2]: `src/[a` is not a valid glob",
    ] {
        assert!(stderr.contains(expected), "{expected} not in {stderr}");
    }
}

#[test]
fn a_maui_app_is_no_service_unless_declared() {
    let dir = tempfile::tempdir().unwrap();
    platform(dir.path());
    write(
        dir.path(),
        "mobile/ShopMobile/ShopMobile.csproj",
        "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <PropertyGroup>\n    \
         <TargetFrameworks>net8.0-android;net8.0-ios</TargetFrameworks>\n    \
         <OutputType>Exe</OutputType>\n    <UseMaui>true</UseMaui>\n  </PropertyGroup>\n  \
         <ItemGroup>\n    <PackageReference Include=\"Microsoft.Maui.Controls\" Version=\"8.0.70\" />\n  \
         </ItemGroup>\n</Project>\n",
    );
    write(
        dir.path(),
        "mobile/ShopMobile/MauiProgram.cs",
        "namespace ShopMobile;\n\npublic static class MauiProgram\n{\n    \
         public static object CreateMauiApp() => new object();\n}\n",
    );
    write(
        dir.path(),
        "tracegate.yaml",
        "exclude:\n  - tools/loadtest\n  - \"samples/**\"\n  - deploy/legacy\n",
    );
    assert_eq!(services(dir.path()), ["api"]);
    // Declared, it is a service with its project's dependencies (no SDK among them: TG101).
    write(
        dir.path(),
        "tracegate.yaml",
        "exclude:\n  - tools/loadtest\n  - \"samples/**\"\n  - deploy/legacy\nservices:\n  \
         - name: shop-mobile\n    path: mobile/ShopMobile\n    team: mobile\n",
    );
    assert_eq!(services(dir.path()), ["api", "shop-mobile"]);
}
