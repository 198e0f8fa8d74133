//! The engine on the fixture services: every rule has a fixture that triggers it and one that
//! does not, and every fixture yields exactly the rules expected of it.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tracegate::check::evaluation::rules::CheckKind;
use tracegate::check::model::Scan;
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
    ("services/rust-workspace", &["TG102"]),
    // Zipkin's propagator set globally; TraceContextPropagator only injects by hand.
    ("services/rust-zipkin-propagator", &["TG102"]),
    ("services/go-pass", &[]),
    ("services/go-indirect-sdk", &["TG101"]),
    ("services/go-no-propagator", &["TG102"]),
    ("services/go-dead-branch", &["TG102"]),
    // B3 set globally; propagation.TraceContext only injects by hand.
    ("services/go-b3-propagator", &["TG102"]),
    // The propagator comes from the service's own helper: not followed, TraceContext is live.
    ("services/go-propagator-helper", &[]),
    ("services/go-syncer", &["TG105", "TG202"]),
    // The SDK starts only when ENABLE_TRACING=1, which its Deployment does not set.
    ("services/go-tracing-flag", &["TG106"]),
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
    ("services/node-method-named-fetch", &[]),
    ("services/node-b3-propagator", &["TG102"]),
    // A module constant passed as `{ url }`.
    ("services/node-literal-endpoint", &["TG202"]),
    // Its SDK is set up in the extension-less `bin/www` (a `node` shebang): read as JavaScript.
    ("services/node-bin-www", &["TG102"]),
    (
        "services/ts-simple-exporter",
        &["TG103", "TG104", "TG105", "TG202", "TG301", "TG302"],
    ),
    ("services/java-pass", &[]),
    ("services/java-manual-sdk", &["TG102", "TG105", "TG202"]),
    ("services/java-no-sdk", &["TG101"]),
    ("services/java-httpclient-telemetry", &[]),
    // Kotlin, a Gradle multi-project build: the `orders` subproject sets up the SDK.
    ("services/kotlin-gradle-multiproject", &[]),
    ("services/java-dead-code", &["TG102"]),
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
    ("services/dotnet-literal-endpoint", &["TG202"]),
    ("services/dotnet-dead-code", &["TG103"]),
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
        // Its syntax error is in a file without any signal, which the pre-filter (on by
        // default) never parses: the note needs `--no-prefilter` (see
        // `prefilter_leaves_every_finding_unchanged`).
        let scan = if *rel == "services/rust-broken-source" {
            scan_with(&fixture(rel), false)
        } else {
            run(rel)
        };
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

fn scan_with(root: &Path, prefilter: bool) -> Scan {
    let options = ScanOptions {
        prefilter,
        ..ScanOptions::default()
    };
    scan(root, &options).unwrap_or_else(|e| panic!("{}: {e}", root.display()))
}

/// TG199 notes (a file not fully parsed) apart, and those without the pre-filter.
fn without_parse_notes(mut scan: Scan) -> (Scan, BTreeSet<String>) {
    let mut notes = BTreeSet::new();
    for s in &mut scan.services {
        s.findings.retain(|f| {
            let note = f.rule == "TG199";
            if note {
                notes.insert(format!(
                    "{}:{}",
                    f.file.as_deref().unwrap_or("-"),
                    f.message
                ));
            }
            !note
        });
    }
    (scan, notes)
}

/// The source pre-filter (skip parsing files with no word any rule can use) never changes a
/// finding: every fixture, the monorepo and the whole fixture tree scan the same with and
/// without it. The one difference: a file it skips is never parsed, so a syntax error in a
/// file without any signal word gets no TG199 note (`services/rust-broken-source`).
#[test]
fn prefilter_leaves_every_finding_unchanged() {
    let mut roots: Vec<PathBuf> = vec![fixture("monorepo"), fixture(".")];
    roots.extend(EXPECTED.iter().map(|(rel, _)| fixture(rel)));
    for root in roots {
        let (with, with_notes) = without_parse_notes(scan_with(&root, true));
        let (without, without_notes) = without_parse_notes(scan_with(&root, false));
        assert_eq!(with, without, "{}", root.display());
        assert!(with_notes.is_subset(&without_notes), "{}", root.display());
    }
    let (_, notes) = without_parse_notes(scan_with(&fixture("services/rust-broken-source"), true));
    assert!(notes.is_empty(), "{notes:?}");
}

/// It does skip files: a module with no signal word is not parsed.
#[test]
fn prefilter_skips_files_without_signal_words() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("util.py"),
        "def add(a, b):\n    return a + b\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "from opentelemetry import trace\ntrace.get_current_span().set_attribute('user.email', e)\n",
    )
    .unwrap();
    let interest = RuleSet::builtin().interest();
    let walk = tracegate::check::inputs::discover::walk(dir.path(), &interest, &Default::default())
        .unwrap();
    let unparsed: Vec<&str> = walk
        .files
        .iter()
        .filter(|f| {
            matches!(&f.parsed, tracegate::check::inputs::discover::Parsed::Source { facts, .. } if facts.unparsed)
        })
        .map(|f| f.rel.as_str())
        .collect();
    assert_eq!(unparsed, vec!["util.py"]);
    let off = interest.without_prefilter();
    let walk =
        tracegate::check::inputs::discover::walk(dir.path(), &off, &Default::default()).unwrap();
    assert!(walk.files.iter().all(|f| {
        !matches!(&f.parsed, tracegate::check::inputs::discover::Parsed::Source { facts, .. } if facts.unparsed)
    }));
}

/// A file the pre-filter skips can still keep a function live (it calls it): the scan then
/// parses it, so the propagator set in that function still counts.
#[test]
fn prefilter_parses_skipped_files_that_keep_code_live() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("go.mod"),
        "module example.com/svc\n\ngo 1.23\n\nrequire (\n\tgo.opentelemetry.io/otel v1.38.0\n\tgo.opentelemetry.io/otel/sdk v1.38.0\n)\n",
    )
    .unwrap();
    std::fs::write(
        root.join("setup.go"),
        "package main\n\nimport (\n\t\"go.opentelemetry.io/otel\"\n\t\"go.opentelemetry.io/otel/propagation\"\n\tsdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n)\n\nfunc setup() {\n\ttp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(nil))\n\totel.SetTracerProvider(tp)\n\totel.SetTextMapPropagator(propagation.TraceContext{})\n}\n",
    )
    .unwrap();
    // No signal word at all: only the call that makes setup() live.
    std::fs::write(
        root.join("main.go"),
        "package main\n\nfunc main() {\n\tsetup()\n}\n",
    )
    .unwrap();
    // Another unparsed file of the package that names nothing dead (its words rule it out
    // without a second read).
    std::fs::write(
        root.join("models.go"),
        "package main\n\ntype Order struct{ ID string }\n\nfunc (o Order) Key() string { return o.ID }\n",
    )
    .unwrap();
    let with = scan_with(root, true);
    assert_eq!(with, scan_with(root, false));
    assert!(!rules_of(&with).contains("TG102"), "{}", dump(&with));

    // The same with a function whose name is not ASCII, called from an unparsed file between
    // non-ASCII words.
    let setup = std::fs::read_to_string(root.join("setup.go")).unwrap();
    std::fs::write(
        root.join("setup.go"),
        setup.replace("func setup()", "func réglage()"),
    )
    .unwrap();
    std::fs::write(
        root.join("main.go"),
        "package main\n\nfunc main() {\n\tréglage() // prépare le traçage\n}\n",
    )
    .unwrap();
    let with = scan_with(root, true);
    assert_eq!(with, scan_with(root, false));
    assert!(!rules_of(&with).contains("TG102"), "{}", dump(&with));
}

/// The JSON reports of the whole fixture tree (`tracegate check fixtures`), with the
/// pre-filter (the default) and with `--no-prefilter`, are the same but for the one documented
/// difference: the TG199 note of a syntax error in a file without any signal
/// (`services/rust-broken-source/src/half.rs`), and the note count in the summary.
#[test]
fn json_report_of_the_fixture_tree_is_the_same_without_prefilter() {
    let report = |extra: &[&str]| -> serde_json::Value {
        let out = assert_cmd::Command::cargo_bin("tracegate")
            .unwrap()
            .env("TRACEGATE_CARGO", "")
            .args(["check", "--format", "json", "--today", "2026-01-01"])
            .args(extra)
            .arg(fixture("."))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    /// Remove the TG199 notes; return their files.
    fn parse_notes(report: &mut serde_json::Value) -> BTreeSet<String> {
        let mut files = BTreeSet::new();
        for s in report["services"].as_array_mut().unwrap() {
            s["findings"].as_array_mut().unwrap().retain(|f| {
                let note = f["rule"] == "TG199";
                if note {
                    files.insert(f["file"].as_str().unwrap_or("-").to_string());
                }
                !note
            });
        }
        let notes = report["summary"]["findings"]["note"].as_u64().unwrap_or(0);
        report["summary"]["findings"]["note"] = serde_json::json!(notes - files.len() as u64);
        files
    }
    let mut with = report(&[]);
    let mut without = report(&["--no-prefilter"]);
    assert_ne!(with, without, "the broken-source note differs");
    let with_notes = parse_notes(&mut with);
    let without_notes = parse_notes(&mut without);
    assert_eq!(with, without);
    let lost: Vec<&String> = without_notes.difference(&with_notes).collect();
    assert_eq!(lost, vec!["services/rust-broken-source/src/half.rs"]);
    assert!(with_notes.is_subset(&without_notes));
}

/// A function with signals reached only through files that carry none: the pre-filter skips
/// `main.go` and `app.go`, dead-code elimination then finds `setupTracing` unreferenced, and
/// the deferred parse must bring those files back in (transitively: `main` → `start` →
/// `setupTracing`) so the propagator set up there still counts.
#[test]
fn signals_reached_only_through_signal_free_files_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let svc = dir.path();
    std::fs::write(
        svc.join("go.mod"),
        "module example.com/orders\n\ngo 1.22\n\nrequire (\n\tgo.opentelemetry.io/otel v1.28.0\n\tgo.opentelemetry.io/otel/sdk v1.28.0\n)\n",
    )
    .unwrap();
    // A stray Latin-1 byte in a comment (`é`) must not stop the deferred parse either.
    std::fs::write(
        svc.join("main.go"),
        b"package main\n\n// caf\xe9\nfunc main() {\n\tstart()\n}\n",
    )
    .unwrap();
    std::fs::write(
        svc.join("app.go"),
        "package main\n\n// start wires the process.\nfunc start() {\n\tsetupTracing()\n}\n",
    )
    .unwrap();
    std::fs::write(
        svc.join("telemetry.go"),
        "package main\n\nimport (\n\t\"go.opentelemetry.io/otel\"\n\t\"go.opentelemetry.io/otel/propagation\"\n\tsdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n)\n\n\
         func setupTracing() {\n\ttp := sdktrace.NewTracerProvider()\n\totel.SetTracerProvider(tp)\n\t\
         otel.SetTextMapPropagator(propagation.TraceContext{})\n}\n",
    )
    .unwrap();
    let rules = |prefilter: bool| rules_of(&scan_with(svc, prefilter));
    let with = rules(true);
    assert!(!with.contains("TG102"), "{with:?}");
    assert_eq!(with, rules(false));
    // Without the call chain the propagator set-up is dead code, and TG102 fires: the test
    // can tell the two apart.
    std::fs::write(svc.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
    let dead = rules(true);
    assert!(dead.contains("TG102"), "{dead:?}");
    assert_eq!(dead, rules(false));
}

/// Outbound `fetch` imported by name from a module is an outbound call (TG104 without HTTP
/// client instrumentation), like the global `fetch`; a method named `fetch` is not
/// (`fixtures/services/node-method-named-fetch`).
#[test]
fn fetch_imported_from_a_module_is_an_outbound_call() {
    let fixture_dir = fixture("services/node-method-named-fetch");
    for (index, module_call) in [
        (
            "import { fetch } from 'undici';\nexport async function get(u) { return fetch(u); }\n",
            "undici named import",
        ),
        (
            "import fetch from 'node-fetch';\nexport async function get(u) { return fetch(u); }\n",
            "node-fetch default import",
        ),
        (
            "export async function get(u) { return globalThis.fetch(u); }\n",
            "globalThis.fetch",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        for name in ["package.json", "tracing.js"] {
            std::fs::copy(fixture_dir.join(name), dir.path().join(name)).unwrap();
        }
        std::fs::write(dir.path().join("index.js"), index).unwrap();
        let rules = rules_of(&scan_with(dir.path(), true));
        assert!(rules.contains("TG104"), "{module_call}: {rules:?}");
    }
}
