//! The engine on the fixture services: every rule has a fixture that triggers it and one that
//! does not, and every fixture yields exactly the rules expected of it.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tracegate::check::model::Scan;
use tracegate::check::rules::CheckKind;
use tracegate::check::{scan, RuleSet, ScanOptions};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn run(rel: &str) -> Scan {
    scan(&fixture(rel), &ScanOptions::default()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn rules_of(scan: &Scan) -> BTreeSet<String> {
    scan.services
        .iter()
        .flat_map(|s| s.findings.iter())
        .chain(scan.repository_findings.iter())
        .map(|f| f.rule.clone())
        .collect()
}

fn dump(scan: &Scan) -> String {
    let mut out = String::new();
    for s in &scan.services {
        out.push_str(&format!(
            "service {} ({:?}) at {}\n",
            s.service.name, s.service.language, s.service.path
        ));
        for f in &s.findings {
            out.push_str(&format!(
                "  {} {}:{} {}\n",
                f.rule,
                f.file.as_deref().unwrap_or("-"),
                f.line.unwrap_or(0),
                f.message
            ));
        }
    }
    for f in &scan.repository_findings {
        out.push_str(&format!(
            "repo {} {}:{} {}\n",
            f.rule,
            f.file.as_deref().unwrap_or("-"),
            f.line.unwrap_or(0),
            f.message
        ));
    }
    out
}

/// Fixture → the exact set of rules it must trigger.
const EXPECTED: &[(&str, &[&str])] = &[
    ("services/rust-pass", &[]),
    ("services/rust-sdk-dev-only", &["TG101"]),
    ("services/rust-no-propagator", &["TG102"]),
    ("services/rust-simple-exporter", &["TG105", "TG202"]),
    ("services/rust-pii", &["TG301", "TG302"]),
    ("services/rust-uninstrumented", &["TG103", "TG104"]),
    ("services/rust-tracegate", &[]),
    ("services/rust-broken-source", &["TG199"]),
    ("services/go-pass", &[]),
    ("services/go-indirect-sdk", &["TG101"]),
    ("services/go-no-propagator", &["TG102"]),
    ("services/go-syncer", &["TG105", "TG202"]),
    (
        "services/go-uninstrumented",
        &["TG103", "TG104", "TG301", "TG302"],
    ),
    ("services/python-pass", &[]),
    ("services/python-indirect-sdk", &["TG101"]),
    ("services/python-simple-exporter", &["TG105", "TG202"]),
    (
        "services/python-pii",
        &["TG102", "TG103", "TG104", "TG301", "TG302"],
    ),
    ("services/node-pass", &[]),
    ("services/ts-pass", &[]),
    ("services/node-comment-only", &["TG101"]),
    ("services/node-b3-propagator", &["TG102"]),
    (
        "services/ts-simple-exporter",
        &["TG103", "TG104", "TG105", "TG202", "TG301", "TG302"],
    ),
    ("services/java-pass", &[]),
    ("services/java-manual-sdk", &["TG102", "TG105", "TG202"]),
    ("services/java-no-sdk", &["TG101"]),
    ("services/java-httpclient-telemetry", &[]),
    (
        "services/java-uninstrumented",
        &["TG103", "TG104", "TG301", "TG302"],
    ),
    ("services/dotnet-pass", &[]),
    (
        "services/dotnet-uninstrumented",
        &["TG102", "TG103", "TG104", "TG105", "TG301", "TG302"],
    ),
    ("services/dotnet-no-sdk", &["TG101"]),
    ("k8s/configured", &[]),
    (
        "k8s/misconfigured",
        &["TG100", "TG201", "TG203", "TG204", "TG303"],
    ),
];

#[test]
fn every_fixture_triggers_exactly_its_rules() {
    let mut failures = Vec::new();
    for (rel, expected) in EXPECTED {
        let scan = run(rel);
        let got = rules_of(&scan);
        let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        if got != want {
            failures.push(format!(
                "{rel}: expected {want:?}, got {got:?}\n{}",
                dump(&scan)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_triggering_and_a_clean_fixture() {
    let rules = RuleSet::builtin();
    let mut missing = Vec::new();
    for rule in rules.rules() {
        if rule.check == CheckKind::Policy {
            // Emitted by the policy step (waivers), never by the engine.
            continue;
        }
        let id = rule.meta.id.as_str();
        let triggers = EXPECTED.iter().any(|(_, rules)| rules.contains(&id));
        let clean = EXPECTED
            .iter()
            .any(|(rel, rules)| !rules.contains(&id) && rel.ends_with("pass"));
        if !(triggers && clean) {
            missing.push(id.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "rules without a triggering and a clean fixture: {missing:?}"
    );
}

#[test]
fn user_rule_packs_extend_the_builtin_rules() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("acme.yaml"),
        "rules:\n  - id: ACME101\n    title: Use the shared HTTP client\n    severity: warning\n    languages: [go]\n    help: Use acme/httpclient\n    what: w\n    why: y\n    fix: f\n    example: e\n    docs: docs/onboarding.md#acme101\n    forbid:\n      go:\n        - call: http.Get\n          unless: {dependency: example.com/acme/httpclient}\n",
    )
    .unwrap();
    let mut rules = RuleSet::builtin();
    rules.load_dir(dir.path()).unwrap();
    assert!(rules.get("ACME101").is_some());
    let options = ScanOptions {
        rules,
        ..ScanOptions::default()
    };
    let scan = scan(&fixture("services/go-uninstrumented"), &options).unwrap();
    let acme: Vec<_> = scan.services[0]
        .findings
        .iter()
        .filter(|f| f.rule == "ACME101")
        .collect();
    assert_eq!(acme.len(), 1, "{}", dump(&scan));
    assert_eq!(
        (acme[0].file.as_deref(), acme[0].line),
        (Some("main.go"), Some(20))
    );

    std::fs::write(
        dir.path().join("zz-broken.yaml"),
        "rules:\n  - id: ACME102\n    title: t\n    severity: fatal\n",
    )
    .unwrap();
    let err = RuleSet::builtin()
        .load_dir(dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("zz-broken.yaml:4"), "{err}");
}
