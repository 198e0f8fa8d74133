use std::time::Duration;

use super::{assert_verdict, evidence_mentions, split_off, Run};
use crate::trace::SpanKind;
use crate::verify::criteria::ac002::judge;
use crate::verify::criteria::synthetic::{
    demo_trace, python_trace, string_attr, TraceBuilder, SERVICES,
};
use crate::verify::model::{IncomingCase, Incomplete, Verdict};

// demo_trace(seed, false): 0 ingress S, 1 ingress C, 2 auth S, 3 auth C, 4 orchestration S,
// 5 orchestration C (quote), 6 pricing S, 7 orchestration C (charge), 8 payment-gateway S,
// 9 payment-gateway PRODUCER, 10 webhook-dispatcher CONSUMER. With retry, 7 and 8 are the
// failed first attempt, 9 the resend, 10 payment-gateway S, 11 PRODUCER, 12 CONSUMER.

#[test]
fn demo_traces_with_a_retry_pass() {
    let run = Run::demo(&[demo_trace(1, false), demo_trace(2, true)]);
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Pass);
    assert!(
        result.summary.contains("1 retries kept the trace"),
        "{}",
        result.summary
    );
}

#[test]
fn python_sdk_shapes_pass() {
    let mut trace = python_trace(1);
    // a call to a third-party API: a CLIENT span no SERVER span answers
    let stripe = trace.span(
        "payment-gateway",
        SpanKind::Client,
        "POST",
        Some(12),
        900,
        1000,
    );
    trace.attr(
        stripe,
        string_attr("http.url", "https://api.stripe.com/v1/charges"),
    );
    let run = Run::with_services(&[trace, python_trace(2)], &SERVICES[..5]);
    assert_verdict(&run.judge(judge), Verdict::Pass);
}

#[test]
fn a_service_that_drops_the_context_is_named_as_the_broken_hop() {
    let mut trace = demo_trace(1, false);
    let pricing = split_off(&mut trace, 6, 900);
    let mut run = Run::demo(std::slice::from_ref(&trace));
    run.unclaimed(&pricing);
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result
            .summary
            .contains("propagation breaks between orchestration and pricing"),
        "{}",
        result.summary
    );
    assert!(
        evidence_mentions(&result, "pricing started a new trace"),
        "{result:#?}"
    );
    assert_eq!(
        result.evidence[0].service.as_deref(),
        Some("orchestration → pricing")
    );

    // a source that can only be asked by trace ID: pricing is simply missing
    let run = Run::demo(&[trace]);
    let result = run.judge(judge);
    assert!(
        result
            .summary
            .contains("propagation breaks between orchestration and pricing"),
        "{}",
        result.summary
    );
    assert!(evidence_mentions(
        &result,
        "pricing has no span in this trace"
    ));
}

#[test]
fn an_uninstrumented_python_service_is_named_not_the_one_after_it() {
    let full = python_trace(1);
    let mut original = full.clone();
    original.spans.truncate(6); // ingress and auth only
    let mut downstream = TraceBuilder::new(900);
    downstream.spans = full.spans[9..].to_vec(); // pricing starts a new trace
    downstream.spans[0].parent = None;
    let mut run = Run::with_services(&[original], &SERVICES[..5]);
    run.unclaimed(&downstream);
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result
            .summary
            .contains("propagation breaks between auth and orchestration"),
        "{}",
        result.summary
    );
}

#[test]
fn a_broken_queue_hop_is_named() {
    let mut trace = demo_trace(1, false);
    let consumer = split_off(&mut trace, 10, 900);
    let mut run = Run::demo(&[trace]);
    run.unclaimed(&consumer);
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result
            .summary
            .contains("propagation breaks between payment-gateway and webhook-dispatcher"),
        "{}",
        result.summary
    );
    assert!(evidence_mentions(&result, "(queue hop)"));
}

#[test]
fn a_retry_without_resend_count_fails() {
    let mut trace = demo_trace(1, true);
    trace.spans[9].attributes.clear();
    let result = Run::demo(&[trace]).judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result.summary.contains("retry without resend_count"),
        "{}",
        result.summary
    );
}

#[test]
fn a_retry_that_starts_a_new_trace_fails() {
    let mut trace = demo_trace(1, true);
    let mut resent = TraceBuilder::new(900);
    resent.spans = trace.spans.split_off(9);
    resent.spans[0].parent = None;
    let mut run = Run::demo(&[trace]);
    run.unclaimed(&resent);
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result.summary.contains("retry left the trace"),
        "{}",
        result.summary
    );
    assert!(
        result
            .summary
            .contains("propagation breaks between orchestration and payment-gateway (on retry)"),
        "{}",
        result.summary
    );
    assert!(
        !result.summary.contains("expected services missing"),
        "{}",
        result.summary
    );
    assert!(
        result.summary.contains("retry started a new trace"),
        "{}",
        result.summary
    );
    assert!(evidence_mentions(&result, "http.request.resend_count=1"));
}

#[test]
fn a_server_span_under_an_internal_span_fails() {
    let mut trace = python_trace(1);
    trace.spans[3].parent = Some(trace.spans[1].span_id); // auth SERVER under ingress INTERNAL
    let result = Run::with_services(&[trace], &SERVICES[..5]).judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        evidence_mentions(&result, "is parented to a INTERNAL span"),
        "{result:#?}"
    );
}

#[test]
fn the_root_under_the_sent_traceparent_is_not_an_orphan() {
    let mut trace = demo_trace(1, false);
    let sent_parent = crate::propagation::SpanId::from_hex("00f067aa0ba902b7").unwrap();
    trace.spans[0].parent = Some(sent_parent);
    let mut run = Run::demo(std::slice::from_ref(&trace));
    let exchange = &mut run.replay.exchanges[0];
    exchange.incoming = IncomingCase::Valid;
    exchange.sent_trace_id = Some(trace.trace_id);
    exchange.sent_traceparent = vec![format!(
        "00-{}-00f067aa0ba902b7-01",
        trace.trace_id.to_hex()
    )];
    assert_verdict(&run.judge(judge), Verdict::Pass);
    assert_verdict(
        &run.judge(crate::verify::criteria::ac004::judge),
        Verdict::Pass,
    );

    // without the sent traceparent, the same span is an orphan
    run.replay.exchanges[0].sent_traceparent.clear();
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(result.summary.contains("orphan"), "{}", result.summary);
}

#[test]
fn an_incomplete_trace_fails_with_what_is_missing() {
    let trace = demo_trace(1, false);
    let mut run = Run::demo(std::slice::from_ref(&trace));
    run.collected.traces.clear();
    run.collected.incomplete.insert(
        trace.trace_id,
        Incomplete {
            missing: vec!["pricing".into()],
            waited: Duration::from_secs(30),
        },
    );
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        evidence_mentions(&result, "incomplete after 30s: missing pricing"),
        "{result:#?}"
    );
}

#[test]
fn a_request_that_got_no_response_is_not_judged() {
    let mut run = Run::demo(&[demo_trace(1, false), demo_trace(2, false)]);
    let sent = crate::verify::criteria::synthetic::trace_id(99);
    let exchange = &mut run.replay.exchanges[1];
    exchange.status = None;
    exchange.returned = None;
    exchange.error = Some("connection reset".into());
    exchange.incoming = IncomingCase::Valid;
    exchange.sent_trace_id = Some(sent);
    exchange.sent_traceparent = vec![format!("00-{}-00f067aa0ba902b7-01", sent.to_hex())];
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Pass);
    assert!(
        result
            .summary
            .contains("1 request named no trace in the response, and was not judged"),
        "{}",
        result.summary
    );
}

#[test]
fn nothing_to_judge_is_a_skip() {
    let mut run = Run::demo(&[demo_trace(1, false)]);
    run.replay.exchanges[0].returned = None;
    assert_verdict(&run.judge(judge), Verdict::Skip);
}

#[test]
fn a_third_party_call_is_not_a_broken_hop_even_when_another_hop_breaks() {
    let full = python_trace(1);
    let mut original = full.clone();
    original.spans.truncate(6); // orchestration uninstrumented, as above
    let stripe = original.span("auth", SpanKind::Client, "POST", Some(3), 300, 400);
    original.attr(
        stripe,
        string_attr("url.full", "https://api.stripe.com/v1/charges"),
    );
    let mut downstream = TraceBuilder::new(900);
    downstream.spans = full.spans[9..].to_vec();
    downstream.spans[0].parent = None;
    let mut run = Run::with_services(&[original], &SERVICES[..5]);
    run.unclaimed(&downstream);
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result
            .summary
            .contains("propagation breaks between auth and orchestration (1 trace)"),
        "{}",
        result.summary
    );
    assert!(!result.summary.contains("stripe"), "{}", result.summary);
    let hops = result
        .evidence
        .iter()
        .filter(|e| e.detail.starts_with("propagation breaks"))
        .count();
    assert_eq!(hops, 1, "{result:#?}");
}

#[test]
fn a_callee_named_by_host_is_recognised_even_if_it_never_reported_a_span() {
    // Kubernetes: `http://orchestration:8080/…`, orchestration uninstrumented, and pricing
    // (which follows it) started a new trace at the same time
    let full = python_trace(1);
    let mut original = full.clone();
    original.spans.truncate(6);
    original.spans[5].attributes.clear();
    original.attr(5, string_attr("http.url", "http://orchestration:8080/work"));
    let mut downstream = TraceBuilder::new(900);
    downstream.spans = full.spans[9..].to_vec();
    downstream.spans[0].parent = None;
    for span in &mut downstream.spans {
        span.attributes
            .retain(|kv| !kv.key.starts_with("net.host") && kv.key != "http.host");
    }
    let mut run = Run::with_services(&[original], &SERVICES[..5]);
    run.unclaimed(&downstream);
    let result = run.judge(judge);
    assert!(
        result
            .summary
            .contains("propagation breaks between auth and orchestration"),
        "{}",
        result.summary
    );
}

#[test]
fn concurrent_broken_calls_each_name_their_own_new_trace() {
    // Two requests in flight. A's call to pricing starts first, but its pricing (slower to
    // start) begins after B's; B's pricing starts nearest to both calls' starts. Each call's
    // own new trace is the one that fits it (start after the call's, end closest to its end),
    // and one new trace is never named by two calls.
    let us = 1_000;
    let retime = |trace: &mut TraceBuilder, index: usize, start_us: u64, end_us: u64| {
        let base = trace.spans[0].start_ns;
        trace.spans[index].start_ns = base + start_us * us;
        trace.spans[index].end_ns = base + end_us * us;
    };
    let mut a = demo_trace(10, false);
    retime(&mut a, 5, 500, 8500); // A's call: 10.5 ms … 18.5 ms
    retime(&mut a, 6, 2500, 8000); // A's pricing: 12.5 ms … 18.0 ms
    let mut b = demo_trace(11, false);
    retime(&mut b, 5, 500, 6000); // B's call: 11.5 ms … 17.0 ms
    retime(&mut b, 6, 800, 5500); // B's pricing: 11.8 ms … 16.5 ms
    let pricing_a = split_off(&mut a, 6, 910);
    let pricing_b = split_off(&mut b, 6, 911);
    let mut run = Run::demo(&[a.clone(), b.clone()]);
    run.unclaimed(&pricing_a);
    run.unclaimed(&pricing_b);
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    for (caller, own) in [(&a, &pricing_a), (&b, &pricing_b)] {
        let caller_id = caller.trace_id.to_string();
        let named: Vec<&str> = result
            .evidence
            .iter()
            .filter(|e| e.trace_id.as_deref() == Some(caller_id.as_str()))
            .filter(|e| e.detail.contains("started a new trace"))
            .map(|e| e.detail.as_str())
            .collect();
        assert_eq!(named.len(), 1, "{result:#?}");
        assert!(
            named[0].contains(&own.trace_id.to_string()),
            "{caller_id} should name {}: {}",
            own.trace_id,
            named[0]
        );
    }
}
