use std::time::Duration;

use super::{assert_verdict, evidence_mentions, Run};
use crate::verify::criteria::synthetic::{demo_trace, python_trace, TraceBuilder, SERVICES};
use crate::verify::criteria::{ac003, ac004};
use crate::verify::model::{Incomplete, Verdict};

#[test]
fn ac003_passes_on_our_spans_and_on_python_sdk_spans() {
    let run = Run::demo(&[demo_trace(1, true)]);
    assert_verdict(&run.judge(ac003::judge), Verdict::Pass);
    // SERVER spans with the older http.status_code, INTERNAL spans, CLIENT spans with http.url
    let run = Run::with_services(&[python_trace(1)], &SERVICES[..5]);
    assert_verdict(&run.judge(ac003::judge), Verdict::Pass);
}

#[test]
fn ac003_fails_on_a_server_span_without_status_and_a_span_without_service() {
    let mut trace = demo_trace(1, false);
    trace.spans[6]
        .attributes
        .retain(|kv| kv.key != "http.response.status_code");
    trace.spans[10].service = String::new();
    let result = Run::demo(&[trace]).judge(ac003::judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result
            .summary
            .contains("2 of 11 spans lack required fields"),
        "{}",
        result.summary
    );
    assert!(evidence_mentions(
        &result,
        "pricing SERVER \"POST /quote/{order}\": SERVER span without"
    ));
    assert!(evidence_mentions(&result, "no service.name"));
    let pricing = result
        .evidence
        .iter()
        .find(|e| e.service.as_deref() == Some("pricing"));
    assert!(pricing.is_some_and(|e| e.span_id.is_some()));
}

#[test]
fn ac003_fails_on_missing_timestamps_and_skips_without_spans() {
    let mut trace = demo_trace(1, false);
    trace.spans[3].end_ns = 0;
    let result = Run::demo(&[trace.clone()]).judge(ac003::judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(evidence_mentions(&result, "no start or end timestamp"));
    let mut run = Run::demo(&[trace]);
    run.collected.traces.clear();
    assert_verdict(&run.judge(ac003::judge), Verdict::Skip);
}

#[test]
fn ac004_passes_when_every_returned_id_resolves_to_the_whole_tree() {
    let run = Run::demo(&[demo_trace(1, false), demo_trace(2, true)]);
    let result = run.judge(ac004::judge);
    assert_verdict(&result, Verdict::Pass);
    assert!(
        result.summary.starts_with("2 returned trace IDs"),
        "{}",
        result.summary
    );
    let run = Run::with_services(&[python_trace(1)], &SERVICES[..5]);
    assert_verdict(&run.judge(ac004::judge), Verdict::Pass);
}

#[test]
fn ac004_fails_on_a_wrong_root_a_missing_service_and_an_incomplete_trace() {
    // rooted at auth: ingress's spans are not in the trace
    let mut trace = demo_trace(1, false);
    trace.spans.drain(0..2);
    trace.spans[0].parent = None;
    let result = Run::demo(&[trace]).judge(ac004::judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        evidence_mentions(&result, "rooted at auth SERVER"),
        "{result:#?}"
    );
    assert!(evidence_mentions(&result, "missing ingress"), "{result:#?}");

    let trace = demo_trace(2, false);
    let mut run = Run::demo(std::slice::from_ref(&trace));
    run.collected.incomplete.insert(
        trace.trace_id,
        Incomplete {
            missing: vec!["webhook-dispatcher".into()],
            waited: Duration::from_millis(2500),
        },
    );
    let result = run.judge(ac004::judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(evidence_mentions(
        &result,
        "incomplete after 2.5s: missing webhook-dispatcher"
    ));

    let mut run = Run::demo(&[trace]);
    run.collected.traces.clear();
    let result = run.judge(ac004::judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(result.summary.contains("1 not found"), "{}", result.summary);
}

#[test]
fn ac004_skips_when_no_response_returned_an_id() {
    let mut run = Run::demo(&[demo_trace(1, false)]);
    run.replay.exchanges[0].returned = None;
    let result = run.judge(ac004::judge);
    assert_verdict(&result, Verdict::Skip);
    assert!(result.summary.contains("see AC-001"));
    let _ = TraceBuilder::new(0);
}
