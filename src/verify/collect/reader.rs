//! Reading traces by ID from a [`SpanSource`]: a backend's query API (bounded concurrency, a
//! 404 meaning "not there yet") or an in-process store.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use tokio::task::JoinSet;

use super::{CollectError, SpanSource};
use crate::otlp::client::{FetchError, TraceClient};
use crate::otlp::store::Store;
use crate::propagation::TraceId;
use crate::report::escape_control;

/// Fetches to one backend in flight at most.
pub const MAX_CONCURRENT_FETCHES: usize = 16;

/// Server errors (5xx, 429) in a row to requests sent alone (no other fetch in flight), after
/// which the backend is given up on.
const MAX_SERVER_ERRORS_IN_A_ROW: usize = 3;

/// The first pause after a server error (doubled on each one in a row, up to a second).
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// A source, ready to be read.
pub(crate) enum Reader {
    Backend {
        client: TraceClient,
        /// Fetches in flight at most now: halved on each server error (a receiver that is
        /// busy answers 503), raised by one on each answer, up to [`MAX_CONCURRENT_FETCHES`].
        limit: AtomicUsize,
    },
    Store(Arc<Store>),
}

/// The answer for one trace ID.
pub(crate) enum Answer {
    Found(TracesData),
    /// Not (yet) there.
    Absent,
    /// A server error worth retrying (5xx, 429): the message, for when they keep coming.
    Retry(String),
}

impl Reader {
    /// A reader for `source`; each backend request is bounded by `request_timeout`.
    pub fn new(source: &SpanSource, request_timeout: Duration) -> Result<Reader, CollectError> {
        match source {
            SpanSource::Backend {
                url,
                backend,
                headers,
            } => TraceClient::new(url, *backend, headers, request_timeout)
                .map(|client| Reader::Backend {
                    client,
                    limit: AtomicUsize::new(MAX_CONCURRENT_FETCHES),
                })
                .map_err(|e| source_error(&e)),
            SpanSource::Store(store) => Ok(Reader::Store(Arc::clone(store))),
        }
    }

    /// The store, when the source can list every trace.
    pub fn store(&self) -> Option<&Arc<Store>> {
        match self {
            Reader::Store(store) => Some(store),
            Reader::Backend { .. } => None,
        }
    }

    /// Read every ID of `ids`, at most [`MAX_CONCURRENT_FETCHES`] at once for a backend. A
    /// store's trace whose span count is still `known(id)` is left out of the answer (it did
    /// not change, and is not decoded again).
    /// Fails on an answer that is not a trace, a transport error (refused, timed out), a
    /// client error other than 404, or server errors [`MAX_SERVER_ERRORS_IN_A_ROW`] times in
    /// a row when asking one trace at a time (`server_errors` carries the count across
    /// calls). A trace answered with a server error is asked again after a pause, with fewer
    /// fetches in flight.
    pub async fn read_all(
        &self,
        ids: &[TraceId],
        known: &dyn Fn(TraceId) -> Option<usize>,
        server_errors: &mut usize,
    ) -> Result<BTreeMap<TraceId, TracesData>, CollectError> {
        let mut found = BTreeMap::new();
        match self {
            Reader::Store(store) => {
                for &id in ids {
                    let Some(snapshot) = store.snapshot(id) else {
                        continue;
                    };
                    if known(id) != Some(snapshot.span_count()) {
                        found.insert(id, snapshot.to_otlp());
                    }
                }
            }
            Reader::Backend { client, limit } => {
                read_backend(client, limit, ids, server_errors, &mut found).await?;
            }
        }
        Ok(found)
    }
}

async fn read_backend(
    client: &TraceClient,
    limit: &AtomicUsize,
    ids: &[TraceId],
    server_errors: &mut usize,
    found: &mut BTreeMap<TraceId, TracesData>,
) -> Result<(), CollectError> {
    let mut pending: VecDeque<TraceId> = ids.iter().copied().collect();
    let mut running = JoinSet::new();
    let mut backoff = Duration::ZERO;
    // bumped each time the limit is lowered: a server error to a request sent before that is
    // already accounted for
    let mut generation = 0u64;
    loop {
        while running.len() < limit.load(Ordering::Relaxed).max(1) {
            let Some(id) = pending.pop_front() else { break };
            let client = client.clone();
            // asked alone: a server error is then not the backend being busy with us
            let alone = running.is_empty() && limit.load(Ordering::Relaxed) <= 1;
            let sent = (generation, alone);
            running.spawn(async move { (id, sent, classify(client.fetch(id).await)) });
        }
        let Some(joined) = running.join_next().await else {
            return Ok(());
        };
        let (id, (sent_in, alone), answer) = joined
            .map_err(|e| CollectError::Source(format!("{}: a fetch failed: {e}", client.base())))?;
        match answer? {
            Answer::Retry(message) => {
                pending.push_back(id);
                if alone {
                    *server_errors += 1;
                    if *server_errors >= MAX_SERVER_ERRORS_IN_A_ROW {
                        return Err(CollectError::Source(format!(
                            "{message} ({} times in a row)",
                            *server_errors
                        )));
                    }
                }
                if sent_in == generation {
                    generation += 1;
                    let now = limit.load(Ordering::Relaxed);
                    limit.store((now / 2).max(1), Ordering::Relaxed);
                    backoff = (backoff * 2).clamp(FIRST_BACKOFF, Duration::from_secs(1));
                    tokio::time::sleep(backoff).await;
                }
            }
            answer => {
                *server_errors = 0;
                backoff = Duration::ZERO;
                let now = limit.load(Ordering::Relaxed);
                limit.store((now + 1).min(MAX_CONCURRENT_FETCHES), Ordering::Relaxed);
                if let Answer::Found(data) = answer {
                    found.insert(id, data);
                }
            }
        }
    }
}

fn classify(result: Result<TracesData, FetchError>) -> Result<Answer, CollectError> {
    match result {
        Ok(data) => Ok(Answer::Found(data)),
        Err(FetchError::NotFound(..)) => Ok(Answer::Absent),
        Err(e @ FetchError::Status { status, .. }) if status >= 500 || status == 429 => {
            Ok(Answer::Retry(escape_control(&e.to_string()).into_owned()))
        }
        Err(e) => Err(source_error(&e)),
    }
}

/// A fetch error as a one-line [`CollectError`]: what the backend answered (the body
/// excerpt of an error status) has its control characters escaped.
pub(crate) fn source_error(error: &FetchError) -> CollectError {
    CollectError::Source(escape_control(&error.to_string()).into_owned())
}

/// Spans in `data`.
pub(crate) fn span_count(data: &TracesData) -> usize {
    data.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// The `service.name` of every resource in `data` that has spans.
pub(crate) fn services(data: &TracesData) -> std::collections::BTreeSet<String> {
    data.resource_spans
        .iter()
        .filter(|rs| rs.scope_spans.iter().any(|ss| !ss.spans.is_empty()))
        .filter_map(|rs| rs.resource.as_ref())
        .filter_map(|r| string_attribute(&r.attributes, "service.name"))
        .map(str::to_owned)
        .collect()
}

/// A string attribute's value.
pub(crate) fn string_attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) if !s.is_empty() => Some(s.as_str()),
            _ => None,
        })
}
