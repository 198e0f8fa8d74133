//! Fetch traces by ID from a backend: a tracegate receiver, Grafana Tempo or Jaeger v2.
//!
//! | backend | request | answer |
//! |---|---|---|
//! | tracegate | `GET /api/traces/{id}` | OTLP JSON `{"resourceSpans":[…]}` |
//! | Tempo | `GET /api/traces/{id}` | `{"batches":[…]}` (jsonpb: base64 IDs, enum names) or protobuf |
//! | Jaeger v2 | `GET /api/v3/traces/{id}` | `{"result":{"resourceSpans":[…]}}` |
//!
//! [`parse_trace_body`] accepts all of these shapes, so the answer of any of them (or a file
//! holding one) becomes `TracesData`. The search APIs (Tempo `/api/search`, Jaeger v2
//! `/api/v3/services` and `/api/v3/traces`) are in [`search`].

mod search;

pub use search::{parse_trace_stream, TempoHit};

use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use serde_json::Value;

use crate::propagation::TraceId;
use crate::trace::TraceSummary;

/// Which API to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A tracegate receiver (`tracegate collect`).
    Tracegate,
    /// Grafana Tempo.
    Tempo,
    /// Jaeger v2 (API v3).
    Jaeger,
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tracegate" => Ok(Backend::Tracegate),
            "tempo" => Ok(Backend::Tempo),
            "jaeger" => Ok(Backend::Jaeger),
            other => Err(format!(
                "unknown backend {other:?}: use tracegate, tempo or jaeger"
            )),
        }
    }
}

impl Backend {
    /// The URL of one trace under `base` (e.g. `http://127.0.0.1:4318`).
    pub fn trace_url(self, base: &str, id: TraceId) -> String {
        let base = base.trim_end_matches('/');
        match self {
            Backend::Tracegate | Backend::Tempo => format!("{base}/api/traces/{id}"),
            Backend::Jaeger => format!("{base}/api/v3/traces/{id}"),
        }
    }
}

/// Request headers (credentials) shown in `Debug` output by name only: the values never reach
/// a log or an error message.
pub struct RedactedHeaders<'a>(pub &'a [(String, String)]);

impl std::fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        write!(f, "{names:?} (values redacted)")
    }
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("trace {0} not found at {1}")]
    NotFound(TraceId, String),
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    /// `reason` is the innermost cause ("Connection refused (os error 111)", "no answer
    /// within 500 ms"), not reqwest's nested wrappers that repeat the URL.
    #[error("cannot reach {url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: {reason}")]
    Parse { url: String, reason: String },
    /// A request header given for the backend is not valid HTTP (its value is never shown).
    #[error("request header {name:?}: {reason}")]
    InvalidHeader { name: String, reason: &'static str },
}

impl FetchError {
    fn transport(url: &str, timeout: Duration, err: &reqwest::Error) -> Self {
        let reason = if err.is_timeout() {
            format!("no answer within {} ms", timeout.as_millis())
        } else if err.is_builder() {
            "not a valid http(s) URL".to_owned()
        } else {
            let mut cause: &dyn std::error::Error = err;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            cause.to_string()
        };
        FetchError::Transport {
            url: url.to_owned(),
            reason,
        }
    }
}

fn http_client(timeout: Duration) -> Result<reqwest::Client, FetchError> {
    crate::propagation::export::tls::client_builder()
        .timeout(timeout)
        .build()
        .map_err(|err| FetchError::transport("", timeout, &err))
}

/// A client for one backend, reused across fetches, sending extra request headers (the
/// backend's credentials) with every request. Its `Debug` output never shows header values,
/// and no [`FetchError`] carries them.
#[derive(Clone)]
pub struct TraceClient {
    http: reqwest::Client,
    base: String,
    backend: Backend,
    headers: reqwest::header::HeaderMap,
    timeout: Duration,
}

impl std::fmt::Debug for TraceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("TraceClient")
            .field("base", &self.base)
            .field("backend", &self.backend)
            .field("headers", &format_args!("{names:?} (values redacted)"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl TraceClient {
    /// A client for `backend` at `base`, each request bounded by `timeout`, sending `headers`
    /// (name, value). A header that is not valid HTTP is an error naming the header, never
    /// its value.
    pub fn new(
        base: &str,
        backend: Backend,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<TraceClient, FetchError> {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            let invalid = |reason| FetchError::InvalidHeader {
                name: name.clone(),
                reason,
            };
            let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| invalid("not a valid header name"))?;
            let mut value = reqwest::header::HeaderValue::from_str(value.trim())
                .map_err(|_| invalid("the value is not a valid header value"))?;
            value.set_sensitive(true);
            map.append(name, value);
        }
        Ok(TraceClient {
            http: http_client(timeout)?,
            base: base.to_owned(),
            backend,
            headers: map,
            timeout,
        })
    }

    /// The backend's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Fetch trace `id` as OTLP data ([`FetchError::NotFound`] when the backend does not hold
    /// it, or holds no span of it).
    pub async fn fetch(&self, id: TraceId) -> Result<TracesData, FetchError> {
        let url = self.backend.trace_url(&self.base, id);
        let (content_type, body) = match self.get(&url).await {
            Err(FetchError::Status { status: 404, .. }) => {
                return Err(FetchError::NotFound(id, self.base.clone()))
            }
            other => other?,
        };
        let data = parse_trace_body(&body, content_type.as_deref()).map_err(|reason| {
            FetchError::Parse {
                url: url.clone(),
                reason,
            }
        })?;
        if data
            .resource_spans
            .iter()
            .all(|rs| rs.scope_spans.iter().all(|ss| ss.spans.is_empty()))
        {
            return Err(FetchError::NotFound(id, self.base.clone()));
        }
        Ok(data)
    }

    async fn get(&self, url: &str) -> Result<(Option<String>, Vec<u8>), FetchError> {
        let timeout = self.timeout;
        let response = self
            .http
            .get(url)
            .headers(self.headers.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|err| FetchError::transport(url, timeout, &err))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|err| FetchError::transport(url, timeout, &err))?;
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            });
        }
        Ok((content_type, body.to_vec()))
    }
}

/// Fetch trace `id` from `base` as OTLP data.
pub async fn fetch_trace(
    base: &str,
    backend: Backend,
    id: TraceId,
    timeout: Duration,
) -> Result<TracesData, FetchError> {
    TraceClient::new(base, backend, &[], timeout)?
        .fetch(id)
        .await
}

/// Recent trace summaries from a tracegate receiver (`GET /api/traces?limit=N`).
pub async fn list_traces(
    base: &str,
    limit: usize,
    timeout: Duration,
) -> Result<Vec<TraceSummary>, FetchError> {
    TraceClient::new(base, Backend::Tracegate, &[], timeout)?
        .list(limit)
        .await
}

impl TraceClient {
    /// Which API the client asks.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The most recent trace summaries, newest first (`GET /api/traces?limit=N`: a tracegate
    /// receiver only; the receiver answers at most [`super::http::MAX_LIST_LIMIT`]).
    pub async fn list(&self, limit: usize) -> Result<Vec<TraceSummary>, FetchError> {
        #[derive(serde::Deserialize)]
        struct Listing {
            traces: Vec<Summary>,
        }
        #[derive(serde::Deserialize)]
        struct Summary {
            trace_id: String,
            root_service: Option<String>,
            root_operation: Option<String>,
            spans: usize,
            duration_ns: u64,
            #[serde(default)]
            start_unix_nano: u64,
            error: bool,
            #[serde(default)]
            problems: usize,
        }
        let url = format!(
            "{}/api/traces?limit={limit}",
            self.base.trim_end_matches('/')
        );
        let (_, body) = self.get(&url).await?;
        let listing: Listing = serde_json::from_slice(&body).map_err(|e| FetchError::Parse {
            url: url.clone(),
            reason: format!("not a tracegate trace listing: {e}"),
        })?;
        Ok(listing
            .traces
            .into_iter()
            .map(|s| TraceSummary {
                trace_id: s.trace_id,
                root_service: s.root_service,
                root_operation: s.root_operation,
                spans: s.spans,
                duration_ns: s.duration_ns,
                start_unix_nano: s.start_unix_nano,
                error: s.error,
                problems: s.problems,
            })
            .collect())
    }
}

/// Parse a trace answer from any supported backend, or a file holding one: protobuf
/// `TracesData` (or Tempo's wire-compatible `Trace`) when `content_type` says protobuf,
/// otherwise JSON in any of the shapes in the module documentation.
pub fn parse_trace_body(body: &[u8], content_type: Option<&str>) -> Result<TracesData, String> {
    if content_type.is_some_and(|t| t.contains("protobuf")) {
        return TracesData::decode(body).map_err(|e| format!("invalid protobuf trace: {e}"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    parse_trace_value(value)
}

/// [`parse_trace_body`] for JSON already parsed.
pub fn parse_trace_value(mut value: Value) -> Result<TracesData, String> {
    // unwrap {"result": …} (Jaeger) and {"trace": …} (Tempo v2)
    loop {
        let inner = match &mut value {
            Value::Object(map)
                if !map.contains_key("resourceSpans") && !map.contains_key("batches") =>
            {
                map.remove("result").or_else(|| map.remove("trace"))
            }
            _ => None,
        };
        match inner {
            Some(inner) => value = inner,
            None => break,
        }
    }
    let Value::Object(mut map) = value else {
        return Err("expected a JSON object with resourceSpans".to_owned());
    };
    let resource_spans = map
        .remove("resourceSpans")
        .or_else(|| map.remove("batches"))
        .ok_or("expected resourceSpans (OTLP JSON), batches (Tempo) or result (Jaeger)")?;
    let mut resource_spans = resource_spans;
    normalize(&mut resource_spans);
    let data = serde_json::json!({ "resourceSpans": resource_spans });
    serde_json::from_value(data).map_err(|e| format!("invalid OTLP JSON trace: {e}"))
}

/// Make jsonpb-style OTLP (base64 IDs, enum names, pre-1.0 field names) the OTLP JSON mapping.
pub(crate) fn normalize(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Object(map) => {
            for (old, new) in [
                ("instrumentationLibrarySpans", "scopeSpans"),
                ("instrumentationLibrary", "scope"),
            ] {
                if let Some(v) = map.remove(old) {
                    map.entry(new).or_insert(v);
                }
            }
            for (key, len) in [("traceId", 16), ("spanId", 8), ("parentSpanId", 8)] {
                if let Some(Value::String(s)) = map.get_mut(key) {
                    if !is_hex_id(s, len) {
                        if let Some(bytes) = base64_decode(s).filter(|b| b.len() == len) {
                            *s = bytes.iter().map(|b| format!("{b:02x}")).collect();
                        }
                    }
                }
            }
            if let Some(Value::String(kind)) = map.get("kind") {
                if let Some(n) = enum_value(kind, "SPAN_KIND_", &SPAN_KINDS) {
                    map.insert("kind".to_owned(), Value::from(n));
                }
            }
            if let Some(Value::String(code)) = map.get("code") {
                if let Some(n) = enum_value(code, "STATUS_CODE_", &STATUS_CODES) {
                    map.insert("code".to_owned(), Value::from(n));
                }
            }
            map.values_mut().for_each(normalize);
        }
        _ => {}
    }
}

const SPAN_KINDS: [&str; 6] = [
    "UNSPECIFIED",
    "INTERNAL",
    "SERVER",
    "CLIENT",
    "PRODUCER",
    "CONSUMER",
];
const STATUS_CODES: [&str; 3] = ["UNSET", "OK", "ERROR"];

fn enum_value(s: &str, prefix: &str, names: &[&str]) -> Option<usize> {
    let name = s.strip_prefix(prefix)?;
    names.iter().position(|n| *n == name)
}

fn is_hex_id(s: &str, bytes: usize) -> bool {
    s.is_empty() || (s.len() == bytes * 2 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Standard or URL-safe base64, padding optional. `None` on any invalid character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_ids_and_enum_names_are_normalized() {
        assert_eq!(base64_decode("AAECAw==").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(base64_decode("AAECAw").unwrap(), vec![0, 1, 2, 3]);
        assert!(base64_decode("a*b").is_none());
        let body = br#"{"batches":[{"instrumentationLibrarySpans":[{"spans":[{
            "traceId":"AAAAAAAAAAAAAAAAAAAAAQ==","spanId":"AAAAAAAAAAI=","kind":"SPAN_KIND_CLIENT",
            "status":{"code":"STATUS_CODE_ERROR"},"startTimeUnixNano":"5"}]}]}]}"#;
        let data = parse_trace_body(body, Some("application/json")).unwrap();
        let span = &data.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id[15], 1);
        assert_eq!(span.span_id[7], 2);
        assert_eq!(span.kind, 3);
        assert_eq!(span.status.as_ref().unwrap().code, 2);
        assert_eq!(span.start_time_unix_nano, 5);
    }

    #[test]
    fn protobuf_answers_decode_as_traces_data() {
        let request = crate::otlp::sample::batch(1, 3, 3);
        let data = TracesData {
            resource_spans: request.resource_spans,
        };
        let parsed = parse_trace_body(&data.encode_to_vec(), Some("application/protobuf")).unwrap();
        assert_eq!(parsed, data);
    }

    #[test]
    fn wrappers_are_unwrapped_and_garbage_is_an_error() {
        let body = br#"{"result":{"resourceSpans":[]}}"#;
        assert!(parse_trace_body(body, None)
            .unwrap()
            .resource_spans
            .is_empty());
        assert!(parse_trace_body(br#"{"hello":1}"#, None).is_err());
        assert!(parse_trace_body(b"<html>", None).is_err());
        assert!(parse_trace_body(b"\x01\x02", Some("application/protobuf")).is_err());
    }
}
