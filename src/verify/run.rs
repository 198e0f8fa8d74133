//! A whole verify run: replay (healthy phase, then the fault phase when there is one),
//! collect, judge.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::collect::{DestinationSource, SpanSource};
use super::model::{Criterion, ManifestFinding, VerifyReport};
use super::scenario::Scenario;

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

/// Run a whole verification.
pub async fn verify(
    _options: VerifyOptions,
    _events: &(dyn Fn(Event) + Send + Sync),
) -> Result<VerifyReport, VerifyError> {
    Err(VerifyError::Other("verify is not built yet".into()))
}
