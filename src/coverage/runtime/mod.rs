//! Runtime verdicts from traces: read a bounded sample of traces from a backend's search API
//! (Tempo `/api/search` with TraceQL, Jaeger v2 `/api/v3/traces`, a tracegate receiver's
//! listing), a tracegate `--store` directory, or `verify --format json` results, and judge
//! each service from the service graph (see [`RuntimeVerdict`](super::model::RuntimeVerdict)).

mod graph;

pub use graph::analyse;

use std::path::PathBuf;
use std::time::Duration;

use super::model::RuntimeFindings;
use super::CoverageError;
use crate::otlp::client::Backend;

/// Where the traces come from.
#[derive(Clone, Debug)]
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

/// Read `input` and judge every service seen.
pub async fn read(
    input: &TraceInput,
    options: &RuntimeOptions,
) -> Result<RuntimeFindings, CoverageError> {
    let _ = (input, options);
    Err(CoverageError::Runtime(
        "runtime::read: not built yet".into(),
    ))
}
