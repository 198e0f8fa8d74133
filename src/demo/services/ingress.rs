//! `ingress`: the platform's public entry, `POST /checkout/{order}`, forwarded to `auth`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};

use crate::demo::service::{leak_pii, Ctx};
use crate::propagation::Current;

#[derive(Clone)]
struct Ingress {
    ctx: Ctx,
    auth_url: String,
}

/// The routes; `auth_url` is `http://127.0.0.1:PORT` of `auth`.
pub(crate) fn routes(ctx: Ctx, auth_url: String) -> Router {
    Router::new()
        .route("/checkout/{order}", post(checkout))
        .with_state(Ingress { ctx, auth_url })
}

async fn checkout(
    State(ingress): State<Ingress>,
    Extension(current): Extension<Current>,
    Path(order): Path<String>,
    body: Bytes,
) -> Response {
    leak_pii(&ingress.ctx, &current, &body);
    let url = format!("{}/checkout/{order}", ingress.auth_url);
    super::forward(&ingress.ctx, &current, url, "/checkout/{order}", body).await
}
