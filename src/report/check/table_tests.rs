//! The terminal layout of `--format table` at 80 and 160 columns, with and without colour,
//! quiet and verbose, on the hand-built report of `tests.rs`.

use super::tests::{report, rules};
use super::*;
use crate::report::term::{display_width, TextOptions, Verbosity};

fn table(width: Option<usize>, color: bool, verbosity: Verbosity) -> String {
    let rules = rules();
    let mut report = report();
    // A long hint, to see it wrap at word boundaries (`propag|ation` was the complaint).
    report.services[0].findings[0].help = "Set the W3C propagator at start-up: \
        otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(\
        propagation.TraceContext{}, propagation.Baggage{})) before the first span is started, \
        so that inbound context propagation works (see docs/onboarding.md#tg102)"
        .into();
    report.services[0].not_evaluated = vec![("TG103".into(), "TG102".into())];
    let ctx = RenderContext {
        rules: &rules,
        fail_on: Severity::Error,
        repo_prefix: None,
        text: TextOptions {
            width,
            color,
            verbosity,
            base: Some("platform"),
            given: &[],
        },
    };
    render(Format::Table, &report, &ctx).unwrap().main
}

/// Escapes made visible (`␛[31m`), so a colour snapshot reads as text.
fn visible(text: &str) -> String {
    text.replace('\u{1b}', "␛")
}

fn strip(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

#[test]
fn layout_80_columns() {
    insta::assert_snapshot!("table_80", table(Some(80), false, Verbosity::Normal));
}

#[test]
fn layout_160_columns() {
    insta::assert_snapshot!("table_160", table(Some(160), false, Verbosity::Normal));
}

#[test]
fn layout_80_columns_colour() {
    insta::assert_snapshot!(
        "table_80_colour",
        visible(&table(Some(80), true, Verbosity::Normal))
    );
}

#[test]
fn layout_160_columns_colour() {
    insta::assert_snapshot!(
        "table_160_colour",
        visible(&table(Some(160), true, Verbosity::Normal))
    );
}

#[test]
fn layout_quiet_and_verbose() {
    insta::assert_snapshot!("table_80_quiet", table(Some(80), false, Verbosity::Quiet));
    insta::assert_snapshot!(
        "table_80_verbose",
        table(Some(80), false, Verbosity::Verbose)
    );
}

#[test]
fn no_line_is_wider_than_the_width_and_colour_changes_nothing_else() {
    for width in [40, 60, 80, 100, 160] {
        for verbosity in [Verbosity::Quiet, Verbosity::Normal, Verbosity::Verbose] {
            let plain = table(Some(width), false, verbosity);
            for line in plain.lines() {
                assert!(
                    display_width(line) <= width,
                    "{width} {verbosity:?}: {line:?} is {} wide",
                    display_width(line)
                );
            }
            let coloured = table(Some(width), true, verbosity);
            assert!(
                coloured.contains('\u{1b}'),
                "{width} {verbosity:?}: no colour"
            );
            assert_eq!(strip(&coloured), plain, "{width} {verbosity:?}");
        }
    }
}

#[test]
fn words_wrap_whole_and_paths_open_from_the_base() {
    let out = table(Some(80), false, Verbosity::Normal);
    // Every word of the hint is on one line: joined back, the lines give the hint.
    let hint: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("fix: Set the W3C"))
        .take_while(|l| l.starts_with("    "))
        .map(str::trim)
        .collect();
    assert!(hint.len() > 2, "{out}");
    assert!(
        hint.join(" ")
            .contains("propagation.TraceContext{}, propagation.Baggage{})) before"),
        "{out}"
    );
    assert!(
        out.contains("\nplatform/services/billing/main.go:12  error TG102  "),
        "{out}"
    );
    assert!(
        out.contains("platform/tracegate.yaml:7  warning TG290"),
        "{out}"
    );
    assert!(!out.contains(" E / "), "{out}");
}

#[test]
fn quiet_shows_only_failures_verbose_shows_notes() {
    let quiet = table(Some(80), false, Verbosity::Quiet);
    assert!(quiet.contains("TG102"), "{quiet}");
    // The warning of the failing service, the passing and unknown services, the table: gone.
    for hidden in ["TG104", "TG301", "TG100", "pricing", "┌", "next:"] {
        assert!(!quiet.contains(hidden), "{hidden} in {quiet}");
    }
    assert!(quiet.trim_end().ends_with("failing: billing"), "{quiet}");
    let normal = table(Some(80), false, Verbosity::Normal);
    assert!(
        normal.contains("TG104") && !normal.contains("TG100  "),
        "{normal}"
    );
    let verbose = table(Some(80), false, Verbosity::Verbose);
    for shown in [
        "TG100",
        "TG301",
        "docs:",
        "\n    https://github.com/tracegate/tracegate/blob/main/docs/onboarding.md#tg102\n",
        "not evaluated: TG103",
        "k8s/kafka.yaml:4",
    ] {
        assert!(verbose.contains(shown), "{shown} not in {verbose}");
    }
}

#[test]
fn unwrapped_without_a_width() {
    let out = table(None, false, Verbosity::Normal);
    assert!(
        out.contains("fix: Set the W3C propagator at start-up: otel.SetTextMapPropagator("),
        "{out}"
    );
    assert!(out.lines().any(|l| display_width(l) > 160), "{out}");
}

#[test]
fn sections_are_parted_by_one_blank_line_without_infrastructure_too() {
    let rules = rules();
    let mut report = report();
    report.infrastructure.clear();
    let ctx = RenderContext {
        rules: &rules,
        fail_on: Severity::Error,
        repo_prefix: None,
        text: TextOptions {
            width: Some(160),
            ..TextOptions::default()
        },
    };
    let out = render(Format::Table, &report, &ctx).unwrap().main;
    assert!(out.contains("┘\n\nnext: "), "{out}");
    assert!(!out.starts_with('\n') && !out.contains("\n\n\n"), "{out}");
}

#[test]
fn verbose_extras_from_the_repository_are_escaped() {
    let rules = rules();
    let mut report = report();
    report.services[0].waived = vec![crate::check::model::WaiverNote {
        rule: "TG104".into(),
        reason: "legacy\u{1b}[2J\nFAKE line".into(),
        expires: "2027-01-01".into(),
    }];
    report.services[0].not_evaluated = vec![("TG1\u{7}03".into(), "TG102".into())];
    let ctx = RenderContext {
        rules: &rules,
        fail_on: Severity::Error,
        repo_prefix: None,
        text: TextOptions {
            width: Some(80),
            verbosity: Verbosity::Verbose,
            ..TextOptions::default()
        },
    };
    let out = render(Format::Table, &report, &ctx).unwrap().main;
    assert!(
        out.contains("waived: TG104 until 2027-01-01: legacy\\x1b[2J\\nFAKE line"),
        "{out}"
    );
    assert!(
        out.contains("not evaluated: TG1\\x0703 (after TG102 fired)"),
        "{out}"
    );
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out}");
}

#[test]
fn findings_in_a_row_with_one_rule_and_hint_share_the_hint() {
    let rules = rules();
    let mut report = report();
    let first = report.services[0].findings[0].clone();
    let mut second = first.clone();
    second.line = Some(13);
    second.message = "another key".into();
    // the warning after them has another rule: its own hint
    report.services[0].findings.splice(0..1, [first, second]);
    let ctx = RenderContext {
        rules: &rules,
        fail_on: Severity::Error,
        repo_prefix: None,
        text: TextOptions::default(),
    };
    let out = render(Format::Table, &report, &ctx).unwrap().main;
    assert!(
        out.contains(
            "services/billing/main.go:12  error TG102  otel.SetTextMapPropagator is never called: the global propagator is a no-op\n\
             services/billing/main.go:13  error TG102  another key\n    fix: see docs/onboarding.md#tg102\n\
             services/billing/telemetry.go:30  warning TG104"
        ),
        "{out}"
    );
}

#[test]
fn manifests_files_and_stdin_keep_their_names() {
    let rules = rules();
    let mut report = report();
    report.services[0].findings[0].file = Some("out/rendered.yaml".into());
    report.services[0].findings[1].file = Some("<stdin>".into());
    let given = vec!["out/rendered.yaml".to_owned()];
    let ctx = RenderContext {
        rules: &rules,
        fail_on: Severity::Error,
        repo_prefix: None,
        text: TextOptions {
            base: Some("platform"),
            given: &given,
            ..TextOptions::default()
        },
    };
    let out = render(Format::Table, &report, &ctx).unwrap().main;
    assert!(out.contains("\nout/rendered.yaml:12  error TG102"), "{out}");
    assert!(out.contains("\n<stdin>:30  warning TG104"), "{out}");
    // the others still open from the current directory
    assert!(
        out.contains("\nplatform/tracegate.yaml:7  warning TG290"),
        "{out}"
    );
}
