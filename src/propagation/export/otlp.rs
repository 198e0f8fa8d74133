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

/// The protobuf bytes of [`request`] (the OTLP/HTTP body, `application/x-protobuf`), written
/// directly from the records: the same bytes as `request(records).encode_to_vec()`, without
/// building the intermediate `opentelemetry-proto` structs (which cost about eight small
/// allocations per span). One allocation per call (the output, sized exactly up front).
pub fn encode<'a>(records: impl IntoIterator<Item = &'a SpanRecord>) -> Vec<u8> {
    let records: Vec<&SpanRecord> = records.into_iter().collect();
    let sizes: Vec<usize> = records.iter().map(|r| span_len(r)).collect();
    // Services in order of first appearance, as `request` groups them.
    let mut services: Vec<(&str, usize)> = Vec::new();
    for (record, size) in records.iter().zip(&sizes) {
        let spans_len = field_len(1, *size);
        match services.iter_mut().find(|(s, _)| *s == record.service()) {
            Some((_, total)) => *total += spans_len,
            None => services.push((record.service(), spans_len)),
        }
    }
    let scope_len = scope_len();
    let resource_spans_len = |service: &str, spans: usize| {
        field_len(1, resource_len(service)) + field_len(2, field_len(1, scope_len) + spans)
    };
    let total: usize = services
        .iter()
        .map(|(service, spans)| field_len(1, resource_spans_len(service, *spans)))
        .sum();
    let mut out = Vec::with_capacity(total);
    for (service, spans) in &services {
        // ExportTraceServiceRequest.resource_spans = 1
        header(&mut out, 1, resource_spans_len(service, *spans));
        // ResourceSpans.resource = 1 { attributes = 1 [service.name] }
        header(&mut out, 1, resource_len(service));
        string_attr(&mut out, 1, SERVICE_NAME, service);
        // ResourceSpans.scope_spans = 2 { scope = 1, spans = 2… }
        header(&mut out, 2, field_len(1, scope_len) + spans);
        header(&mut out, 1, scope_len);
        string_field(&mut out, 1, SCOPE_NAME);
        string_field(&mut out, 2, SCOPE_VERSION);
        for (record, size) in records.iter().zip(&sizes) {
            if record.service() == *service {
                header(&mut out, 2, *size);
                write_span(&mut out, record);
            }
        }
    }
    debug_assert_eq!(out.len(), total);
    out
}

const SERVICE_NAME: &str = "service.name";
const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");
const STATUS_CODE: &str = "http.response.status_code";
const RESEND_COUNT: &str = "http.request.resend_count";
const TENANT_ID: &str = "tenant.id";
const WIRE_VARINT: u64 = 0;
const WIRE_FIXED64: u64 = 1;
const WIRE_LEN: u64 = 2;

fn varint_len(value: u64) -> usize {
    // 7 bits per byte, at least one byte.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn tag(out: &mut Vec<u8>, field: u64, wire: u64) {
    varint(out, (field << 3) | wire);
}

/// Size of a length-delimited field (`field` < 16: a one-byte tag) holding `len` bytes.
fn field_len(field: u64, len: usize) -> usize {
    varint_len(field << 3) + varint_len(len as u64) + len
}

/// Size of a varint field; 0 when the value is the default (proto3 omits it).
fn varint_field_len(field: u64, value: u64) -> usize {
    match value {
        0 => 0,
        v => varint_len(field << 3) + varint_len(v),
    }
}

fn header(out: &mut Vec<u8>, field: u64, len: usize) {
    tag(out, field, WIRE_LEN);
    varint(out, len as u64);
}

fn string_field(out: &mut Vec<u8>, field: u64, value: &str) {
    if !value.is_empty() {
        header(out, field, value.len());
        out.extend_from_slice(value.as_bytes());
    }
}

fn string_len(field: u64, value: &str) -> usize {
    match value.len() {
        0 => 0,
        n => field_len(field, n),
    }
}

fn varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
    if value != 0 {
        tag(out, field, WIRE_VARINT);
        varint(out, value);
    }
}

/// `KeyValue { key = 1, value = 2: AnyValue { string_value = 1 } }` as field `field`.
/// The `AnyValue` value is a `oneof`: written even when it is the default (`""`, `0`).
fn string_attr_len(key: &str, value: &str) -> usize {
    string_len(1, key) + field_len(2, field_len(1, value.len()))
}

fn string_attr(out: &mut Vec<u8>, field: u64, key: &str, value: &str) {
    header(out, field, string_attr_len(key, value));
    string_field(out, 1, key);
    header(out, 2, field_len(1, value.len()));
    header(out, 1, value.len());
    out.extend_from_slice(value.as_bytes());
}

/// `KeyValue { key = 1, value = 2: AnyValue { int_value = 3 } }` (values here are ≥ 0).
fn int_value_len(value: u64) -> usize {
    varint_len(3 << 3) + varint_len(value)
}

fn int_attr_len(key: &str, value: u64) -> usize {
    string_len(1, key) + field_len(2, int_value_len(value))
}

fn int_attr(out: &mut Vec<u8>, field: u64, key: &str, value: u64) {
    header(out, field, int_attr_len(key, value));
    string_field(out, 1, key);
    header(out, 2, int_value_len(value));
    tag(out, 3, WIRE_VARINT);
    varint(out, value);
}

fn resource_len(service: &str) -> usize {
    field_len(1, string_attr_len(SERVICE_NAME, service))
}

fn scope_len() -> usize {
    string_len(1, SCOPE_NAME) + string_len(2, SCOPE_VERSION)
}

/// `Status { message = 2, code = 3 }`.
fn status_parts(status: SpanStatus) -> (&'static str, u64) {
    match status {
        SpanStatus::Ok => ("", status::StatusCode::Ok as u64),
        SpanStatus::Error(code) => (code, status::StatusCode::Error as u64),
    }
}

fn status_len(status: SpanStatus) -> usize {
    let (message, code) = status_parts(status);
    string_len(2, message) + varint_field_len(3, code)
}

fn fixed64_field(out: &mut Vec<u8>, field: u64, value: u64) {
    if value != 0 {
        tag(out, field, WIRE_FIXED64);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// The encoded size of one `Span` message (its body, without its own tag and length).
fn span_len(record: &SpanRecord) -> usize {
    let mut len = field_len(1, 16) + field_len(2, 8);
    if record.parent_span_id().is_some() {
        len += field_len(4, 8);
    }
    len += string_len(5, record.operation().as_str());
    len += varint_field_len(6, kind(record.kind()) as u64);
    len += [nanos(record.start()), nanos(record.end())]
        .iter()
        .map(|&t| if t == 0 { 0 } else { 9 })
        .sum::<usize>();
    if let Some(code) = record.http_status() {
        len += field_len(9, int_attr_len(STATUS_CODE, u64::from(code)));
    }
    if let Some(count) = record.resend_count() {
        len += field_len(9, int_attr_len(RESEND_COUNT, u64::from(count)));
    }
    if let Some(tenant) = record.tenant() {
        len += field_len(9, string_attr_len(TENANT_ID, tenant.as_str()));
    }
    len + field_len(15, status_len(record.status()))
}

/// One `Span` message body, fields in field-number order (as prost writes them).
fn write_span(out: &mut Vec<u8>, record: &SpanRecord) {
    header(out, 1, 16);
    out.extend_from_slice(&record.trace_id().to_bytes());
    header(out, 2, 8);
    out.extend_from_slice(&record.span_id().to_bytes());
    if let Some(parent) = record.parent_span_id() {
        header(out, 4, 8);
        out.extend_from_slice(&parent.to_bytes());
    }
    string_field(out, 5, record.operation().as_str());
    varint_field(out, 6, kind(record.kind()) as u64);
    fixed64_field(out, 7, nanos(record.start()));
    fixed64_field(out, 8, nanos(record.end()));
    if let Some(code) = record.http_status() {
        int_attr(out, 9, STATUS_CODE, u64::from(code));
    }
    if let Some(count) = record.resend_count() {
        int_attr(out, 9, RESEND_COUNT, u64::from(count));
    }
    if let Some(tenant) = record.tenant() {
        string_attr(out, 9, TENANT_ID, tenant.as_str());
    }
    let (message, code) = status_parts(record.status());
    header(out, 15, status_len(record.status()));
    string_field(out, 2, message);
    varint_field(out, 3, code);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use prost::Message;

    use super::*;
    use crate::propagation::{MemorySink, OperationName, Telemetry, TenantId, TraceContext};

    #[test]
    fn direct_encoding_equals_prost_for_every_field_combination() {
        let sink = Arc::new(MemorySink::new());
        let root = TraceContext::new_root();
        let kinds = [
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Internal,
            SpanKind::Producer,
            SpanKind::Consumer,
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            for service in ["checkout", "a-much-longer-service-name-for-the-varint", ""] {
                let telemetry = Telemetry::new(service, sink.clone());
                let context = if i % 2 == 0 {
                    root.clone()
                } else {
                    root.child()
                };
                let attempt = context.retry_attempt(i as u32);
                let mut span = telemetry.start(&attempt.context, kind, OperationName::fixed("op"));
                if i != 2 {
                    span.set_http_status([0, 200, 0, 503, 404][i]);
                }
                span.set_resend_count(attempt.resend_count());
                span.set_tenant(TenantId::new(["acme", "b", "x"][i % 3]).filter(|_| i != 4));
                if i == 3 {
                    span.set_status(SpanStatus::Error("panic"));
                }
                span.end();
            }
        }
        let long = OperationName::http(&http::Method::GET, &format!("/{}", "x".repeat(300)));
        let span = Telemetry::new("s", sink.clone()).start(&root, SpanKind::Server, long);
        span.end();
        let spans = sink.spans();
        for n in [0, 1, spans.len()] {
            let expected = request(&spans[..n]).encode_to_vec();
            assert_eq!(encode(&spans[..n]), expected, "{n} spans");
            let decoded = ExportTraceServiceRequest::decode(expected.as_slice()).unwrap();
            assert_eq!(decoded, request(&spans[..n]));
        }
    }

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
        assert_eq!(
            bytes,
            request(&sink.spans()).encode_to_vec(),
            "the direct encoder writes what prost writes for the opentelemetry-proto structs"
        );
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
