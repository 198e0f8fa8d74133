//! The criteria judged on traces the real Python SDK exported (captured from the platform of
//! `tests/peers/pyplatform/` into `captured/*.json`, see its README), with no Python needed:
//! its span names, kinds and attribute names differ from the reference library's, and the
//! criteria must judge them as they are.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use tracegate::otlp::client::parse_trace_body;
use tracegate::propagation::TraceId;
use tracegate::trace::{AssemblyOptions, SpanKind, Trace};
use tracegate::verify::criteria::{judge, Evaluation};
use tracegate::verify::{
    Canaries, Collected, Criterion, CriterionResult, Exchange, Http2Support, HttpVersion,
    IncomingCase, Incomplete, Phase, ReplayRecord, ReturnedId, Verdict,
};

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pyplatform")
}

/// One captured trace: its OTLP and the assembled trace.
fn load(name: &str) -> (Vec<ResourceSpans>, Trace) {
    let path = dir().join("captured").join(name);
    let body = std::fs::read(&path).unwrap();
    let data = parse_trace_body(&body, Some("application/json")).unwrap();
    let mut traces = Trace::from_otlp(&data.resource_spans, &AssemblyOptions::default());
    assert_eq!(traces.len(), 1, "{name} holds one trace");
    (data.resource_spans, traces.remove(0))
}

/// The request that produced `trace`: answered 200 with `traceresponse` naming the gateway's
/// SERVER span, as the platform does.
fn exchange(number: u64, trace: &Trace, incoming: IncomingCase) -> Exchange {
    let gateway = trace
        .spans
        .iter()
        .find(|s| s.kind == SpanKind::Server && s.service.as_deref() == Some("gateway"))
        .unwrap();
    let header = format!(
        "00-{}-{}-01",
        trace.trace_id.to_hex(),
        gateway.span_id.to_hex()
    );
    let sent = incoming.is_valid().then_some(trace.trace_id);
    Exchange {
        request: "order-acme".into(),
        number,
        method: "GET".into(),
        path: format!("/order/{number}"),
        tenant: Some("acme".into()),
        phase: Phase::Healthy,
        http_version: HttpVersion::Http1,
        incoming,
        sent_traceparent: sent
            .map(|id| vec![format!("00-{}-00f067aa0ba902b7-01", id.to_hex())])
            .unwrap_or_default(),
        sent_trace_id: sent,
        canaries: false,
        status: Some(200),
        error: None,
        response_headers: vec![("traceresponse".into(), header)],
        returned: Some(ReturnedId {
            trace_id: trace.trace_id,
            span_id: Some(gateway.span_id),
            header: "traceresponse".into(),
        }),
        latency: Duration::from_millis(20),
    }
}

fn canaries() -> Canaries {
    Canaries {
        bearer_token: "tg-canary-token-0001".into(),
        email: "canary-0001@example.test".into(),
        card_number: "4111111111111111".into(),
        cookie: "tg-canary-cookie-0001".into(),
        password: "tg-canary-password-0001".into(),
        query_value: "tg-canary-query-0001".into(),
    }
}

/// Judge AC-001…AC-004 on `exchanges` with what collection would have read.
fn judge_1_to_4(exchanges: Vec<Exchange>, collected: &Collected) -> Vec<CriterionResult> {
    let text = std::fs::read_to_string(dir().join("scenario.yaml")).unwrap();
    let scenario = tracegate::verify::scenario::parse(&text, "scenario.yaml").unwrap();
    let replay = ReplayRecord {
        target: "http://127.0.0.1:8081".into(),
        exchanges,
        http2: Http2Support::No("the target does not speak HTTP/2".into()),
        canaries: canaries(),
        fault_phase: false,
    };
    let evaluation = Evaluation {
        scenario: &scenario,
        replay: &replay,
        collected,
        manifest_findings: None,
        destinations_configured: false,
    };
    judge(
        &evaluation,
        &[
            Criterion::Ac001,
            Criterion::Ac002,
            Criterion::Ac003,
            Criterion::Ac004,
        ],
    )
}

fn collected(traces: Vec<(Vec<ResourceSpans>, Trace)>, unclaimed: Vec<Trace>) -> Collected {
    let mut collected = Collected {
        can_list: true,
        waited: Duration::from_secs(1),
        ..Collected::default()
    };
    for (otlp, trace) in traces {
        collected.spans_read += trace.spans.len();
        collected.otlp.extend(otlp);
        collected.traces.insert(trace.trace_id, trace);
    }
    collected.spans_read += unclaimed.iter().map(|t| t.spans.len()).sum::<usize>();
    collected.unclaimed = unclaimed;
    collected
}

#[test]
fn ac001_to_ac004_pass_on_the_python_sdks_own_spans() {
    // Old conventions on gateway/catalog/stock, stable ones on pricing; CLIENT spans named
    // just "GET"; the second trace continues a valid incoming traceparent (its root's
    // parent is the caller's span, never exported) with a tracestate.
    let fresh = load("all-instrumented.json");
    let continued = load("incoming-traceparent.json");
    let exchanges = vec![
        exchange(1, &fresh.1, IncomingCase::Absent),
        exchange(2, &continued.1, IncomingCase::ValidWithTracestate),
    ];
    assert_eq!(
        continued.1.trace_id,
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
    );
    let collected = collected(vec![fresh, continued], Vec::new());
    for result in judge_1_to_4(exchanges, &collected) {
        assert_eq!(result.verdict, Verdict::Pass, "{result:#?}");
    }
}

#[test]
fn ac002_fails_naming_the_service_that_exported_nothing_and_dropped_the_context() {
    // catalog ran without OpenTelemetry: the gateway's trace has gateway + pricing, and stock
    // started a trace of its own behind catalog.
    let gateway = load("uninstrumented-catalog-gateway.json");
    let (_, behind) = load("uninstrumented-catalog-stock.json");
    assert_eq!(behind.spans.len(), 1);
    assert_eq!(behind.spans[0].parent_span_id, None);
    let exchanges = vec![exchange(1, &gateway.1, IncomingCase::Absent)];
    let trace_id = gateway.1.trace_id;
    let mut collected = collected(vec![gateway], vec![behind]);
    collected.incomplete = BTreeMap::from([(
        trace_id,
        Incomplete {
            missing: vec!["catalog".into(), "stock".into()],
            waited: Duration::from_secs(12),
        },
    )]);
    let results = judge_1_to_4(exchanges, &collected);
    let ac002 = results.iter().find(|r| r.id == Criterion::Ac002).unwrap();
    assert_eq!(ac002.verdict, Verdict::Fail, "{ac002:#?}");
    let names_catalog = ac002.summary.contains("catalog")
        || ac002.evidence.iter().any(|e| {
            e.detail.contains("catalog")
                || e.service.as_deref().is_some_and(|s| s.contains("catalog"))
        });
    assert!(names_catalog, "AC-002 does not name catalog: {ac002:#?}");
}

#[test]
fn ac002_fails_when_retries_share_one_client_span_as_the_requests_instrumentation_makes_them() {
    // pricing answered 503 to the first attempt; urllib3 retried inside one `Session.send`, so
    // the gateway has ONE CLIENT span (no `http.request.resend_count`) with two SERVER
    // children on pricing: the trace ID is kept, but not "one CLIENT span per attempt".
    let retried = load("flaky-pricing-retried.json");
    let trace = &retried.1;
    let pricing: Vec<_> = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server && s.service.as_deref() == Some("pricing"))
        .collect();
    assert_eq!(pricing.len(), 2);
    assert_eq!(pricing[0].parent_span_id, pricing[1].parent_span_id);
    let exchanges = vec![exchange(1, trace, IncomingCase::Absent)];
    let collected = collected(vec![retried], Vec::new());
    let results = judge_1_to_4(exchanges, &collected);
    let ac002 = results.iter().find(|r| r.id == Criterion::Ac002).unwrap();
    assert_eq!(
        ac002.verdict,
        Verdict::Fail,
        "two attempts, one CLIENT span: {ac002:#?}"
    );
    let names_the_hop = ac002.evidence.iter().any(|e| {
        let at = |name: &str| {
            e.detail.contains(name) || e.service.as_deref().is_some_and(|s| s.contains(name))
        };
        at("gateway") && at("pricing")
    });
    assert!(
        names_the_hop,
        "AC-002 does not name gateway → pricing: {ac002:#?}"
    );
}
