//! The six services, one module each, and what the HTTP ones share: forwarding a request to
//! the next service as a traced client call.

pub(crate) mod auth;
pub(crate) mod ingress;
pub(crate) mod orchestration;
pub(crate) mod payment_gateway;
pub(crate) mod pricing;
pub(crate) mod webhook_dispatcher;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::service::Ctx;
use crate::propagation::client::TracedRequest;
use crate::propagation::Current;

/// `POST url` with `body` as a client span named by `route`; the downstream status and body
/// are passed back, a failed call is `502`.
pub(crate) async fn forward(
    ctx: &Ctx,
    current: &Current,
    url: String,
    route: &str,
    body: Bytes,
) -> Response {
    let sent = ctx
        .http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send_traced(current, route)
        .await;
    relay(sent).await
}

/// The downstream answer as this service's answer (`502` when there is none).
pub(crate) async fn relay(sent: reqwest::Result<reqwest::Response>) -> Response {
    let Ok(response) = sent else {
        return (StatusCode::BAD_GATEWAY, "downstream unreachable\n").into_response();
    };
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    match response.bytes().await {
        Ok(body) => (status, body).into_response(),
        Err(_) => (StatusCode::BAD_GATEWAY, "downstream answer cut\n").into_response(),
    }
}
