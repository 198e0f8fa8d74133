//! Replay: send the scenario's requests (and the incoming-context matrix, and the canaries)
//! to the target and record what came back.
//!
//! Per request spec, in order: the incoming-context matrix (every [`IncomingCase`] once over
//! HTTP/1.1, and once more over HTTP/2 when [`probe_http2`] said yes), then `repeat` requests
//! with no incoming context, all at the spec's `concurrency`. In the healthy phase the repeats
//! carry the run's canaries. `{n}` numbers every request from [`ReplayOptions::first_number`].
//!
//! The first request is the preflight: when it gets no HTTP answer at all (connection refused,
//! not an HTTP server, no answer in time) in the healthy phase, replay stops with a
//! [`ReplayError`] instead of recording a run of failed exchanges. Later failures, and every
//! failure of the fault phase, are recorded in the exchanges.

mod canaries;
mod probe;
mod returned;
mod send;

use std::sync::Arc;

use tokio::task::JoinSet;

pub use canaries::{canaries, luhn_valid};
pub use probe::{probe_http2, PROBE_TIMEOUT};
pub use returned::{relevant_headers, returned_id, server_timing_trace};

use super::matrix;
use super::model::{Canaries, Exchange, Http2Support, HttpVersion, IncomingCase, Phase};
use super::scenario::Scenario;

/// Response bodies are read up to this many bytes; the rest is dropped with the connection.
pub const MAX_RESPONSE_BODY_BYTES: usize = 1024 * 1024;

/// How to replay.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// `http://host:port` of the ingress (`--target`, else the scenario's `target`).
    pub target: String,
    /// Send the incoming-context matrix (healthy phase) besides the repeats.
    pub matrix: bool,
    /// Numbers requests from this value (`{n}`), so phases do not collide.
    pub first_number: u64,
    /// The phase; the healthy phase's repeats carry the canaries.
    pub phase: Phase,
    /// Per-request timeout (connecting, sending, and reading the whole response).
    pub request_timeout: std::time::Duration,
}

/// Why replay could not run at all (a request that fails is recorded, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The target is not a usable `http(s)://` URL.
    #[error("target {target:?}: {reason}")]
    InvalidTarget { target: String, reason: String },
    /// The preflight request got no HTTP answer.
    #[error("cannot reach {target}: {reason}")]
    Unreachable { target: String, reason: String },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// Called after each request with (done, total).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

/// One request to send.
#[derive(Clone, Debug)]
struct Job {
    spec: usize,
    number: u64,
    version: HttpVersion,
    incoming: matrix::IncomingContext,
    canaries: bool,
}

/// The HTTP versions the matrix is sent over.
fn matrix_versions(http2: &Http2Support) -> Vec<HttpVersion> {
    match http2 {
        Http2Support::Yes => vec![HttpVersion::Http1, HttpVersion::Http2],
        _ => vec![HttpVersion::Http1],
    }
}

/// How many requests [`replay`] sends with these options (for progress totals, and the
/// next phase's `first_number`: `first_number + planned_requests(…)`).
pub fn planned_requests(
    scenario: &Scenario,
    options: &ReplayOptions,
    http2: &Http2Support,
) -> usize {
    let matrix = if options.matrix {
        IncomingCase::ALL.len() * matrix_versions(http2).len()
    } else {
        0
    };
    scenario
        .requests
        .iter()
        .map(|spec| matrix + spec.repeat as usize)
        .sum()
}

/// The requests of one spec, numbered from `next`.
fn plan_spec(
    spec: usize,
    repeat: u32,
    options: &ReplayOptions,
    http2: &Http2Support,
    next: &mut u64,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut push = |version, incoming, canaries| {
        jobs.push(Job {
            spec,
            number: *next,
            version,
            incoming,
            canaries,
        });
        *next += 1;
    };
    if options.matrix {
        for version in matrix_versions(http2) {
            for case in IncomingCase::ALL {
                push(version, matrix::incoming(case), false);
            }
        }
    }
    for _ in 0..repeat {
        push(
            HttpVersion::Http1,
            matrix::incoming(IncomingCase::Absent),
            options.phase == Phase::Healthy,
        );
    }
    jobs
}

/// Send one phase's requests; the exchanges come back ordered by number.
pub async fn replay(
    scenario: &Scenario,
    options: &ReplayOptions,
    http2: &Http2Support,
    canaries: &Canaries,
    progress: Progress<'_>,
) -> Result<Vec<Exchange>, ReplayError> {
    let base = send::base_url(&options.target).map_err(|reason| ReplayError::InvalidTarget {
        target: options.target.clone(),
        reason,
    })?;
    let clients = send::Clients::new(options.request_timeout, *http2 == Http2Support::Yes)
        .map_err(ReplayError::Client)?;
    let shared = Arc::new(send::Shared {
        base,
        scenario: scenario.clone(),
        canaries: canaries.clone(),
        clients,
        phase: options.phase,
        timeout: options.request_timeout,
    });
    let total = planned_requests(scenario, options, http2);
    let mut exchanges = Vec::with_capacity(total);
    let mut next = options.first_number;
    let mut done = 0usize;
    for (index, spec) in scenario.requests.iter().enumerate() {
        let mut jobs = plan_spec(index, spec.repeat, options, http2, &mut next).into_iter();
        if exchanges.is_empty() && options.phase == Phase::Healthy {
            if let Some(first) = jobs.next() {
                let exchange = send::send(&shared, first).await;
                if exchange.status.is_none() {
                    return Err(ReplayError::Unreachable {
                        target: options.target.clone(),
                        reason: exchange.error.unwrap_or_else(|| "no answer".to_owned()),
                    });
                }
                exchanges.push(exchange);
                done += 1;
                progress(done, total);
            }
        }
        run_jobs(
            &shared,
            jobs,
            spec.concurrency.max(1) as usize,
            &mut exchanges,
            &mut done,
            total,
            progress,
        )
        .await;
    }
    exchanges.sort_by_key(|e| e.number);
    Ok(exchanges)
}

/// Send `jobs` with at most `concurrency` in flight.
async fn run_jobs(
    shared: &Arc<send::Shared>,
    jobs: impl Iterator<Item = Job>,
    concurrency: usize,
    exchanges: &mut Vec<Exchange>,
    done: &mut usize,
    total: usize,
    progress: Progress<'_>,
) {
    let mut in_flight = JoinSet::new();
    // Counted apart from the exchanges: a task only fails by panicking, and then the request
    // is lost, not the run, and the progress still reaches the total.
    let mut finish = |joined: Result<Exchange, tokio::task::JoinError>,
                      exchanges: &mut Vec<Exchange>| {
        if let Ok(exchange) = joined {
            exchanges.push(exchange);
        }
        *done += 1;
        progress(*done, total);
    };
    for job in jobs {
        while in_flight.len() >= concurrency {
            if let Some(joined) = in_flight.join_next().await {
                finish(joined, exchanges);
            }
        }
        let shared = Arc::clone(shared);
        in_flight.spawn(async move { send::send(&shared, job).await });
    }
    while let Some(joined) = in_flight.join_next().await {
        finish(joined, exchanges);
    }
}

/// An I/O error without Rust's `(os error N)` suffix, first letter as the OS wrote it.
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    strip_os_error(&err.to_string())
}

fn strip_os_error(text: &str) -> String {
    match text.find(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

/// The innermost cause of a reqwest error, in a few words ("Connection refused", "operation
/// timed out", "invalid HTTP version parsed").
pub(crate) fn error_reason(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "no answer in time (timed out)".to_owned();
    }
    let mut source: &dyn std::error::Error = err;
    while let Some(inner) = source.source() {
        source = inner;
    }
    let reason = strip_os_error(&source.to_string());
    if err.is_connect() || reason.contains("refused") {
        return reason;
    }
    if err.is_request() || err.is_body() || err.is_decode() {
        return format!("no valid HTTP answer ({reason})");
    }
    reason
}

#[cfg(test)]
mod tests;
