//! The exporter against loopback receivers that throttle (OTLP/HTTP "Throttling"): the
//! server's waiting interval — a `Retry-After` header, or a `google.rpc.RetryInfo` in the
//! protobuf `google.rpc.Status` error body — is honoured; the per-batch `max_elapsed_time`
//! ends the retries with a diagnostic; a response body is read only up to a limit.
//!
//! The receivers behave like a rate limiter: a request that comes before the interval they
//! asked for is refused again (and counted as too early).
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracegate::propagation::export::retry::{
    ProtoDuration, RetryInfo, RpcAny, RpcStatus, RETRY_INFO_TYPE,
};
use tracegate::propagation::export::{Diagnostic, DiagnosticSink, ExportConfig, Exporter};
use tracegate::propagation::{OperationName, SpanKind, Telemetry, TenantId, TraceContext};

/// How the receiver throttles.
#[derive(Clone, Copy)]
enum Throttle {
    /// `429 Too Many Requests` with `Retry-After: <seconds>`.
    RetryAfter(u64),
    /// `503 Service Unavailable` with a `google.rpc.Status` body carrying a `RetryInfo`.
    RetryInfo(Duration),
}

#[derive(Default)]
struct Log {
    hits: u32,
    too_early: u32,
    spans: usize,
    /// When (since the first request) each request came.
    at: Vec<Duration>,
}

#[derive(Clone)]
struct Limiter {
    throttle: Throttle,
    /// Requests to refuse (each opens a new waiting interval) before accepting.
    refusals: Arc<Mutex<u32>>,
    allowed_at: Arc<Mutex<Option<Instant>>>,
    first: Arc<Mutex<Option<Instant>>>,
    log: Arc<Mutex<Log>>,
}

impl Limiter {
    fn interval(&self) -> Duration {
        match self.throttle {
            Throttle::RetryAfter(seconds) => Duration::from_secs(seconds),
            Throttle::RetryInfo(delay) => delay,
        }
    }

    fn refuse(&self) -> Response {
        match self.throttle {
            Throttle::RetryAfter(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
            )
                .into_response(),
            Throttle::RetryInfo(delay) => {
                let info = RetryInfo {
                    retry_delay: Some(ProtoDuration {
                        seconds: delay.as_secs() as i64,
                        nanos: delay.subsec_nanos() as i32,
                    }),
                };
                let status = RpcStatus {
                    code: 14,
                    message: "overloaded".to_owned(),
                    details: vec![RpcAny {
                        type_url: RETRY_INFO_TYPE.to_owned(),
                        value: info.encode_to_vec(),
                    }],
                };
                let mut headers = HeaderMap::new();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-protobuf"),
                );
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    headers,
                    status.encode_to_vec(),
                )
                    .into_response()
            }
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap()
    }
}

async fn limited(State(limiter): State<Limiter>, body: Bytes) -> Response {
    let now = Instant::now();
    let first = *limiter.first.lock().unwrap().get_or_insert(now);
    {
        let mut log = limiter.log();
        log.hits += 1;
        log.at.push(now - first);
    }
    let allowed_at = *limiter.allowed_at.lock().unwrap();
    if allowed_at.is_some_and(|at| now < at) {
        limiter.log().too_early += 1;
        return limiter.refuse();
    }
    {
        let mut refusals = limiter.refusals.lock().unwrap();
        if *refusals > 0 {
            *refusals -= 1;
            *limiter.allowed_at.lock().unwrap() = Some(now + limiter.interval());
            return limiter.refuse();
        }
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    limiter.log().spans += spans;
    StatusCode::OK.into_response()
}

/// A receiver on 127.0.0.1 that refuses `refusals` requests, then accepts.
async fn limiter(throttle: Throttle, refusals: u32) -> (Limiter, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let limiter = Limiter {
        throttle,
        refusals: Arc::new(Mutex::new(refusals)),
        allowed_at: Arc::default(),
        first: Arc::default(),
        log: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/v1/traces", post(limited))
        .with_state(limiter.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (limiter, endpoint)
}

fn config(yaml: &str) -> ExportConfig {
    ExportConfig::from_yaml("test.yaml", yaml, |_| None).unwrap()
}

/// Record `spans` spans in one batch: after the batch timer's immediate first tick, well
/// before its next one.
async fn record(telemetry: &Telemetry, spans: usize) {
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..spans {
        let mut span = telemetry.start(
            &TraceContext::new_root(),
            SpanKind::Server,
            OperationName::fixed("GET /orders/{id}"),
        );
        span.set_http_status(200);
        span.set_tenant(TenantId::new("acme"));
        span.end();
    }
}

/// Wait (bounded) until `done` holds.
async fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

/// Collects diagnostics (and so keeps them off stderr).
fn collecting_sink() -> (DiagnosticSink, Arc<Mutex<Vec<Diagnostic>>>) {
    let seen: Arc<Mutex<Vec<Diagnostic>>> = Arc::default();
    let into = Arc::clone(&seen);
    let sink: DiagnosticSink = Arc::new(move |d: &Diagnostic| into.lock().unwrap().push(d.clone()));
    (sink, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_from_a_429_is_honoured_and_the_batch_arrives() {
    // Twice "429, Retry-After: 1", then 200. Only keys that existed before are configured.
    let (limiter, endpoint) = limiter(Throttle::RetryAfter(1), 2).await;
    let yaml = format!("destinations:\n  d: {{endpoint: '{endpoint}'}}\nbatch_timeout_ms: 300\n");
    let exporter = Arc::new(Exporter::start(&config(&yaml)).unwrap());
    let telemetry = Telemetry::new("svc", exporter.clone());
    record(&telemetry, 5).await;
    let arrived = wait_until(Duration::from_secs(8), || limiter.log().spans == 5).await;
    let stats = exporter.shutdown(Duration::from_secs(1)).await;
    let log = limiter.log();
    assert!(arrived, "the batch never arrived: hits at {:?}", log.at);
    assert_eq!(log.too_early, 0, "retried before Retry-After: {:?}", log.at);
    assert_eq!(log.hits, 3, "{:?}", log.at);
    assert!(
        log.at[2] >= Duration::from_secs(2) && log.at[2] < Duration::from_secs(4),
        "{:?}",
        log.at
    );
    assert_eq!((stats.exported, stats.failed), (5, 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_info_in_a_503_status_body_is_honoured() {
    // "503" with google.rpc.Status{details: [RetryInfo{retry_delay: 1 s}]}, no header, then
    // 200. Without the RetryInfo the backoff (5 s ± 50 % by default) would apply.
    let (limiter, endpoint) = limiter(Throttle::RetryInfo(Duration::from_secs(1)), 1).await;
    let yaml = format!("destinations:\n  d: {{endpoint: '{endpoint}'}}\nbatch_timeout_ms: 300\n");
    let exporter = Arc::new(Exporter::start(&config(&yaml)).unwrap());
    let telemetry = Telemetry::new("svc", exporter.clone());
    record(&telemetry, 3).await;
    let arrived = wait_until(Duration::from_secs(8), || limiter.log().spans == 3).await;
    let stats = exporter.shutdown(Duration::from_secs(1)).await;
    let log = limiter.log();
    assert!(arrived, "the batch never arrived: hits at {:?}", log.at);
    assert_eq!(log.too_early, 0, "retried before RetryInfo: {:?}", log.at);
    assert_eq!(log.hits, 2, "{:?}", log.at);
    assert!(
        log.at[1] >= Duration::from_secs(1) && log.at[1] < Duration::from_millis(2_400),
        "waited the RetryInfo delay, not the backoff: {:?}",
        log.at
    );
    assert_eq!((stats.exported, stats.failed), (3, 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_elapsed_time_drops_the_batch_with_a_diagnostic() {
    // Always "429, Retry-After: 1"; a 1.5 s budget: attempts at 0 s and 1 s, then the next
    // wait would end at 2 s, past the budget: dropped at once, not after waiting.
    let (limiter, endpoint) = limiter(Throttle::RetryAfter(1), u32::MAX).await;
    let yaml = format!(
        "destinations:\n  d: {{endpoint: '{endpoint}'}}\nbatch_timeout_ms: 300\n\
         retry_on_failure:\n  max_elapsed_time_ms: 1500\n"
    );
    let (sink, seen) = collecting_sink();
    let exporter = Arc::new(Exporter::start_with_diagnostics(&config(&yaml), sink).unwrap());
    let telemetry = Telemetry::new("svc", exporter.clone());
    let started = Instant::now();
    record(&telemetry, 3).await;
    let dropped = wait_until(Duration::from_secs(5), || exporter.stats().failed == 3).await;
    let elapsed = started.elapsed();
    let stats = exporter.shutdown(Duration::from_secs(1)).await;
    assert!(dropped, "{stats:?}");
    assert!(
        elapsed < Duration::from_millis(1_900),
        "dropped when the budget could not be met, not at its end: {elapsed:?}"
    );
    let log = limiter.log();
    assert_eq!((log.hits, log.too_early), (2, 0), "{:?}", log.at);
    assert_eq!((stats.exported, stats.failed), (0, 3), "{stats:?}");
    let seen = seen.lock().unwrap();
    let about_d: Vec<&Diagnostic> = seen
        .iter()
        .filter(|d| d.destination.as_deref() == Some("d"))
        .collect();
    assert_eq!(about_d.len(), 1, "{seen:?}");
    assert!(
        about_d[0].message.contains("max_elapsed_time (1500 ms)")
            && about_d[0].message.contains("HTTP 429"),
        "{seen:?}"
    );
}

/// A raw HTTP/1.1 receiver that accepts the request, then answers 200 with a chunked body
/// that does not end (up to 1 GiB), counting what it managed to write.
async fn endless_body_receiver() -> (String, Arc<Mutex<u64>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let written = Arc::new(Mutex::new(0u64));
    let counter = Arc::clone(&written);
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        // Read the request head and its Content-Length body.
        let mut request = Vec::new();
        let mut buffer = [0u8; 8192];
        let body_start = loop {
            let Ok(n) = stream.read(&mut buffer).await else {
                return;
            };
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buffer[..n]);
            if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while request.len() < body_start + length {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![0u8; 64 * 1024];
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        for _ in 0..16 * 1024 {
            if stream.write_all(&framed).await.is_err() {
                return;
            }
            *counter.lock().unwrap() += chunk.len() as u64;
        }
    });
    (endpoint, written)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_response_body_is_not_read_to_the_end() {
    let (endpoint, written) = endless_body_receiver().await;
    let yaml = format!(
        "destinations:\n  d: {{endpoint: '{endpoint}'}}\nbatch_timeout_ms: 300\ntimeout_ms: 30000\n"
    );
    let exporter = Arc::new(Exporter::start(&config(&yaml)).unwrap());
    let telemetry = Telemetry::new("svc", exporter.clone());
    record(&telemetry, 1).await;
    let settled = wait_until(Duration::from_secs(3), || exporter.stats().exported == 1).await;
    let stats = exporter.shutdown(Duration::from_secs(1)).await;
    assert!(
        settled,
        "the 200 is settled without reading the body to its end: {stats:?}"
    );
    assert_eq!((stats.exported, stats.failed), (1, 0), "{stats:?}");
    // Loopback socket buffers take a few MiB before the writer blocks; reading the body to
    // its end would take the whole 1 GiB.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = *written.lock().unwrap();
    assert!(written < 64 << 20, "{written} bytes of body were taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_waiting_to_retry_fills_its_backlog_and_says_so_once() {
    // "Retry-After: 30": the first batch waits on the export thread; the next ones fill the
    // destination's bounded backlog (8 requests here); later ones are counted as failed at
    // once, with one diagnostic. Span end is never slowed.
    let (_limiter, endpoint) = limiter(Throttle::RetryAfter(30), u32::MAX).await;
    let yaml = format!(
        "destinations:\n  d: {{endpoint: '{endpoint}'}}\nqueue_size: 20\nbatch_size: 10\n\
         batch_timeout_ms: 20\n"
    );
    let (sink, seen) = collecting_sink();
    let exporter = Arc::new(Exporter::start_with_diagnostics(&config(&yaml), sink).unwrap());
    let telemetry = Telemetry::new("svc", exporter.clone());
    for _ in 0..14 {
        record(&telemetry, 10).await;
    }
    let counted = wait_until(Duration::from_secs(3), || exporter.stats().failed >= 30).await;
    // While the destination waits out its 30 s, span end does not wait: 10,000 more span
    // ends take nowhere near one Retry-After (a blocking exporter would take 30 s per batch).
    let started = Instant::now();
    for _ in 0..10_000 {
        telemetry
            .start(
                &TraceContext::new_root(),
                SpanKind::Server,
                OperationName::fixed("GET /"),
            )
            .end();
    }
    let ending = started.elapsed();
    let stats = exporter.shutdown(Duration::from_millis(200)).await;
    assert!(counted, "{stats:?}");
    assert!(
        ending < Duration::from_secs(5),
        "span end blocked: {ending:?}"
    );
    assert_eq!(stats.queued + stats.dropped, 10_140, "{stats:?}");
    assert_eq!(stats.exported, 0, "{stats:?}");
    assert_eq!(
        stats.failed, stats.queued,
        "all settled at shutdown: {stats:?}"
    );
    let seen = seen.lock().unwrap();
    let backlog: Vec<&Diagnostic> = seen
        .iter()
        .filter(|d| d.message.contains("backlog of 8 requests is full"))
        .collect();
    assert_eq!(backlog.len(), 1, "{seen:?}");
    assert_eq!(backlog[0].destination.as_deref(), Some("d"), "{seen:?}");
}

/// A receiver that accepts every request with an OTLP partial success rejecting `rejected`
/// spans.
async fn partial_success_receiver(rejected: i64) -> String {
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let answer = move || async move {
        let response = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: "spans older than 24 h\nare refused".to_owned(),
            }),
        };
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            response.encode_to_vec(),
        )
    };
    let app = axum::Router::new().route("/v1/traces", post(answer));
    tokio::spawn(async move { axum::serve(listener, app).await });
    endpoint
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_spans_of_a_partial_success_are_counted_as_failed_and_reported() {
    let endpoint = partial_success_receiver(2).await;
    let yaml = format!("destinations:\n  d: {{endpoint: '{endpoint}'}}\nbatch_timeout_ms: 300\n");
    let (sink, seen) = collecting_sink();
    let exporter = Arc::new(Exporter::start_with_diagnostics(&config(&yaml), sink).unwrap());
    let telemetry = Telemetry::new("svc", exporter.clone());
    record(&telemetry, 5).await;
    let settled = wait_until(Duration::from_secs(3), || {
        let stats = exporter.stats();
        stats.exported + stats.failed == 5
    })
    .await;
    let stats = exporter.shutdown(Duration::from_secs(1)).await;
    assert!(settled, "{stats:?}");
    assert_eq!((stats.exported, stats.failed), (3, 2), "{stats:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].destination.as_deref(), Some("d"));
    assert!(
        seen[0]
            .message
            .contains("rejected 2 of 5 spans (spans older than 24 h are refused)"),
        "one line, the server's message included: {seen:?}"
    );
}
