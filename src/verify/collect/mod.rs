//! Collection: read the run's traces back from where the spans went, and wait until each is
//! complete (every expected service present and no new span for a quiet period) or the
//! timeout passes.
//!
//! Unlike a "span count stopped changing" rule alone, a trace missing an expected service is
//! waited for until the timeout, and then reported with the services it lacks
//! ([`Collected::incomplete`]). A backend is asked by trace ID, at most
//! [`MAX_CONCURRENT_FETCHES`] at once, a 404 meaning "not there yet"; a backend answering
//! something that is not a trace, refusing, timing out, or failing with 5xx three times in a
//! row stops collection with a one-line [`CollectError`].
//!
//! A source that can list its traces (an in-process store, a tracegate receiver) also yields
//! the traces no requested ID names that started with the run ([`Collected::unclaimed`]:
//! where a service dropped the context and started anew); Tempo and Jaeger cannot, and
//! [`Collected::can_list`] says so.

mod credentials;
mod demo;
mod destinations;
mod reader;
mod unclaimed;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::TracesData;

pub use self::credentials::{BackendCredentials, CredentialError, HEADERS_ENV, TOKEN_ENV};
pub use self::demo::demo_sources;
pub use self::destinations::TENANT_ATTRIBUTE;
pub use self::reader::MAX_CONCURRENT_FETCHES;
use self::reader::{services, span_count, Reader};
use super::model::{Collected, Incomplete};
use crate::otlp::client::Backend;
use crate::otlp::store::Store;
use crate::propagation::TraceId;
use crate::trace::{AssemblyOptions, Trace};

/// Where spans are read from.
#[derive(Clone)]
pub enum SpanSource {
    /// A backend's query API, by trace ID (`--from URL --backend …`). `headers` carry the
    /// credentials (never printed; see [`BackendCredentials`]).
    Backend {
        url: String,
        backend: Backend,
        headers: Vec<(String, String)>,
    },
    /// A store that receives the spans (the embedded `--receive` receiver, the demo's).
    Store(std::sync::Arc<Store>),
}

impl fmt::Debug for SpanSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpanSource::Backend {
                url,
                backend,
                headers,
            } => f
                .debug_struct("Backend")
                .field("url", url)
                .field("backend", backend)
                .field("headers", &crate::otlp::client::RedactedHeaders(headers))
                .finish(),
            SpanSource::Store(store) => f
                .debug_struct("Store")
                .field("traces", &store.trace_count())
                .finish(),
        }
    }
}

/// A destination to check for AC-005: name, the tenant it belongs to, where to read it.
#[derive(Clone, Debug)]
pub struct DestinationSource {
    pub name: String,
    pub tenant: Option<String>,
    pub source: SpanSource,
}

/// How to collect.
#[derive(Clone, Debug)]
pub struct CollectOptions {
    /// Services every trace must reach.
    pub expected_services: Vec<String>,
    /// Give up waiting after this long.
    pub timeout: Duration,
    /// A trace with every expected service is complete after no new span for this long.
    pub quiet: Duration,
    /// The longest one backend query may take (`verify --request-timeout`); never longer
    /// than `timeout`.
    pub request_timeout: Duration,
}

/// Why collection could not run (a backend answering garbage or not at all).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{0}")]
    Source(String),
}

/// The default longest a single backend request may take.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How far before the earliest of the run's traces a trace may start and still be counted as
/// the run's (an unclaimed trace, a destination's span count).
const WINDOW_SLACK: Duration = Duration::from_secs(1);

/// What has been read of one trace so far.
struct Seen {
    data: TracesData,
    spans: usize,
    services: BTreeSet<String>,
    /// When its span count last changed.
    changed: Instant,
}

/// Ask `source` for a trace that does not exist, before any request is replayed: a span
/// source that is unreachable, answers garbage or refuses the credentials is found in a
/// second, not after the whole scenario ran. A store always answers.
pub async fn probe(source: &SpanSource, timeout: Duration) -> Result<(), CollectError> {
    let SpanSource::Backend {
        url,
        backend,
        headers,
    } = source
    else {
        return Ok(());
    };
    let client = crate::otlp::client::TraceClient::new(url, *backend, headers, timeout)
        .map_err(|e| reader::source_error(&e))?;
    match client.fetch(TraceId::random()).await {
        Ok(_) | Err(crate::otlp::client::FetchError::NotFound(..)) => Ok(()),
        Err(e) => Err(reader::source_error(&e)),
    }
}

/// Read the traces of `trace_ids` from `source`, then each destination's view.
/// `progress(complete, total)` is called after every polling round.
pub async fn collect(
    source: &SpanSource,
    destinations: &[DestinationSource],
    trace_ids: &[TraceId],
    options: &CollectOptions,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<Collected, CollectError> {
    let started = Instant::now();
    let request_timeout = options
        .request_timeout
        .min(options.timeout)
        .max(Duration::from_millis(100));
    let reader = Reader::new(source, request_timeout)?;
    let mut ids: Vec<TraceId> = trace_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let expected: BTreeSet<String> = options.expected_services.iter().cloned().collect();
    let poll = (options.quiet / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));

    let mut seen: BTreeMap<TraceId, Seen> = BTreeMap::new();
    let mut complete: BTreeSet<TraceId> = BTreeSet::new();
    let mut server_errors = 0;
    progress(0, ids.len());
    loop {
        let pending: Vec<TraceId> = ids
            .iter()
            .copied()
            .filter(|id| !complete.contains(id))
            .collect();
        let known = |id: TraceId| seen.get(&id).map(|s| s.spans);
        let found = reader
            .read_all(&pending, &known, &mut server_errors)
            .await?;
        let now = Instant::now();
        for (id, data) in found {
            let spans = span_count(&data);
            match seen.get_mut(&id) {
                Some(s) if s.spans == spans => {}
                Some(s) => {
                    s.services = services(&data);
                    s.spans = spans;
                    s.data = data;
                    s.changed = now;
                }
                None => {
                    let services = services(&data);
                    seen.insert(
                        id,
                        Seen {
                            data,
                            spans,
                            services,
                            changed: now,
                        },
                    );
                }
            }
        }
        for id in &pending {
            if let Some(s) = seen.get(id) {
                if expected.is_subset(&s.services) && now.duration_since(s.changed) >= options.quiet
                {
                    complete.insert(*id);
                }
            }
        }
        progress(complete.len(), ids.len());
        if complete.len() == ids.len() || started.elapsed() >= options.timeout {
            break;
        }
        let left = options.timeout.saturating_sub(started.elapsed());
        tokio::time::sleep(poll.min(left)).await;
    }
    let waited = started.elapsed();

    let assembly = AssemblyOptions::default();
    let mut collected = Collected::default();
    for &id in &ids {
        let missing: Vec<String> = match seen.get(&id) {
            Some(s) => expected.difference(&s.services).cloned().collect(),
            None => expected.iter().cloned().collect(),
        };
        if !complete.contains(&id) {
            collected
                .incomplete
                .insert(id, Incomplete { missing, waited });
        }
        if let Some(s) = seen.remove(&id) {
            if let Some(trace) = assemble(&s.data, id, &assembly) {
                collected.traces.insert(id, trace);
            }
            collected.spans_read += s.spans;
            collected.otlp.extend(s.data.resource_spans);
        }
    }

    // Traces of the run start at or after the earliest one named (less a little slack).
    let window_start = collected
        .traces
        .values()
        .map(Trace::start_unix_nano)
        .filter(|&start| start > 0)
        .min()
        .map(|start| start.saturating_sub(WINDOW_SLACK.as_nanos() as u64));
    let requested: HashSet<TraceId> = ids.iter().copied().collect();
    // Without one trace of the run there is no window to place other traces in: whatever the
    // source holds (other runs, other traffic) is not this run's and is not read.
    let listed = match window_start {
        Some(since) => unclaimed::read(&reader, &requested, Some(since)).await,
        None => None,
    };
    if let Some(listed) = listed {
        collected.can_list = true;
        for (id, data) in listed {
            let Some(trace) = assemble(&data, id, &assembly) else {
                continue;
            };
            if window_start.is_some_and(|since| trace.start_unix_nano() < since) {
                continue;
            }
            collected.spans_read += span_count(&data);
            collected.otlp.extend(data.resource_spans);
            collected.unclaimed.push(trace);
        }
    }

    for destination in destinations {
        collected
            .destinations
            .push(destinations::read(destination, &ids, request_timeout, window_start).await);
    }
    collected.waited = started.elapsed();
    Ok(collected)
}

/// The trace `id` assembled from `data`.
fn assemble(data: &TracesData, id: TraceId, options: &AssemblyOptions) -> Option<Trace> {
    Trace::from_otlp(&data.resource_spans, options)
        .into_iter()
        .find(|t| t.trace_id == id)
}
