//! The service-under-test contract of the W3C trace-context test suite.
//!
//! The suite POSTs a JSON array of `{"url": …, "arguments": …}` carrying the test's headers.
//! For each element, in order and before answering, the service POSTs `arguments` as JSON to
//! `url` with exactly one version-00 `traceparent` (same trace ID, a new parent-id per call,
//! flags carried) and the `tracestate` when valid; then it answers 200.
//!
//! It is not an open relay: the request must be declared `application/json` (a web page can
//! POST `text/plain` or a form to 127.0.0.1 without a CORS preflight, never JSON), every
//! destination must be loopback unless [`Options::allow_remote`], redirects are not followed,
//! and all calls of one request share one deadline. Without `allow_remote`, the request's
//! `Host` must be a loopback address or `localhost` too (a DNS-rebound page names its own host).

pub mod destination;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Deserialize;

use crate::propagation::{extract, TraceContext};

/// One call the test suite asks the service to make.
#[derive(Debug, Deserialize)]
pub struct Call {
    /// Where to POST.
    pub url: String,
    /// The JSON body to POST.
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// How the service makes its calls.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Timeout of each outgoing call.
    pub call_timeout: Duration,
    /// Deadline of one incoming request: all its calls together.
    pub request_deadline: Duration,
    /// Call destinations outside loopback too.
    pub allow_remote: bool,
}

#[derive(Clone)]
struct AppState {
    client: reqwest::Client,
    options: Options,
}

/// Build the router: POST on any path runs the calls; anything else is 405.
pub fn app(options: Options) -> Result<Router, reqwest::Error> {
    let mut client = crate::propagation::export::tls::client_builder()
        .timeout(options.call_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if !options.allow_remote {
        client = client.dns_resolver(destination::LoopbackResolver);
    }
    let state = Arc::new(AppState {
        client: client.build()?,
        options,
    });
    Ok(Router::new().fallback(handle).with_state(state))
}

fn refuse(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// Whether the Content-Type's media type is `application/json` (parameters allowed).
fn declared_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

async fn handle(
    State(state): State<Arc<AppState>>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != axum::http::Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "POST only");
    }
    if !state.options.allow_remote && !destination::loopback_host_header(&headers) {
        // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 reaches
        // the service as "same origin", JSON included; its Host header still names it.
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "the Host header must name a loopback address or localhost (start the service with --allow-remote to serve other names)",
        );
    }
    if !declared_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be sent with Content-Type: application/json",
        );
    }
    let calls: Vec<Call> = match serde_json::from_slice(&body) {
        Ok(calls) => calls,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("body must be a JSON array of {{\"url\", \"arguments\"}}: {err}"),
            )
        }
    };
    let server = extract(&headers).context;
    let deadline = state.options.request_deadline;
    match tokio::time::timeout(deadline, make_calls(&state, &server, &calls)).await {
        Err(_) => refuse(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the calls did not finish within the request deadline of {} ms",
                deadline.as_millis()
            ),
        ),
        Ok(Err(refusal)) => refusal,
        Ok(Ok(())) => {
            let mut response = StatusCode::OK.into_response();
            server.set_response_headers(response.headers_mut());
            response
        }
    }
}

/// Check every destination, then make the calls in order; the first failure is the answer.
async fn make_calls(
    state: &AppState,
    server: &TraceContext,
    calls: &[Call],
) -> Result<(), Response> {
    for call in calls {
        if let Err(refusal) = destination::check(&call.url, state.options.allow_remote).await {
            let status = if refusal.is_bad_url() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::FORBIDDEN
            };
            return Err(refuse(status, refusal));
        }
    }
    for call in calls {
        let client_span = server.child();
        let mut out = reqwest::header::HeaderMap::new();
        client_span.inject(&mut out);
        let sent = state
            .client
            .post(&call.url)
            .headers(out)
            .json(&call.arguments)
            .send()
            .await;
        match sent {
            Err(err) => {
                return Err(refuse(
                    StatusCode::BAD_GATEWAY,
                    format!("call to {} failed: {err}", call.url),
                ))
            }
            Ok(answer) if answer.status().is_redirection() => {
                return Err(refuse(
                    StatusCode::BAD_GATEWAY,
                    format!(
                        "call to {} answered {} (redirects are not followed)",
                        call.url,
                        answer.status()
                    ),
                ))
            }
            Ok(_) => {}
        }
    }
    Ok(())
}
