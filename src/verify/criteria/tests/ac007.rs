use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};

use super::{assert_verdict, evidence_mentions, Run};
use crate::verify::criteria::ac007::{judge, p99};
use crate::verify::criteria::synthetic::{
    demo_trace, exchange, int_attr, python_trace, string_attr, SERVICES,
};
use crate::verify::model::{Phase, Verdict};

fn with_fault_phase(run: &mut Run, latencies_ms: &[u64], status: Option<u16>) {
    run.replay.fault_phase = true;
    for (i, &ms) in latencies_ms.iter().enumerate() {
        let mut e = exchange(
            100 + i as u64,
            crate::verify::criteria::synthetic::trace_id(100 + i as u64),
        );
        e.phase = Phase::Fault;
        e.canaries = false;
        e.latency = Duration::from_millis(ms);
        e.status = status;
        run.replay.exchanges.push(e);
    }
}

#[test]
fn p99_is_the_nearest_rank() {
    let mut values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
    assert_eq!(p99(&mut values), Some(Duration::from_millis(99)));
    assert_eq!(
        p99(&mut [Duration::from_millis(5)]),
        Some(Duration::from_millis(5))
    );
    assert_eq!(p99(&mut []), None);
}

#[test]
fn clean_spans_pass_b_and_a_is_skipped_without_a_fault_phase() {
    let run = Run::demo(&[demo_trace(1, true)]);
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Pass);
    assert!(
        result.summary.contains("(a) no fault phase ran"),
        "{}",
        result.summary
    );
    let run = Run::with_services(&[python_trace(1)], &SERVICES[..5]);
    assert_verdict(&run.judge(judge), Verdict::Pass);
}

#[test]
fn a_fault_phase_within_budget_passes_and_over_budget_or_failing_fails() {
    let mut run = Run::demo(&[demo_trace(1, false)]); // healthy p99 10 ms
    with_fault_phase(&mut run, &[12, 40, 55], Some(200)); // limit 10×1.1+50 = 61 ms
    assert_verdict(&run.judge(judge), Verdict::Pass);

    let mut run = Run::demo(&[demo_trace(1, false)]);
    with_fault_phase(&mut run, &[12, 3000], Some(200));
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result.summary.contains("latency over budget"),
        "{}",
        result.summary
    );

    let mut run = Run::demo(&[demo_trace(1, false)]);
    with_fault_phase(&mut run, &[12], Some(503));
    let result = run.judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result.summary.contains("1 of 1 requests failed"),
        "{}",
        result.summary
    );
    assert!(evidence_mentions(&result, "failed: status 503"));
}

#[test]
fn canaries_anywhere_fail_naming_service_span_and_attribute() {
    let canaries = crate::verify::criteria::synthetic::canaries();
    let mut trace = demo_trace(1, false);
    // the card number as an integer attribute on pricing's SERVER span
    let card: i64 = canaries.card_number.parse().unwrap();
    trace.attr(6, int_attr("order.card", card));
    // the query-string canary inside a bytes value
    trace.attr(
        8,
        KeyValue {
            key: "payload".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::BytesValue(
                    format!("x={}", canaries.query_value).into_bytes(),
                )),
            }),
            ..Default::default()
        },
    );
    let result = Run::demo(&[trace]).judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result.summary.contains("card number canary"),
        "{}",
        result.summary
    );
    assert!(
        result.summary.contains("query-string value canary"),
        "{}",
        result.summary
    );
    let card = result
        .evidence
        .iter()
        .find(|e| e.detail.starts_with("card number canary"))
        .unwrap();
    assert_eq!(card.service.as_deref(), Some("pricing"));
    assert!(
        card.detail
            .contains("span \"POST /quote/{order}\", attribute order.card"),
        "{card:?}"
    );
    assert!(card.span_id.is_some() && card.trace_id.is_some());
}

#[test]
fn patterns_and_credential_headers_fail_but_tenant_and_templates_do_not() {
    let mut trace = demo_trace(1, false);
    trace.spans[2].name = "notify jane.doe@example.com".into();
    trace.attr(4, string_attr("http.request.header.authorization", "Basic"));
    trace.attr(
        0,
        string_attr("http.url", "http://shop/login?password=hunter2"),
    );
    let result = Run::demo(&[trace]).judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        evidence_mentions(&result, "e-mail address: span \"notify"),
        "{result:#?}"
    );
    assert!(evidence_mentions(&result, "credential-named attribute"));
    assert!(evidence_mentions(&result, "password/secret pair"));

    let mut trace = demo_trace(2, false);
    trace.spans[0].attributes.retain(|kv| kv.key != "tenant.id");
    trace.attr(0, string_attr("tenant.id", "ops@example.com"));
    trace.attr(
        0,
        string_attr("http.route", "/users/{email}/cards/{card_number}"),
    );
    assert_verdict(&Run::demo(&[trace]).judge(judge), Verdict::Pass);
}

#[test]
fn a_leak_repeated_on_many_spans_is_counted_on_each() {
    // clean texts are searched once and remembered; a leaking one must be found every time
    let leaky = |seed| {
        let mut trace = demo_trace(seed, false);
        trace.spans[2].name = "notify jane.doe@example.com".into();
        trace.attr(4, string_attr("http.request.header.cookie", "session=1"));
        trace
    };
    let result = Run::demo(&[leaky(1), leaky(2), leaky(3)]).judge(judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        result.summary.contains("e-mail address ×3"),
        "{}",
        result.summary
    );
    assert!(
        result.summary.contains("credential-named attribute ×3"),
        "{}",
        result.summary
    );
}
