//! `payment-gateway`: `POST /charge/{order}`. The first attempt of every order whose number
//! is a multiple of `fail_first_attempt_every` is answered `503` (recognised by the
//! `idempotency-key` header, so the retry succeeds); a successful charge publishes a payment
//! event on the in-process queue to `webhook-dispatcher`, the trace context in the message
//! metadata.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use tokio::sync::mpsc;

use super::orchestration::IDEMPOTENCY_KEY;
use super::webhook_dispatcher::{QueueMessage, TENANT_METADATA_KEY};
use crate::demo::service::{leak_pii, Ctx};
use crate::propagation::{messaging, Current, OperationName};

/// Idempotency keys remembered at most (then forgotten all at once).
const MAX_REMEMBERED_KEYS: usize = 100_000;

#[derive(Clone)]
struct Gateway {
    ctx: Ctx,
    fail_every: u64,
    seen: Arc<Mutex<HashSet<String>>>,
    queue: mpsc::Sender<QueueMessage>,
}

/// The routes; `fail_every` 0 never fails; `queue` leads to `webhook-dispatcher`.
pub(crate) fn routes(ctx: Ctx, fail_every: u64, queue: mpsc::Sender<QueueMessage>) -> Router {
    Router::new()
        .route("/charge/{order}", post(charge))
        .with_state(Gateway {
            ctx,
            fail_every,
            seen: Arc::default(),
            queue,
        })
}

impl Gateway {
    /// Whether this request is the first attempt of an order that fails once.
    fn fails_now(&self, order: &str, headers: &HeaderMap) -> bool {
        let Some(number) = order.parse::<u64>().ok() else {
            return false;
        };
        if self.fail_every == 0 || !number.is_multiple_of(self.fail_every) {
            return false;
        }
        let Some(key) = headers.get(IDEMPOTENCY_KEY).and_then(|v| v.to_str().ok()) else {
            return true;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_REMEMBERED_KEYS {
            seen.clear();
        }
        seen.insert(key.to_owned())
    }
}

async fn charge(
    State(gateway): State<Gateway>,
    Extension(current): Extension<Current>,
    Path(order): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    leak_pii(&gateway.ctx, &current, &body);
    if gateway.fails_now(&order, &headers) {
        return (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response();
    }
    let mut metadata = HashMap::new();
    let span = messaging::produce(
        &current,
        OperationName::fixed("publish payment-events"),
        &mut metadata,
    );
    if let Some(tenant) = &current.tenant {
        metadata.insert(TENANT_METADATA_KEY.to_owned(), tenant.as_str().to_owned());
    }
    // Never wait for the queue: a full queue drops the event.
    let _ = gateway.queue.try_send(QueueMessage {
        metadata,
        payload: body,
    });
    span.finish();
    (StatusCode::OK, "charged\n").into_response()
}
