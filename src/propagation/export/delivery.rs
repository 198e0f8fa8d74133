//! One destination's worker: sends each encoded batch, retries it as the [`RetryPolicy`] and
//! the server say, and settles it as exported or failed. Runs on the export thread; a wait
//! here only delays this destination's own backlog (which is bounded: surplus batches are
//! counted as failed by the batcher, never queued without limit).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::config::Destination;
use super::diagnostics::{Diagnostic, DiagnosticSink};
use super::exporter::{Counters, Payload};
use super::retry::{self, RetryPolicy};

/// Most bytes of a response body read (an error body is a small `google.rpc.Status`; a
/// success body a small `ExportTraceServiceResponse`). The rest is not read: the connection is
/// dropped instead.
pub const MAX_RESPONSE_BODY_BYTES: usize = 64 * 1024;

/// The settings a worker needs.
pub(super) struct Worker {
    pub client: reqwest::Client,
    pub destination: Destination,
    pub counters: Arc<Counters>,
    pub max_attempts: u32,
    pub retry: RetryPolicy,
    pub diagnostics: DiagnosticSink,
}

/// What one attempt came to.
enum Attempt {
    /// Accepted; `rejected` spans of it refused for good (an OTLP partial success).
    Delivered { rejected: u64, message: String },
    /// Worth retrying; `delay` is the server's waiting interval when it gave one.
    Retry {
        reason: String,
        delay: Option<Duration>,
    },
    /// Must not be retried (a 4xx other than 429, a 5xx other than 502-504).
    Permanent(String),
}

impl Worker {
    /// Deliver batches until the batcher closes the channel.
    pub(super) async fn run(self, mut rx: mpsc::Receiver<Payload>) {
        let mut warned = false;
        let mut warned_partial = false;
        while let Some(payload) = rx.recv().await {
            let outcome = self.deliver(&payload).await;
            let _ =
                self.counters
                    .in_flight
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_sub(payload.spans))
                    });
            match outcome {
                Ok((rejected, message)) => {
                    let rejected = rejected.min(payload.spans);
                    self.counters
                        .exported
                        .fetch_add(payload.spans - rejected, Ordering::Relaxed);
                    if rejected > 0 {
                        self.counters.failed.fetch_add(rejected, Ordering::Relaxed);
                        if !std::mem::replace(&mut warned_partial, true) {
                            (self.diagnostics)(
                                &Diagnostic::warn(format!(
                                    "destination `{}` rejected {rejected} of {} spans ({}); \
                                     counted as failed, not retried (further partial \
                                     rejections are counted, not logged)",
                                    self.destination.name,
                                    payload.spans,
                                    printable(&message)
                                ))
                                .about(&self.destination.name),
                            );
                        }
                    }
                }
                Err(reason) => {
                    if !warned {
                        warned = true;
                        (self.diagnostics)(
                            &Diagnostic::warn(format!(
                                "destination `{}` failed ({reason}); dropping its spans \
                                 (requests are not affected; further failures are counted, not \
                                 logged)",
                                self.destination.name
                            ))
                            .about(&self.destination.name),
                        );
                    }
                    self.counters
                        .failed
                        .fetch_add(payload.spans, Ordering::Relaxed);
                }
            }
        }
    }

    /// Send one batch, retrying within the policy: the spans the server rejected in a partial
    /// success and its message, or why the batch was given up.
    async fn deliver(&self, payload: &Payload) -> Result<(u64, String), String> {
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let (reason, server_delay) = match self.attempt(payload).await {
                Attempt::Delivered { rejected, message } => return Ok((rejected, message)),
                Attempt::Permanent(reason) => return Err(format!("{reason}, not retryable")),
                Attempt::Retry { reason, delay } => (reason, delay),
            };
            if attempts >= self.max_attempts {
                return Err(format!("{reason} after {attempts} attempt(s)"));
            }
            let wait = server_delay.unwrap_or_else(|| self.retry.backoff(attempts));
            if !self.retry.allows(started.elapsed(), wait) {
                let budget = self.retry.max_elapsed_time.unwrap_or(Duration::MAX);
                return Err(format!(
                    "{reason} after {attempts} attempt(s); waiting {} ms more would pass \
                     max_elapsed_time ({} ms)",
                    wait.as_millis(),
                    budget.as_millis()
                ));
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, payload: &Payload) -> Attempt {
        let mut request = self
            .client
            .post(&self.destination.endpoint)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(payload.body.clone());
        for (name, value) in &self.destination.headers {
            request = request.header(name, value.expose().clone());
        }
        let response = match request.send().await {
            Ok(response) => response,
            // The server did not answer: retry (OTLP/HTTP "All Other Responses", "Connection").
            Err(e) if e.is_timeout() => return retry_without_delay("timed out"),
            Err(e) if e.is_connect() => return retry_without_delay("connection failed"),
            Err(_) => return retry_without_delay("request failed"),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_limited(response, MAX_RESPONSE_BODY_BYTES).await;
        if status.is_success() {
            // OTLP partial success: the response names the spans it rejected; they must not
            // be sent again.
            let json = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("json"));
            let partial = (!json)
                .then(|| ExportTraceServiceResponse::decode(body.as_slice()).ok())
                .flatten()
                .and_then(|response| response.partial_success);
            return match partial {
                Some(p) if p.rejected_spans > 0 => Attempt::Delivered {
                    rejected: u64::try_from(p.rejected_spans).unwrap_or(0),
                    message: p.error_message,
                },
                _ => Attempt::Delivered {
                    rejected: 0,
                    message: String::new(),
                },
            };
        }
        let reason = format!("HTTP {}", status.as_u16());
        if !retry::retryable(status) {
            return Attempt::Permanent(reason);
        }
        Attempt::Retry {
            reason,
            delay: retry::server_delay(&headers, &body, std::time::SystemTime::now()),
        }
    }
}

/// A server-written message for a diagnostic line: at most 200 characters, no control
/// characters (one line).
fn printable(message: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        return "no message".to_owned();
    }
    let mut out: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if message.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn retry_without_delay(reason: &str) -> Attempt {
    Attempt::Retry {
        reason: reason.to_owned(),
        delay: None,
    }
}

/// The first `limit` bytes of the body at most (a body announced as larger is not read at
/// all); a read error ends the body where it is.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Vec::new();
    }
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit - body.len();
        if chunk.len() >= room {
            body.extend_from_slice(&chunk[..room]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    body
}
