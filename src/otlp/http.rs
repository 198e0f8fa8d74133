//! OTLP/HTTP receiver and the query API, as one axum [`Router`].

use std::pin::Pin;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;

use super::budget::Reservation;
use super::decode::{gunzip_reserved, DecodeError, Encoding};
use super::store::IngestError;
use super::Receiver;
use super::{json, rpc, wire};
use crate::propagation::TraceId;

/// Bodies larger than this (and every gzip body) are processed on a blocking thread.
const BLOCKING_THRESHOLD: usize = 256 * 1024;

/// Most summaries `GET /api/traces` returns.
pub const MAX_LIST_LIMIT: usize = 10_000;

/// The receiver's HTTP routes: `POST /v1/traces`, `GET /api/traces/{trace_id}`,
/// `GET /api/traces?limit=N`, `GET /api/stats`.
pub fn app(receiver: Arc<Receiver>) -> Router {
    routes().with_state(receiver)
}

/// [`app`] and the web UI's pages (`GET /`, `GET /traces/{trace_id}`, [`super::ui`]).
pub fn app_with_ui(receiver: Arc<Receiver>) -> Router {
    routes().merge(super::ui::routes()).with_state(receiver)
}

fn routes() -> Router<Arc<Receiver>> {
    Router::new()
        .route("/v1/traces", post(export))
        .route("/api/traces", get(list))
        .route("/api/traces/{trace_id}", get(show))
        .route("/api/stats", get(stats))
}

async fn export(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Body) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(encoding) = Encoding::from_content_type(content_type) else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            rpc::INVALID_ARGUMENT,
            format!(
                "unsupported Content-Type {content_type:?}: use application/x-protobuf or application/json"
            ),
        );
    };
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("identity") => false,
        Some("gzip") => true,
        Some(other) => {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some(encoding),
                rpc::INVALID_ARGUMENT,
                format!("unsupported Content-Encoding {other:?}: use gzip or none"),
            )
        }
    };
    let limits = rx.limits;
    let Some(_request_slot) = rx.try_start_request() else {
        return busy(
            encoding,
            limits.retry_after,
            format!(
                "too many export requests in flight (limit {})",
                limits.max_inflight_requests
            ),
        );
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return too_large(encoding, limits.max_body_bytes);
    }
    let expected = declared.map_or(0, |n| usize::try_from(n).unwrap_or(0));
    let mut reservation = rx.inflight.reservation();
    let read = read_limited(body, limits.max_body_bytes, expected, &mut reservation);
    let raw = match tokio::time::timeout(limits.body_read_timeout, read).await {
        Ok(Ok(raw)) => raw,
        Ok(Err(ReadError::TooLarge)) => return too_large(encoding, limits.max_body_bytes),
        Ok(Err(ReadError::Busy)) => {
            return busy(encoding, limits.retry_after, budget_exhausted(&rx))
        }
        Ok(Err(ReadError::Broken(e))) => {
            return error(
                StatusCode::BAD_REQUEST,
                Some(encoding),
                rpc::INVALID_ARGUMENT,
                format!("cannot read the request body: {e}"),
            )
        }
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                Some(encoding),
                rpc::UNAVAILABLE,
                format!(
                    "the request body was not received within {} ms",
                    limits.body_read_timeout.as_millis()
                ),
            )
        }
    };
    let raw_len = raw.len();
    // protobuf is indexed without decoding (spans kept as slices of the body); JSON is
    // converted to protobuf span by span. Large bodies are worked on a blocking thread so the
    // runtime keeps serving other connections meanwhile. Every buffer is paid for from the
    // in-flight budget first.
    let work = {
        let rx = Arc::clone(&rx);
        move || {
            let mut reservation = reservation;
            let mut plain = if gzip {
                let plain = gunzip_reserved(&raw, limits.max_decompressed_bytes, &mut reservation)?;
                drop(raw);
                plain
            } else {
                raw
            };
            // the store keeps the buffer: do not keep growth slack with it
            if plain.capacity() > plain.len() + plain.len() / 8 {
                plain.shrink_to_fit();
            }
            let body = match encoding {
                Encoding::Protobuf => plain,
                Encoding::Json => {
                    // the protobuf is at most about as large as the JSON
                    if !reservation.grow(plain.len()) {
                        return Err(DecodeError::Busy(budget_exhausted(&rx)));
                    }
                    let protobuf = json::to_protobuf(&plain, limits.max_messages_per_request)?;
                    drop(plain);
                    protobuf
                }
            };
            // indexing costs about as much again as the body
            if !reservation.grow(body.len()) {
                return Err(DecodeError::Busy(budget_exhausted(&rx)));
            }
            let batch = wire::scan_with_limits(Bytes::from(body), limits.scan_limits())?;
            Ok(rx.store.ingest_scanned(batch))
        }
    };
    let ingested = if gzip || raw_len > BLOCKING_THRESHOLD {
        let Some(slot) = rx.worker_slot().await else {
            return busy(encoding, limits.retry_after, receiver_busy());
        };
        let work = move || {
            let _slot = slot;
            work()
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result,
            Err(e) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Some(encoding),
                    rpc::INTERNAL,
                    format!("the request could not be processed: {e}"),
                )
            }
        }
    } else {
        work()
    };
    let ingested = match ingested {
        Ok(ingested) => ingested,
        Err(DecodeError::TooLarge(reason)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(encoding),
                rpc::RESOURCE_EXHAUSTED,
                reason,
            )
        }
        Err(DecodeError::Malformed(reason)) => {
            return error(
                StatusCode::BAD_REQUEST,
                Some(encoding),
                rpc::INVALID_ARGUMENT,
                reason,
            )
        }
        Err(DecodeError::Busy(reason)) => return busy(encoding, limits.retry_after, reason),
    };
    match ingested {
        Ok(outcome) => {
            let partial = (outcome.rejected > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(outcome.rejected).unwrap_or(i64::MAX),
                error_message: outcome.reason.unwrap_or_default(),
            });
            let body = match encoding {
                Encoding::Protobuf => ExportTraceServiceResponse {
                    partial_success: partial,
                }
                .encode_to_vec(),
                Encoding::Json => match partial {
                    None => b"{}".to_vec(),
                    Some(p) => serde_json::to_vec(&ExportTraceServiceResponse {
                        partial_success: Some(p),
                    })
                    .unwrap_or_else(|_| b"{}".to_vec()),
                },
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, encoding.content_type())],
                body,
            )
                .into_response()
        }
        Err(err @ IngestError::TooLarge { .. }) => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(encoding),
            rpc::RESOURCE_EXHAUSTED,
            err.to_string(),
        ),
        Err(IngestError::Malformed(DecodeError::TooLarge(reason))) => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(encoding),
            rpc::RESOURCE_EXHAUSTED,
            reason,
        ),
        Err(IngestError::Malformed(err)) => error(
            StatusCode::BAD_REQUEST,
            Some(encoding),
            rpc::INVALID_ARGUMENT,
            err.to_string(),
        ),
        Err(err @ IngestError::Io(_)) => {
            // counted and kept in `Store::stats` (`collect` prints it); the exporter retries
            let secs = limits.retry_after.as_secs().max(1);
            let mut response = encode_status(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(encoding),
                rpc::retry_status(rpc::UNAVAILABLE, err.to_string(), limits.retry_after),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            response
        }
    }
}

/// 429 with `Retry-After` and a `google.rpc.Status` carrying `RetryInfo`.
fn busy(encoding: Encoding, retry_after: std::time::Duration, message: String) -> Response {
    let secs = retry_after.as_secs().max(1);
    let mut response = encode_status(
        StatusCode::TOO_MANY_REQUESTS,
        Some(encoding),
        rpc::retry_status(rpc::UNAVAILABLE, message, retry_after),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

fn receiver_busy() -> String {
    "the receiver is busy decompressing and indexing other requests".to_owned()
}

fn budget_exhausted(rx: &Receiver) -> String {
    format!(
        "the receiver's in-flight memory budget ({} bytes) is exhausted",
        rx.inflight.limit()
    )
}

enum ReadError {
    TooLarge,
    Busy,
    Broken(String),
}

/// Read the body frame by frame, stopping as soon as it exceeds `limit` (an oversized body is
/// never held in memory) or the in-flight budget cannot pay for the buffer.
async fn read_limited(
    mut body: Body,
    limit: usize,
    expected: usize,
    reservation: &mut Reservation,
) -> Result<Vec<u8>, ReadError> {
    use http_body::Body as _;
    let initial = expected.min(limit);
    if !reservation.grow_to(initial) {
        return Err(ReadError::Busy);
    }
    let mut out = Vec::with_capacity(initial);
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| ReadError::Broken(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            let needed = out.len() + data.len();
            if needed > limit {
                return Err(ReadError::TooLarge);
            }
            if needed > out.capacity() {
                let capacity = (out.capacity() * 2).max(needed).min(limit);
                if !reservation.grow_to(capacity) {
                    return Err(ReadError::Busy);
                }
                out.reserve_exact(capacity - out.len());
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

fn too_large(encoding: Encoding, limit: usize) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        Some(encoding),
        rpc::RESOURCE_EXHAUSTED,
        format!("request body exceeds the limit of {limit} bytes"),
    )
}

fn error(status: StatusCode, encoding: Option<Encoding>, code: i32, message: String) -> Response {
    encode_status(
        status,
        encoding,
        rpc::Status {
            code,
            message,
            details: Vec::new(),
        },
    )
}

/// A `google.rpc.Status` body in the request's encoding (JSON when it is unknown).
fn encode_status(status: StatusCode, encoding: Option<Encoding>, body: rpc::Status) -> Response {
    match encoding {
        Some(Encoding::Protobuf) => (
            status,
            [(header::CONTENT_TYPE, Encoding::Protobuf.content_type())],
            body.encode_to_vec(),
        )
            .into_response(),
        Some(Encoding::Json) | None => (status, Json(body)).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ListParams {
    limit: Option<usize>,
}

async fn list(State(rx): State<Arc<Receiver>>, Query(params): Query<ListParams>) -> Response {
    let Some(slot) = rx.try_start_query() else {
        return queries_busy(&rx);
    };
    let limit = params.limit.unwrap_or(20).min(MAX_LIST_LIMIT);
    let work = move || {
        let _slot = slot;
        // one trace decoded at a time, none larger than a single-trace query may be
        let traces = rx
            .store
            .recent_bounded(limit, rx.limits.max_query_spans, &rx.assembly);
        serde_json::to_vec(&serde_json::json!({ "traces": traces }))
    };
    json_response(tokio::task::spawn_blocking(work).await)
}

/// What the store holds and evicted, and how its log fares ([`super::store::StoreStats`]).
async fn stats(State(rx): State<Arc<Receiver>>) -> Response {
    Json(rx.store.stats()).into_response()
}

async fn show(State(rx): State<Arc<Receiver>>, Path(trace_id): Path<String>) -> Response {
    let Some(id) = TraceId::from_hex(&trace_id.to_ascii_lowercase()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({
                "error": format!("invalid trace ID {trace_id:?}: expected 32 hex characters, not all zero")
            })),
        )
            .into_response();
    };
    let Some(slot) = rx.try_start_query() else {
        return queries_busy(&rx);
    };
    // decoding and serialising a large trace is done off the runtime, a bounded number at once,
    // so exports are not held up behind queries
    let Some(snapshot) = rx.store.snapshot(id) else {
        return not_found(id);
    };
    let spans = snapshot.span_count();
    let max = rx.limits.max_query_spans;
    if spans > max {
        // the answer would be built whole in memory (decoded spans, then their JSON)
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(serde_json::json!({
                "error": format!(
                    "trace {id} has {spans} spans, more than this receiver answers in one query \
                     ({max}, --max-query-spans); read it with `tracegate trace show {id} --store DIR` \
                     from the collector's --store directory"
                )
            })),
        )
            .into_response();
    }
    let work = move || {
        let _slot = slot;
        serde_json::to_vec(&snapshot.to_otlp())
    };
    json_response(tokio::task::spawn_blocking(work).await)
}

fn not_found(id: TraceId) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": format!("trace {id} not found") })),
    )
        .into_response()
}

/// 503 with `Retry-After` when [`Limits::max_concurrent_queries`](super::Limits) are running.
fn queries_busy(rx: &Receiver) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({
            "error": format!(
                "too many trace queries at once (limit {}); retry shortly",
                rx.limits.max_concurrent_queries
            )
        })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
    response
}

fn json_response(
    serialised: Result<Result<Vec<u8>, serde_json::Error>, tokio::task::JoinError>,
) -> Response {
    match serialised {
        Ok(Ok(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({ "error": format!("cannot serialise the answer: {e}") })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({ "error": format!("the query failed: {e}") })),
        )
            .into_response(),
    }
}
