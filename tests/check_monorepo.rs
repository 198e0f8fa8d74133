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
            ("legacy-billing", Language::Unknown, false),
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
            },
            DeclaredService {
                name: "invoicing".into(),
                path: "./services/invoices/".into(),
                language: None,
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
        }],
        ..ScanOptions::default()
    };
    let err = tracegate::check::scan(&monorepo(), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("services/ghost"), "{err}");
}
