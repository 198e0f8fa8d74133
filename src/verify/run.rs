//! A whole verify run: replay (healthy phase), collect its traces, then the fault phase when
//! there is one, and judge.
//!
//! The healthy phase's traces are collected *before* the fault phase starts: a backend
//! switched off right after the last healthy request would otherwise lose the spans still in
//! the exporters' queues, and the healthy traces would look incomplete.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::collect::{self, CollectOptions, DestinationSource, SpanSource};
use super::criteria::{self, Evaluation};
use super::model::elapsed_ms;
use super::model::{
    Collected, Criterion, CriterionResult, Evidence, Exchange, Http2Support, ManifestFinding,
    Phase, ReplayRecord, Timings, Verdict, VerifyReport,
};
use super::replay::{self, ReplayOptions};
use super::scenario::Scenario;
use crate::propagation::TraceId;
use crate::trace::{Edge, ServiceGraph, Trace};

mod fault;

pub use fault::{CommandFault, DemoBackendFault};

/// A boxed future, for [`FaultControl`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Switches the telemetry backend into its fault (down, slow, refusing) and back, around
/// AC-007(a)'s fault phase. `stop` is always called once `start` was.
pub trait FaultControl: Send + Sync {
    /// What the fault is, for the report ("backend down", "`./scripts/block-otlp.sh`").
    fn describe(&self) -> String;
    fn start(&self) -> BoxFuture<'_, Result<(), String>>;
    fn stop(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// What the caller sees while the run goes on (the CLI draws a progress bar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Replaying a phase: (phase name, done, total).
    Replaying(&'static str, usize, usize),
    /// Waiting for traces: (complete, total).
    Collecting(usize, usize),
    /// Something worth telling a human (a fault command's failure, …).
    Note(String),
    /// [`FaultControl::start`] is about to be called: from now until [`Event::FaultStopped`],
    /// a caller that abandons the run (Ctrl-C) must call `stop` itself.
    FaultStarting,
    /// [`FaultControl::stop`] returned (whether or not it succeeded).
    FaultStopped,
}

/// A verify run's settings.
pub struct VerifyOptions {
    pub scenario: Scenario,
    /// The ingress URL (the scenario's `target` unless overridden).
    pub target: String,
    pub source: SpanSource,
    pub destinations: Vec<DestinationSource>,
    /// TG2xx findings on `--manifests DIR`.
    pub manifest_findings: Option<Vec<ManifestFinding>>,
    /// AC-007(a)'s fault phase; `None` skips it.
    pub fault: Option<Box<dyn FaultControl>>,
    /// The criteria to judge (all when empty).
    pub only: Vec<Criterion>,
    /// How long to wait for traces to complete.
    pub timeout: Duration,
    /// Quiet period after which a trace with every expected service is complete.
    pub quiet: Duration,
    pub request_timeout: Duration,
}

/// Why a run could not be judged at all (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Replay(#[from] super::replay::ReplayError),
    #[error(transparent)]
    Collect(#[from] super::collect::CollectError),
    #[error("{0}")]
    Other(String),
}

/// Sample traces kept for `--artifacts` (one per request shape first, then broken ones).
pub const MAX_SAMPLE_TRACES: usize = 8;

/// A run's report plus the traces behind it worth drawing.
#[derive(Debug)]
pub struct VerifyOutput {
    pub report: VerifyReport,
    /// A few of the healthy phase's traces (at most [`MAX_SAMPLE_TRACES`]): the first trace
    /// of each request shape, then traces with problems.
    pub sample_traces: Vec<Trace>,
}

/// Undo the fault; the note to make when that failed.
async fn stop_fault(
    fault: &dyn FaultControl,
    what: &str,
    events: &(dyn Fn(Event) + Send + Sync),
) -> Option<String> {
    let stopped = fault.stop().await;
    events(Event::FaultStopped);
    stopped
        .err()
        .map(|error| {
            format!("undoing the fault ({what}) failed: {error}; the telemetry backend may still be failing")
        })
}

/// Run a whole verification.
pub async fn verify(
    options: VerifyOptions,
    events: &(dyn Fn(Event) + Send + Sync),
) -> Result<VerifyReport, VerifyError> {
    verify_with_samples(options, events)
        .await
        .map(|output| output.report)
}

/// [`verify`], also returning sample traces for `--artifacts`.
pub async fn verify_with_samples(
    options: VerifyOptions,
    events: &(dyn Fn(Event) + Send + Sync),
) -> Result<VerifyOutput, VerifyError> {
    let started = Instant::now();
    let mut notes = Vec::new();
    let note = |notes: &mut Vec<String>, text: String| {
        events(Event::Note(text.clone()));
        notes.push(text);
    };

    preflight(&options.target, options.request_timeout).await?;
    // the span source and destinations answer before anything is replayed
    collect::probe(&options.source, options.request_timeout).await?;
    for destination in &options.destinations {
        collect::probe(&destination.source, options.request_timeout)
            .await
            .map_err(|e| VerifyError::Other(format!("destination {}: {e}", destination.name)))?;
    }
    let http2 = replay::probe_http2(&options.target).await;
    if let Http2Support::No(reason) = &http2 {
        notes.push(format!(
            "the target does not speak HTTP/2 ({reason}): the incoming-context matrix was sent over HTTP/1.1 only"
        ));
    }
    let canaries = replay::canaries();
    let healthy = ReplayOptions {
        target: options.target.clone(),
        matrix: true,
        first_number: 1,
        phase: Phase::Healthy,
        request_timeout: options.request_timeout,
    };
    let progress = |done, total| events(Event::Replaying("healthy", done, total));
    let mut exchanges =
        replay::replay(&options.scenario, &healthy, &http2, &canaries, &progress).await?;

    let mut timings = Timings {
        replay_ms: elapsed_ms(started),
        ..Timings::default()
    };
    let collect_started = Instant::now();
    let trace_ids = trace_ids_to_collect(&exchanges);
    let collect_options = CollectOptions {
        expected_services: options.scenario.expect.services.clone(),
        timeout: options.timeout,
        quiet: options.quiet,
        request_timeout: options.request_timeout,
    };
    let collecting = |complete, total| events(Event::Collecting(complete, total));
    let collected = collect::collect(
        &options.source,
        &options.destinations,
        &trace_ids,
        &collect_options,
        &collecting,
    )
    .await?;
    timings.collect_ms = elapsed_ms(collect_started);
    // a destination that cannot be read is bad input (like a `--from` that cannot), not a
    // verdict: AC-005 would otherwise claim routing held where nothing was read
    if let Some(unread) = collected.destinations.iter().find(|d| d.error.is_some()) {
        return Err(VerifyError::Other(format!(
            "destination {}: {}",
            unread.name,
            unread.error.as_deref().unwrap_or_default()
        )));
    }

    let fault_started = Instant::now();
    // a fault that could not be applied or undone fails AC-007: a broken backend left
    // behind, or a fault phase asked for that never ran, must not end green
    let mut fault_errors: Vec<String> = Vec::new();
    let fault_phase = match &options.fault {
        None => {
            notes.push(
                "no fault phase (no --fault-start/--fault-stop, or the demo's --backend healthy): AC-007(a)'s non-blocking check is not judged".into(),
            );
            false
        }
        Some(fault) => {
            let fault_options = ReplayOptions {
                first_number: exchanges.iter().map(|e| e.number).max().unwrap_or(0) + 1,
                phase: Phase::Fault,
                matrix: false,
                ..healthy.clone()
            };
            let what = fault.describe();
            events(Event::FaultStarting);
            match fault.start().await {
                Err(error) => {
                    let text =
                        format!("fault phase skipped: starting the fault ({what}) failed: {error}");
                    fault_errors.push(text.clone());
                    note(&mut notes, text);
                    // `stop` is always called once `start` was: a half-applied fault is undone.
                    if let Some(text) = stop_fault(fault.as_ref(), &what, events).await {
                        fault_errors.push(text.clone());
                        note(&mut notes, text);
                    }
                    false
                }
                Ok(()) => {
                    let progress = |done, total| events(Event::Replaying("fault", done, total));
                    let sent = replay::replay(
                        &options.scenario,
                        &fault_options,
                        &http2,
                        &canaries,
                        &progress,
                    )
                    .await;
                    // always restored, also when the phase could not run
                    if let Some(text) = stop_fault(fault.as_ref(), &what, events).await {
                        fault_errors.push(text.clone());
                        note(&mut notes, text);
                    }
                    exchanges.extend(sent?);
                    notes.push(format!("fault phase: {what}"));
                    true
                }
            }
        }
    };

    timings.fault_phase_ms = elapsed_ms(fault_started);

    let record = ReplayRecord {
        target: options.target.clone(),
        exchanges,
        http2,
        canaries,
        fault_phase,
    };
    let evaluation = Evaluation {
        scenario: &options.scenario,
        replay: &record,
        collected: &collected,
        manifest_findings: options.manifest_findings.as_deref(),
        destinations_configured: !options.destinations.is_empty(),
    };
    let judge_started = Instant::now();
    let mut criteria = criteria::judge(&evaluation, &options.only);
    timings.judge_ms = elapsed_ms(judge_started);
    if !fault_errors.is_empty() {
        fault_failed(&mut criteria, &fault_errors);
    }
    if collected.spans_read == 0 {
        no_span_read(&mut criteria);
        notes.push(
            "no span was read from the span source: the run fails (is the platform exporting to it?)"
                .into(),
        );
    }
    // evidence points at leaks; it does not copy the card number or e-mail into CI logs
    for result in &mut criteria {
        result.summary = criteria::redact::redact(&result.summary);
        for evidence in &mut result.evidence {
            evidence.detail = criteria::redact::redact(&evidence.detail);
        }
    }
    if let Some(text) = incomplete_note(&collected) {
        notes.push(text);
    }
    let report = VerifyReport {
        target: options.target.clone(),
        requests: record.exchanges.len(),
        criteria,
        services_seen: services_seen(&collected),
        spans_read: collected.spans_read,
        notes,
        duration_ms: elapsed_ms(started),
        timings,
        service_graph: merged_graph(collected.traces.values()),
    };
    let sample_traces = sample_traces(&record.exchanges, &collected);
    Ok(VerifyOutput {
        report,
        sample_traces,
    })
}

/// Is anything answering HTTP at `target`? Any HTTP answer (a 404 too) will do; a refused
/// connection, a timeout or a peer that does not speak HTTP is an error (exit 2), before any
/// request of the scenario is sent.
pub async fn preflight(target: &str, timeout: Duration) -> Result<(), VerifyError> {
    let unreachable = |reason: String| VerifyError::Other(format!("target {target}: {reason}"));
    let url = reqwest::Url::parse(target).map_err(|e| unreachable(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(unreachable(
            "expected an http:// or https:// URL with a host".into(),
        ));
    }
    let client = crate::propagation::export::tls::client_builder()
        .timeout(timeout)
        .build()
        .map_err(|e| unreachable(format!("cannot build an HTTP client: {e}")))?;
    match client.get(url).send().await {
        Ok(_) => Ok(()),
        Err(error) => Err(unreachable(format!(
            "not reachable over HTTP: {}",
            error_chain(&error)
        ))),
    }
}

/// An error and its sources on one line (reqwest's own message is only "error sending request").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The trace IDs to read back: every ID a healthy-phase response returned, plus every valid
/// trace ID sent (a platform that returned none must still have kept it).
pub fn trace_ids_to_collect(exchanges: &[Exchange]) -> Vec<TraceId> {
    let mut ids = BTreeSet::new();
    for exchange in exchanges.iter().filter(|e| e.phase == Phase::Healthy) {
        if let Some(returned) = &exchange.returned {
            ids.insert(returned.trace_id);
        }
        if let Some(sent) = exchange.sent_trace_id {
            ids.insert(sent);
        }
    }
    ids.into_iter().collect()
}

/// Criteria that judge span data cannot pass on none: a pass becomes a fail saying so.
/// The fault could not be started or undone: AC-007 fails (added when `--only` left it out).
fn fault_failed(criteria: &mut Vec<CriterionResult>, errors: &[String]) {
    let index = match criteria.iter().position(|c| c.id == Criterion::Ac007) {
        Some(index) => index,
        None => {
            criteria.push(CriterionResult::new(Criterion::Ac007, Verdict::Fail, ""));
            criteria.len() - 1
        }
    };
    let result = &mut criteria[index];
    let before = std::mem::take(&mut result.summary);
    result.verdict = Verdict::Fail;
    result.summary = if before.is_empty() {
        format!("(a) {}", errors.join("; "))
    } else {
        format!("(a) {}; {before}", errors.join("; "))
    };
    for (i, error) in errors.iter().enumerate() {
        result.evidence.insert(i, Evidence::detail(error.clone()));
    }
}

fn no_span_read(criteria: &mut [CriterionResult]) {
    for result in criteria
        .iter_mut()
        .filter(|c| c.id != Criterion::Ac001 && c.verdict == Verdict::Pass)
    {
        result.verdict = Verdict::Fail;
        result.summary = "no span was read: nothing to judge, so this cannot pass".into();
        result.evidence.insert(
            0,
            Evidence::detail("the span source returned no span for any trace of the run"),
        );
    }
}

/// One line about traces judged before they were complete.
fn incomplete_note(collected: &Collected) -> Option<String> {
    let count = collected.incomplete.len();
    if count == 0 {
        return None;
    }
    let mut missing: BTreeMap<&str, usize> = BTreeMap::new();
    for incomplete in collected.incomplete.values() {
        for service in &incomplete.missing {
            *missing.entry(service.as_str()).or_default() += 1;
        }
    }
    let waited = collected
        .incomplete
        .values()
        .map(|i| i.waited)
        .max()
        .unwrap_or_default();
    let missing: Vec<String> = missing
        .iter()
        .map(|(service, n)| format!("{service} ({n})"))
        .collect();
    Some(format!(
        "{count} trace{} incomplete after {:.1}s{}",
        if count == 1 { "" } else { "s" },
        waited.as_secs_f64(),
        if missing.is_empty() {
            String::new()
        } else {
            format!(": missing {}", missing.join(", "))
        }
    ))
}

/// Every service with a span in the collected traces (also those no response named), sorted.
fn services_seen(collected: &Collected) -> Vec<String> {
    let services: BTreeSet<String> = collected
        .traces
        .values()
        .chain(collected.unclaimed.iter())
        .flat_map(|t| t.spans.iter().map(|s| s.service_label().to_owned()))
        .collect();
    services.into_iter().collect()
}

/// The service graphs of `traces`, calls, durations and errors summed per edge.
pub fn merged_graph<'a>(traces: impl Iterator<Item = &'a Trace>) -> ServiceGraph {
    let mut services = BTreeSet::new();
    let mut edges: BTreeMap<(String, String), Edge> = BTreeMap::new();
    for trace in traces {
        let graph = trace.service_graph();
        services.extend(graph.services);
        for edge in graph.edges {
            match edges.get_mut(&(edge.caller.clone(), edge.callee.clone())) {
                Some(merged) => {
                    merged.calls += edge.calls;
                    merged.total_ns = merged.total_ns.saturating_add(edge.total_ns);
                    merged.max_ns = merged.max_ns.max(edge.max_ns);
                    merged.errors += edge.errors;
                }
                None => {
                    edges.insert((edge.caller.clone(), edge.callee.clone()), edge);
                }
            }
        }
    }
    ServiceGraph {
        services: services.into_iter().collect(),
        edges: edges.into_values().collect(),
    }
}

/// The first trace of each request shape (repeat requests of the healthy phase first), then
/// traces with problems or judged incomplete; at most [`MAX_SAMPLE_TRACES`].
fn sample_traces(exchanges: &[Exchange], collected: &Collected) -> Vec<Trace> {
    let mut chosen: Vec<TraceId> = Vec::new();
    let mut shapes = BTreeSet::new();
    for exchange in exchanges.iter().filter(|e| e.phase == Phase::Healthy) {
        let Some(id) = exchange.returned.as_ref().map(|r| r.trace_id) else {
            continue;
        };
        if collected.traces.contains_key(&id) && shapes.insert(exchange.request.as_str()) {
            chosen.push(id);
        }
    }
    let broken = collected
        .traces
        .iter()
        .filter(|(id, t)| {
            !t.problems.is_empty() || !t.orphans.is_empty() || collected.incomplete.contains_key(id)
        })
        .map(|(id, _)| *id);
    for id in broken {
        if !chosen.contains(&id) {
            chosen.push(id);
        }
    }
    chosen
        .into_iter()
        .take(MAX_SAMPLE_TRACES)
        .filter_map(|id| collected.traces.get(&id).cloned())
        .collect()
}

#[cfg(test)]
mod tests;
