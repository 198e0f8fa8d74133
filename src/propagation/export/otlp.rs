//! Span records → OTLP (`ExportTraceServiceRequest`), using the `opentelemetry-proto` types.
//! Only the closed schema is written: `service.name` (resource), and the span attributes
//! `http.response.status_code`, `http.request.resend_count` and `tenant.id`.

use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;

use crate::propagation::{SpanKind, SpanRecord, SpanStatus};

/// The instrumentation scope name on exported spans.
pub const SCOPE_NAME: &str = "tracegate";

fn attr(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn kind(kind: SpanKind) -> span::SpanKind {
    match kind {
        SpanKind::Server => span::SpanKind::Server,
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Producer => span::SpanKind::Producer,
        SpanKind::Consumer => span::SpanKind::Consumer,
    }
}

/// One OTLP span.
pub fn span(record: &SpanRecord) -> Span {
    let mut attributes = Vec::with_capacity(3);
    if let Some(code) = record.http_status() {
        attributes.push(attr(
            "http.response.status_code",
            any_value::Value::IntValue(i64::from(code)),
        ));
    }
    if let Some(count) = record.resend_count() {
        attributes.push(attr(
            "http.request.resend_count",
            any_value::Value::IntValue(i64::from(count)),
        ));
    }
    if let Some(tenant) = record.tenant() {
        attributes.push(attr(
            "tenant.id",
            any_value::Value::StringValue(tenant.as_str().to_owned()),
        ));
    }
    let status = match record.status() {
        SpanStatus::Ok => Status {
            message: String::new(),
            code: status::StatusCode::Ok as i32,
        },
        SpanStatus::Error(code) => Status {
            message: code.to_owned(),
            code: status::StatusCode::Error as i32,
        },
    };
    Span {
        trace_id: record.trace_id().to_bytes().to_vec(),
        span_id: record.span_id().to_bytes().to_vec(),
        parent_span_id: record
            .parent_span_id()
            .map(|id| id.to_bytes().to_vec())
            .unwrap_or_default(),
        name: record.operation().as_str().to_owned(),
        kind: kind(record.kind()) as i32,
        start_time_unix_nano: nanos(record.start()),
        end_time_unix_nano: nanos(record.end()),
        attributes,
        status: Some(status),
        ..Default::default()
    }
}

/// An export request for `records`, one `ResourceSpans` per service name.
pub fn request<'a>(records: impl IntoIterator<Item = &'a SpanRecord>) -> ExportTraceServiceRequest {
    let mut resource_spans: Vec<ResourceSpans> = Vec::new();
    let mut services: Vec<&str> = Vec::new();
    for record in records {
        let index = match services.iter().position(|s| *s == record.service()) {
            Some(index) => index,
            None => {
                services.push(record.service());
                resource_spans.push(ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![attr(
                            "service.name",
                            any_value::Value::StringValue(record.service().to_owned()),
                        )],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: SCOPE_NAME.to_owned(),
                            version: env!("CARGO_PKG_VERSION").to_owned(),
                            ..Default::default()
                        }),
                        spans: Vec::new(),
                        schema_url: String::new(),
                    }],
                    schema_url: String::new(),
                });
                resource_spans.len() - 1
            }
        };
        if let Some(scope) = resource_spans[index].scope_spans.first_mut() {
            scope.spans.push(span(record));
        }
    }
    ExportTraceServiceRequest { resource_spans }
}

/// The protobuf bytes of [`request`] (the OTLP/HTTP body, `application/x-protobuf`).
pub fn encode<'a>(records: impl IntoIterator<Item = &'a SpanRecord>) -> Vec<u8> {
    request(records).encode_to_vec()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::propagation::{MemorySink, OperationName, Telemetry, TenantId, TraceContext};

    #[test]
    fn encodes_the_closed_schema_and_decodes_back() {
        let sink = Arc::new(MemorySink::new());
        let ctx = TraceContext::new_root().child();
        for service in ["a", "b", "a"] {
            let mut span = Telemetry::new(service, sink.clone()).start(
                &ctx,
                SpanKind::Server,
                OperationName::fixed("GET /x/{id}"),
            );
            span.set_http_status(500);
            span.set_tenant(TenantId::new("acme"));
            span.end();
        }
        let bytes = encode(&sink.spans());
        let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(decoded.resource_spans.len(), 2, "grouped by service");
        let first = &decoded.resource_spans[0];
        assert_eq!(first.scope_spans[0].spans.len(), 2);
        let span = &first.scope_spans[0].spans[0];
        assert_eq!(span.trace_id, ctx.trace_id.to_bytes());
        assert_eq!(span.parent_span_id, ctx.parent_span_id.unwrap().to_bytes());
        assert_eq!(span.name, "GET /x/{id}");
        assert_eq!(span.kind, span::SpanKind::Server as i32);
        assert_eq!(span.status.as_ref().unwrap().message, "http_500");
        let keys: Vec<&str> = span.attributes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["http.response.status_code", "tenant.id"]);
        assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
    }
}
