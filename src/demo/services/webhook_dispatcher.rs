//! `webhook-dispatcher`: consumes payment events from the in-process queue (a consumer span
//! continuing the trace from the message metadata) and serves `GET /deliveries`, the number
//! of events dispatched.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use tokio::sync::mpsc;

use crate::demo::fault::Fault;
use crate::demo::service::{leak_pii, Ctx};
use crate::propagation::{messaging, OperationName, TenantId};

/// Messages the queue holds at most; a producer finding it full drops the event.
pub(crate) const QUEUE_CAPACITY: usize = 1024;

/// The metadata key carrying the tenant next to `traceparent`.
pub(crate) const TENANT_METADATA_KEY: &str = "tenant-id";

/// One event on the queue: metadata (`traceparent`, `tenant-id`) and the payload.
#[derive(Debug)]
pub(crate) struct QueueMessage {
    pub metadata: HashMap<String, String>,
    pub payload: Bytes,
}

/// The routes, and how many events were dispatched.
pub(crate) fn routes(delivered: Arc<AtomicU64>) -> Router {
    Router::new()
        .route("/deliveries", get(deliveries))
        .with_state(delivered)
}

async fn deliveries(State(delivered): State<Arc<AtomicU64>>) -> String {
    format!("{}\n", delivered.load(Ordering::Relaxed))
}

/// The consumer: one consumer span per event, until the queue closes.
pub(crate) async fn consume(
    ctx: Ctx,
    mut queue: mpsc::Receiver<QueueMessage>,
    delivered: Arc<AtomicU64>,
) {
    let empty = HashMap::new();
    while let Some(message) = queue.recv().await {
        let tenant = message
            .metadata
            .get(TENANT_METADATA_KEY)
            .and_then(|t| TenantId::new(t));
        // Fault::NoPropagation: the metadata's context is ignored.
        let metadata = if ctx.has(Fault::NoPropagation) {
            &empty
        } else {
            &message.metadata
        };
        let (current, span) = messaging::consume(
            &ctx.telemetry,
            metadata,
            tenant,
            OperationName::fixed("process payment-events"),
        );
        leak_pii(&ctx, &current, &message.payload);
        delivered.fetch_add(1, Ordering::Relaxed);
        span.finish();
    }
}
