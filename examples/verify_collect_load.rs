//! Measures `verify`'s collection: N traces of six services read back and judged complete,
//! from an in-process store and from a tracegate receiver over HTTP (16 fetches at once), and
//! how long the demo platform takes to switch its destinations down and back. Figures in
//! BENCHMARKS.md ("verify collection").
//!
//! ```sh
//! cargo run --example verify_collect_load -- 10000   # debug build, as measured
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tracegate::demo::{Backend, Platform, PlatformOptions};
use tracegate::otlp::client::Backend as QueryApi;
use tracegate::otlp::server::Collector;
use tracegate::otlp::{Limits, Receiver};
use tracegate::propagation::TraceId;
use tracegate::verify::collect::{collect, CollectOptions, SpanSource};

const SERVICES: [&str; 6] = [
    "ingress",
    "auth",
    "orchestration",
    "pricing",
    "payment-gateway",
    "webhook-dispatcher",
];

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// Trace `n`'s ID.
fn trace_id(n: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&(n + 1).to_be_bytes());
    id[8] = 0xab;
    id
}

/// One export request per service holding that service's span of traces `from..to`.
fn requests(from: u64, to: u64, start_ns: u64) -> Vec<ExportTraceServiceRequest> {
    SERVICES
        .iter()
        .enumerate()
        .map(|(i, service)| ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![string("service.name", service)],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: (from..to)
                        .map(|n| Span {
                            trace_id: trace_id(n).to_vec(),
                            span_id: vec![1, 0, 0, 0, 0, 0, 0, i as u8 + 1],
                            parent_span_id: if i == 0 {
                                Vec::new()
                            } else {
                                vec![1, 0, 0, 0, 0, 0, 0, i as u8]
                            },
                            name: format!("{service} op"),
                            kind: 2,
                            start_time_unix_nano: start_ns + i as u64,
                            end_time_unix_nano: start_ns + 1_000_000,
                            attributes: vec![string("tenant.id", "acme")],
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let traces: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let limits = Limits::default();
    let receiver = Receiver::new(Arc::new(limits.store()), limits);
    let start_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    for from in (0..traces).step_by(500) {
        for request in requests(from, (from + 500).min(traces), start_ns) {
            receiver.store.ingest(request)?;
        }
    }
    let ids: Vec<TraceId> = (0..traces)
        .filter_map(|n| TraceId::from_bytes(trace_id(n)))
        .collect();
    let options = CollectOptions {
        expected_services: SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        timeout: Duration::from_secs(120),
        quiet: Duration::ZERO,
        request_timeout: tracegate::verify::collect::DEFAULT_REQUEST_TIMEOUT,
    };
    let spans = traces as f64 * SERVICES.len() as f64;

    let began = Instant::now();
    let collected = collect(
        &SpanSource::Store(Arc::clone(&receiver.store)),
        &[],
        &ids,
        &options,
        &|_, _| {},
    )
    .await?;
    let took = began.elapsed();
    println!(
        "store:   {traces} traces, {} spans read, {} incomplete, {:.2} s, {:.0} spans/s",
        collected.spans_read,
        collected.incomplete.len(),
        took.as_secs_f64(),
        spans / took.as_secs_f64()
    );

    let collector = Collector::start(receiver, "127.0.0.1:0".parse()?, None).await?;
    let source = SpanSource::Backend {
        url: format!("http://{}", collector.http_addr),
        backend: QueryApi::Tracegate,
        headers: Vec::new(),
    };
    let began = Instant::now();
    let collected = collect(&source, &[], &ids, &options, &|_, _| {}).await?;
    let took = began.elapsed();
    println!(
        "backend: {traces} traces, {} spans read, {} incomplete, {:.2} s, {:.0} traces/s",
        collected.spans_read,
        collected.incomplete.len(),
        took.as_secs_f64(),
        traces as f64 / took.as_secs_f64()
    );
    collector.shutdown().await?;

    let platform = Platform::start(PlatformOptions::default()).await?;
    let mut switches = Vec::new();
    for _ in 0..10 {
        let began = Instant::now();
        platform.set_backend(Backend::Down).await?;
        platform.set_backend(Backend::Healthy).await?;
        switches.push(began.elapsed());
    }
    switches.sort_unstable();
    println!(
        "demo set_backend down then healthy: median {:.1} ms, max {:.1} ms (10 runs)",
        switches[5].as_secs_f64() * 1e3,
        switches[9].as_secs_f64() * 1e3
    );
    platform.shutdown().await;
    Ok(())
}
