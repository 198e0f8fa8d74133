//! `verify`'s collection against real receivers on 127.0.0.1 (`otlp::server::Collector`),
//! in-process stores, and misbehaving backends (garbage, 5xx, hanging, wrong credentials).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tracegate::otlp::client::Backend;
use tracegate::otlp::server::Collector;
use tracegate::otlp::store::Store;
use tracegate::otlp::{Limits, Receiver};
use tracegate::propagation::TraceId;
use tracegate::verify::collect::{
    collect, CollectError, CollectOptions, DestinationSource, SpanSource,
};
use tracegate::verify::Collected;

const SERVICES: [&str; 3] = ["ingress", "auth", "pricing"];

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// One span of `service` in trace `trace` (span ID `n`, parent `n - 1` unless `n == 1`).
fn span(trace: u8, service: &str, n: u8, start_ns: u64, tenant: &str) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![attribute("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![trace; 16],
                    span_id: vec![0, 0, 0, 0, 0, 0, trace, n],
                    parent_span_id: if n > 1 {
                        vec![0, 0, 0, 0, 0, 0, trace, n - 1]
                    } else {
                        Vec::new()
                    },
                    name: format!("{service} op"),
                    kind: 2,
                    start_time_unix_nano: start_ns + u64::from(n) * 1_000,
                    end_time_unix_nano: start_ns + 1_000_000,
                    attributes: vec![attribute("tenant.id", tenant)],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn id(trace: u8) -> TraceId {
    TraceId::from_bytes([trace; 16]).unwrap()
}

/// Store the spans of `services` in trace `trace`.
fn put(store: &Store, trace: u8, services: &[&str], start_ns: u64, tenant: &str) {
    for (i, service) in services.iter().enumerate() {
        store
            .ingest(span(trace, service, i as u8 + 1, start_ns, tenant))
            .unwrap();
    }
}

fn options(timeout_ms: u64) -> CollectOptions {
    CollectOptions {
        expected_services: SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        timeout: Duration::from_millis(timeout_ms),
        quiet: Duration::from_millis(100),
    }
}

async fn receiver() -> Collector {
    let limits = Limits::default();
    let receiver = Receiver::new(Arc::new(limits.store()), limits);
    Collector::start(receiver, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap()
}

fn from(collector: &Collector) -> SpanSource {
    SpanSource::Backend {
        url: format!("http://{}", collector.http_addr),
        backend: Backend::Tracegate,
        headers: Vec::new(),
    }
}

async fn run(
    source: &SpanSource,
    ids: &[TraceId],
    options: &CollectOptions,
) -> Result<Collected, CollectError> {
    collect(source, &[], ids, options, &|_, _| {}).await
}

/// Serve `app` on a loopback port; the URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn backend_at(url: String, headers: Vec<(String, String)>) -> SpanSource {
    SpanSource::Backend {
        url,
        backend: Backend::Tracegate,
        headers,
    }
}

#[tokio::test]
async fn a_trace_whose_last_service_arrives_late_is_waited_for_and_a_404_means_not_yet() {
    let collector = receiver().await;
    let store = Arc::clone(&collector.receiver().store);
    let start = now_ns();
    put(&store, 1, &SERVICES[..2], start, "acme");
    let late = Arc::clone(&store);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        put(&late, 1, &SERVICES[2..], start, "acme");
        // trace 2 is not there at all at first: the backend answers 404 until now
        put(&late, 2, &SERVICES, start, "acme");
    });
    let rounds = AtomicUsize::new(0);
    let began = Instant::now();
    let collected = collect(
        &from(&collector),
        &[],
        &[id(1), id(2)],
        &options(5_000),
        &|_, total| {
            assert_eq!(total, 2);
            rounds.fetch_add(1, Ordering::Relaxed);
        },
    )
    .await
    .unwrap();
    assert!(
        collected.incomplete.is_empty(),
        "{:?}",
        collected.incomplete
    );
    assert!(
        began.elapsed() >= Duration::from_millis(500),
        "waited for the quiet period"
    );
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
    assert!(rounds.load(Ordering::Relaxed) > 2);
    assert_eq!(collected.traces.len(), 2);
    assert_eq!(collected.traces[&id(1)].spans.len(), 3);
    assert_eq!(collected.spans_read, 6);
    let otlp_spans: usize = collected
        .otlp
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    assert_eq!(otlp_spans, 6);
    assert!(collected.can_list, "a tracegate receiver lists its traces");
    assert!(collected.unclaimed.is_empty());
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_trace_missing_a_service_is_incomplete_with_that_service_named() {
    let store = Arc::new(Store::in_memory(1_000));
    put(&store, 1, &SERVICES[..2], now_ns(), "acme");
    let began = Instant::now();
    let collected = run(
        &SpanSource::Store(Arc::clone(&store)),
        &[id(1), id(3)],
        &options(600),
    )
    .await
    .unwrap();
    assert!(began.elapsed() >= Duration::from_millis(600));
    assert!(began.elapsed() < Duration::from_secs(3));
    let incomplete = &collected.incomplete[&id(1)];
    assert_eq!(incomplete.missing, vec!["pricing".to_owned()]);
    assert!(incomplete.waited >= Duration::from_millis(600));
    // what arrived is still handed on, for the criteria to judge
    assert_eq!(collected.traces[&id(1)].spans.len(), 2);
    // a trace never seen misses every expected service
    let mut all: Vec<String> = SERVICES.iter().map(|s| (*s).to_owned()).collect();
    all.sort();
    assert_eq!(collected.incomplete[&id(3)].missing, all);
    assert!(!collected.traces.contains_key(&id(3)));
}

#[tokio::test]
async fn a_store_lists_the_runs_unclaimed_traces_but_not_older_ones() {
    let store = Arc::new(Store::in_memory(1_000));
    let start = now_ns();
    put(&store, 9, &SERVICES, start - 3_600_000_000_000, "acme"); // an earlier run
    put(&store, 1, &SERVICES, start, "acme");
    put(&store, 2, &["pricing"], start + 5_000_000, "acme"); // pricing dropped the context
    let collected = run(&SpanSource::Store(store), &[id(1)], &options(2_000))
        .await
        .unwrap();
    assert!(collected.can_list);
    let unclaimed: Vec<TraceId> = collected.unclaimed.iter().map(|t| t.trace_id).collect();
    assert_eq!(unclaimed, vec![id(2)]);
    assert_eq!(collected.spans_read, 4);
    assert_eq!(collected.otlp.len(), 4);
}

#[tokio::test]
async fn destinations_report_the_runs_traces_and_spans_per_tenant() {
    let start = now_ns();
    let acme = Arc::new(Store::in_memory(1_000));
    let globex = Arc::new(Store::in_memory(1_000));
    let shared = Arc::new(Store::in_memory(1_000));
    for store in [&shared, &acme] {
        put(store, 1, &SERVICES, start, "acme");
    }
    put(&shared, 2, &SERVICES, start, "globex");
    put(&acme, 2, &SERVICES[2..], start, "globex"); // a wrong route
    put(&globex, 2, &SERVICES[..2], start, "globex");
    put(&globex, 7, &["pricing"], start + 1_000_000, "acme"); // unclaimed, wrong place
    let destination = |name: &str, store: &Arc<Store>| DestinationSource {
        name: name.to_owned(),
        tenant: (name != "shared").then(|| name.to_owned()),
        source: SpanSource::Store(Arc::clone(store)),
    };
    let down = DestinationSource {
        name: "down".to_owned(),
        tenant: None,
        source: backend_at("http://127.0.0.1:9".to_owned(), Vec::new()),
    };
    let destinations = [
        destination("shared", &shared),
        destination("acme", &acme),
        destination("globex", &globex),
        down,
    ];
    let collected = collect(
        &SpanSource::Store(Arc::clone(&shared)),
        &destinations,
        &[id(1), id(2)],
        &options(2_000),
        &|_, _| {},
    )
    .await
    .unwrap();
    let by_name = |name: &str| {
        collected
            .destinations
            .iter()
            .find(|d| d.name == name)
            .unwrap()
    };
    assert_eq!(by_name("shared").trace_ids.len(), 2);
    assert_eq!(by_name("shared").spans_by_tenant["acme"], 3);
    assert_eq!(by_name("shared").spans_by_tenant["globex"], 3);
    assert_eq!(by_name("acme").tenant.as_deref(), Some("acme"));
    assert_eq!(by_name("acme").spans_by_tenant["acme"], 3);
    assert_eq!(by_name("acme").spans_by_tenant["globex"], 1);
    assert_eq!(by_name("globex").trace_ids, [id(2)].into_iter().collect());
    assert_eq!(by_name("globex").spans_by_tenant["acme"], 1);
    assert_eq!(by_name("globex").spans_by_tenant["globex"], 2);
    let error = by_name("down").error.as_deref().unwrap();
    assert!(error.contains("127.0.0.1:9"), "{error}");
    assert!(!error.contains('\n'), "{error}");
}

#[tokio::test]
async fn a_backend_answering_garbage_is_a_one_line_error() {
    let url = serve(Router::new().route(
        "/api/traces/{id}",
        get(|| async { "<html>\n<body>gateway</body>\n</html>" }),
    ))
    .await;
    let err = run(
        &backend_at(url.clone(), Vec::new()),
        &[id(1)],
        &options(2_000),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("invalid JSON"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[tokio::test]
async fn a_backend_failing_with_5xx_repeatedly_is_an_error() {
    let url = serve(Router::new().route(
        "/api/traces/{id}",
        get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "upstream\nunavailable") }),
    ))
    .await;
    let began = Instant::now();
    let err = run(&backend_at(url, Vec::new()), &[id(1)], &options(10_000))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("503"), "{err}");
    assert!(err.contains("times in a row"), "{err}");
    assert!(
        err.contains("upstream\\nunavailable"),
        "escaped, not cut: {err}"
    );
    assert!(!err.contains('\n'), "{err}");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_hanging_backend_is_bounded_by_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // accepts, reads nothing, answers nothing
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let began = Instant::now();
    let err = run(
        &backend_at(format!("http://{addr}"), Vec::new()),
        &[id(1)],
        &options(700),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    assert!(err.contains("no answer within 700 ms"), "{err}");
    held.abort();
}

#[tokio::test]
async fn credentials_are_sent_and_never_appear_in_errors_or_debug_output() {
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&received);
    let url = serve(Router::new().route(
        "/api/traces/{id}",
        get(move |headers: HeaderMap| {
            let seen = Arc::clone(&seen);
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let ok = auth == "Bearer right-s3cr3t";
                seen.lock().unwrap().push(auth);
                if ok {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }
        }),
    ))
    .await;
    let header = |token: &str| vec![("authorization".to_owned(), format!("Bearer {token}"))];
    let right = backend_at(url.clone(), header("right-s3cr3t"));
    let collected = run(&right, &[id(1)], &options(300)).await.unwrap();
    assert!(collected.incomplete.contains_key(&id(1)));
    assert!(received
        .lock()
        .unwrap()
        .iter()
        .all(|a| a == "Bearer right-s3cr3t"));

    let wrong = backend_at(url, header("wrong-s3cr3t"));
    let err = run(&wrong, &[id(1)], &options(300)).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("401"), "{message}");
    for shown in [message, format!("{err:?}"), format!("{wrong:?}")] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}

#[tokio::test]
async fn a_jaeger_backend_is_read_at_its_own_path_and_shape() {
    let hex = "07".repeat(16);
    let body = serde_json::json!({"result": {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ingress"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": hex, "spanId": "0000000000000701", "name": "POST /checkout",
            "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": now_ns().to_string(), "endTimeUnixNano": (now_ns() + 1).to_string()
        }]}]
    }]}})
    .to_string();
    let url = serve(Router::new().route(
        "/api/v3/traces/{id}",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    ))
    .await;
    let source = SpanSource::Backend {
        url,
        backend: Backend::Jaeger,
        headers: Vec::new(),
    };
    let options = CollectOptions {
        expected_services: vec!["ingress".to_owned()],
        ..options(2_000)
    };
    let collected = run(&source, &[id(7)], &options).await.unwrap();
    assert!(
        collected.incomplete.is_empty(),
        "{:?}",
        collected.incomplete
    );
    assert_eq!(collected.traces[&id(7)].spans[0].service_label(), "ingress");
    assert!(!collected.can_list, "Jaeger is asked by trace ID only");
}

#[tokio::test]
async fn collecting_the_demo_platform_finds_every_service_and_routes_per_tenant() {
    use tracegate::demo::{Platform, PlatformOptions, SHARED_DESTINATION};
    let platform = Platform::start(PlatformOptions::default()).await.unwrap();
    let http = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap();
    let mut ids = Vec::new();
    for (order, tenant) in [(1, "acme"), (2, "globex"), (3, "acme")] {
        let response = http
            .post(format!("{}/checkout/{order}", platform.ingress_url()))
            .header("x-tenant-id", tenant)
            .body("{}")
            .send()
            .await
            .unwrap();
        let traceresponse = response.headers()["traceresponse"].to_str().unwrap();
        ids.push(TraceId::from_hex(traceresponse.split('-').nth(1).unwrap()).unwrap());
    }
    let destinations: Vec<DestinationSource> = platform
        .destinations()
        .iter()
        .map(|d| DestinationSource {
            name: d.name.clone(),
            tenant: d.tenant.clone(),
            source: SpanSource::Store(platform.destination_store(&d.name).unwrap()),
        })
        .collect();
    let options = CollectOptions {
        expected_services: [
            "ingress",
            "auth",
            "orchestration",
            "pricing",
            "payment-gateway",
            "webhook-dispatcher",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        timeout: Duration::from_secs(10),
        quiet: Duration::from_millis(200),
    };
    let collected = collect(
        &SpanSource::Store(platform.shared_store()),
        &destinations,
        &ids,
        &options,
        &|_, _| {},
    )
    .await
    .unwrap();
    assert!(
        collected.incomplete.is_empty(),
        "{:?}",
        collected.incomplete
    );
    assert_eq!(collected.traces.len(), 3);
    assert!(collected.unclaimed.is_empty());
    let at = |name: &str| {
        collected
            .destinations
            .iter()
            .find(|d| d.name == name)
            .unwrap()
    };
    assert_eq!(at(SHARED_DESTINATION).trace_ids.len(), 3);
    assert_eq!(at("acme").trace_ids.len(), 2);
    assert!(!at("acme").spans_by_tenant.contains_key("globex"));
    assert_eq!(at("globex").trace_ids.len(), 1);
    assert!(!at("globex").spans_by_tenant.contains_key("acme"));
    platform.shutdown().await;
}

#[tokio::test]
async fn a_tracegate_backend_lists_the_runs_unclaimed_traces() {
    let collector = receiver().await;
    let store = Arc::clone(&collector.receiver().store);
    let start = now_ns();
    put(&store, 9, &SERVICES, start - 3_600_000_000_000, "acme"); // an earlier run
    put(&store, 1, &SERVICES, start, "acme");
    put(&store, 2, &["pricing"], start + 5_000_000, "acme"); // pricing dropped the context
    let collected = run(&from(&collector), &[id(1)], &options(2_000))
        .await
        .unwrap();
    assert!(collected.can_list);
    let unclaimed: Vec<TraceId> = collected.unclaimed.iter().map(|t| t.trace_id).collect();
    assert_eq!(unclaimed, vec![id(2)]);
    assert_eq!(collected.spans_read, 4);
    collector.shutdown().await.unwrap();
}

/// A trace of one `ingress` span, as OTLP JSON.
fn one_span_trace(hex: &str) -> String {
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ingress"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": hex, "spanId": "0000000000000701", "name": "POST /checkout", "kind": 2,
            "startTimeUnixNano": now_ns().to_string(), "endTimeUnixNano": (now_ns() + 1).to_string()
        }]}]
    }]})
    .to_string()
}

#[tokio::test]
async fn a_busy_backend_answering_503_beyond_two_queries_at_once_is_asked_again_more_slowly() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let busy_answers = Arc::new(AtomicUsize::new(0));
    let (flight, busy) = (Arc::clone(&in_flight), Arc::clone(&busy_answers));
    let url = serve(Router::new().route(
        "/api/traces/{id}",
        get(
            move |axum::extract::Path(hex): axum::extract::Path<String>| {
                let (flight, busy) = (Arc::clone(&flight), Arc::clone(&busy));
                async move {
                    let now = flight.fetch_add(1, Ordering::SeqCst) + 1;
                    let answer = if now > 2 {
                        busy.fetch_add(1, Ordering::SeqCst);
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "too many trace queries at once".to_owned(),
                        )
                    } else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        (StatusCode::OK, one_span_trace(&hex))
                    };
                    flight.fetch_sub(1, Ordering::SeqCst);
                    answer
                }
            },
        ),
    ))
    .await;
    let ids: Vec<TraceId> = (1..=40).map(id).collect();
    let options = CollectOptions {
        expected_services: vec!["ingress".to_owned()],
        quiet: Duration::ZERO,
        ..options(20_000)
    };
    let collected = run(&backend_at(url, Vec::new()), &ids, &options)
        .await
        .unwrap();
    assert!(
        busy_answers.load(Ordering::SeqCst) > 0,
        "the backend was busy at first"
    );
    assert!(
        collected.incomplete.is_empty(),
        "{:?}",
        collected.incomplete
    );
    assert_eq!(collected.traces.len(), 40);
}

#[tokio::test]
async fn a_tempo_backend_answering_batches_with_base64_ids_is_read() {
    // Tempo's jsonpb: base64 IDs, enum names, "batches"
    let body = serde_json::json!({"batches": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ingress"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "BgYGBgYGBgYGBgYGBgYGBg==", "spanId": "AAAAAAAABgE=", "name": "POST /checkout",
            "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": now_ns().to_string(), "endTimeUnixNano": (now_ns() + 1).to_string()
        }]}]
    }]})
    .to_string();
    let url = serve(Router::new().route(
        "/api/traces/{id}",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    ))
    .await;
    let source = SpanSource::Backend {
        url,
        backend: Backend::Tempo,
        headers: Vec::new(),
    };
    let options = CollectOptions {
        expected_services: vec!["ingress".to_owned()],
        ..options(2_000)
    };
    let collected = run(&source, &[id(6)], &options).await.unwrap();
    assert!(
        collected.incomplete.is_empty(),
        "{:?}",
        collected.incomplete
    );
    assert_eq!(
        collected.traces[&id(6)].spans[0].kind,
        tracegate::trace::SpanKind::Server
    );
    assert!(!collected.can_list, "Tempo is asked by trace ID only");
}
