//! Snapshots of every format from hand-built reports, and the properties the formats promise.

use super::*;
use crate::trace::{Edge, ServiceGraph};
use crate::verify::model::{Criterion, CriterionResult, Evidence, Timings};

fn edge(caller: &str, callee: &str, calls: usize, errors: usize) -> Edge {
    Edge {
        caller: caller.into(),
        callee: callee.into(),
        calls,
        total_ns: calls as u64 * 1_500_000,
        max_ns: 2_000_000,
        errors,
    }
}

fn graph() -> ServiceGraph {
    ServiceGraph {
        services: vec![
            "auth".into(),
            "ingress".into(),
            "orchestration".into(),
            "pricing".into(),
        ],
        edges: vec![
            edge("auth", "orchestration", 20, 0),
            edge("ingress", "auth", 20, 0),
            edge("orchestration", "pricing", 20, 2),
        ],
    }
}

/// AC-001 passes, AC-002 fails with four evidence items (one with a control character in a
/// service name), AC-005 is skipped, AC-007 fails.
fn failing_report() -> VerifyReport {
    let mut ac002 = CriterionResult::new(
        Criterion::Ac002,
        Verdict::Fail,
        "propagation breaks between orchestration and pricing in 20 of 20 traces",
    );
    ac002.push(Evidence {
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        span_id: Some("00f067aa0ba902b7".into()),
        service: Some("orchestration → pricing".into()),
        detail: "orchestration's CLIENT span has no SERVER child; pricing started trace 0af7651916cd43dd8448eb211c80319c".into(),
    });
    ac002.push(
        Evidence::detail("pricing\u{1b}[31m has an orphan span").with_service("pricing\u{7}"),
    );
    ac002.push(Evidence::detail("third"));
    ac002.push(Evidence::detail("fourth | with a pipe <b>"));
    let mut ac007 = CriterionResult::new(
        Criterion::Ac007,
        Verdict::Fail,
        "the card number canary was found in span data",
    );
    ac007.push(Evidence {
        trace_id: Some("0af7651916cd43dd8448eb211c80319c".into()),
        span_id: Some("b7ad6b7169203331".into()),
        service: Some("pricing".into()),
        detail: "attribute card_number holds the card-number canary".into(),
    });
    VerifyReport {
        target: "http://127.0.0.1:8080".into(),
        requests: 200,
        criteria: vec![
            CriterionResult::new(
                Criterion::Ac001,
                Verdict::Pass,
                "200 responses carried a trace ID, all distinct",
            ),
            ac002,
            CriterionResult::new(
                Criterion::Ac005,
                Verdict::Skip,
                "no --destination given: routing not judged",
            ),
            ac007,
        ],
        services_seen: vec![
            "auth".into(),
            "ingress".into(),
            "orchestration".into(),
            "pricing".into(),
        ],
        spans_read: 1234,
        notes: vec!["the target does not speak HTTP/2 (h2c refused): HTTP/1.1 only".into()],
        duration_ms: 4321,
        timings: Timings {
            replay_ms: 1200,
            collect_ms: 2100,
            fault_phase_ms: 1000,
            judge_ms: 21,
        },
        service_graph: graph(),
    }
}

fn passing_report() -> VerifyReport {
    VerifyReport {
        criteria: Criterion::ALL
            .iter()
            .map(|c| CriterionResult::new(*c, Verdict::Pass, "ok"))
            .collect(),
        notes: Vec::new(),
        ..failing_report()
    }
}

fn text(format: Format, report: &VerifyReport) -> String {
    render(format, report).expect("renders")
}

#[test]
fn table_snapshot() {
    insta::assert_snapshot!("table", text(Format::Table, &failing_report()));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("json", text(Format::Json, &failing_report()));
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", text(Format::Junit, &failing_report()));
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", text(Format::Markdown, &failing_report()));
}

#[test]
fn graph_snapshots() {
    insta::assert_snapshot!("graph_text", graph_text(&graph()));
    insta::assert_snapshot!("graph_dot", graph_dot(&graph()));
    insta::assert_snapshot!("graph_mermaid", graph_mermaid(&graph()));
    insta::assert_snapshot!("graph_svg", graph_svg(&graph()));
}

#[test]
fn json_follows_the_contract() {
    let value: serde_json::Value =
        serde_json::from_str(&text(Format::Json, &failing_report())).expect("valid JSON");
    assert_eq!(value["target"], "http://127.0.0.1:8080");
    assert_eq!(value["requests"], 200);
    assert_eq!(value["passed"], false);
    let services: Vec<&str> = value["services_seen"]
        .as_array()
        .expect("services_seen")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert_eq!(services, ["auth", "ingress", "orchestration", "pricing"]);
    let criteria = value["criteria"].as_array().expect("criteria");
    assert_eq!(criteria.len(), 4);
    for criterion in criteria {
        assert!(criterion["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("AC-00")));
        assert!(["pass", "fail", "skip"].contains(&criterion["verdict"].as_str().unwrap_or("")));
        assert!(criterion["summary"].is_string());
        for evidence in criterion["evidence"].as_array().expect("evidence") {
            // the key is always there, null when the evidence names no trace
            assert!(evidence.get("trace_id").is_some(), "{evidence}");
            assert!(evidence["detail"].is_string());
        }
    }
    assert_eq!(
        criteria[1]["evidence"][1]["trace_id"],
        serde_json::Value::Null
    );
}

#[test]
fn human_formats_contain_no_control_characters() {
    for format in [Format::Table, Format::Junit, Format::Markdown] {
        let out = text(format, &failing_report());
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "{format:?} leaks a control character"
        );
        assert!(
            out.contains("\\u{1b}") || out.contains("\\x1b") || out.contains("\\e"),
            "{format:?}: {out}"
        );
    }
}

#[test]
fn table_shows_the_first_evidence_lines_of_failures_only() {
    let out = text(Format::Table, &failing_report());
    assert!(
        out.contains("• trace 4bf92f3577b34da6a3ce929d0e0e4736"),
        "{out}"
    );
    assert!(out.contains("third"));
    assert!(
        !out.contains("fourth"),
        "only {EVIDENCE_SHOWN} lines: {out}"
    );
    assert!(out.contains("1 more"));
    assert!(out.contains("ingress ─▶ auth"));
    assert!(out
        .trim_end()
        .ends_with("FAILED: 1 passed, 2 failed, 1 skipped; 200 requests, 1234 spans read in 4.3 s (replay 1.2 s, collect 2.1 s, fault phase 1.0 s, judge 21 ms)"));
}

#[test]
fn junit_counts_failures_and_skips() {
    let out = text(Format::Junit, &failing_report());
    assert!(
        out.contains(r#"tests="4" failures="2" errors="0" skipped="1""#),
        "{out}"
    );
    assert_eq!(out.matches("<testcase").count(), 4);
    assert_eq!(out.matches("<skipped").count(), 1);
    // every evidence line of a failure, not only the first ones
    assert!(out.contains("fourth | with a pipe &lt;b&gt;"), "{out}");
}

#[test]
fn a_passing_report_says_passed_and_no_span_read_fails() {
    let report = passing_report();
    assert!(text(Format::Table, &report).contains("PASSED: 7 passed, 0 failed, 0 skipped"));
    assert!(text(Format::Markdown, &report).contains("✅ **PASSED"));
    let empty = VerifyReport {
        spans_read: 0,
        ..passing_report()
    };
    assert!(text(Format::Table, &empty).contains("FAILED: 7 passed"));
}

#[test]
fn svg_is_well_formed_and_escapes_names() {
    let mut g = graph();
    g.services.push("a<b>&\"c".into());
    let svg = graph_svg(&g);
    assert!(svg.contains("a&lt;b&gt;&amp;&quot;c"));
    let mut reader = quick_xml::Reader::from_str(&svg);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("malformed SVG: {e}"),
        }
    }
}

/// The table takes the width and colour it is given: verdicts coloured by tracegate (not by
/// crossterm, which reads NO_COLOR), nothing wider than the width, the same text without colour.
#[test]
fn table_width_and_colour_are_the_callers() {
    use crate::report::term::{display_width, TextOptions};
    let report = failing_report();
    for width in [80, 160] {
        let plain = render_with(
            Format::Table,
            &report,
            &TextOptions {
                width: Some(width),
                ..TextOptions::default()
            },
        )
        .unwrap();
        let coloured = render_with(
            Format::Table,
            &report,
            &TextOptions {
                width: Some(width),
                color: true,
                ..TextOptions::default()
            },
        )
        .unwrap();
        assert!(!plain.contains('\u{1b}'), "{plain}");
        assert!(
            coloured.contains("\u{1b}[1m\u{1b}[31mFAIL\u{1b}[0m")
                && coloured.contains("\u{1b}[1m\u{1b}[32mPASS\u{1b}[0m")
                && coloured.contains("\u{1b}[1m\u{1b}[31mFAILED\u{1b}[0m:"),
            "{coloured}"
        );
        assert_eq!(
            anstream::adapter::strip_str(&coloured).to_string(),
            plain,
            "{width}"
        );
        for line in plain
            .lines()
            .filter(|l| l.starts_with(['┌', '│', '╞', '└']))
        {
            assert!(display_width(line) <= width, "{width}: {line}");
        }
    }
    // Without a width: 120 columns, as before.
    assert_eq!(
        render(Format::Table, &report).unwrap(),
        render_with(
            Format::Table,
            &report,
            &TextOptions {
                width: Some(120),
                ..TextOptions::default()
            }
        )
        .unwrap()
    );
}
