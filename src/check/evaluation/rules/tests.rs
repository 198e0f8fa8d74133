//! The rule packs: parsing, validation, hints.

use super::*;
use crate::check::facts::segments;

#[test]
fn builtin_packs_parse_and_cover_every_family() {
    let set = RuleSet::builtin();
    for id in ["TG101", "TG102", "TG201", "TG290", "TG291", "TG301"] {
        assert!(set.get(id).is_some(), "{id} missing");
    }
    for meta in set.meta() {
        assert!(
            meta.docs.starts_with("docs/onboarding.md#"),
            "{}: docs anchor {}",
            meta.id,
            meta.docs
        );
        assert!(!meta.help.is_empty() && !meta.what.is_empty() && !meta.fix.is_empty());
    }
}

#[test]
fn unknown_keys_are_errors_with_file_and_line() {
    let mut set = RuleSet::default();
    let text = "rules:\n  - id: X1\n    title: t\n    severity: error\n    bogus: 1\n";
    let err = set.add_pack("my.yaml", text).unwrap_err().to_string();
    assert!(err.starts_with("my.yaml:"), "{err}");
    assert!(err.contains("bogus"), "{err}");
    assert!(err.starts_with("my.yaml:5: "), "{err}");
    assert!(!err.contains("column"), "position given twice: {err}");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_not_read_as_a_pack() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("c.yaml");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let err = RuleSet::default()
        .load_dir(dir.path())
        .unwrap_err()
        .to_string();
    assert_eq!(err, format!("{}: not a regular file", fifo.display()));
}

#[test]
fn bad_signals_are_rejected_with_the_rule_line() {
    let mut set = RuleSet::default();
    let text = "rules:\n  - id: ACME1\n    title: t\n    severity: error\n    help: h\n    what: w\n    why: y\n    fix: f\n    example: e\n    docs: docs/onboarding.md#x\n    forbid:\n      rust:\n        - {call: foo, env: BAR}\n";
    let err = set.add_pack("p.yaml", text).unwrap_err().to_string();
    assert!(err.starts_with("p.yaml:2:"), "{err}");
    assert!(err.contains("exactly one"), "{err}");
    let misplaced = text.replace("{call: foo, env: BAR}", "{symbol: foo, argument: Bar}");
    let err = set.add_pack("p.yaml", &misplaced).unwrap_err().to_string();
    assert!(err.contains("`argument` applies to `call`"), "{err}");
    let ok = text.replace("{call: foo, env: BAR}", "{call: foo, argument: a.Bar}");
    set.add_pack("p.yaml", &ok).unwrap();
    let interest = set.interest();
    assert!(interest.wants_args("foo") && !interest.wants_args("bar"));
}

#[test]
fn unused_waiver_help_covers_typos_and_gone_findings() {
    let set = RuleSet::builtin();
    let meta = set.get("TG291").unwrap();
    for text in [&meta.help, &meta.fix] {
        assert!(text.contains("misspelt") && text.contains("gone"), "{text}");
    }
}

#[test]
fn fix_hints_speak_the_services_language() {
    let set = RuleSet::builtin();
    let tg102 = set.get("TG102").unwrap();
    let go = tg102.help_for(Some(Language::Go));
    assert!(
        go.contains("otel.SetTextMapPropagator") && !go.contains("global::"),
        "{go}"
    );
    let rust = tg102.help_for(Some(Language::Rust));
    assert!(
        rust.contains("set_text_map_propagator") && !rust.contains("otel."),
        "{rust}"
    );
    // TypeScript takes JavaScript's; a language without its own, the generic hint.
    assert_eq!(
        tg102.help_for(Some(Language::Typescript)),
        tg102.help_for(Some(Language::Javascript))
    );
    assert_eq!(tg102.help_for(Some(Language::Php)), tg102.help);
    assert_eq!(tg102.help_for(None), tg102.help);
    // Every code rule has a hint per analysed language.
    for id in ["TG101", "TG102", "TG103", "TG104", "TG105", "TG202"] {
        let keys: Vec<&str> = set
            .get(id)
            .unwrap()
            .help_by_language
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["dotnet", "go", "java", "javascript", "python", "rust"],
            "{id}"
        );
    }
}

#[test]
fn a_pack_names_only_known_languages_for_its_hints() {
    let mut set = RuleSet::builtin();
    let text = "rules:\n  - id: ACME2\n    title: t\n    severity: error\n    help: h\n    help_by_language:\n      golang: g\n    what: w\n    why: y\n    fix: f\n    example: e\n    docs: d\n    forbid: {go: [{call: foo}]}\n";
    let err = set.add_pack("p.yaml", text).unwrap_err().to_string();
    assert!(
        err.contains("help_by_language: unknown language key \"golang\""),
        "{err}"
    );
    set.add_pack("p.yaml", &text.replace("golang: g", "go: g"))
        .unwrap();
    assert_eq!(set.get("ACME2").unwrap().help_for(Some(Language::Go)), "g");
}

#[test]
fn duplicate_ids_are_rejected() {
    let mut set = RuleSet::builtin();
    let text = "rules:\n  - id: TG101\n    title: t\n    severity: error\n    help: h\n    what: w\n    why: y\n    fix: f\n    example: e\n    docs: d\n    forbid: {rust: [{call: foo}]}\n";
    let err = set.add_pack("dup.yaml", text).unwrap_err().to_string();
    assert!(err.contains("duplicate rule id TG101"), "{err}");
}

#[test]
fn segments_split_on_all_separators() {
    assert_eq!(
        segments("opentelemetry::global::set_text_map_propagator"),
        vec!["opentelemetry", "global", "set_text_map_propagator"]
    );
    assert_eq!(
        segments("go.opentelemetry.io/otel/propagation.TraceContext"),
        vec![
            "go",
            "opentelemetry",
            "io",
            "otel",
            "propagation",
            "TraceContext"
        ]
    );
}

#[test]
fn short_of_needs_a_note_and_a_require_list() {
    let base = "rules:\n  - id: TG900\n    title: t\n    severity: error\n    help: h\n    what: w\n    why: y\n    fix: f\n    example: e\n    docs: d\n";
    let without_note = format!(
        "{base}    require: {{python: [{{dependency: opentelemetry-sdk}}]}}\n    short_of: {{python: [{{dependency: opentelemetry-api}}]}}\n"
    );
    let err = RuleSet::default()
        .add_pack("t.yaml", &without_note)
        .unwrap_err()
        .to_string();
    assert!(err.contains("TG900: short_of needs"), "{err}");
    let with_note = format!(
        "{base}    require: {{python: [{{dependency: opentelemetry-sdk}}]}}\n    short_of: {{python: [{{dependency: opentelemetry-api}}]}}\n    short_of_note: the API alone records nothing\n"
    );
    assert!(RuleSet::default().add_pack("t.yaml", &with_note).is_ok());
}
