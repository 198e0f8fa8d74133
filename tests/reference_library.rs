//! The reference library end to end on loopback: two axum services with the server layer and
//! the traced reqwest client, exporting through the real exporter to real OTLP/HTTP receivers.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use common::{closed_endpoint, receiver, Mode, Received};
use tracegate::propagation::client::{RetryPolicy, TracedRequest};
use tracegate::propagation::export::{ExportConfig, Exporter};
use tracegate::propagation::server::TraceLayer;
use tracegate::propagation::{Current, Telemetry, TraceParent};

fn layer(telemetry: Telemetry) -> TraceLayer {
    TraceLayer::new(telemetry).route_from(|ext| ext.get::<MatchedPath>().map(MatchedPath::as_str))
}

fn http() -> reqwest::Client {
    tracegate::propagation::export::tls::client_builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// `pricing`: answers 503 to its first `fail_first` requests, then echoes the body length.
async fn pricing(telemetry: Telemetry, fail_first: u32) -> String {
    let calls = Arc::new(AtomicU32::new(0));
    let app = Router::new()
        .route(
            "/price/{sku}",
            post(
                move |State(calls): State<Arc<AtomicU32>>, body: String| async move {
                    if calls.fetch_add(1, Ordering::SeqCst) < fail_first {
                        return (StatusCode::SERVICE_UNAVAILABLE, String::new());
                    }
                    (StatusCode::OK, format!("priced {} bytes", body.len()))
                },
            ),
        )
        .with_state(calls)
        .layer(layer(telemetry));
    serve(app).await
}

#[derive(Clone)]
struct Checkout {
    http: reqwest::Client,
    pricing: String,
}

/// `checkout`: forwards the request body to `pricing` with the retry helper.
async fn checkout(telemetry: Telemetry, pricing: String) -> String {
    let app = Router::new()
        .route(
            "/checkout/{id}",
            post(
                |State(state): State<Checkout>,
                 Extension(current): Extension<Current>,
                 Path(id): Path<String>,
                 body: String| async move {
                    let policy = RetryPolicy {
                        backoff: Duration::from_millis(5),
                        ..RetryPolicy::default()
                    };
                    let response = state
                        .http
                        .post(format!("{}/price/{id}", state.pricing))
                        .body(body)
                        .send_traced_with_retry(&current, "/price/{sku}", &policy)
                        .await
                        .map_err(|_| StatusCode::BAD_GATEWAY)?;
                    if !response.status().is_success() {
                        return Err(StatusCode::BAD_GATEWAY);
                    }
                    Ok::<_, StatusCode>(response.text().await.unwrap_or_default())
                },
            ),
        )
        .route("/health", get(|| async { "ok" }))
        .with_state(Checkout {
            http: http(),
            pricing,
        })
        .layer(layer(telemetry).forward_tenant());
    serve(app).await
}

fn exporter(endpoint: &str, extra: &str) -> Arc<Exporter> {
    let yaml =
        format!("destinations:\n  d: {{endpoint: '{endpoint}'}}\nbatch_timeout_ms: 20\n{extra}");
    let config = ExportConfig::from_yaml("test.yaml", &yaml, |_| None).unwrap();
    Arc::new(Exporter::start(&config).unwrap())
}

fn by_id(spans: &[Received]) -> HashMap<Vec<u8>, &Received> {
    spans.iter().map(|s| (s.span.span_id.clone(), s)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_one_trace_with_parent_links_retries_and_response_headers() {
    let backend = receiver(Mode::Ok).await;
    let exporter = exporter(&backend.endpoint(), "");
    let pricing = pricing(Telemetry::new("pricing", exporter.clone()), 1).await;
    let checkout = checkout(Telemetry::new("checkout", exporter.clone()), pricing).await;

    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = http()
        .post(format!("{checkout}/checkout/42"))
        .header("traceparent", incoming)
        .header("x-tenant-id", "acme")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let traceresponse = response.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .to_owned();
    let server_timing = response.headers()["server-timing"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(server_timing, format!("trace;desc={traceresponse}"));
    let returned = TraceParent::parse(&traceresponse).unwrap();
    assert_eq!(
        returned.trace_id.to_hex(),
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "preserved"
    );

    let stats = exporter.shutdown(Duration::from_secs(5)).await;
    assert_eq!((stats.dropped, stats.failed), (0, 0), "{stats:?}");
    let spans = backend.spans();
    // checkout server + 2 client attempts + 2 pricing server spans (503, then 200).
    assert_eq!(spans.len(), 5, "{spans:#?}");
    assert!(
        spans
            .iter()
            .all(|s| s.span.trace_id == returned.trace_id.to_bytes()),
        "one trace ID"
    );
    let ids = by_id(&spans);
    let root = ids[returned.parent_id.to_bytes().as_slice()];
    assert_eq!(root.service, "checkout");
    assert_eq!(root.span.name, "POST /checkout/{id}");
    assert_eq!(
        root.span.parent_span_id,
        hex("00f067aa0ba902b7"),
        "parented to the caller"
    );
    assert_eq!(root.attr_int("http.response.status_code"), Some(200));
    assert_eq!(root.attr_str("tenant.id").as_deref(), Some("acme"));

    let mut attempts: Vec<&Received> = spans.iter().filter(|s| s.span.kind == 3).collect();
    attempts.sort_by_key(|s| s.attr_int("http.request.resend_count").unwrap_or(0));
    assert_eq!(attempts.len(), 2, "one client span per attempt");
    assert_eq!(attempts[0].attr_int("http.request.resend_count"), None);
    assert_eq!(attempts[0].attr_int("http.response.status_code"), Some(503));
    assert_eq!(attempts[1].attr_int("http.request.resend_count"), Some(1));
    assert_eq!(attempts[1].attr_int("http.response.status_code"), Some(200));
    for attempt in &attempts {
        assert_eq!(attempt.span.name, "POST /price/{sku}");
        assert_eq!(attempt.span.parent_span_id, root.span.span_id);
        assert_eq!(
            attempt.attr_str("tenant.id").as_deref(),
            Some("acme"),
            "tenant carried to the client span"
        );
        let children: Vec<&Received> = spans
            .iter()
            .filter(|s| s.span.parent_span_id == attempt.span.span_id)
            .collect();
        assert_eq!(
            children.len(),
            1,
            "each attempt has its own server span downstream"
        );
        assert_eq!(children[0].service, "pricing");
        assert_eq!(children[0].span.name, "POST /price/{sku}");
        assert_eq!(children[0].span.kind, 2, "server");
        assert_eq!(
            children[0].attr_str("tenant.id").as_deref(),
            Some("acme"),
            "the tenant is forwarded downstream"
        );
        assert_eq!(
            children[0].attr_int("http.response.status_code"),
            attempt.attr_int("http.response.status_code")
        );
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_is_generated_when_absent_or_invalid() {
    let backend = receiver(Mode::Ok).await;
    let exporter = exporter(&backend.endpoint(), "");
    let pricing = pricing(Telemetry::new("pricing", exporter.clone()), 0).await;
    let checkout = checkout(Telemetry::new("checkout", exporter.clone()), pricing).await;
    let mut seen = Vec::new();
    for traceparent in [
        None,
        Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
    ] {
        let mut request = http().post(format!("{checkout}/checkout/1"));
        if let Some(value) = traceparent {
            request = request.header("traceparent", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let header = response.headers()["traceresponse"]
            .to_str()
            .unwrap()
            .to_owned();
        seen.push(TraceParent::parse(&header).unwrap().trace_id);
    }
    assert_ne!(seen[0], seen[1], "fresh trace IDs");
    exporter.shutdown(Duration::from_secs(5)).await;
    let spans = backend.spans();
    assert_eq!(spans.len(), 6);
    for trace_id in seen {
        let roots = spans
            .iter()
            .filter(|s| s.span.trace_id == trace_id.to_bytes() && s.span.parent_span_id.is_empty())
            .count();
        assert_eq!(
            roots, 1,
            "the generated trace has exactly one root: the ingress span"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_cookies_and_payload_never_reach_the_exported_bytes() {
    let backend = receiver(Mode::Ok).await;
    let exporter = exporter(&backend.endpoint(), "");
    let pricing = pricing(Telemetry::new("pricing", exporter.clone()), 0).await;
    let checkout = checkout(Telemetry::new("checkout", exporter.clone()), pricing).await;
    let secrets = [
        "sk_live_TOPSECRET_9f8e7d",
        "COOKIEVALUE_31337",
        "jane.doe@example.com",
        "4111111111111111",
        "QUERYTOKEN_abc123",
    ];
    let response = http()
        .post(format!(
            "{checkout}/checkout/jane.doe@example.com?token=QUERYTOKEN_abc123"
        ))
        .header("authorization", "Bearer sk_live_TOPSECRET_9f8e7d")
        .header("cookie", "session=COOKIEVALUE_31337")
        .header("x-tenant-id", "Bearer sk_live_TOPSECRET_9f8e7d")
        .body(r#"{"email":"jane.doe@example.com","card":"4111111111111111"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .starts_with("priced 58 bytes"),
        "the payload really went through both services"
    );
    exporter.shutdown(Duration::from_secs(5)).await;
    assert_eq!(backend.spans().len(), 3, "spans were exported");
    let bodies = backend.bodies.lock().unwrap().clone();
    let all: Vec<u8> = bodies.concat();
    assert!(!all.is_empty());
    for secret in secrets {
        assert!(
            !all.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} found in exported OTLP bytes"
        );
    }
    let names: Vec<String> = backend
        .spans()
        .iter()
        .map(|s| s.span.name.clone())
        .collect();
    assert!(
        names.contains(&"POST /checkout/{id}".to_owned()),
        "{names:?}"
    );
}

async fn every_request_succeeds(endpoint: String, mode: &str) {
    let exporter = exporter(
        &endpoint,
        "queue_size: 64\nbatch_size: 16\ntimeout_ms: 300\nmax_attempts: 2\n",
    );
    let pricing = pricing(Telemetry::new("pricing", exporter.clone()), 0).await;
    let checkout = checkout(Telemetry::new("checkout", exporter.clone()), pricing).await;
    let client = http();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let client = client.clone();
        let url = format!("{checkout}/checkout/{i}");
        tasks.spawn(async move {
            let response = client.post(url).body("x").send().await.unwrap();
            (
                response.status(),
                response.headers().contains_key("traceresponse"),
            )
        });
    }
    let mut ok = 0;
    while let Some(result) = tasks.join_next().await {
        let (status, has_header) = result.unwrap();
        assert_eq!(status, 200, "{mode}: a request failed");
        assert!(has_header, "{mode}");
        ok += 1;
    }
    assert_eq!(ok, 100);
    let stats = exporter.shutdown(Duration::from_secs(1)).await;
    assert_eq!(stats.exported, 0, "{mode}: {stats:?}");
    assert_eq!(
        stats.queued + stats.dropped,
        300,
        "{mode}: 3 spans per request: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_down_every_request_succeeds() {
    every_request_succeeds(closed_endpoint().await, "down").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_hanging_every_request_succeeds() {
    let hanging = receiver(Mode::Hang).await;
    every_request_succeeds(hanging.endpoint(), "hang").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_answering_503_every_request_succeeds() {
    let unavailable = receiver(Mode::Unavailable).await;
    every_request_succeeds(unavailable.endpoint(), "503").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_hyper_service_with_route_templates() {
    use hyper::server::conn::http1;
    use hyper_util::rt::TokioIo;
    use tower::{Service, ServiceExt};

    let sink = Arc::new(tracegate::propagation::MemorySink::new());
    let telemetry = Telemetry::new("plain", sink.clone());
    let service = tower::ServiceBuilder::new()
        .layer(TraceLayer::new(telemetry).routes(["/items/{id}", "/items/{id}/parts"]))
        .service(tower::service_fn(
            |request: hyper::Request<hyper::body::Incoming>| async move {
                let has_context = request
                    .extensions()
                    .get::<tracegate::propagation::TraceContext>()
                    .is_some();
                Ok::<_, Infallible>(hyper::Response::new(format!("context: {has_context}")))
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let hyper_service = hyper::service::service_fn(move |request| {
                    let mut service = service.clone();
                    async move { service.ready().await?.call(request).await }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    let response = http()
        .get(format!("http://{addr}/items/user@example.com/parts?x=1"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("traceresponse"));
    assert_eq!(response.text().await.unwrap(), "context: true");
    let spans = sink.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].operation().as_str(), "GET /items/{id}/parts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_helper_spans_every_failed_attempt_and_returns_the_last_error() {
    let sink = Arc::new(tracegate::propagation::MemorySink::new());
    let current = Current::new(
        Telemetry::new("caller", sink.clone()),
        tracegate::propagation::TraceContext::new_root(),
        tracegate::propagation::TenantId::new("beta"),
    );
    let down = closed_endpoint().await;
    let policy = RetryPolicy {
        max_attempts: 3,
        backoff: Duration::from_millis(1),
        ..RetryPolicy::default()
    };
    let result = http()
        .get(down)
        .send_traced_with_retry(&current, "/v1/traces", &policy)
        .await;
    assert!(result.unwrap_err().is_connect());
    let spans = sink.spans();
    assert_eq!(spans.len(), 3);
    for (number, span) in spans.iter().enumerate() {
        assert_eq!(span.trace_id(), current.context.trace_id);
        assert_eq!(span.parent_span_id(), Some(current.context.span_id));
        assert_eq!(span.resend_count(), (number > 0).then_some(number as u32));
        assert_eq!(
            span.status(),
            tracegate::propagation::SpanStatus::Error("connect")
        );
        assert_eq!(span.operation().as_str(), "GET /v1/traces");
        assert_eq!(span.tenant().unwrap().as_str(), "beta");
    }
    let ids: std::collections::HashSet<_> = spans.iter().map(|s| s.span_id()).collect();
    assert_eq!(ids.len(), 3, "a new span per attempt");
}
