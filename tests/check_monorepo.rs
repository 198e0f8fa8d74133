//! The engine on the fixture monorepo: discovery, attachment of Kubernetes configuration, and
//! findings, as an insta JSON snapshot of the Scan (serialized through the model types).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::{json, Value};
use tracegate::check::model::{Language, Scan};
use tracegate::check::{scan, DeclaredService, ScanOptions};

fn to_json(scan: &Scan) -> Value {
    json!({
        "services": scan.services.iter().map(|s| json!({
            "service": s.service,
            "analysed": s.analysed,
            "findings": s.findings,
        })).collect::<Vec<_>>(),
        "repository_findings": scan.repository_findings,
    })
}

/// Write `text` to `rel` under `root`, creating directories.
fn write_file(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The rules of a service's findings, by service name.
fn rules_of(scan: &Scan, name: &str) -> Vec<String> {
    let s = scan
        .services
        .iter()
        .find(|s| s.service.name == name)
        .unwrap_or_else(|| panic!("{name} missing"));
    s.findings.iter().map(|f| f.rule.clone()).collect()
}

fn monorepo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/monorepo")
}

#[test]
fn monorepo_scan_snapshot() {
    let scan = scan(&monorepo(), &ScanOptions::default()).unwrap();
    insta::assert_json_snapshot!("monorepo_scan", to_json(&scan));
}

#[test]
fn monorepo_discovery() {
    let scan = scan(&monorepo(), &ScanOptions::default()).unwrap();
    let names: Vec<(&str, Language, bool)> = scan
        .services
        .iter()
        .map(|s| (s.service.name.as_str(), s.service.language, s.analysed))
        .collect();
    assert_eq!(
        names,
        vec![
            ("accounts", Language::Rust, true),
            ("cart", Language::Go, true),
            ("Invoices", Language::Dotnet, true),
            ("ledger", Language::Java, true),
            ("legacy-billing", Language::Cpp, false),
            ("orders", Language::Python, true),
            ("pricing", Language::Rust, true),
            ("shipping", Language::Python, true),
            ("checkout-web", Language::Typescript, true),
        ]
    );
}

#[test]
fn declared_services_rename_and_add() {
    let options = ScanOptions {
        declared_services: vec![
            DeclaredService {
                name: "billing".into(),
                path: "services/legacy-billing".into(),
                language: None,
                line: None,
            },
            DeclaredService {
                name: "invoicing".into(),
                path: "./services/invoices/".into(),
                language: None,
                line: None,
            },
        ],
        ..ScanOptions::default()
    };
    let scan = scan(&monorepo(), &options).unwrap();
    let names: Vec<&str> = scan
        .services
        .iter()
        .map(|s| s.service.name.as_str())
        .collect();
    assert!(names.contains(&"billing"), "{names:?}");
    assert!(names.contains(&"invoicing"), "{names:?}");
    assert!(!names.contains(&"Invoices"), "{names:?}");
    let bad = ScanOptions {
        declared_services: vec![DeclaredService {
            name: "ghost".into(),
            path: "services/ghost".into(),
            language: Some(Language::Go),
            line: Some(7),
        }],
        config_file: Some("ci/tracegate.yaml".into()),
        ..ScanOptions::default()
    };
    let err = tracegate::check::scan(&monorepo(), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("ci/tracegate.yaml:7: "), "{err}");
    assert!(err.contains("services/ghost"), "{err}");
}

/// A declared service whose directory holds only files the engine does not read (C++ here)
/// exists, wherever it lies: the walk keeps none of its files and does not enter build or
/// vendored directories, but the directory is there.
#[test]
fn declared_service_of_unrecognised_files_exists() {
    for path in [
        "native/codec",
        "native/build/codec",
        "third_party/vendor/codec",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let svc = dir.path().join(path);
        std::fs::create_dir_all(&svc).unwrap();
        std::fs::write(svc.join("codec.cpp"), "int main() { return 0; }\n").unwrap();
        std::fs::write(svc.join("codec.h"), "#pragma once\n").unwrap();
        let options = ScanOptions {
            declared_services: vec![DeclaredService {
                name: "codec".into(),
                path: path.into(),
                language: None,
                line: Some(3),
            }],
            ..ScanOptions::default()
        };
        let scan = scan(dir.path(), &options).unwrap_or_else(|e| panic!("{path}: {e}"));
        let codec = scan
            .services
            .iter()
            .find(|s| s.service.name == "codec")
            .unwrap_or_else(|| panic!("{path}: the declared service is not listed"));
        assert_eq!(codec.service.path, path);
    }
}

/// In an npm workspace, a package with `main` and no start script that another package
/// depends on is a library, not a service (it was judged as one and failed TG101); a package
/// with `main` that nothing depends on is still a service.
#[test]
fn npm_workspace_libraries_are_not_services() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| write_file(root, rel, text);
    write(
        "package.json",
        r#"{ "name": "shop", "private": true, "workspaces": ["packages/*"] }"#,
    );
    write(
        "packages/api/package.json",
        r#"{ "name": "@shop/api", "main": "index.js", "scripts": { "start": "node index.js" },
             "dependencies": { "@shop/shared": "*", "express": "^4.19.2" } }"#,
    );
    write(
        "packages/api/index.js",
        "const express = require('express');\nexpress().listen(8080);\n",
    );
    write(
        "packages/shared/package.json",
        r#"{ "name": "@shop/shared", "main": "index.js" }"#,
    );
    write(
        "packages/shared/index.js",
        "module.exports.add = (a, b) => a + b;\n",
    );
    write(
        "packages/worker/package.json",
        r#"{ "name": "@shop/worker", "main": "worker.js", "dependencies": { "shared": "1.0.0" } }"#,
    );
    write(
        "packages/worker/worker.js",
        "setInterval(() => {}, 1000);\n",
    );
    let scan = scan(root, &ScanOptions::default()).unwrap();
    let services: Vec<(&str, &str)> = scan
        .services
        .iter()
        .map(|s| (s.service.name.as_str(), s.service.path.as_str()))
        .collect();
    // `worker` depends on the registry's `shared`, not on `@shop/shared`: names match in full.
    assert_eq!(
        services,
        [("api", "packages/api"), ("worker", "packages/worker")],
        "{services:?}"
    );
}

/// A workspace library's code and runtime dependencies count for every service that depends on
/// it, directly or through another library: a shared telemetry package instruments them.
#[test]
fn npm_workspace_libraries_count_for_the_services_using_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| write_file(root, rel, text);
    write(
        "package.json",
        r#"{ "name": "shop", "private": true, "workspaces": ["packages/*", "services/*"] }"#,
    );
    write(
        "packages/telemetry/package.json",
        r#"{ "name": "@shop/telemetry", "main": "index.js",
             "dependencies": { "@opentelemetry/sdk-node": "^0.53.0",
                               "@opentelemetry/auto-instrumentations-node": "^0.50.0" } }"#,
    );
    write(
        "packages/telemetry/index.js",
        "const { NodeSDK } = require('@opentelemetry/sdk-node');\nconst { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node');\nfunction start() {\n  new NodeSDK({ instrumentations: [getNodeAutoInstrumentations()] }).start();\n}\nmodule.exports = { start };\n",
    );
    write(
        "packages/web-kit/package.json",
        r#"{ "name": "@shop/web-kit", "main": "index.js", "dependencies": { "@shop/telemetry": "*", "express": "^4.19.2" } }"#,
    );
    write(
        "packages/web-kit/index.js",
        "require('@shop/telemetry').start();\nmodule.exports = require('express');\n",
    );
    let service = |name: &str, dep: &str| {
        write(
            &format!("services/{name}/package.json"),
            &format!(
                r#"{{ "name": "@shop/{name}", "scripts": {{ "start": "node index.js" }}, "dependencies": {{ {dep} "express": "^4.19.2" }} }}"#
            ),
        );
        write(
            &format!("services/{name}/index.js"),
            "const express = require('express');\nconst app = express();\napp.get('/', (req, res) => res.json({}));\napp.listen(8080);\n",
        );
    };
    service("orders", r#""@shop/telemetry": "*","#);
    service("cart", r#""@shop/web-kit": "*","#);
    service("legacy", "");
    let scan = scan(root, &ScanOptions::default()).unwrap();
    let rules = |name: &str| rules_of(&scan, name);
    assert_eq!(scan.services.len(), 3, "the libraries are no services");
    assert_eq!(rules("orders"), Vec::<String>::new());
    assert_eq!(rules("cart"), Vec::<String>::new(), "through web-kit");
    assert_eq!(rules("legacy"), ["TG101"]);
}

/// The same for Go: a module without a `main` package that a service's go.mod requires counts
/// for it (its SDK requirement is only `// indirect` in the service's go.mod).
#[test]
fn go_library_modules_count_for_the_services_requiring_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| write_file(root, rel, text);
    write(
        "libs/telemetry/go.mod",
        "module example.com/shop/libs/telemetry\n\ngo 1.22\n\nrequire (\n\tgo.opentelemetry.io/otel v1.30.0\n\tgo.opentelemetry.io/otel/sdk v1.30.0\n\tgo.opentelemetry.io/contrib/instrumentation/net/http/otelhttp v0.55.0\n)\n",
    );
    write(
        "libs/telemetry/telemetry.go",
        "package telemetry\n\nimport (\n\t\"net/http\"\n\n\t\"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp\"\n\t\"go.opentelemetry.io/otel\"\n\t\"go.opentelemetry.io/otel/propagation\"\n\tsdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n)\n\n// Start sets up tracing for a service.\nfunc Start() {\n\ttp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(nil))\n\totel.SetTracerProvider(tp)\n\totel.SetTextMapPropagator(propagation.TraceContext{})\n}\n\n// Handler instruments a server.\nfunc Handler(h http.Handler) http.Handler { return otelhttp.NewHandler(h, \"server\") }\n",
    );
    let service = |name: &str, uses: bool| {
        let require = if uses {
            "require example.com/shop/libs/telemetry v0.0.0\n\nreplace example.com/shop/libs/telemetry => ../../libs/telemetry\n\nrequire go.opentelemetry.io/otel/sdk v1.30.0 // indirect\n"
        } else {
            ""
        };
        write(
            &format!("services/{name}/go.mod"),
            &format!("module example.com/shop/services/{name}\n\ngo 1.22\n\n{require}"),
        );
        let body = if uses {
            "package main\n\nimport (\n\t\"net/http\"\n\n\t\"example.com/shop/libs/telemetry\"\n)\n\nfunc main() {\n\ttelemetry.Start()\n\thttp.ListenAndServe(\":8080\", telemetry.Handler(http.NewServeMux()))\n}\n"
        } else {
            "package main\n\nimport \"net/http\"\n\nfunc main() {\n\thttp.ListenAndServe(\":8080\", nil)\n}\n"
        };
        write(&format!("services/{name}/main.go"), body);
    };
    service("orders", true);
    service("legacy", false);
    let scan = scan(root, &ScanOptions::default()).unwrap();
    let rules = |name: &str| rules_of(&scan, name);
    assert_eq!(scan.services.len(), 2, "the library module is no service");
    assert_eq!(rules("orders"), Vec::<String>::new());
    assert_eq!(rules("legacy"), ["TG101"]);
}

/// What keeps a `main`-only package a service (review findings): a Dockerfile beside it, a
/// Kubernetes workload of its name, a declaration in tracegate.yaml; a dependent that is no
/// service (the workspace root, another `main`-only package); a registry range that is not its
/// version (a registry package of the same name).
#[test]
fn deployed_packages_stay_services() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| write_file(root, rel, text);
    let app = |name: &str| {
        write(
            &format!("apps/{name}/package.json"),
            &format!(r#"{{ "name": "@acme/{name}", "version": "1.0.0", "main": "index.js" }}"#),
        );
        write(
            &format!("apps/{name}/index.js"),
            "require('http').createServer().listen(8080);\n",
        );
    };
    for name in ["docker", "deployed", "declared", "rooted", "peer", "cron"] {
        app(name);
    }
    write(
        "apps/docker/Dockerfile",
        "FROM node:22\nCMD [\"node\", \"index.js\"]\n",
    );
    write(
        "deploy/deployed.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: deployed\nspec:\n  template:\n    spec:\n      containers:\n        - name: deployed\n          image: acme/deployed:1\n",
    );
    write(
        "package.json",
        r#"{ "name": "acme", "private": true, "workspaces": ["apps/*"], "dependencies": { "@acme/rooted": "workspace:*" } }"#,
    );
    // `@acme/peer` is used only by another main-only package; `cron` from the registry.
    write(
        "apps/other/package.json",
        r#"{ "name": "@acme/other", "main": "index.js", "dependencies": { "@acme/peer": "*" } }"#,
    );
    write(
        "apps/other/index.js",
        "require('http').createServer().listen(8080);\n",
    );
    write(
        "apps/web/package.json",
        r#"{ "name": "@acme/web", "scripts": { "start": "node index.js" },
             "dependencies": { "@acme/docker": "*", "@acme/deployed": "*", "@acme/declared": "*",
                               "@acme/cron": "^3.1.0" } }"#,
    );
    write(
        "apps/web/index.js",
        "require('http').createServer().listen(8080);\n",
    );
    let options = ScanOptions {
        declared_services: vec![DeclaredService {
            name: "declared".into(),
            path: "apps/declared".into(),
            language: None,
            line: Some(3),
        }],
        ..ScanOptions::default()
    };
    let scan = scan(root, &options).unwrap();
    let mut names: Vec<&str> = scan
        .services
        .iter()
        .map(|s| s.service.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["cron", "declared", "deployed", "docker", "other", "peer", "rooted", "web"]
    );
    // The declared one keeps its manifest: TG101 points at its package.json.
    let declared = scan
        .services
        .iter()
        .find(|s| s.service.name == "declared")
        .unwrap();
    let tg101 = declared
        .findings
        .iter()
        .find(|f| f.rule == "TG101")
        .unwrap();
    assert_eq!(tg101.file.as_deref(), Some("apps/declared/package.json"));
}

/// A Dockerfile in a `bin/` directory is still a Dockerfile (only extension-less files that
/// `classify` does not know are sniffed for a node shebang; review finding).
#[test]
fn a_dockerfile_in_bin_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| write_file(root, rel, text);
    write(
        "web/package.json",
        r#"{ "name": "web", "scripts": { "start": "node index.js" },
             "dependencies": { "@opentelemetry/auto-instrumentations-node": "^0.50.0", "express": "^4.19.2" } }"#,
    );
    write(
        "web/index.js",
        "const express = require('express');\nexpress().listen(8080);\n",
    );
    write(
        "web/bin/Dockerfile",
        "FROM node:22\nENV NODE_OPTIONS=\"--require @opentelemetry/auto-instrumentations-node/register\"\nCMD [\"npm\", \"start\"]\n",
    );
    let scan = scan(root, &ScanOptions::default()).unwrap();
    let rules: Vec<&str> = scan.services[0]
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules, Vec::<&str>::new());
}

/// Review findings on library detection: a library reached only through another library is a
/// library too (npm and Go); a `main`-only package with a Dockerfile is a service that makes
/// its dependencies libraries; a Go library module is one even when a workload shares its last
/// path segment; npm ranges the workspace version satisfies are local.
#[test]
fn libraries_through_libraries_and_deployed_users() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| write_file(root, rel, text);
    // npm: cart → web-kit (^1.0.0) → telemetry (1.x); api (main + Dockerfile) → telemetry.
    write(
        "packages/telemetry/package.json",
        r#"{ "name": "@shop/telemetry", "version": "1.2.0", "main": "index.js",
             "dependencies": { "@opentelemetry/sdk-node": "^0.53.0",
                               "@opentelemetry/auto-instrumentations-node": "^0.50.0" } }"#,
    );
    write(
        "packages/telemetry/index.js",
        "const { NodeSDK } = require('@opentelemetry/sdk-node');\nconst { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node');\nnew NodeSDK({ instrumentations: [getNodeAutoInstrumentations()] }).start();\n",
    );
    write(
        "packages/web-kit/package.json",
        r#"{ "name": "@shop/web-kit", "version": "1.0.0", "main": "index.js", "dependencies": { "@shop/telemetry": "1.x" } }"#,
    );
    write("packages/web-kit/index.js", "require('@shop/telemetry');\n");
    write(
        "services/cart/package.json",
        r#"{ "name": "@shop/cart", "scripts": { "start": "node index.js" }, "dependencies": { "@shop/web-kit": "^1.0.0", "express": "^4.19.2" } }"#,
    );
    write(
        "services/cart/index.js",
        "require('@shop/web-kit');\nrequire('express')().listen(8080);\n",
    );
    write(
        "apps/api/package.json",
        r#"{ "name": "@shop/api", "main": "index.js", "dependencies": { "@shop/telemetry": "*", "express": "^4.19.2" } }"#,
    );
    write(
        "apps/api/index.js",
        "require('@shop/telemetry');\nrequire('express')().listen(8080);\n",
    );
    write(
        "apps/api/Dockerfile",
        "FROM node:22\nCMD [\"node\", \"index.js\"]\n",
    );
    // Go: orders → libs/telemetry → libs/otelcore (the SDK only `// indirect` in orders).
    write(
        "libs/otelcore/go.mod",
        "module example.com/shop/libs/otelcore\n\ngo 1.22\n\nrequire (\n\tgo.opentelemetry.io/otel v1.30.0\n\tgo.opentelemetry.io/otel/sdk v1.30.0\n)\n",
    );
    write(
        "libs/otelcore/core.go",
        "package otelcore\n\nimport (\n\t\"go.opentelemetry.io/otel\"\n\t\"go.opentelemetry.io/otel/propagation\"\n\tsdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n)\n\n// Start sets up tracing.\nfunc Start() {\n\totel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithBatcher(nil)))\n\totel.SetTextMapPropagator(propagation.TraceContext{})\n}\n",
    );
    write(
        "libs/telemetry/go.mod",
        "module example.com/shop/libs/telemetry\n\ngo 1.22\n\nrequire example.com/shop/libs/otelcore v0.0.0\n",
    );
    write(
        "libs/telemetry/telemetry.go",
        "package telemetry\n\nimport \"example.com/shop/libs/otelcore\"\n\n// Start sets up tracing.\nfunc Start() { otelcore.Start() }\n",
    );
    write(
        "services/orders/go.mod",
        "module example.com/shop/services/orders\n\ngo 1.22\n\nrequire example.com/shop/libs/telemetry v0.0.0\n\nrequire go.opentelemetry.io/otel/sdk v1.30.0 // indirect\n",
    );
    write(
        "services/orders/cmd/server/main.go",
        "package main\n\nimport \"example.com/shop/libs/telemetry\"\n\nfunc main() { telemetry.Start() }\n",
    );
    // A collector Deployment named like the Go library's last segment.
    write(
        "deploy/collector.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: telemetry\nspec:\n  template:\n    spec:\n      containers:\n        - name: otelcol\n          image: otel/opentelemetry-collector:0.110.0\n",
    );
    let scan = scan(root, &ScanOptions::default()).unwrap();
    let mut names: Vec<&str> = scan
        .services
        .iter()
        .map(|s| s.service.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["api", "cart", "orders"], "{names:?}");
    for name in ["api", "cart", "orders"] {
        let rules = rules_of(&scan, name);
        assert!(!rules.iter().any(|r| r == "TG101"), "{name}: {rules:?}");
    }
}
