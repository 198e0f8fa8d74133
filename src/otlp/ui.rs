//! `collect`'s web UI, on the OTLP/HTTP port next to the receiver: `GET /` lists recent
//! traces (filter by service, by "errors or problems", search by trace ID or its first hex
//! digits, all in the query string: `/?service=billing&problems=1&q=4bf9`) and
//! `GET /traces/{trace_id}` shows one trace as `trace show --format html` does. Pages are
//! built per request from the store the receiver writes (reload to refresh), under the
//! receiver's query limits: at most [`Limits::max_concurrent_queries`](super::Limits) at
//! once (503 beyond), decoded off the async runtime, no trace over
//! [`Limits::max_query_spans`](super::Limits) decoded, no page drawn for a trace of more than
//! [`PAGE_MAX_SPANS`] (413: the page holds every span's details), at most [`SCAN_TRACES`]
//! traces and [`SCAN_SPANS`] spans looked at per listing.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::Receiver;
use crate::propagation::TraceId;
use crate::report::trace as render;
use crate::trace::{id_prefix, Trace, TraceFilter, TraceRow};

/// Most of the newest traces a listing looks at.
pub const SCAN_TRACES: usize = 2_000;
/// Most spans a listing decodes, over all the traces it looks at.
pub const SCAN_SPANS: usize = 200_000;
/// Most rows a listing shows.
pub const SHOW_TRACES: usize = 200;
/// Most spans of a trace page (each span's row and details are in the page: about 1.5 KB of
/// HTML a span); a larger trace gets 413, or the lower `--max-query-spans`.
pub const PAGE_MAX_SPANS: usize = 10_000;

/// The UI's routes, to merge with the receiver's ([`super::http::app_with_ui`]).
pub fn routes() -> Router<Arc<Receiver>> {
    Router::new()
        .route("/", get(index))
        .route("/traces/{trace_id}", get(trace_page))
}

/// The list page's query string; unknown keys are ignored.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ListParams {
    pub service: Option<String>,
    pub problems: Option<String>,
    pub q: Option<String>,
}

async fn index(State(rx): State<Arc<Receiver>>, Query(params): Query<ListParams>) -> Response {
    let Some(slot) = rx.try_start_query() else {
        return busy(&rx);
    };
    let now = render::clock::now_unix_nano();
    let work = move || {
        let _slot = slot;
        list(&rx, &params, now)
    };
    match tokio::task::spawn_blocking(work).await {
        Ok((status, Ok(body))) => page(status, body),
        Ok((_, Err(e))) => failed(&e.to_string()),
        Err(e) => failed(&e.to_string()),
    }
}

/// The list page for `params` at `now_unix_nano`, and its status: 400 when the search text is
/// not a trace ID prefix (the page then says so and lists without that condition).
pub fn list(
    rx: &Receiver,
    params: &ListParams,
    now_unix_nano: u64,
) -> (StatusCode, Result<String, minijinja::Error>) {
    let query_text = params.q.as_deref().unwrap_or("").trim();
    let mut error = None;
    let prefix = if query_text.is_empty() {
        None
    } else {
        let prefix = id_prefix(query_text);
        if prefix.is_none() {
            error = Some(format!(
                "\"{query_text}\" is not a trace ID: search with up to 32 hex digits (the ID or its beginning)"
            ));
        }
        prefix
    };
    let filter = TraceFilter {
        service: params.service.clone().filter(|s| !s.is_empty()),
        problems_only: params
            .problems
            .as_deref()
            .is_some_and(|p| matches!(p, "1" | "on" | "true" | "yes")),
        id_prefix: prefix,
    };
    // a whole ID is looked up directly, however old the trace
    let ids = match filter
        .id_prefix
        .as_deref()
        .filter(|p| p.len() == 32)
        .and_then(TraceId::from_hex)
    {
        Some(id) => vec![id],
        None => rx.store.recent_ids(SCAN_TRACES),
    };
    let mut rows = Vec::new();
    let mut services = BTreeSet::new();
    let mut scanned = 0;
    let mut budget = SCAN_SPANS;
    for id in ids {
        let Some(snapshot) = rx.store.snapshot(id) else {
            continue;
        };
        let spans = snapshot.span_count();
        let row = if spans > rx.limits.max_query_spans {
            TraceRow::undecoded(id.to_hex(), spans)
        } else {
            let Some(left) = budget.checked_sub(spans) else {
                break;
            };
            budget = left;
            let data = snapshot.to_otlp();
            drop(snapshot);
            let Some(trace) = Trace::from_otlp(&data.resource_spans, &rx.assembly)
                .into_iter()
                .find(|t| t.trace_id == id)
            else {
                continue;
            };
            TraceRow::of(&trace)
        };
        scanned += 1;
        services.extend(row.services.iter().cloned());
        if rows.len() < SHOW_TRACES && filter.keeps(&row) {
            rows.push(row);
        }
    }
    if let Some(s) = &filter.service {
        services.insert(s.clone());
    }
    let services: Vec<String> = services.into_iter().collect();
    let body = render::list_page(&render::ListPage {
        rows: &rows,
        filter: &filter,
        query_text,
        services: &services,
        held: rx.store.trace_count(),
        scanned,
        now_unix_nano,
        error: error.as_deref(),
    });
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, body)
}

async fn trace_page(State(rx): State<Arc<Receiver>>, Path(trace_id): Path<String>) -> Response {
    let Some(id) = TraceId::from_hex(&trace_id.to_ascii_lowercase()) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Not a trace ID",
            &format!("\"{trace_id}\" is not a trace ID: expected 32 hex characters, not all zero."),
        );
    };
    let Some(slot) = rx.try_start_query() else {
        return busy(&rx);
    };
    let Some(snapshot) = rx.store.snapshot(id) else {
        return message(
            StatusCode::NOT_FOUND,
            "Trace not found",
            &format!(
                "Trace {id} is not held by this collector: none of its spans arrived, or it was evicted (--max-spans, --max-stored-bytes)."
            ),
        );
    };
    let spans = snapshot.span_count();
    let max = rx.limits.max_query_spans.min(PAGE_MAX_SPANS);
    if spans > max {
        return message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Trace too large",
            &format!(
                "Trace {id} has {spans} spans, more than this collector draws in one page ({max}). Use `tracegate trace show {id} --store DIR` (tree, JSON or an HTML file) on the collector's --store directory."
            ),
        );
    }
    let work = move || {
        let _slot = slot;
        let data = snapshot.to_otlp();
        drop(snapshot);
        Trace::from_otlp(&data.resource_spans, &rx.assembly)
            .into_iter()
            .find(|t| t.trace_id == id)
            .map(|t| render::html_with_back_link(&t, "/"))
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(Some(Ok(body))) => page(StatusCode::OK, body),
        Ok(None) => message(
            StatusCode::NOT_FOUND,
            "Trace not found",
            &format!("Trace {id} holds no decodable span."),
        ),
        Ok(Some(Err(e))) => failed(&e.to_string()),
        Err(e) => failed(&e.to_string()),
    }
}

/// An HTML answer that is never cached and may run no script and load nothing.
fn page(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    match render::message_page(title, text) {
        Ok(body) => page(status, body),
        Err(_) => (status, format!("{title}: {text}\n")).into_response(),
    }
}

fn failed(reason: &str) -> Response {
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The page could not be made",
        reason,
    )
}

/// 503 with `Retry-After` when [`Limits::max_concurrent_queries`](super::Limits) are running.
fn busy(rx: &Receiver) -> Response {
    let mut response = message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Busy",
        &format!(
            "Too many trace queries at once (limit {}, --max-concurrent-queries); reload shortly.",
            rx.limits.max_concurrent_queries
        ),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
    response
}
