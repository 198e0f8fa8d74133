//! Traces from a backend's search API, a bounded sample of the window: Tempo (`/api/search`
//! with TraceQL, then each trace by ID; then, for calls whose callee's new trace was not in
//! the sample, a search for the traces that callee started during them), Jaeger v2 (`/api/v3/services`, then
//! `/api/v3/traces` per service, trace IDs deduplicated), a tracegate receiver (its listing,
//! then each trace by ID). Traces are fetched at most [`MAX_CONCURRENT_FETCHES`] at once; a
//! trace answered 5xx or 429 is asked again twice after a pause; a 404 (the trace expired
//! between search and fetch) is skipped; anything else stops the read with a one-line error
//! naming the URL.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::TracesData;
use tokio::task::JoinSet;

use super::super::CoverageError;
use super::{Analyser, RuntimeOptions};
use crate::otlp::client::{Backend, FetchError, TraceClient};
use crate::otlp::http::MAX_LIST_LIMIT;
use crate::propagation::TraceId;
use crate::report::escape_control;
use crate::trace::{AssemblyOptions, Trace};

/// Trace fetches in flight at most.
pub const MAX_CONCURRENT_FETCHES: usize = 16;
/// Jaeger per-service searches in flight at most.
const MAX_CONCURRENT_SEARCHES: usize = 4;
/// Attempts per trace when the backend answers 5xx or 429.
const ATTEMPTS: u32 = 3;
/// The TraceQL query of the Tempo search: every trace.
pub const TEMPO_QUERY: &str = "{}";

/// Follow-up searches per read at most (one per callee and second of unmatched calls).
const MAX_FOLLOW_UPS: usize = 20;
/// Traces asked of each follow-up search.
const FOLLOW_UP_LIMIT: usize = 20;

/// The TraceQL query for the traces `service` started (its root spans).
pub fn root_query(service: &str) -> String {
    let quoted = service.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{{ trace:rootService = \"{quoted}\" }}")
}

/// A callee, how many of its calls went unmatched, and the distinct seconds they spanned.
type CalleeWindows = (String, usize, Vec<(u64, u64)>);

/// The sample may hold a caller's CLIENT span without child to an instrumented callee while
/// the callee's new trace was left out: ask Tempo for the traces that callee started during
/// those calls (at most [`MAX_FOLLOW_UPS`] searches, `max` more traces), so the unpaired-edge
/// signature does not depend on both traces landing in one sample. A Tempo that does not
/// know the query (400) is not asked again.
async fn tempo_follow_ups(
    client: &TraceClient,
    analyser: &mut Analyser,
    known: &[TraceId],
    max: usize,
) -> Result<(), CoverageError> {
    // per callee, the distinct seconds of its unmatched calls; the callees with the most
    // unmatched calls are searched first, one window of each in turn
    let mut by_callee: BTreeMap<String, (usize, BTreeSet<(u64, u64)>)> = BTreeMap::new();
    for call in analyser.unmatched() {
        let start = call.start_unix_nano / 1_000_000_000;
        let end = call.end_unix_nano.div_ceil(1_000_000_000).max(start + 1);
        let entry = by_callee.entry(call.callee).or_default();
        entry.0 += 1;
        entry.1.insert((start, end));
    }
    let mut callees: Vec<CalleeWindows> = by_callee
        .into_iter()
        .map(|(callee, (calls, windows))| (callee, calls, windows.into_iter().collect()))
        .collect();
    callees.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rounds = callees.iter().map(|c| c.2.len()).max().unwrap_or(0);
    let windows: Vec<(String, u64, u64)> = (0..rounds)
        .flat_map(|round| {
            callees.iter().filter_map(move |(callee, _, w)| {
                w.get(round).map(|&(s, e)| (callee.clone(), s, e))
            })
        })
        .collect();
    let known: std::collections::HashSet<TraceId> = known.iter().copied().collect();
    let mut ids: Vec<TraceId> = Vec::new();
    for (callee, start, end) in windows.into_iter().take(MAX_FOLLOW_UPS) {
        let hits = match client
            .search_tempo(&root_query(&callee), start, end, FOLLOW_UP_LIMIT)
            .await
        {
            Ok(hits) => hits,
            Err(FetchError::Status { status: 400, .. }) => break,
            Err(e) => return Err(runtime_error(&e)),
        };
        for hit in hits {
            if !known.contains(&hit.trace_id) && !ids.contains(&hit.trace_id) && ids.len() < max {
                ids.push(hit.trace_id);
            }
        }
    }
    fetch_all(client, &ids, analyser).await.map(|_| ())
}

/// A fetch error as a one-line [`CoverageError::Runtime`] (it names the URL).
fn runtime_error(error: &FetchError) -> CoverageError {
    CoverageError::Runtime(escape_control(&error.to_string()).into_owned())
}

/// Read a sample of the traces that started within the window from the backend at `url`
/// into `analyser`, one trace at a time; and say whether the backend held more than were read.
pub async fn read(
    url: &str,
    backend: Backend,
    headers: &[(String, String)],
    options: &RuntimeOptions,
    analyser: &mut Analyser,
) -> Result<bool, CoverageError> {
    let client = TraceClient::new(url, backend, headers, options.request_timeout)
        .map_err(|e| runtime_error(&e))?;
    let max = options.max_traces.max(1);
    match backend {
        Backend::Tempo => {
            let start_s = options.since_unix_nano / 1_000_000_000;
            let end_s = options.until_unix_nano.div_ceil(1_000_000_000);
            // a quarter of the budget is kept for the follow-up searches
            let first = max - max / 4;
            let hits = client
                .search_tempo(TEMPO_QUERY, start_s, end_s, first)
                .await
                .map_err(|e| runtime_error(&e))?;
            let sampled = hits.len() >= first;
            let ids: Vec<TraceId> = hits.iter().map(|h| h.trace_id).take(first).collect();
            let read = fetch_all(&client, &ids, analyser).await?;
            let budget = max.saturating_sub(read);
            tempo_follow_ups(&client, analyser, &ids, budget).await?;
            Ok(sampled)
        }
        Backend::Tracegate => {
            let listing = client
                .list(MAX_LIST_LIMIT)
                .await
                .map_err(|e| runtime_error(&e))?;
            let in_window = |start: u64| {
                start == 0 || (options.since_unix_nano..=options.until_unix_nano).contains(&start)
            };
            // newest first: complete when shorter than the limit or reaching back past the window
            let reaches_back = listing.len() < MAX_LIST_LIMIT
                || listing
                    .iter()
                    .any(|s| s.start_unix_nano > 0 && s.start_unix_nano < options.since_unix_nano);
            let ids: Vec<TraceId> = listing
                .iter()
                .filter(|s| in_window(s.start_unix_nano))
                .filter_map(|s| TraceId::from_hex(&s.trace_id))
                .collect();
            let sampled = ids.len() > max || !reaches_back;
            let ids = &ids[..ids.len().min(max)];
            fetch_all(&client, ids, analyser).await?;
            Ok(sampled)
        }
        Backend::Jaeger => read_jaeger(&client, options, max, analyser).await,
    }
}

async fn read_jaeger(
    client: &TraceClient,
    options: &RuntimeOptions,
    max: usize,
    analyser: &mut Analyser,
) -> Result<bool, CoverageError> {
    let services = client
        .jaeger_services()
        .await
        .map_err(|e| runtime_error(&e))?;
    let per_service = max.div_ceil(services.len().max(1)).max(1);
    let mut answers: Vec<Option<TracesData>> = vec![None; services.len()];
    let mut running = JoinSet::new();
    let mut next = 0;
    loop {
        while running.len() < MAX_CONCURRENT_SEARCHES && next < services.len() {
            let (client, service, i) = (client.clone(), services[next].clone(), next);
            let (since, until) = (options.since_unix_nano, options.until_unix_nano);
            running.spawn(async move {
                let answer = client
                    .jaeger_find_traces(&service, since, until, per_service)
                    .await;
                (i, answer)
            });
            next += 1;
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (i, answer) = joined.map_err(|e| {
            CoverageError::Runtime(format!("{}: a search failed: {e}", client.base()))
        })?;
        answers[i] = Some(answer.map_err(|e| runtime_error(&e))?);
    }
    // in the order of the services (a trace several services return is kept once, whole)
    let assembly = AssemblyOptions::default();
    let mut kept: HashSet<TraceId> = HashSet::new();
    let mut sampled = false;
    for data in answers.into_iter().flatten() {
        let found = Trace::from_otlp(&data.resource_spans, &assembly);
        sampled |= found.len() >= per_service;
        for trace in found {
            if kept.contains(&trace.trace_id) {
                continue;
            }
            if kept.len() == max {
                sampled = true;
                break;
            }
            kept.insert(trace.trace_id);
            analyser.add(&trace);
        }
    }
    Ok(sampled)
}

/// Fetch every trace of `ids`, assemble each as it comes and add it to `analyser` (the
/// traces are not kept); those gone are left out. Returns how many were added.
async fn fetch_all(
    client: &TraceClient,
    ids: &[TraceId],
    analyser: &mut Analyser,
) -> Result<usize, CoverageError> {
    let assembly = AssemblyOptions::default();
    let mut added = 0;
    let mut running = JoinSet::new();
    let mut next = 0;
    loop {
        while running.len() < MAX_CONCURRENT_FETCHES && next < ids.len() {
            let (client, id) = (client.clone(), ids[next]);
            running.spawn(async move { (id, fetch_with_retries(&client, id).await) });
            next += 1;
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (id, answer) = joined.map_err(|e| {
            CoverageError::Runtime(format!("{}: a fetch failed: {e}", client.base()))
        })?;
        let Some(data) = answer? else { continue };
        if let Some(trace) = Trace::from_otlp(&data.resource_spans, &assembly)
            .into_iter()
            .find(|t| t.trace_id == id)
        {
            analyser.add(&trace);
            added += 1;
        }
    }
    Ok(added)
}

async fn fetch_with_retries(
    client: &TraceClient,
    id: TraceId,
) -> Result<Option<TracesData>, CoverageError> {
    let mut pause = Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        match client.fetch(id).await {
            Ok(data) => return Ok(Some(data)),
            Err(FetchError::NotFound(..)) => return Ok(None),
            Err(e @ FetchError::Status { status, .. }) if status >= 500 || status == 429 => {
                if attempt == ATTEMPTS {
                    return Err(CoverageError::Runtime(format!(
                        "{} ({ATTEMPTS} attempts)",
                        escape_control(&e.to_string())
                    )));
                }
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(e) => return Err(runtime_error(&e)),
        }
    }
    Ok(None)
}
