//! The service-under-test contract of the W3C trace-context test suite.
//!
//! The suite POSTs a JSON array of `{"url": …, "arguments": …}` carrying the test's headers.
//! For each element, in order and before answering, the service POSTs `arguments` as JSON to
//! `url` with exactly one version-00 `traceparent` (same trace ID, a new parent-id per call,
//! flags carried) and the `tracestate` when valid; then it answers 200.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Deserialize;

use crate::propagation::extract;

/// One call the test suite asks the service to make.
#[derive(Debug, Deserialize)]
pub struct Call {
    /// Where to POST.
    pub url: String,
    /// The JSON body to POST.
    #[serde(default)]
    pub arguments: serde_json::Value,
}

#[derive(Clone)]
struct AppState {
    client: reqwest::Client,
}

/// Build the router: POST on any path runs the calls; anything else is 405.
pub fn app(timeout: Duration) -> Result<Router, reqwest::Error> {
    let client = crate::propagation::export::tls::client_builder()
        .timeout(timeout)
        .no_proxy()
        .build()?;
    let state = Arc::new(AppState { client });
    Ok(Router::new().fallback(handle).with_state(state))
}

async fn handle(
    State(state): State<Arc<AppState>>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != axum::http::Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "POST only\n").into_response();
    }
    let calls: Vec<Call> = match serde_json::from_slice(&body) {
        Ok(calls) => calls,
        Err(err) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("body must be a JSON array of {{\"url\", \"arguments\"}}: {err}\n"),
            )
                .into_response()
        }
    };
    let incoming = extract(&headers);
    let server = incoming.context;
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
        if let Err(err) = sent {
            return (
                StatusCode::BAD_GATEWAY,
                format!("call to {} failed: {err}\n", call.url),
            )
                .into_response();
        }
    }
    let mut response = StatusCode::OK.into_response();
    server.set_response_headers(response.headers_mut());
    response
}
