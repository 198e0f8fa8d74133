//! `auth`: authorises a checkout (every request is allowed in the demo) and forwards it to
//! `orchestration` as `POST /orders/{order}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};

use crate::demo::service::{leak_pii, Ctx};
use crate::propagation::Current;

#[derive(Clone)]
struct Auth {
    ctx: Ctx,
    orchestration_url: String,
}

/// The routes; `orchestration_url` is `http://127.0.0.1:PORT` of `orchestration`.
pub(crate) fn routes(ctx: Ctx, orchestration_url: String) -> Router {
    Router::new()
        .route("/checkout/{order}", post(authorize))
        .with_state(Auth {
            ctx,
            orchestration_url,
        })
}

async fn authorize(
    State(auth): State<Auth>,
    Extension(current): Extension<Current>,
    Path(order): Path<String>,
    body: Bytes,
) -> Response {
    leak_pii(&auth.ctx, &current, &body);
    let url = format!("{}/orders/{order}", auth.orchestration_url);
    super::forward(&auth.ctx, &current, url, "/orders/{order}", body).await
}
