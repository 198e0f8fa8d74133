//! Turning an OTLP request body into an `ExportTraceServiceRequest`, within limits.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use super::budget::Reservation;

/// The two OTLP/HTTP encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`
    Protobuf,
    /// `application/json` (the OTLP JSON mapping: hex trace and span IDs)
    Json,
}

impl Encoding {
    /// From a `Content-Type` value (parameters such as `charset` ignored). `None` when the
    /// type is not one OTLP/HTTP defines.
    pub fn from_content_type(value: &str) -> Option<Self> {
        let media = value.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Encoding::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` to answer with.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Why a body was not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Over a size limit (413 / `RESOURCE_EXHAUSTED`).
    #[error("{0}")]
    TooLarge(String),
    /// Not valid gzip, protobuf or OTLP JSON (400 / `INVALID_ARGUMENT`).
    #[error("{0}")]
    Malformed(String),
    /// The in-flight memory budget is exhausted (429 / `UNAVAILABLE`, retry later).
    #[error("{0}")]
    Busy(String),
}

/// Gunzip `body`, failing as soon as the output would exceed `limit` bytes (a gzip bomb never
/// gets more than `limit + 1` bytes of memory). Concatenated gzip members are all read.
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let read = flate2::read::MultiGzDecoder::new(body)
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Malformed(format!("invalid gzip body: {e}")))?;
    if read > limit {
        return Err(DecodeError::TooLarge(format!(
            "decompressed body exceeds the limit of {limit} bytes"
        )));
    }
    Ok(out)
}

/// [`gunzip`] reserving the output's memory from `reservation` as it grows: fails with
/// [`DecodeError::Busy`] when the in-flight budget cannot cover it.
pub fn gunzip_reserved(
    body: &[u8],
    limit: usize,
    reservation: &mut Reservation,
) -> Result<Vec<u8>, DecodeError> {
    const CHUNK: usize = 64 * 1024;
    let mut decoder = flate2::read::MultiGzDecoder::new(body);
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match decoder.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DecodeError::Malformed(format!("invalid gzip body: {e}"))),
        };
        if out.len() + n > limit {
            return Err(DecodeError::TooLarge(format!(
                "decompressed body exceeds the limit of {limit} bytes"
            )));
        }
        if out.len() + n > out.capacity() {
            let capacity = (out.capacity() * 2)
                .max(out.len() + n)
                .max(CHUNK)
                .min(limit);
            if !reservation.grow_to(capacity + chunk.len()) {
                return Err(DecodeError::Busy(format!(
                    "the receiver's in-flight memory budget is exhausted (decompressing {} bytes)",
                    out.len() + n
                )));
            }
            out.reserve_exact(capacity - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Decode an `ExportTraceServiceRequest` in `encoding`.
pub fn decode_request(
    bytes: &[u8],
    encoding: Encoding,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(bytes)
            .map_err(|e| DecodeError::Malformed(format!("invalid OTLP protobuf: {e}"))),
        Encoding::Json => serde_json::from_slice(bytes)
            .map_err(|e| DecodeError::Malformed(format!("invalid OTLP JSON: {e}"))),
    }
}

/// Decode an encoded `TracesData` / `ExportTraceServiceRequest` file within the same cost
/// budget as the receiver ([`wire::scan`](super::wire::scan)): only spans with valid IDs are
/// decoded (empty and invalid ones are counted, not materialised).
pub fn traces_from_protobuf(
    bytes: &[u8],
) -> Result<opentelemetry_proto::tonic::trace::v1::TracesData, DecodeError> {
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, TracesData};
    let batch = super::wire::scan(prost::bytes::Bytes::copy_from_slice(bytes))?;
    let invalid = |what: &str, e: prost::DecodeError| {
        DecodeError::Malformed(format!("invalid OTLP protobuf {what}: {e}"))
    };
    let mut resource_spans: Vec<(usize, ResourceSpans)> = Vec::new();
    for scope in &batch.scopes {
        let spans = scope
            .spans
            .iter()
            .filter(|s| s.invalid.is_none())
            .map(|s| Span::decode(s.bytes.as_ref()).map_err(|e| invalid("span", e)))
            .collect::<Result<Vec<_>, _>>()?;
        if spans.is_empty() {
            continue;
        }
        let scope_spans = ScopeSpans {
            scope: Some(
                InstrumentationScope::decode(scope.scope.as_ref())
                    .map_err(|e| invalid("scope", e))?,
            ),
            spans,
            schema_url: scope.schema_url.clone(),
        };
        match resource_spans.last_mut() {
            Some((index, rs)) if *index == scope.resource => rs.scope_spans.push(scope_spans),
            _ => {
                let Some(part) = batch.resources.get(scope.resource) else {
                    continue;
                };
                resource_spans.push((
                    scope.resource,
                    ResourceSpans {
                        resource: Some(
                            Resource::decode(part.resource.as_ref())
                                .map_err(|e| invalid("resource", e))?,
                        ),
                        scope_spans: vec![scope_spans],
                        schema_url: part.schema_url.clone(),
                    },
                ));
            }
        }
    }
    Ok(TracesData {
        resource_spans: resource_spans.into_iter().map(|(_, rs)| rs).collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn content_types_are_matched_without_parameters_and_case() {
        assert_eq!(
            Encoding::from_content_type("application/json; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::from_content_type("Application/X-Protobuf"),
            Some(Encoding::Protobuf)
        );
        assert_eq!(Encoding::from_content_type("text/plain"), None);
        assert_eq!(Encoding::from_content_type(""), None);
    }

    #[test]
    fn gunzip_stops_at_the_limit() {
        let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024);
        assert!(matches!(
            gunzip(&bomb, 1024 * 1024),
            Err(DecodeError::TooLarge(_))
        ));
        assert_eq!(gunzip(&gzip(b"hello"), 5).unwrap(), b"hello");
        assert!(matches!(
            gunzip(b"not gzip", 100),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn a_protobuf_file_decodes_its_valid_spans_only() {
        use crate::otlp::sample;
        let mut req = sample::request(
            "svc",
            vec![
                sample::span([3; 16], 1, 0, "root", 0, 10),
                sample::span([3; 16], 2, 1, "child", 1, 2),
            ],
        );
        req.resource_spans[0].scope_spans[0].spans[1]
            .span_id
            .clear();
        let mut bytes = req.encode_to_vec();
        // a million empty ResourceSpans after it
        bytes.extend(std::iter::repeat_n([0x0a, 0x00], 1_000_000).flatten());
        let data = traces_from_protobuf(&bytes).unwrap();
        assert_eq!(data.resource_spans.len(), 1);
        let spans = &data.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].name, "root");
        assert_eq!(
            data.resource_spans[0].resource,
            req.resource_spans[0].resource
        );
    }

    #[test]
    fn gunzip_reserved_takes_its_output_from_the_budget() {
        let data = vec![7u8; 3 * 1024 * 1024];
        let body = gzip(&data);
        let budget = crate::otlp::budget::InflightBudget::new(1024 * 1024);
        let mut small = budget.reservation();
        assert!(matches!(
            gunzip_reserved(&body, 8 * 1024 * 1024, &mut small),
            Err(DecodeError::Busy(_))
        ));
        assert!(small.bytes() <= 1024 * 1024);
        drop(small);
        let large = crate::otlp::budget::InflightBudget::new(16 * 1024 * 1024);
        let mut enough = large.reservation();
        assert_eq!(
            gunzip_reserved(&body, 8 * 1024 * 1024, &mut enough).unwrap(),
            data
        );
        assert!(enough.bytes() >= data.len());
        assert!(matches!(
            gunzip_reserved(&body, 1024, &mut large.reservation()),
            Err(DecodeError::TooLarge(_))
        ));
    }

    #[test]
    fn json_uses_hex_ids_and_ignores_unknown_fields() {
        let json = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
            "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "name":"x","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":2,"futureField":true}]}],
            "somethingNew":{}}]}"#;
        let req = decode_request(json, Encoding::Json).unwrap();
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id[0], 0x5b);
        assert_eq!(span.span_id.len(), 8);
        assert_eq!(span.end_time_unix_nano, 2);
        let bad = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#;
        assert!(matches!(
            decode_request(bad, Encoding::Json),
            Err(DecodeError::Malformed(_))
        ));
    }
}
