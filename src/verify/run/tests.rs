use std::collections::BTreeMap;

use super::*;
use crate::propagation::SpanId;
use crate::trace::{AssemblyOptions, Span, SpanKind, SpanStatus, StatusCode};
use crate::verify::model::{HttpVersion, IncomingCase, Incomplete, ReturnedId};

fn trace_id(n: u8) -> TraceId {
    TraceId::from_bytes([n; 16]).expect("non-zero")
}

fn span(trace: u8, id: u8, parent: u8, service: &str, kind: SpanKind) -> Span {
    Span {
        trace_id: trace_id(trace),
        span_id: SpanId::from_bytes([0, 0, 0, 0, 0, 0, 0, id]).expect("non-zero"),
        parent_span_id: SpanId::from_bytes([0, 0, 0, 0, 0, 0, 0, parent]),
        service: Some(service.to_owned()),
        name: format!("{service} op"),
        kind,
        start_unix_nano: 1_000 + u64::from(id),
        end_unix_nano: 2_000,
        status: SpanStatus {
            code: StatusCode::Unset,
            message: String::new(),
        },
        attributes: BTreeMap::new(),
        resource_attributes: BTreeMap::new(),
        events: Vec::new(),
    }
}

/// ingress (server) → ingress (client) → auth (server).
fn two_service_trace(trace: u8) -> Trace {
    Trace::assemble(
        trace_id(trace),
        vec![
            span(trace, 1, 0, "ingress", SpanKind::Server),
            span(trace, 2, 1, "ingress", SpanKind::Client),
            span(trace, 3, 2, "auth", SpanKind::Server),
        ],
        Vec::new(),
        &AssemblyOptions::default(),
    )
}

fn exchange(number: u64, phase: Phase, returned: Option<u8>, sent: Option<u8>) -> Exchange {
    Exchange {
        request: "checkout".into(),
        number,
        method: "POST".into(),
        path: format!("/checkout/{number}"),
        tenant: Some("acme".into()),
        phase,
        http_version: HttpVersion::Http1,
        incoming: if sent.is_some() {
            IncomingCase::Valid
        } else {
            IncomingCase::Absent
        },
        sent_traceparent: Vec::new(),
        sent_trace_id: sent.map(trace_id),
        canaries: false,
        status: Some(200),
        error: None,
        response_headers: Vec::new(),
        returned: returned.map(|n| ReturnedId {
            trace_id: trace_id(n),
            span_id: None,
            header: "traceresponse".into(),
        }),
        latency: Duration::from_millis(3),
    }
}

#[test]
fn collects_returned_and_sent_ids_of_the_healthy_phase_only() {
    let exchanges = vec![
        exchange(1, Phase::Healthy, Some(1), None),
        // a platform that dropped the valid incoming ID: both are read back
        exchange(2, Phase::Healthy, Some(2), Some(3)),
        exchange(3, Phase::Healthy, None, Some(4)),
        exchange(4, Phase::Healthy, Some(1), None),
        exchange(5, Phase::Fault, Some(9), None),
    ];
    let ids = trace_ids_to_collect(&exchanges);
    assert_eq!(
        ids,
        vec![trace_id(1), trace_id(2), trace_id(3), trace_id(4)]
    );
}

#[test]
fn merged_graph_sums_calls_over_traces() {
    let traces = [two_service_trace(1), two_service_trace(2)];
    let graph = merged_graph(traces.iter());
    assert_eq!(graph.services, vec!["auth", "ingress"]);
    assert_eq!(graph.edges.len(), 1);
    assert_eq!(graph.edges[0].caller, "ingress");
    assert_eq!(graph.edges[0].callee, "auth");
    assert_eq!(graph.edges[0].calls, 2);
}

#[test]
fn with_no_span_read_a_passing_criterion_fails_but_ac001_and_skips_stay() {
    let mut criteria = vec![
        CriterionResult::new(Criterion::Ac001, Verdict::Pass, "ids fine"),
        CriterionResult::new(Criterion::Ac002, Verdict::Pass, "vacuous"),
        CriterionResult::new(Criterion::Ac005, Verdict::Skip, "no destinations"),
        CriterionResult::new(Criterion::Ac007, Verdict::Pass, "no canary in 0 bytes"),
    ];
    no_span_read(&mut criteria);
    let verdicts: Vec<Verdict> = criteria.iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        vec![Verdict::Pass, Verdict::Fail, Verdict::Skip, Verdict::Fail]
    );
    assert!(criteria[1].evidence[0].detail.contains("no span"));
}

#[test]
fn incomplete_traces_are_summed_per_missing_service() {
    let mut collected = Collected::default();
    assert_eq!(incomplete_note(&collected), None);
    for n in 1..=2 {
        collected.incomplete.insert(
            trace_id(n),
            Incomplete {
                missing: vec!["pricing".into()],
                waited: Duration::from_secs(5),
            },
        );
    }
    let note = incomplete_note(&collected).expect("a note");
    assert_eq!(note, "2 traces incomplete after 5.0s: missing pricing (2)");
}

#[test]
fn samples_one_trace_per_request_shape_then_broken_ones() {
    let mut collected = Collected::default();
    collected.traces.insert(trace_id(1), two_service_trace(1));
    collected.traces.insert(trace_id(2), two_service_trace(2));
    let mut orphaned = two_service_trace(3);
    orphaned.orphans.push(2);
    collected.traces.insert(trace_id(3), orphaned);
    let exchanges = vec![
        exchange(1, Phase::Healthy, Some(1), None),
        exchange(2, Phase::Healthy, Some(2), None),
    ];
    let samples = sample_traces(&exchanges, &collected);
    let ids: Vec<TraceId> = samples.iter().map(|t| t.trace_id).collect();
    assert_eq!(ids, vec![trace_id(1), trace_id(3)]);
}

#[test]
fn services_seen_include_traces_no_response_named() {
    let mut collected = Collected::default();
    collected.traces.insert(trace_id(1), two_service_trace(1));
    collected.unclaimed.push(Trace::assemble(
        trace_id(7),
        vec![span(7, 1, 0, "pricing", SpanKind::Server)],
        Vec::new(),
        &AssemblyOptions::default(),
    ));
    assert_eq!(
        services_seen(&collected),
        vec!["auth", "ingress", "pricing"]
    );
}

#[test]
fn preflight_refuses_a_port_nothing_listens_on() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let target = format!("http://127.0.0.1:{port}");
    let error = runtime
        .block_on(preflight(&target, Duration::from_secs(2)))
        .expect_err("nothing listens");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("target {target}: not reachable")),
        "{text}"
    );
    let error = runtime
        .block_on(preflight("ftp://example.com", Duration::from_secs(2)))
        .expect_err("not http");
    assert!(error.to_string().contains("http://"), "{error}");
}

/// Records the calls made to it; `start` fails when asked to.
struct RecordingFault {
    calls: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
    start_fails: bool,
    stop_fails: bool,
}

impl FaultControl for RecordingFault {
    fn describe(&self) -> String {
        "a recorded fault".into()
    }

    fn start(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.calls.lock().expect("lock").push("start");
            if self.start_fails {
                Err("the firewall said no".into())
            } else {
                Ok(())
            }
        })
    }

    fn stop(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.calls.lock().expect("lock").push("stop");
            if self.stop_fails {
                Err("the firewall rule is stuck".into())
            } else {
                Ok(())
            }
        })
    }
}

/// A whole run against a plain HTTP server on loopback (no trace headers, no spans exported)
/// with an empty store as the span source; the fault is `fault`.
async fn run_against_a_plain_server(fault: Option<Box<dyn FaultControl>>) -> VerifyReport {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let target = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().fallback(|| async { "ok" });
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let scenario = crate::verify::scenario::parse(
        "requests:\n  - name: plain\n    path: /plain/{n}\n    repeat: 3\nexpect:\n  root: plain\n  services: [plain]\n",
        "plain.yaml",
    )
    .expect("a valid scenario");
    let options = VerifyOptions {
        scenario,
        target,
        source: SpanSource::Store(std::sync::Arc::new(crate::otlp::store::Store::in_memory(
            1000,
        ))),
        destinations: Vec::new(),
        manifest_findings: None,
        fault,
        only: Vec::new(),
        timeout: Duration::from_millis(300),
        quiet: Duration::from_millis(100),
        request_timeout: Duration::from_secs(5),
    };
    let events = std::sync::Mutex::new(Vec::new());
    let report = verify(options, &|e| {
        if matches!(e, Event::FaultStarting | Event::FaultStopped) {
            events.lock().expect("lock").push(e);
        }
    })
    .await
    .expect("the run completes");
    server.abort();
    // a caller can always tell whether the fault is still applied
    let fault_events = events.into_inner().expect("lock");
    assert!(
        fault_events.is_empty() || fault_events == [Event::FaultStarting, Event::FaultStopped],
        "{fault_events:?}"
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_is_started_and_always_stopped_around_the_fault_phase() {
    let without = run_against_a_plain_server(None).await;
    assert!(without.notes.iter().any(|n| n.contains("no fault phase")));

    let calls = std::sync::Arc::default();
    let fault = RecordingFault {
        calls: std::sync::Arc::clone(&calls),
        start_fails: false,
        stop_fails: false,
    };
    let with = run_against_a_plain_server(Some(Box::new(fault))).await;
    assert_eq!(*calls.lock().expect("lock"), ["start", "stop"]);
    // the fault phase sends the repeats again (no matrix)
    assert_eq!(with.requests, without.requests + 3, "{:?}", with.notes);
    assert!(with
        .notes
        .iter()
        .any(|n| n == "fault phase: a recorded fault"));
    // nothing was exported: the run fails whatever the criteria said
    assert_eq!(with.spans_read, 0);
    assert!(!with.passed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_that_cannot_start_is_still_stopped_and_the_phase_is_skipped() {
    let calls = std::sync::Arc::default();
    let fault = RecordingFault {
        calls: std::sync::Arc::clone(&calls),
        start_fails: true,
        stop_fails: false,
    };
    let report = run_against_a_plain_server(Some(Box::new(fault))).await;
    assert_eq!(*calls.lock().expect("lock"), ["start", "stop"]);
    let note = report
        .notes
        .iter()
        .find(|n| n.contains("fault phase skipped"))
        .expect("the skipped phase is reported");
    assert!(note.contains("the firewall said no"), "{note}");
    // a fault phase asked for that never ran fails AC-007, saying why (it passed before)
    let ac007 = ac007_of(&report);
    assert_eq!(ac007.verdict, Verdict::Fail, "{ac007:?}");
    assert!(ac007.summary.contains("the firewall said no"), "{ac007:?}");
    // healthy phase only: the matrix plus 3 repeats, no fault-phase repeat
    let healthy_only = run_against_a_plain_server(None).await;
    assert_eq!(report.requests, healthy_only.requests);
}

fn ac007_of(report: &VerifyReport) -> &CriterionResult {
    report
        .criteria
        .iter()
        .find(|c| c.id == Criterion::Ac007)
        .expect("AC-007 judged")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_that_cannot_be_undone_fails_ac007_even_when_only_other_criteria_are_asked() {
    // before: a failing --fault-stop was a note and the run could exit 0 with the backend
    // left broken
    let calls = std::sync::Arc::default();
    let fault = RecordingFault {
        calls: std::sync::Arc::clone(&calls),
        start_fails: false,
        stop_fails: true,
    };
    let report = run_against_a_plain_server(Some(Box::new(fault))).await;
    assert_eq!(*calls.lock().expect("lock"), ["start", "stop"]);
    let ac007 = ac007_of(&report);
    assert_eq!(ac007.verdict, Verdict::Fail, "{ac007:?}");
    assert!(
        ac007.summary.contains("the firewall rule is stuck"),
        "{ac007:?}"
    );
    assert!(ac007.summary.contains("may still be failing"), "{ac007:?}");
    let mut criteria = vec![CriterionResult::new(Criterion::Ac001, Verdict::Pass, "ok")];
    super::fault_failed(&mut criteria, &["undoing the fault failed".to_owned()]);
    assert_eq!(criteria.len(), 2);
    assert_eq!(criteria[1].id, Criterion::Ac007);
    assert_eq!(criteria[1].verdict, Verdict::Fail);
}
