//! Turning an OTLP request body into an `ExportTraceServiceRequest`, within limits.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

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
