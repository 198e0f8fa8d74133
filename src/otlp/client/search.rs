//! Search APIs, for reading a bounded sample of traces in a time window (`coverage`):
//!
//! | backend | request | answer |
//! |---|---|---|
//! | Tempo | `GET /api/search?q=<TraceQL>&start=<unix s>&end=<unix s>&limit=N` | `{"traces":[{"traceID":"…","startTimeUnixNano":"…"}]}` (IDs may lack leading zeros) |
//! | Jaeger v2 | `GET /api/v3/services` | `{"services":["…"]}` |
//! | Jaeger v2 | `GET /api/v3/traces?query.service_name=S&query.start_time_min=<RFC 3339>&query.start_time_max=…&query.num_traces=N` | `{"result":{"resourceSpans":[…]}}`, possibly a stream of such chunks; 404 when none |
//!
//! The tracegate receiver's listing is [`TraceClient::list`].

use opentelemetry_proto::tonic::trace::v1::TracesData;
use serde_json::Value;

use super::{parse_trace_value, Backend, FetchError, TraceClient};
use crate::propagation::TraceId;

/// One trace a Tempo search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TempoHit {
    /// The trace ID (leading zeros restored).
    pub trace_id: TraceId,
    /// When it started, unix ns (0 when not given).
    pub start_unix_nano: u64,
}

impl TraceClient {
    fn url_with(&self, path: &str, params: &[(&str, String)]) -> Result<String, FetchError> {
        let base = format!("{}{path}", self.base.trim_end_matches('/'));
        let mut url = reqwest::Url::parse(&base).map_err(|_| FetchError::Transport {
            url: self.base.clone(),
            reason: "not a valid http(s) URL".to_owned(),
        })?;
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        Ok(url.into())
    }

    /// Tempo: the traces matching the TraceQL `query` that started within
    /// `[start_unix_s, end_unix_s]`, at most `limit` (`GET /api/search`).
    pub async fn search_tempo(
        &self,
        query: &str,
        start_unix_s: u64,
        end_unix_s: u64,
        limit: usize,
    ) -> Result<Vec<TempoHit>, FetchError> {
        let url = self.url_with(
            "/api/search",
            &[
                ("q", query.to_owned()),
                ("start", start_unix_s.to_string()),
                ("end", end_unix_s.to_string()),
                ("limit", limit.to_string()),
            ],
        )?;
        let (_, body) = self.get(&url).await?;
        let parse = |reason: String| FetchError::Parse {
            url: url.clone(),
            reason,
        };
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| parse(format!("invalid JSON: {e}")))?;
        let traces = match value.get("traces") {
            Some(Value::Array(traces)) => traces.as_slice(),
            Some(Value::Null) | None if value.is_object() => &[],
            _ => {
                return Err(parse(
                    "not a Tempo search answer: expected {\"traces\":[…]}".into(),
                ))
            }
        };
        let mut hits = Vec::with_capacity(traces.len());
        for trace in traces {
            let id = trace.get("traceID").and_then(Value::as_str).unwrap_or("");
            let trace_id = tempo_trace_id(id)
                .ok_or_else(|| parse(format!("not a Tempo search answer: trace ID {id:?}")))?;
            let start_unix_nano = match trace.get("startTimeUnixNano") {
                Some(Value::String(s)) => s.parse().unwrap_or(0),
                Some(v) => v.as_u64().unwrap_or(0),
                None => 0,
            };
            hits.push(TempoHit {
                trace_id,
                start_unix_nano,
            });
        }
        Ok(hits)
    }

    /// Jaeger v2: every service name (`GET /api/v3/services`).
    pub async fn jaeger_services(&self) -> Result<Vec<String>, FetchError> {
        let url = self.url_with("/api/v3/services", &[])?;
        let (_, body) = self.get(&url).await?;
        #[derive(serde::Deserialize)]
        struct Services {
            #[serde(default)]
            services: Vec<String>,
        }
        let services: Services = serde_json::from_slice(&body).map_err(|e| FetchError::Parse {
            url: url.clone(),
            reason: format!("not a Jaeger services answer: {e}"),
        })?;
        Ok(services.services)
    }

    /// Jaeger v2: at most `limit` traces with spans of `service` that started within
    /// `[start_unix_nano, end_unix_nano]`, as one `TracesData` (empty when Jaeger answers
    /// 404: none found).
    pub async fn jaeger_find_traces(
        &self,
        service: &str,
        start_unix_nano: u64,
        end_unix_nano: u64,
        limit: usize,
    ) -> Result<TracesData, FetchError> {
        debug_assert_eq!(self.backend, Backend::Jaeger);
        let url = self.url_with(
            "/api/v3/traces",
            &[
                ("query.service_name", service.to_owned()),
                ("query.start_time_min", rfc3339(start_unix_nano)),
                ("query.start_time_max", rfc3339(end_unix_nano)),
                ("query.num_traces", limit.to_string()),
            ],
        )?;
        let (_, body) = match self.get(&url).await {
            Err(FetchError::Status { status: 404, .. }) => return Ok(TracesData::default()),
            other => other?,
        };
        parse_trace_stream(&body).map_err(|reason| FetchError::Parse { url, reason })
    }
}

/// A Tempo trace ID: hex, up to 32 digits (Tempo drops leading zeros).
fn tempo_trace_id(id: &str) -> Option<TraceId> {
    if id.is_empty() || id.len() > 32 {
        return None;
    }
    TraceId::from_hex(&format!("{:0>32}", id.to_ascii_lowercase()))
}

/// Unix nanoseconds as RFC 3339 (UTC, nanosecond precision).
fn rfc3339(unix_nano: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nano))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// One or more trace answers one after the other (Jaeger's streamed `{"result":…}` chunks,
/// with or without newlines between them), merged into one `TracesData`.
pub fn parse_trace_stream(body: &[u8]) -> Result<TracesData, String> {
    let mut merged = TracesData::default();
    let mut chunks = 0;
    for value in serde_json::Deserializer::from_slice(body).into_iter::<Value>() {
        let value = value.map_err(|e| format!("invalid JSON: {e}"))?;
        merged
            .resource_spans
            .extend(parse_trace_value(value)?.resource_spans);
        chunks += 1;
    }
    if chunks == 0 {
        return Err("empty answer: expected OTLP JSON".to_owned());
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tempo_ids_get_their_leading_zeros_back() {
        assert_eq!(
            tempo_trace_id("2f3e0cee77ae5dc9c17ade3689eb2e5")
                .unwrap()
                .to_hex(),
            "02f3e0cee77ae5dc9c17ade3689eb2e5"
        );
        assert!(tempo_trace_id("").is_none());
        assert!(tempo_trace_id("zz").is_none());
        assert!(tempo_trace_id(&"1".repeat(33)).is_none());
    }

    #[test]
    fn rfc3339_has_nanoseconds_in_utc() {
        assert_eq!(
            rfc3339(1_795_000_000_123_456_789),
            "2026-11-18T11:06:40.123456789Z"
        );
    }

    #[test]
    fn a_stream_of_result_chunks_is_merged_and_garbage_is_an_error() {
        let chunk = r#"{"result":{"resourceSpans":[{"scopeSpans":[]}]}}"#;
        let body = format!("{chunk}\n{chunk}{chunk}");
        assert_eq!(
            parse_trace_stream(body.as_bytes())
                .unwrap()
                .resource_spans
                .len(),
            3
        );
        assert!(parse_trace_stream(b"").is_err());
        assert!(parse_trace_stream(format!("{chunk}<html>").as_bytes()).is_err());
        assert!(parse_trace_stream(br#"{"hello":1}"#).is_err());
    }
}
