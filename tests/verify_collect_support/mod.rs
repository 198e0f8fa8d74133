//! Helpers shared by `verify_collect.rs` and `verify_collect_backends.rs`: spans to store,
//! receivers and small servers on 127.0.0.1, collection options.
#![allow(dead_code, unused_imports)]

pub use std::sync::atomic::{AtomicUsize, Ordering};
pub use std::sync::{Arc, Mutex};
pub use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use axum::http::{HeaderMap, StatusCode};
pub use axum::routing::get;
pub use axum::Router;
pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
pub use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
pub use opentelemetry_proto::tonic::resource::v1::Resource;
pub use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
pub use tracegate::otlp::client::Backend;
pub use tracegate::otlp::server::Collector;
pub use tracegate::otlp::store::Store;
pub use tracegate::otlp::{Limits, Receiver};
pub use tracegate::propagation::TraceId;
pub use tracegate::verify::collect::{
    collect, CollectError, CollectOptions, DestinationSource, SpanSource,
};
pub use tracegate::verify::Collected;

pub const SERVICES: [&str; 3] = ["ingress", "auth", "pricing"];

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// One span of `service` in trace `trace` (span ID `n`, parent `n - 1` unless `n == 1`).
pub fn span(
    trace: u8,
    service: &str,
    n: u8,
    start_ns: u64,
    tenant: &str,
) -> ExportTraceServiceRequest {
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

pub fn id(trace: u8) -> TraceId {
    TraceId::from_bytes([trace; 16]).unwrap()
}

/// Store the spans of `services` in trace `trace`.
pub fn put(store: &Store, trace: u8, services: &[&str], start_ns: u64, tenant: &str) {
    for (i, service) in services.iter().enumerate() {
        store
            .ingest(span(trace, service, i as u8 + 1, start_ns, tenant))
            .unwrap();
    }
}

pub fn options(timeout_ms: u64) -> CollectOptions {
    CollectOptions {
        expected_services: SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        timeout: Duration::from_millis(timeout_ms),
        quiet: Duration::from_millis(100),
        request_timeout: tracegate::verify::collect::DEFAULT_REQUEST_TIMEOUT,
    }
}

pub async fn receiver() -> Collector {
    let limits = Limits::default();
    let receiver = Receiver::new(Arc::new(limits.store()), limits);
    Collector::start(receiver, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap()
}

pub fn from(collector: &Collector) -> SpanSource {
    SpanSource::Backend {
        url: format!("http://{}", collector.http_addr),
        backend: Backend::Tracegate,
        headers: Vec::new(),
    }
}

pub async fn run(
    source: &SpanSource,
    ids: &[TraceId],
    options: &CollectOptions,
) -> Result<Collected, CollectError> {
    collect(source, &[], ids, options, &|_, _| {}).await
}

/// Serve `app` on a loopback port; the URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

pub fn backend_at(url: String, headers: Vec<(String, String)>) -> SpanSource {
    SpanSource::Backend {
        url,
        backend: Backend::Tracegate,
        headers,
    }
}
