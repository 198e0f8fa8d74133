//! `pricing`: `POST /quote/{order}` answers a price.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Extension, Router};

use crate::demo::service::{leak_pii, Ctx};
use crate::propagation::Current;

/// The routes.
pub(crate) fn routes(ctx: Ctx) -> Router {
    Router::new()
        .route("/quote/{order}", post(quote))
        .with_state(ctx)
}

async fn quote(
    State(ctx): State<Ctx>,
    Extension(current): Extension<Current>,
    Path(order): Path<String>,
    body: Bytes,
) -> String {
    leak_pii(&ctx, &current, &body);
    let cents = 1_000 + order.bytes().map(u64::from).sum::<u64>() % 9_000;
    format!("{{\"amount_cents\":{cents}}}")
}
