//! A minimal axum service using the whole reference library: the server layer, the traced
//! client with retries, an asynchronous hop with producer/consumer spans, and export configured
//! only from the environment.
//!
//! ```sh
//! tracegate collect &                                    # or any OTLP/HTTP receiver on :4318
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=checkout \
//!   cargo run --example axum_service
//! curl -i -H 'x-tenant-id: acme' -X POST http://127.0.0.1:3000/checkout/42
//! ```
//!
//! Tenant routing: point `TRACEGATE_EXPORT_CONFIG` at a YAML file (see
//! `docs/reference-library.md`). With no or an invalid configuration the service still serves,
//! with export disabled (one line on stderr says why).

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use axum::extract::{MatchedPath, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use tokio::sync::mpsc;
use tracegate::propagation::client::{RetryPolicy, TracedRequest};
use tracegate::propagation::server::TraceLayer;
use tracegate::propagation::{export, messaging, Current, OperationName, Telemetry};

#[derive(Clone)]
struct App {
    http: reqwest::Client,
    base: String,
    events: mpsc::Sender<HashMap<String, String>>,
}

/// `POST /checkout/{id}`: calls `/price/{sku}` on this same service with retries, then
/// publishes an event for the background worker.
async fn checkout(
    State(app): State<App>,
    Extension(current): Extension<Current>,
    Path(id): Path<String>,
) -> Result<String, StatusCode> {
    let response = app
        .http
        .get(format!("{}/price/{id}", app.base))
        .send_traced_with_retry(&current, "/price/{sku}", &RetryPolicy::default())
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let price = response.text().await.map_err(|_| StatusCode::BAD_GATEWAY)?;

    // Asynchronous hop: only the trace context travels in the message metadata.
    let mut metadata = HashMap::new();
    let span = messaging::produce(
        &current,
        OperationName::fixed("publish order-events"),
        &mut metadata,
    );
    let _ = app.events.try_send(metadata);
    span.end();
    Ok(format!("order {id}: {price}\n"))
}

async fn price(Path(sku): Path<String>) -> String {
    format!("{} cents", sku.len() * 100)
}

async fn worker(telemetry: Telemetry, mut events: mpsc::Receiver<HashMap<String, String>>) {
    while let Some(metadata) = events.recv().await {
        let (_current, span) = messaging::consume(
            &telemetry,
            &metadata,
            None,
            OperationName::fixed("process order-events"),
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
        span.end();
    }
}

/// Errors end the program with one line on stderr (no Rust debug dump) and exit code 1.
#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("axum_service: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> std::io::Result<()> {
    // Configuration only: OTEL_* variables and TRACEGATE_EXPORT_CONFIG.
    let export = export::from_env("axum-example");
    let telemetry = export.telemetry.clone();

    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    let base = format!("http://{}", listener.local_addr()?);
    let (events, receiver) = mpsc::channel(1024);
    tokio::spawn(worker(telemetry.clone(), receiver));

    let app = Router::new()
        .route("/checkout/{id}", post(checkout))
        .route("/price/{sku}", get(price))
        .with_state(App {
            // reqwest with rustls (ring) and the built-in roots; the `export` feature builds
            // reqwest without a default crypto provider, so `reqwest::Client::new()` would panic
            // unless this program enabled reqwest's own `rustls` feature.
            http: export::tls::client_builder()
                .build()
                .map_err(std::io::Error::other)?,
            base,
            events,
        })
        // One layer: generate-or-preserve, server spans, traceresponse + server-timing.
        .layer(
            TraceLayer::new(telemetry)
                .route_from(|ext| ext.get::<MatchedPath>().map(MatchedPath::as_str)),
        );

    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    let stats = export.shutdown(Duration::from_secs(5)).await;
    eprintln!("export: {stats}");
    Ok(())
}
