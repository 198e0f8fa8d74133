//! Fix hints in the service's own language: a finding of a Go, Python, JavaScript/TypeScript,
//! Java/Kotlin or .NET service never shows a Rust call (nor the reverse), in JSON, SARIF,
//! Markdown and the text report; every rule about code has a hint and an example in every
//! language it fires in; `rules explain` shows them all, `--lang` one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use assert_cmd::Command;
use serde_json::Value;

/// Single-service fixtures, one per language, whose findings include rules about code.
const FIXTURES: &[(&str, &str)] = &[
    ("fixtures/services/go-syncer", "go"),
    ("fixtures/services/go-uninstrumented", "go"),
    ("fixtures/services/python-pii", "python"),
    ("fixtures/services/ts-simple-exporter", "typescript"),
    ("fixtures/services/node-b3-propagator", "javascript"),
    ("fixtures/services/java-manual-sdk", "java"),
    ("fixtures/services/java-uninstrumented", "java"),
    ("fixtures/services/dotnet-uninstrumented", "dotnet"),
    ("fixtures/services/rust-pii", "rust"),
    ("fixtures/services/rust-simple-exporter", "rust"),
];

/// Rules that judge code: each needs its hint and example in every analysed language.
const CODE_RULES: &[&str] = &[
    "TG101", "TG102", "TG103", "TG104", "TG105", "TG202", "TG301", "TG302",
];

/// Pack keys of the analysed languages (TypeScript falls back to `javascript`).
const KEYS: &[&str] = &["rust", "go", "python", "javascript", "java", "dotnet"];

/// What only Rust code (or tracegate's Rust library) writes.
const RUST_ONLY: &[&str] = &[
    "global::",
    "::new()",
    "#[instrument",
    "KeyValue::new",
    "with_batch_exporter",
    "with_simple_exporter",
    "with_endpoint",
    "SdkTracerProvider::builder",
    "tracegate::propagation",
    "reqwest",
    "Cargo.toml",
];

fn tracegate(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(args)
        .env("TRACEGATE_CARGO", "")
        .env("COLUMNS", "400")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap_or_default(),
    )
}

/// Every rule's metadata by ID.
fn metas() -> BTreeMap<String, Value> {
    let (code, out) = tracegate(&["rules", "list", "--json"]);
    assert_eq!(code, Some(0));
    let rules: Vec<Value> = serde_json::from_str(&out).unwrap();
    rules
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r))
        .collect()
}

/// The hint a finding of a service in `language` must show.
fn hint<'a>(meta: &'a Value, language: &str) -> Option<&'a str> {
    let by = &meta["help_by_language"];
    by[language]
        .as_str()
        .or_else(|| (language == "typescript").then(|| by["javascript"].as_str())?)
}

fn assert_not_rust(text: &str, context: &str) {
    for marker in RUST_ONLY {
        assert!(
            !text.contains(marker),
            "{context}: a Rust-only hint ({marker:?}) in {text:?}"
        );
    }
}

#[test]
fn every_code_rule_has_a_hint_and_an_example_in_every_language() {
    let metas = metas();
    for id in CODE_RULES {
        let meta = &metas[*id];
        for key in KEYS {
            for field in ["help_by_language", "example_by_language"] {
                let text = meta[field][*key].as_str().unwrap_or_default();
                assert!(!text.is_empty(), "{id}: no {field}.{key}");
                if *key != "rust" {
                    assert_not_rust(text, &format!("{id} {field}.{key}"));
                }
            }
        }
    }
}

/// JSON: each finding of a rule with per-language hints shows its service's.
#[test]
fn json_findings_show_the_hint_of_the_service_language() {
    let metas = metas();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (fixture, language) in FIXTURES {
        let (code, out) = tracegate(&["check", fixture, "--format", "json"]);
        assert_eq!(code, Some(1), "{fixture}: {out}");
        let report: Value = serde_json::from_str(&out).unwrap();
        for service in report["services"].as_array().unwrap() {
            assert_eq!(service["language"], *language, "{fixture}");
            for f in service["findings"].as_array().unwrap() {
                let rule = f["rule"].as_str().unwrap();
                let help = f["help"].as_str().unwrap();
                if !CODE_RULES.contains(&rule) {
                    continue;
                }
                let want = hint(&metas[rule], language)
                    .unwrap_or_else(|| panic!("{rule}: no hint for {language}"));
                assert!(
                    help.starts_with(want),
                    "{fixture} {rule}: {help:?} is not the {language} hint {want:?}"
                );
                if *language != "rust" {
                    assert_not_rust(help, &format!("{fixture} {rule}"));
                }
                *seen.entry(language).or_default() += 1;
            }
        }
    }
    // the fixtures do fire rules about code in each language
    for language in [
        "go",
        "python",
        "typescript",
        "javascript",
        "java",
        "dotnet",
        "rust",
    ] {
        assert!(
            seen.get(language).copied().unwrap_or(0) > 0,
            "{language}: {seen:?}"
        );
    }
}

/// A Kotlin service (judged with the Java rules) gets the Java hint.
#[test]
fn a_kotlin_service_gets_the_java_hint() {
    let metas = metas();
    let (_, out) = tracegate(&[
        "check",
        "fixtures/check/rule-shapes/kotlin-span-data",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    let findings: Vec<&Value> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["findings"].as_array().unwrap())
        .filter(|f| f["rule"] == "TG302")
        .collect();
    assert!(!findings.is_empty(), "{report:#}");
    let java = hint(&metas["TG302"], "java").unwrap();
    for f in findings {
        assert!(f["help"].as_str().unwrap().starts_with(java), "{f:#}");
    }
}

/// SARIF, Markdown and the text report carry the same per-language hint as JSON.
#[test]
fn sarif_markdown_and_text_show_the_hint_of_the_service_language() {
    let metas = metas();
    for (fixture, language) in FIXTURES.iter().filter(|(_, l)| *l != "rust") {
        let (_, out) = tracegate(&["check", fixture, "--format", "json"]);
        let report: Value = serde_json::from_str(&out).unwrap();
        let rules: Vec<String> = report["services"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .filter(|r| CODE_RULES.contains(&r.as_str()))
            .collect();
        assert!(!rules.is_empty(), "{fixture}");
        for format in ["sarif", "markdown", "table"] {
            let (_, mut text) =
                tracegate(&["check", fixture, "--format", format, "--color", "never"]);
            if format == "sarif" {
                // the rule descriptors list every language's hint…
                let sarif: Value = serde_json::from_str(&text).unwrap();
                for d in sarif["runs"][0]["tool"]["driver"]["rules"]
                    .as_array()
                    .unwrap()
                {
                    let id = d["id"].as_str().unwrap();
                    if let Some(want) = hint(&metas[id], language) {
                        let help = d["help"]["markdown"].as_str().unwrap();
                        assert!(help.contains(want), "{fixture} {id}: {help}");
                    }
                }
                // …and the results' messages carry the service's
                text = sarif["runs"][0]["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["message"]["text"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            // the text report wraps at the terminal's width: compare without line breaks
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            for rule in &rules {
                let want = hint(&metas[rule], language).unwrap();
                let want = want.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(
                    flat.contains(&want),
                    "{fixture} --format {format}: no {language} hint for {rule} ({want:?})"
                );
            }
            {
                for rule in &rules {
                    for other in KEYS
                        .iter()
                        .filter(|k| **k != "javascript" || *language != "typescript")
                    {
                        if *other == *language {
                            continue;
                        }
                        let Some(foreign) = hint(&metas[rule], other) else {
                            continue;
                        };
                        let foreign = foreign.split_whitespace().collect::<Vec<_>>().join(" ");
                        assert!(
                            !flat.contains(&foreign),
                            "{fixture} --format {format}: the {other} hint of {rule}"
                        );
                    }
                }
            }
        }
    }
}

/// `rules explain` shows every language's hint and example; `--lang` one language alone.
#[test]
fn explain_shows_every_language_and_lang_one() {
    let (code, all) = tracegate(&["rules", "explain", "TG105"]);
    assert_eq!(code, Some(0));
    for needle in [
        "with_batch_exporter",
        "sdktrace.WithBatcher",
        "BatchSpanProcessor(exporter)",
        "new BatchSpanProcessor(exporter)",
        "BatchSpanProcessor.builder(exporter)",
        "ExportProcessorType.Batch",
        "JavaScript/TypeScript:",
        "Java/Kotlin:",
        ".NET (C#):",
    ] {
        assert!(all.contains(needle), "no {needle:?} in\n{all}");
    }
    let (code, go) = tracegate(&["rules", "explain", "TG105", "--lang", "go"]);
    assert_eq!(code, Some(0));
    assert!(go.contains("sdktrace.WithBatcher(exporter)"), "{go}");
    let own = go.split("In Go").nth(1).unwrap();
    assert_not_rust(own, "explain TG105 --lang go");
    assert!(!go.contains("BatchSpanProcessor.builder"), "{go}");
    // TypeScript falls back to JavaScript's; Kotlin and C# are names of java and dotnet
    let (_, ts) = tracegate(&["rules", "explain", "tg302", "--lang", "ts"]);
    assert!(ts.contains("Object.entries(req.headers)"), "{ts}");
    let (_, kotlin) = tracegate(&["rules", "explain", "TG202", "--lang", "kotlin"]);
    assert!(
        kotlin.contains("OtlpHttpSpanExporter.builder()"),
        "{kotlin}"
    );
    let (_, csharp) = tracegate(&["rules", "explain", "TG301", "--lang", "csharp"]);
    assert!(csharp.contains("activity?.SetTag"), "{csharp}");
    // what, why and how are the same for every language; the hint and example are C#'s
    let own = csharp.split("In .NET (C#)").nth(1).unwrap();
    assert_not_rust(own, "explain TG301 --lang csharp");
    // an unknown language is a usage error
    let (code, _) = tracegate(&["rules", "explain", "TG105", "--lang", "cobol"]);
    assert_eq!(code, Some(2));
}

/// TG203 judges the workload, but a service that names itself in its SDK resource needs no
/// variable: a Go service is told both ways in Go's terms.
#[test]
fn a_go_service_without_a_service_name_gets_the_go_hint() {
    let metas = metas();
    let (_, out) = tracegate(&[
        "check",
        "fixtures/check/entry-points/go",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    let want = hint(&metas["TG203"], "go").unwrap();
    let mut seen = 0;
    for service in report["services"].as_array().unwrap() {
        assert_eq!(service["language"], "go");
        for f in service["findings"].as_array().unwrap() {
            if f["rule"] == "TG203" {
                assert!(f["help"].as_str().unwrap().starts_with(want), "{f:#}");
                assert!(want.contains("semconv.ServiceName"), "{want}");
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "{report:#}");
}
