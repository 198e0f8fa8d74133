//! `coverage`'s runtime verdicts from the fixture trace set (`fixtures/coverage/traces/`),
//! read every way the command reads traces: assembled directly, from a `--store` directory,
//! from a tracegate receiver, and from servers on 127.0.0.1 answering like Tempo and Jaeger
//! v2 — and the one-line errors of backends that fail, answer garbage or hang.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::{json, Value};
use tracegate::coverage::model::{RuntimeFindings, RuntimeVerdict};
use tracegate::coverage::runtime::{analyse, read, RuntimeOptions, TraceInput};
use tracegate::otlp::client::{parse_trace_body, Backend};
use tracegate::otlp::server::Collector;
use tracegate::otlp::store::Store;
use tracegate::otlp::{Limits, Receiver};
use tracegate::trace::{AssemblyOptions, Trace};

const FIXTURE: &str = "fixtures/coverage/traces/traces.json";
/// 2026-11-26T10:00:00Z, when the fixture's traces start.
const BASE_NS: u64 = 1_795_687_200_000_000_000;
const HOUR_NS: u64 = 3_600_000_000_000;

fn fixture_json() -> Value {
    serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap()
}

fn fixture_request() -> ExportTraceServiceRequest {
    let data = parse_trace_body(&std::fs::read(FIXTURE).unwrap(), None).unwrap();
    ExportTraceServiceRequest {
        resource_spans: data.resource_spans,
    }
}

/// The fixture's spans split by trace ID, each an OTLP JSON document.
fn per_trace() -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for rs in fixture_json()["resourceSpans"].as_array().unwrap() {
        let mut by_trace: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for span in rs["scopeSpans"][0]["spans"].as_array().unwrap() {
            let id = span["traceId"].as_str().unwrap().to_owned();
            by_trace.entry(id).or_default().push(span.clone());
        }
        for (id, spans) in by_trace {
            out.entry(id).or_default().push(json!({
                "resource": rs["resource"], "scopeSpans": [{"spans": spans}]
            }));
        }
    }
    out.into_iter()
        .map(|(id, rs)| (id, json!({ "resourceSpans": rs })))
        .collect()
}

fn options(max_traces: usize) -> RuntimeOptions {
    RuntimeOptions {
        since_unix_nano: BASE_NS - HOUR_NS,
        until_unix_nano: BASE_NS + HOUR_NS,
        max_traces,
        request_timeout: Duration::from_millis(1_500),
    }
}

/// What the fixture must give, however it was read.
fn assert_fixture_verdicts(findings: &RuntimeFindings) {
    assert_eq!(findings.services["pricing"].verdict, RuntimeVerdict::Fail);
    assert_eq!(
        findings.services["pricing"].reasons,
        ["checkout → pricing: 4 of 4 calls start a new trace"]
    );
    for ok in ["gateway", "checkout", "ledger", "accounts"] {
        let service = &findings.services[ok];
        assert_eq!(service.verdict, RuntimeVerdict::Pass, "{ok}: {service:?}");
        assert!(service.reasons.is_empty(), "{ok}");
    }
    for unseen in ["notifications", "search", "fraud-check"] {
        assert!(!findings.services.contains_key(unseen), "{unseen}");
    }
    let edges: Vec<(&str, &str, u64, u64)> = findings
        .edges
        .iter()
        .map(|e| (e.caller.as_str(), e.callee.as_str(), e.paired, e.broken))
        .collect();
    assert_eq!(
        edges,
        [
            ("checkout", "ledger", 4, 0),
            ("checkout", "pricing", 0, 4),
            ("gateway", "accounts", 3, 0),
            ("gateway", "checkout", 4, 0),
        ]
    );
    assert_eq!((findings.traces, findings.spans), (11, 44));
}

#[test]
fn the_fixture_trace_set_breaks_pricing_on_the_checkout_edge_only() {
    let request = fixture_request();
    let traces = Trace::from_otlp(&request.resource_spans, &AssemblyOptions::default());
    assert_fixture_verdicts(&analyse(&traces));
}

/// Every file under `dir` with its length and modification time.
fn listing(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                meta.len(),
                meta.modified().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn store_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), 100_000).unwrap();
    store.ingest(fixture_request()).unwrap();
    store.sync().unwrap();
    dir
}

#[tokio::test]
async fn a_store_directory_gives_the_same_verdicts_and_is_left_untouched() {
    let dir = store_dir();
    let before = listing(dir.path());
    let input = TraceInput::Store(dir.path().to_owned());
    let findings = read(&input, &options(1_000)).await.unwrap();
    assert_fixture_verdicts(&findings);
    assert!(!findings.sampled);
    assert!(findings.source.starts_with("store "), "{}", findings.source);
    assert!(
        findings.source.contains("2026-11-26T09:00Z"),
        "{}",
        findings.source
    );
    assert_eq!(listing(dir.path()), before);
}

#[tokio::test]
async fn a_store_is_read_within_the_window_and_up_to_the_cap() {
    let dir = store_dir();
    let input = TraceInput::Store(dir.path().to_owned());
    let later = RuntimeOptions {
        since_unix_nano: BASE_NS + HOUR_NS,
        until_unix_nano: BASE_NS + 2 * HOUR_NS,
        ..options(1_000)
    };
    let findings = read(&input, &later).await.unwrap();
    assert_eq!(findings.traces, 0);
    assert!(findings.services.is_empty());

    let capped = read(&input, &options(3)).await.unwrap();
    assert_eq!(capped.traces, 3);
    assert!(capped.sampled);
    assert!(capped.source.contains("a sample"), "{}", capped.source);
}

#[tokio::test]
async fn an_unreadable_store_is_a_one_line_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    for path in [dir.path().join("absent"), file, dir.path().to_owned()] {
        let err = read(&TraceInput::Store(path.clone()), &options(10))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn backend(url: &str, backend: Backend) -> TraceInput {
    TraceInput::Backend {
        url: url.to_owned(),
        backend,
        headers: Vec::new(),
    }
}

/// A Tempo: `/api/search` lists every fixture trace (up to `limit`), `/api/traces/{id}`
/// answers in Tempo's `batches` shape. The search parameters are kept.
fn tempo(asked: Arc<Mutex<Vec<BTreeMap<String, String>>>>) -> Router {
    let traces = Arc::new(per_trace());
    let listed = Arc::clone(&traces);
    Router::new()
        .route(
            "/api/search",
            get(move |Query(params): Query<BTreeMap<String, String>>| {
                let limit: usize = params["limit"].parse().unwrap();
                asked.lock().unwrap().push(params);
                let hits: Vec<Value> = listed
                    .keys()
                    .take(limit)
                    .map(|id| json!({"traceID": id, "rootServiceName": "gateway"}))
                    .collect();
                async move { Json(json!({ "traces": hits, "metrics": {} })) }
            }),
        )
        .route(
            "/api/traces/{id}",
            get(move |UrlPath(id): UrlPath<String>| {
                let answer = traces
                    .get(&id)
                    .map(|t| json!({"batches": t["resourceSpans"]}));
                async move {
                    match answer {
                        Some(body) => Ok(Json(body)),
                        None => Err(StatusCode::NOT_FOUND),
                    }
                }
            }),
        )
}

#[tokio::test]
async fn a_tempo_search_is_read_trace_by_trace() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let url = serve(tempo(Arc::clone(&asked))).await;
    let findings = read(&backend(&url, Backend::Tempo), &options(1_000))
        .await
        .unwrap();
    assert_fixture_verdicts(&findings);
    assert!(!findings.sampled);
    assert!(
        findings.source.starts_with(&format!("tempo {url}")),
        "{}",
        findings.source
    );
    let params = asked.lock().unwrap()[0].clone();
    assert_eq!(params["q"], "{}");
    assert_eq!(
        params["start"],
        ((BASE_NS - HOUR_NS) / 1_000_000_000).to_string()
    );
    assert_eq!(
        params["end"],
        ((BASE_NS + HOUR_NS) / 1_000_000_000).to_string()
    );
    assert_eq!(
        params["limit"], "750",
        "a quarter kept for follow-up searches"
    );

    let capped = read(&backend(&url, Backend::Tempo), &options(5))
        .await
        .unwrap();
    assert!(capped.traces <= 5, "{}", capped.traces);
    assert!(capped.sampled, "the search returned its limit");
}

/// A Jaeger v2: `/api/v3/services`, and `/api/v3/traces` answering every fixture trace with
/// a span of the service asked (whole traces, so several services return the same trace),
/// as two streamed `{"result":…}` chunks; 404 when none.
fn jaeger() -> Router {
    let traces = Arc::new(per_trace());
    Router::new()
        .route(
            "/api/v3/services",
            get(|| async {
                Json(json!({"services": ["accounts", "checkout", "gateway", "ledger", "notifications", "pricing"]}))
            }),
        )
        .route(
            "/api/v3/traces",
            get(move |Query(params): Query<BTreeMap<String, String>>| {
                let service = params["query.service_name"].clone();
                for key in ["query.start_time_min", "query.start_time_max"] {
                    assert!(params[key].starts_with("2026-11-26T"), "{params:?}");
                }
                let limit: usize = params["query.num_traces"].parse().unwrap();
                let mut chunks = Vec::new();
                for t in traces.values() {
                    let has = t["resourceSpans"].as_array().unwrap().iter().any(|rs| {
                        rs["resource"]["attributes"][0]["value"]["stringValue"] == service.as_str()
                    });
                    if has && chunks.len() < limit {
                        chunks.push(json!({"result": t}).to_string());
                    }
                }
                async move {
                    if chunks.is_empty() {
                        return (StatusCode::NOT_FOUND, r#"{"error":{"httpCode":404,"message":"No traces found"}}"#.to_owned());
                    }
                    (StatusCode::OK, chunks.join("\n"))
                }
            }),
        )
}

#[tokio::test]
async fn a_jaeger_backend_is_searched_per_service_and_traces_are_deduplicated() {
    let url = serve(jaeger()).await;
    let findings = read(&backend(&url, Backend::Jaeger), &options(1_000))
        .await
        .unwrap();
    assert_fixture_verdicts(&findings);
    assert!(!findings.sampled);
    assert!(
        findings.source.starts_with(&format!("jaeger {url}")),
        "{}",
        findings.source
    );

    let capped = read(&backend(&url, Backend::Jaeger), &options(6))
        .await
        .unwrap();
    assert!(capped.traces <= 6, "{}", capped.traces);
    assert!(capped.sampled);
}

#[tokio::test]
async fn a_tracegate_receiver_is_read_through_its_listing() {
    let limits = Limits::default();
    let store = Arc::new(limits.store());
    store.ingest(fixture_request()).unwrap();
    let collector = Collector::start(
        Receiver::new(store, limits),
        "127.0.0.1:0".parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    let url = format!("http://{}", collector.http_addr);
    let findings = read(&backend(&url, Backend::Tracegate), &options(1_000))
        .await
        .unwrap();
    assert_fixture_verdicts(&findings);
    assert!(!findings.sampled);
}

async fn error_of(url: &str, kind: Backend) -> String {
    let began = Instant::now();
    let err = read(&backend(url, kind), &options(10))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        began.elapsed() < Duration::from_secs(6),
        "{:?}",
        began.elapsed()
    );
    assert!(err.contains(url), "{err}");
    assert!(!err.contains('\n'), "{err}");
    err
}

#[tokio::test]
async fn failing_garbage_and_silent_backends_are_one_line_errors_naming_the_url() {
    let failing = serve(Router::new().route(
        "/api/search",
        get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom\nagain") }),
    ))
    .await;
    let err = error_of(&failing, Backend::Tempo).await;
    assert!(err.contains("500"), "{err}");

    let garbage = serve(
        Router::new()
            .route("/api/search", get(|| async { "<html>tempo</html>" }))
            .route("/api/v3/services", get(|| async { "<html>jaeger</html>" })),
    )
    .await;
    for kind in [Backend::Tempo, Backend::Jaeger] {
        let err = error_of(&garbage, kind).await;
        assert!(
            err.contains("invalid JSON") || err.contains("not a Jaeger"),
            "{err}"
        );
    }

    // the search works, every trace fetch fails with 503
    let busy = serve(
        Router::new()
            .route(
                "/api/search",
                get(|| async { Json(json!({"traces": [{"traceID": "5a01"}]})) }),
            )
            .route(
                "/api/traces/{id}",
                get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "busy") }),
            ),
    )
    .await;
    let err = error_of(&busy, Backend::Tempo).await;
    assert!(err.contains("503") && err.contains("3 attempts"), "{err}");

    // accepts, answers nothing
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let err = error_of(&silent, Backend::Jaeger).await;
    assert!(err.contains("no answer within 1500 ms"), "{err}");

    // nothing listens
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    error_of(&closed, Backend::Tracegate).await;
}

#[tokio::test]
async fn credentials_go_with_search_requests_and_never_into_errors() {
    let url = serve(Router::new().route(
        "/api/v3/services",
        get(|headers: axum::http::HeaderMap| async move {
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some("Bearer s3cr3t") => (StatusCode::OK, r#"{"services":[]}"#),
                _ => (StatusCode::UNAUTHORIZED, "who are you"),
            }
        }),
    ))
    .await;
    let with = |token: &str| TraceInput::Backend {
        url: url.clone(),
        backend: Backend::Jaeger,
        headers: vec![("Authorization".to_owned(), format!("Bearer {token}"))],
    };
    let findings = read(&with("s3cr3t"), &options(10)).await.unwrap();
    assert_eq!(findings.traces, 0);
    let wrong = with("wr0ng-s3cr3t");
    let err = read(&wrong, &options(10)).await.unwrap_err().to_string();
    assert!(err.contains("401"), "{err}");
    for shown in [err, format!("{wrong:?}")] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}

/// A Tempo whose `{}` search leaves out the traces pricing started; a search for them
/// (`trace:rootService`) finds those starting within its seconds, or is refused with 400 when
/// `knows_root_service` is false.
fn tempo_missing_pricing_roots(knows_root_service: bool, asked: Arc<Mutex<Vec<String>>>) -> Router {
    let traces = Arc::new(per_trace());
    let by_id = Arc::clone(&traces);
    let rooted_in_pricing = |t: &Value| {
        t["resourceSpans"]
            .as_array()
            .unwrap()
            .iter()
            .all(|rs| rs["resource"]["attributes"][0]["value"]["stringValue"] == "pricing")
    };
    Router::new()
        .route(
            "/api/search",
            get(move |Query(params): Query<BTreeMap<String, String>>| {
                let q = params["q"].clone();
                asked.lock().unwrap().push(q.clone());
                let (start, end): (u64, u64) = (
                    params["start"].parse().unwrap(),
                    params["end"].parse().unwrap(),
                );
                let hits: Option<Vec<Value>> = if q == "{}" {
                    Some(
                        traces
                            .iter()
                            .filter(|(_, t)| !rooted_in_pricing(t))
                            .map(|(id, _)| json!({"traceID": id}))
                            .collect(),
                    )
                } else if q == r#"{ trace:rootService = "pricing" }"# && knows_root_service {
                    Some(
                        traces
                            .iter()
                            .filter(|(_, t)| {
                                let s: u64 = t["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
                                    ["startTimeUnixNano"]
                                    .as_str()
                                    .unwrap()
                                    .parse()
                                    .unwrap();
                                rooted_in_pricing(t) && (start..end).contains(&(s / 1_000_000_000))
                            })
                            .map(|(id, _)| json!({"traceID": id}))
                            .collect(),
                    )
                } else {
                    None
                };
                async move {
                    match hits {
                        Some(hits) => Ok(Json(json!({ "traces": hits }))),
                        None => Err((StatusCode::BAD_REQUEST, "unknown intrinsic")),
                    }
                }
            }),
        )
        .route(
            "/api/traces/{id}",
            get(move |UrlPath(id): UrlPath<String>| {
                let answer = by_id.get(&id).cloned();
                async move { answer.map(Json).ok_or(StatusCode::NOT_FOUND) }
            }),
        )
}

#[tokio::test]
async fn a_tempo_sample_missing_the_callee_s_new_traces_is_completed_by_searching_for_them() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let url = serve(tempo_missing_pricing_roots(true, Arc::clone(&asked))).await;
    let findings = read(&backend(&url, Backend::Tempo), &options(1_000))
        .await
        .unwrap();
    assert_fixture_verdicts(&findings);
    // one search for the sample, one per second in which checkout's calls to pricing ran
    assert_eq!(
        asked.lock().unwrap().len(),
        5,
        "{:?}",
        asked.lock().unwrap()
    );

    // a Tempo that does not know the query: the sample stands, pricing is not seen
    let asked = Arc::new(Mutex::new(Vec::new()));
    let url = serve(tempo_missing_pricing_roots(false, Arc::clone(&asked))).await;
    let findings = read(&backend(&url, Backend::Tempo), &options(1_000))
        .await
        .unwrap();
    assert!(!findings.services.contains_key("pricing"));
    assert_eq!(findings.services["checkout"].verdict, RuntimeVerdict::Pass);
    assert_eq!(
        asked.lock().unwrap().len(),
        2,
        "asked once more, then not again"
    );
}

/// A real `verify` judgement (AC-002 over a trace where pricing starts a new trace inside
/// ingress's call), serialised as `verify --format json` prints it, read back as runtime
/// verdicts: the wording `coverage` looks for is verify's own.
#[tokio::test]
async fn a_verify_result_naming_a_broken_hop_breaks_the_callee() {
    use tracegate::trace::SpanKind;
    use tracegate::verify::criteria::synthetic::{self, string_attr, TraceBuilder};
    use tracegate::verify::criteria::{judge, Evaluation};
    use tracegate::verify::model::{Criterion, Timings, VerifyReport};

    let mut caller = TraceBuilder::new(1);
    let root = caller.span("ingress", SpanKind::Server, "GET /quote", None, 0, 1_000);
    let call = caller.span("ingress", SpanKind::Client, "POST", Some(root), 100, 900);
    caller.attr(call, string_attr("server.address", "pricing"));
    let mut callee = TraceBuilder::new(2);
    callee.span("pricing", SpanKind::Server, "POST /quote", None, 150, 850);
    // the callee's trace is placed inside the caller's call
    callee
        .spans
        .iter_mut()
        .for_each(|s| (s.start_ns, s.end_ns) = (s.start_ns - 1_000_000, s.end_ns - 1_000_000));
    let (replay, mut collected) = synthetic::run(&[caller]);
    collected.unclaimed.push(callee.build());
    let scenario = synthetic::scenario(&["ingress", "pricing"]);
    let evaluation = Evaluation {
        scenario: &scenario,
        replay: &replay,
        collected: &collected,
        manifest_findings: None,
        destinations_configured: false,
    };
    let criteria = judge(&evaluation, &[Criterion::Ac002]);
    let graph = collected.traces.values().next().unwrap().service_graph();
    let report = VerifyReport {
        target: replay.target.clone(),
        requests: 1,
        criteria,
        services_seen: vec!["ingress".to_owned(), "pricing".to_owned()],
        spans_read: 3,
        notes: Vec::new(),
        duration_ms: 1,
        timings: Timings::default(),
        service_graph: graph,
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("verify.json");
    std::fs::write(&file, serde_json::to_vec(&report).unwrap()).unwrap();

    let findings = read(&TraceInput::VerifyResults(vec![file]), &options(10))
        .await
        .unwrap();
    assert_eq!(
        findings.services["pricing"].verdict,
        RuntimeVerdict::Fail,
        "{findings:?}"
    );
    assert_eq!(
        findings.services["pricing"].reasons,
        ["ingress → pricing: 1 of 1 calls start a new trace (verify evidence)"]
    );
    assert_eq!(findings.services["ingress"].verdict, RuntimeVerdict::Pass);
}
