//! `orchestration`: `POST /orders/{order}` asks `pricing` for a quote, then charges the order
//! at `payment-gateway` with retries (one client span per attempt, the same trace,
//! `http.request.resend_count` on resends) and answers with both results.
//!
//! With [`Fault::NewTraceOnRetry`] each resend is sent in a new trace instead.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};

use crate::demo::fault::Fault;
use crate::demo::service::{leak_pii, Ctx};
use crate::propagation::client::{RetryPolicy, TracedRequest};
use crate::propagation::{Current, OperationName, SpanKind, SpanStatus, TraceContext};

/// The header that lets `payment-gateway` recognise a resend of the same charge.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

const CHARGE_ROUTE: &str = "/charge/{order}";

#[derive(Clone)]
struct Orchestration {
    ctx: Ctx,
    pricing_url: String,
    payment_url: String,
}

/// The routes; the URLs are `http://127.0.0.1:PORT` of `pricing` and `payment-gateway`.
pub(crate) fn routes(ctx: Ctx, pricing_url: String, payment_url: String) -> Router {
    Router::new()
        .route("/orders/{order}", post(place_order))
        .with_state(Orchestration {
            ctx,
            pricing_url,
            payment_url,
        })
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..RetryPolicy::default()
    }
}

async fn place_order(
    State(app): State<Orchestration>,
    Extension(current): Extension<Current>,
    Path(order): Path<String>,
    body: Bytes,
) -> Response {
    leak_pii(&app.ctx, &current, &body);
    let quote = app
        .ctx
        .http
        .post(format!("{}/quote/{order}", app.pricing_url))
        .body(body.clone())
        .send_traced(&current, "/quote/{order}")
        .await;
    let quote = match quote {
        Ok(r) if r.status().is_success() => r.text().await.unwrap_or_default(),
        _ => return (StatusCode::BAD_GATEWAY, "pricing failed\n").into_response(),
    };
    let key = format!("{:016x}", rand::random::<u64>());
    let charge = app
        .ctx
        .http
        .post(format!("{}/charge/{order}", app.payment_url))
        .header(IDEMPOTENCY_KEY, key.as_str())
        .body(body);
    let charged = if app.ctx.has(Fault::NewTraceOnRetry) {
        charge_in_new_traces(&app.ctx, &current, charge).await
    } else {
        charge
            .send_traced_with_retry(&current, CHARGE_ROUTE, &retry_policy())
            .await
    };
    match charged {
        Ok(r) if r.status().is_success() => {
            let quote: serde_json::Value =
                serde_json::from_str(&quote).unwrap_or(serde_json::Value::Null);
            let answer = serde_json::json!({"order": order, "quote": quote, "paid": true});
            (StatusCode::OK, format!("{answer}\n")).into_response()
        }
        _ => (StatusCode::BAD_GATEWAY, "payment failed\n").into_response(),
    }
}

/// [`Fault::NewTraceOnRetry`]: the first attempt continues the trace; every resend is a
/// client span at the root of a brand-new trace.
async fn charge_in_new_traces(
    ctx: &Ctx,
    current: &Current,
    charge: reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    let policy = retry_policy();
    let mut request = charge.build()?;
    let operation = OperationName::http(request.method(), CHARGE_ROUTE);
    let mut number = 0u32;
    loop {
        let spare = request.try_clone();
        let (context, mut span) = if number == 0 {
            current.attempt_span(0, operation.clone())
        } else {
            let context = TraceContext::new_root();
            let mut span = ctx
                .telemetry
                .start(&context, SpanKind::Client, operation.clone());
            span.set_resend_count(Some(number));
            span.set_tenant(current.tenant.clone());
            (context, span)
        };
        context.inject(request.headers_mut());
        current.inject_tenant(request.headers_mut());
        let result = ctx.http.execute(request).await;
        let retry = match &result {
            Ok(response) => {
                span.set_http_status(response.status().as_u16());
                (policy.retry_on)(response.status())
            }
            Err(_) => {
                span.set_status(SpanStatus::Error("request"));
                true
            }
        };
        span.finish();
        number += 1;
        match spare {
            Some(again) if retry && number < policy.max_attempts => {
                request = again;
                tokio::time::sleep(policy.backoff).await;
            }
            _ => return result,
        }
    }
}
