//! The client side: outgoing reqwest calls as client spans, children of the current context,
//! with `traceparent`/`tracestate` injected — so every hop gets a parent (principle 2) — and
//! the tenant header when the server layer was told to forward it
//! (`TraceLayer::forward_tenant`).
//!
//! ```no_run
//! # async fn run(current: tracegate::propagation::Current) -> Result<(), reqwest::Error> {
//! use tracegate::propagation::client::{RetryPolicy, TracedRequest};
//!
//! let http = reqwest::Client::new();
//! // One client span; the route template names it: `POST /charge/{id}`.
//! let response = http.post("http://payments/charge/42").send_traced(&current, "/charge/{id}").await?;
//! // Retries: one client span per attempt, same trace, http.request.resend_count on resends.
//! let response = http.get("http://pricing/quote")
//!     .send_traced_with_retry(&current, "/quote", &RetryPolicy::default()).await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::time::Duration;

use reqwest::{Request, RequestBuilder, Response, StatusCode};

use super::span::{Current, OperationName, Span, SpanStatus};

/// When and how often to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (at least 1).
    pub max_attempts: u32,
    /// Delay before the first resend; doubled per resend.
    pub backoff: Duration,
    /// Longest delay between attempts.
    pub max_backoff: Duration,
    /// Whether a response with this status is retried (default: 429, 502, 503, 504).
    pub retry_on: fn(StatusCode) -> bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            retry_on: default_retry_on,
        }
    }
}

fn default_retry_on(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

impl RetryPolicy {
    fn delay(&self, resend: u32) -> Duration {
        self.backoff
            .saturating_mul(1u32 << resend.saturating_sub(1).min(16))
            .min(self.max_backoff)
    }
}

fn finish(mut span: Span, result: &reqwest::Result<Response>) {
    match result {
        Ok(response) => span.set_http_status(response.status().as_u16()),
        Err(error) if error.is_timeout() => span.set_status(SpanStatus::Error("timeout")),
        Err(error) if error.is_connect() => span.set_status(SpanStatus::Error("connect")),
        Err(_) => span.set_status(SpanStatus::Error("request")),
    }
    span.finish();
}

/// Send one request as a client span of `current`.
pub async fn send(
    client: &reqwest::Client,
    current: &Current,
    route: &str,
    mut request: Request,
) -> reqwest::Result<Response> {
    let operation = OperationName::http(request.method(), route);
    let (context, span) = current.child_span(super::SpanKind::Client, operation);
    context.inject(request.headers_mut());
    current.inject_tenant(request.headers_mut());
    let result = client.execute(request).await;
    finish(span, &result);
    result
}

/// Send with retries: each attempt is its own client span (same trace ID, a new span ID),
/// with `http.request.resend_count` = attempt number on attempts after the first. Connection
/// errors, timeouts and statuses accepted by `policy.retry_on` are retried; the last response
/// (or error) is returned. A request whose body cannot be cloned (a stream) is sent once.
pub async fn send_with_retry(
    client: &reqwest::Client,
    current: &Current,
    route: &str,
    request: Request,
    policy: &RetryPolicy,
) -> reqwest::Result<Response> {
    let operation = OperationName::http(request.method(), route);
    let attempts = policy.max_attempts.max(1);
    let mut request = request;
    let mut number = 0;
    loop {
        let spare = if number + 1 < attempts {
            request.try_clone()
        } else {
            None
        };
        let (context, span) = current.attempt_span(number, operation.clone());
        context.inject(request.headers_mut());
        current.inject_tenant(request.headers_mut());
        let result = client.execute(request).await;
        finish(span, &result);
        let retry = match &result {
            Ok(response) => (policy.retry_on)(response.status()),
            Err(error) => error.is_timeout() || error.is_connect(),
        };
        match spare {
            Some(again) if retry => {
                request = again;
                number += 1;
                tokio::time::sleep(policy.delay(number)).await;
            }
            _ => return result,
        }
    }
}

/// `send_traced` on a reqwest `RequestBuilder`.
pub trait TracedRequest {
    /// Build and send as one client span of `current`; `route` is the downstream route
    /// template (`/charge/{id}`) that names the span — never the URL.
    fn send_traced(
        self,
        current: &Current,
        route: &str,
    ) -> impl Future<Output = reqwest::Result<Response>> + Send;

    /// Build and send with [`send_with_retry`].
    fn send_traced_with_retry(
        self,
        current: &Current,
        route: &str,
        policy: &RetryPolicy,
    ) -> impl Future<Output = reqwest::Result<Response>> + Send;
}

impl TracedRequest for RequestBuilder {
    fn send_traced(
        self,
        current: &Current,
        route: &str,
    ) -> impl Future<Output = reqwest::Result<Response>> + Send {
        let (client, request) = self.build_split();
        let current = current.clone();
        let route = route.to_owned();
        async move { send(&client, &current, &route, request?).await }
    }

    fn send_traced_with_retry(
        self,
        current: &Current,
        route: &str,
        policy: &RetryPolicy,
    ) -> impl Future<Output = reqwest::Result<Response>> + Send {
        let (client, request) = self.build_split();
        let current = current.clone();
        let route = route.to_owned();
        let policy = *policy;
        async move { send_with_retry(&client, &current, &route, request?, &policy).await }
    }
}
