use super::{assert_verdict, evidence_mentions, Run};
use crate::propagation::TraceId;
use crate::verify::criteria::ac001::judge;
use crate::verify::criteria::synthetic::{demo_trace, trace_id};
use crate::verify::model::{HttpVersion, IncomingCase, ReturnedId, Verdict};

fn demo_run(n: u64) -> Run {
    let traces: Vec<_> = (0..n).map(|i| demo_trace(i, false)).collect();
    Run::demo(&traces)
}

#[test]
fn distinct_returned_ids_pass() {
    let run = demo_run(3);
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Pass);
    assert!(
        result.summary.starts_with("3 responses"),
        "{}",
        result.summary
    );
}

#[test]
fn a_response_without_a_trace_id_fails_naming_the_case_and_http_version() {
    let mut run = demo_run(2);
    let exchange = &mut run.replay.exchanges[1];
    exchange.returned = None;
    exchange.response_headers.clear();
    exchange.http_version = HttpVersion::Http2;
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result
            .summary
            .contains("no valid trace ID in the response on 1 of 2"),
        "{}",
        result.summary
    );
    assert!(
        result.summary.contains("absent over HTTP/2"),
        "{}",
        result.summary
    );
    assert_eq!(result.evidence[0].service.as_deref(), Some("ingress"));
}

#[test]
fn a_valid_incoming_id_must_come_back_unchanged() {
    let mut run = demo_run(1);
    let sent = trace_id(77);
    let exchange = &mut run.replay.exchanges[0];
    exchange.incoming = IncomingCase::Valid;
    exchange.sent_trace_id = Some(sent);
    exchange.sent_traceparent = vec![format!("00-{}-00f067aa0ba902b7-01", sent.to_hex())];
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(evidence_mentions(&result, &format!("sent trace ID {sent}")));

    // preserved: passes, and two requests preserving the same sent ID are not duplicates
    let mut run = demo_run(2);
    for exchange in &mut run.replay.exchanges {
        exchange.incoming = IncomingCase::ValidWithTracestate;
        exchange.sent_trace_id = Some(sent);
        exchange.returned = Some(ReturnedId {
            trace_id: sent,
            span_id: None,
            header: "traceresponse".into(),
        });
    }
    assert_verdict(&run.judge(judge), Verdict::Pass);
}

#[test]
fn an_invalid_incoming_id_echoed_back_lowercased_is_not_fresh() {
    let mut run = demo_run(1);
    let echoed = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let exchange = &mut run.replay.exchanges[0];
    exchange.incoming = IncomingCase::UppercaseHex;
    exchange.sent_traceparent =
        vec!["00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01".into()];
    exchange.returned = Some(ReturnedId {
        trace_id: echoed,
        span_id: None,
        header: "traceresponse".into(),
    });
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result.summary.contains("uppercase-hex over HTTP/1.1"),
        "{}",
        result.summary
    );
    assert!(evidence_mentions(&result, "instead of a fresh one"));
}

#[test]
fn the_same_fresh_id_on_two_responses_fails() {
    let mut run = demo_run(2);
    let first = run.replay.exchanges[0].returned.clone();
    run.replay.exchanges[1].returned = first;
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result.summary.contains("trace ID reused"),
        "{}",
        result.summary
    );
}

#[test]
fn a_failed_healthy_request_fails_naming_it_and_fault_phase_failures_are_left_to_ac007() {
    // before: a 502 was left out and a run whose every request failed was a skip, so a
    // scenario aimed at a wrong path (all 404) passed the gate
    let mut run = demo_run(2);
    run.replay.exchanges[0].status = Some(502);
    run.replay.exchanges[0].returned = None;
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result
            .summary
            .contains("1 of 2 requests failed (HTTP 502 ×1)"),
        "{result:?}"
    );
    assert!(result.evidence[0].detail.contains("HTTP 502"), "{result:?}");
    run.replay.exchanges[1].status = None;
    run.replay.exchanges[1].error = Some("connection reset".into());
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result.summary.contains("2 of 2 requests failed"),
        "{result:?}"
    );
    // the same failures in the fault phase are not AC-001's
    for exchange in &mut run.replay.exchanges {
        exchange.phase = crate::verify::model::Phase::Fault;
    }
    run.replay.exchanges.extend(demo_run(1).replay.exchanges);
    assert_verdict(&run.judge(judge), Verdict::Pass);
}
