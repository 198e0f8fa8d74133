//! Replay: send the scenario's requests (and the incoming-context matrix, and the canaries)
//! to the target and record what came back.

use super::model::{Canaries, Exchange, Http2Support, Phase};
use super::scenario::Scenario;

/// How to replay.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// `http://host:port` of the ingress.
    pub target: String,
    /// Send the incoming-context matrix (healthy phase) besides the repeats.
    pub matrix: bool,
    /// Numbers requests from this value (`{n}`), so phases do not collide.
    pub first_number: u64,
    pub phase: Phase,
    /// Per-request timeout.
    pub request_timeout: std::time::Duration,
}

/// Why replay could not run at all (a request that fails is recorded, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("target {0}: {1}")]
    Target(String, String),
}

/// Called after each request with (done, total).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

/// Fresh canaries for a run.
pub fn canaries() -> Canaries {
    todo_canaries()
}

fn todo_canaries() -> Canaries {
    Canaries {
        bearer_token: String::new(),
        email: String::new(),
        card_number: String::new(),
        cookie: String::new(),
        password: String::new(),
        query_value: String::new(),
    }
}

/// Whether the target speaks HTTP/2 (h2c with prior knowledge for `http://`, ALPN for `https://`).
pub async fn probe_http2(_target: &str) -> Http2Support {
    Http2Support::NotTried
}

/// Send one phase's requests.
pub async fn replay(
    _scenario: &Scenario,
    _options: &ReplayOptions,
    _http2: &Http2Support,
    _canaries: &Canaries,
    _progress: Progress<'_>,
) -> Result<Vec<Exchange>, ReplayError> {
    Err(ReplayError::Target(String::new(), "replay is not built yet".into()))
}
