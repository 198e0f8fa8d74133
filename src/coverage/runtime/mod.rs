//! Runtime verdicts from traces: read a bounded sample of traces from a backend's search API
//! (Tempo `/api/search` with TraceQL, Jaeger v2 `/api/v3/traces`, a tracegate receiver's
//! listing), a tracegate `--store` directory, or `verify --format json` results, and judge
//! each service from the service graph (see [`RuntimeVerdict`](super::model::RuntimeVerdict)).

pub mod backend;
mod graph;
pub mod store;
pub mod verify_results;

pub use graph::{analyse, unmatched_calls, Analyser, UnmatchedCall};

use std::path::PathBuf;
use std::time::Duration;

use super::model::RuntimeFindings;
use super::CoverageError;
use crate::otlp::client::Backend;

/// Where the traces come from. Its `Debug` output never shows header values.
#[derive(Clone)]
pub enum TraceInput {
    /// A backend's search API. `headers` carry credentials (never printed).
    Backend {
        url: String,
        backend: Backend,
        headers: Vec<(String, String)>,
    },
    /// A directory written by `tracegate collect --store DIR` (read only).
    Store(PathBuf),
    /// Files written by `tracegate verify --format json`.
    VerifyResults(Vec<PathBuf>),
}

impl std::fmt::Debug for TraceInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceInput::Backend {
                url,
                backend,
                headers,
            } => f
                .debug_struct("Backend")
                .field("url", url)
                .field("backend", backend)
                .field("headers", &crate::otlp::client::RedactedHeaders(headers))
                .finish(),
            TraceInput::Store(dir) => f.debug_tuple("Store").field(dir).finish(),
            TraceInput::VerifyResults(files) => {
                f.debug_tuple("VerifyResults").field(files).finish()
            }
        }
    }
}

/// How much to read.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Window start, unix nanoseconds (`--since`).
    pub since_unix_nano: u64,
    /// Window end, unix nanoseconds (now).
    pub until_unix_nano: u64,
    /// Read at most this many traces (`--max-traces`).
    pub max_traces: usize,
    /// The longest one backend request may take.
    pub request_timeout: Duration,
}

/// Read `input` and judge every service seen. Backends and stores are read within the
/// window, at most `options.max_traces` traces ([`RuntimeFindings::sampled`] when they held
/// more); `verify` results are taken whole. Errors are one line naming the URL or file.
pub async fn read(
    input: &TraceInput,
    options: &RuntimeOptions,
) -> Result<RuntimeFindings, CoverageError> {
    let (analyser, sampled, what) = match input {
        TraceInput::VerifyResults(files) => return verify_results::read(files),
        TraceInput::Backend {
            url,
            backend,
            headers,
        } => {
            let mut analyser = Analyser::default();
            let sampled = backend::read(url, *backend, headers, options, &mut analyser).await?;
            (
                analyser,
                sampled,
                format!("{} {url}", backend_name(*backend)),
            )
        }
        TraceInput::Store(dir) => {
            let label = format!("store {}", dir.display());
            let (dir, window) = (dir.clone(), options.clone());
            let (analyser, sampled) =
                tokio::task::spawn_blocking(move || store::read(&dir, &window))
                    .await
                    .map_err(|e| {
                        CoverageError::Runtime(format!("reading the store failed: {e}"))
                    })??;
            (analyser, sampled, label)
        }
    };
    let mut findings = analyser.finish();
    findings.sampled = sampled;
    findings.source = format!(
        "{what}, {}…{}{}",
        minute(options.since_unix_nano),
        minute(options.until_unix_nano),
        if sampled {
            " (a sample: the window held more)"
        } else {
            ""
        }
    );
    Ok(findings)
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Tracegate => "tracegate",
        Backend::Tempo => "tempo",
        Backend::Jaeger => "jaeger",
    }
}

/// Unix ns as `2026-11-23T10:00Z`.
fn minute(unix_nano: u64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nano))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| unix_nano.to_string())
}
