//! Snapshots of every format for one hand-built report (services that pass, fail and are not
//! analysed, a repository finding, a stale waiver), plus structural checks.

use super::*;
use crate::check::model::{Infrastructure, InfrastructurePlace, SeverityCounts, Summary};

fn finding(
    rule: &str,
    severity: Severity,
    file: Option<&str>,
    line: Option<u32>,
    message: &str,
) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        message: message.into(),
        file: file.map(Into::into),
        line,
        help: format!("see docs/onboarding.md#{}", rule.to_ascii_lowercase()),
    }
}

fn meta(id: &str, title: &str, severity: Severity, languages: Vec<Language>) -> RuleMeta {
    RuleMeta {
        help_by_language: Default::default(),
        example_by_language: Default::default(),
        id: id.into(),
        title: title.into(),
        severity,
        languages,
        help: format!("{title}: fix hint"),
        what: format!("Checks that {title}."),
        why: "Without it the trace breaks.".into(),
        fix: "Do the right thing.".into(),
        example: "example".into(),
        docs: format!("docs/onboarding.md#{}", id.to_ascii_lowercase()),
    }
}

pub(super) fn rules() -> Vec<RuleMeta> {
    vec![
        meta("TG100", "Language not analysed", Severity::Note, vec![]),
        meta(
            "TG101",
            "OpenTelemetry SDK is a direct dependency",
            Severity::Error,
            vec![],
        ),
        meta(
            "TG102",
            "W3C propagator is set",
            Severity::Error,
            vec![Language::Go, Language::Rust],
        ),
        meta(
            "TG104",
            "Spans go through a batch processor",
            Severity::Warning,
            vec![],
        ),
        meta(
            "TG201",
            "Ingress preserves trace context",
            Severity::Error,
            vec![],
        ),
        meta("TG290", "Waiver expired", Severity::Warning, vec![]),
        meta(
            "TG301",
            "No PII in span attributes",
            Severity::Error,
            vec![Language::Python],
        ),
    ]
}

pub(super) fn report() -> CheckReport {
    CheckReport {
        tool: "tracegate".into(),
        version: "0.1.0".into(),
        services: vec![
            ServiceReport {
                not_evaluated: vec![],
                team: None,
                owner_source: None,
                waived: vec![],
                name: "billing".into(),
                path: "services/billing".into(),
                language: Language::Go,
                verdict: Verdict::Fail,
                findings: vec![
                    finding("TG102", Severity::Error, Some("services/billing/main.go"), Some(12),
                        "otel.SetTextMapPropagator is never called: the global propagator is a no-op"),
                    finding("TG104", Severity::Warning, Some("services/billing/telemetry.go"), Some(30),
                        "sdktrace.WithSyncer exports spans synchronously, on the request path"),
                ],
            },
            ServiceReport {
                not_evaluated: vec![],
                team: None,
                owner_source: None,
                waived: vec![],
                name: "pricing".into(),
                path: "services/pricing".into(),
                language: Language::Rust,
                verdict: Verdict::Pass,
                findings: vec![],
            },
            ServiceReport {
                not_evaluated: vec![],
                team: None,
                owner_source: None,
                waived: vec![],
                name: "reports|legacy".into(),
                path: "services/reports".into(),
                language: Language::Python,
                verdict: Verdict::Pass,
                findings: vec![finding("TG301", Severity::Note, Some("services/reports/app.py"), None,
                    "span attribute `user.email` carries PII, <\"quoted\"> & 50%, a:b")],
            },
            ServiceReport {
                not_evaluated: vec![],
                team: None,
                owner_source: None,
                waived: vec![],
                name: "search".into(),
                path: "services/search".into(),
                language: Language::Cpp,
                verdict: Verdict::Unknown,
                findings: vec![finding("TG100", Severity::Note, None, None,
                    "language not analysed (C++): verify at runtime")],
            },
        ],
        repository_findings: vec![finding("TG290", Severity::Warning, Some("tracegate.yaml"), Some(7),
            "waiver for TG102 on service `billing` expired on 2026-11-01")],
        infrastructure: vec![Infrastructure {
            name: "kafka".into(),
            kind: InfrastructureKind::Broker,
            image: "apache/kafka:3.9.0".into(),
            places: vec![
                InfrastructurePlace {
                    file: "docker-compose.yml".into(),
                    line: 20,
                    workload: "compose".into(),
                },
                InfrastructurePlace {
                    file: "k8s/kafka.yaml".into(),
                    line: 4,
                    workload: "StatefulSet".into(),
                },
            ],
        }],
        declared: vec![],
        summary: Summary {
            services: 4,
            passing: 2,
            failing: 1,
            findings: SeverityCounts { error: 1, warning: 2, note: 2 },
        },
    }
}

fn out(format: Format) -> Rendered {
    let rules = rules();
    let ctx = RenderContext {
        rules: &rules,
        fail_on: Severity::Error,
        repo_prefix: None,
        text: Default::default(),
    };
    render(format, &report(), &ctx).unwrap()
}

#[test]
fn table_snapshot() {
    insta::assert_snapshot!("table", out(Format::Table).main);
}

#[test]
fn json_snapshot_is_the_contract() {
    let text = out(Format::Json).main;
    insta::assert_snapshot!("json", text);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["tool"], "tracegate");
    let service = &value["services"][0];
    for key in ["name", "path", "language", "verdict", "findings"] {
        assert!(service.get(key).is_some(), "{key}");
    }
    for key in ["rule", "severity", "message", "file", "line", "help"] {
        assert!(service["findings"][0].get(key).is_some(), "{key}");
    }
    assert_eq!(value["summary"]["findings"]["warning"], 2);
    let back: CheckReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report());
}

#[test]
fn sarif_snapshot_and_shape() {
    let text = out(Format::Sarif).main;
    insta::assert_snapshot!("sarif", text);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(rules[index]["helpUri"]
            .as_str()
            .unwrap()
            .starts_with("https://"));
        assert!(rules[index]["shortDescription"]["text"].is_string());
        let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(loc["uriBaseId"], "%SRCROOT%");
        assert!(!loc["uri"].as_str().unwrap().starts_with('/'));
        assert!(r["partialFingerprints"].as_object().unwrap().len() == 1);
    }
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        12
    );
    assert!(results[2]["locations"][0]["physicalLocation"]
        .get("region")
        .is_none());
    assert_eq!(results[2]["level"], "note");
}

#[test]
fn junit_snapshot_and_shape() {
    let text = out(Format::Junit).main;
    insta::assert_snapshot!("junit", text);
    let mut reader = quick_xml::Reader::from_str(&text);
    let (mut suites, mut failures, mut skipped) = (0, 0, 0);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testsuite" => suites += 1,
                    b"failure" => failures += 1,
                    b"skipped" => skipped += 1,
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    // four services and the repository; one failing rule (TG102); search is not analysed.
    assert_eq!((suites, failures, skipped), (5, 1, 1));
    assert!(text.contains("TG104 Spans go through a batch processor"));
}

/// A rule skipped because a rule it comes after fired is a skipped testcase, not a pass.
#[test]
fn junit_rules_not_evaluated_are_skipped_not_passed() {
    let rules = rules();
    let ctx = RenderContext {
        rules: &rules,
        fail_on: Severity::Warning,
        repo_prefix: None,
        text: Default::default(),
    };
    let mut r = report();
    let pricing = &mut r.services[1];
    pricing.verdict = Verdict::Fail;
    pricing.findings = vec![finding(
        "TG101",
        Severity::Error,
        Some("services/pricing/Cargo.toml"),
        None,
        "no OpenTelemetry SDK",
    )];
    pricing.not_evaluated = vec![
        ("TG102".into(), "TG101".into()),
        ("TG104".into(), "TG101".into()),
    ];
    let text = render(Format::Junit, &r, &ctx).unwrap().main;
    let suite = text
        .split("<testsuite ")
        .find(|s| s.starts_with("name=\"pricing\""))
        .unwrap();
    assert!(
        suite.contains(r#"tests="5" failures="1" errors="0" skipped="2""#),
        "{suite}"
    );
    for rule in [
        "TG102 W3C propagator is set",
        "TG104 Spans go through a batch processor",
    ] {
        let case = suite
            .split("<testcase ")
            .find(|c| c.contains(rule))
            .unwrap();
        assert!(
            case.contains(r#"<skipped message="not evaluated: TG101 reported first"/>"#),
            "{case}"
        );
    }
    // TG101's finding waived: the report shows none, the skip says why.
    r.services[1].findings.clear();
    r.services[1].verdict = Verdict::Pass;
    let text = render(Format::Junit, &r, &ctx).unwrap().main;
    assert_eq!(
        text.matches(
            r#"<skipped message="not evaluated: TG101 fired first (its finding is waived)"/>"#
        )
        .count(),
        2,
        "{text}"
    );
    // The other services are unchanged: their rules ran and passed.
    let billing = text
        .split("<testsuite ")
        .find(|s| s.starts_with("name=\"billing\""))
        .unwrap();
    assert!(billing.contains(r#"skipped="0""#), "{billing}");
}

#[test]
fn junit_failures_follow_fail_on() {
    let rules = rules();
    let ctx = RenderContext {
        rules: &rules,
        fail_on: Severity::Note,
        repo_prefix: None,
        text: Default::default(),
    };
    let text = render(Format::Junit, &report(), &ctx).unwrap().main;
    assert_eq!(text.matches("<failure").count(), 5, "{text}");
}

#[test]
fn github_snapshot() {
    let r = out(Format::Github);
    insta::assert_snapshot!("github", r.main);
    assert!(r
        .main
        .starts_with("::error file=services/billing/main.go,line=12,title=TG102 (billing)::"));
    assert!(r
        .main
        .contains("::notice file=services/reports/app.py,title=TG301 (reports|legacy)::"));
    assert_eq!(r.step_summary, Some(out(Format::Markdown).main));
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", out(Format::Markdown).main);
}

#[test]
fn docs_urls_accept_every_spelling() {
    let base = DOCS_URL;
    assert_eq!(
        docs_url("docs/onboarding.md#tg102", "TG102"),
        format!("{base}#tg102")
    );
    assert_eq!(
        docs_url("#tg102-propagator", "TG102"),
        format!("{base}#tg102-propagator")
    );
    assert_eq!(docs_url("tg102", "TG102"), format!("{base}#tg102"));
    assert_eq!(docs_url("", "TG102"), format!("{base}#tg102"));
    assert_eq!(
        docs_url("https://x.example/a", "TG102"),
        "https://x.example/a"
    );
}

/// The official SARIF 2.1.0 schema (npm `@microsoft/jest-sarif`) and Python `jsonschema`,
/// both installed by `.ci/setup`.
#[test]
fn sarif_validates_against_the_official_schema() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    let schema = root.join("node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
    assert!(
        python.is_file() && schema.is_file(),
        "test peers missing ({} / {}): run `bash .ci/setup`",
        python.display(),
        schema.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("report.sarif");
    std::fs::write(&sarif, out(Format::Sarif).main).unwrap();
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        log = json.load(open(sys.argv[2]))\n\
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(log), key=str)\n\
        for e in errors: print(list(e.absolute_path), e.message)\n\
        sys.exit(1 if errors else 0)\n";
    let result = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "SARIF does not validate:\n{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// A directory or file name is repository content: a newline or ESC in it must not forge an
/// output line or drive the terminal in any text format, nor make the JUnit XML invalid.
#[test]
fn names_from_the_repository_are_escaped_in_text_formats() {
    let mut hostile = report();
    let service = &mut hostile.services[0];
    service.name = "billing\nFAKE ok".into();
    service.path = "services/bill\x1b]0;pwned\x07ing".into();
    service.findings[0].file = Some("services/billing/ma\u{202e}in.go\nFAKE".into());
    service.findings[0].message = "never called\x1b[2J".into();
    let rules = rules();
    let ctx = RenderContext {
        rules: &rules,
        fail_on: Severity::Error,
        repo_prefix: None,
        text: Default::default(),
    };
    // XML 1.0 allows no C0 control but tab and line breaks, not even as a reference.
    let junit = render(Format::Junit, &hostile, &ctx).unwrap().main;
    assert!(
        !junit
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')),
        "junit: a raw control character: {junit}"
    );
    assert!(junit.contains("bill\\x1b]0;pwned\\x07ing"), "{junit}");
    for format in [Format::Table, Format::Github, Format::Markdown] {
        let text = render(format, &hostile, &ctx).unwrap().main;
        for line in text.lines() {
            assert!(
                !line.starts_with("FAKE") && !line.contains("\nFAKE"),
                "{format:?}: a forged line in {text}"
            );
            assert!(
                !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{format:?}: a raw control character in {line:?}"
            );
        }
        assert!(
            text.contains("never called\\x1b[2J") && text.contains("ma\\u{202e}in.go\\nFAKE"),
            "{format:?}: escapes shown: {text}"
        );
    }
}
