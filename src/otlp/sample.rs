//! Synthetic OTLP batches, for tests, benchmarks and examples.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

/// A string attribute.
pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// A SERVER span of `trace`, span ID `id`, parent `parent` (0 for none), 1 ms per unit.
pub fn span(trace: [u8; 16], id: u64, parent: u64, name: &str, start_ms: u64, end_ms: u64) -> Span {
    Span {
        trace_id: trace.to_vec(),
        span_id: id.to_be_bytes().to_vec(),
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            parent.to_be_bytes().to_vec()
        },
        name: name.to_owned(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000 + start_ms * 1_000_000,
        end_time_unix_nano: 1_700_000_000_000_000_000 + end_ms * 1_000_000,
        attributes: vec![kv("http.request.method", "GET")],
        ..Default::default()
    }
}

/// One request holding `spans` from `service`.
pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "tracegate.sample".to_owned(),
                    ..Default::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// A batch of `n` spans spread over `n / spans_per_trace` traces (a root and children each),
/// trace IDs derived from `seed` so batches with different seeds do not collide.
pub fn batch(seed: u64, n: usize, spans_per_trace: usize) -> ExportTraceServiceRequest {
    let per = spans_per_trace.max(1);
    let spans = (0..n)
        .map(|i| {
            let t = (i / per) as u64;
            let mut trace = [0u8; 16];
            trace[..8].copy_from_slice(&seed.wrapping_add(1).to_be_bytes());
            trace[8..].copy_from_slice(&(t + 1).to_be_bytes());
            let k = (i % per) as u64;
            let parent = if k == 0 { 0 } else { t * 1000 + 1 };
            span(
                trace,
                t * 1000 + k + 1,
                parent,
                "GET /api/items/{id}",
                k,
                k + 10,
            )
        })
        .collect();
    request("bench", spans)
}
