//! The export destinations: a shared one and one per tenant, each on its own loopback port,
//! behaving as [`Backend`] says. Healthy destinations are in-process tracegate receivers
//! ([`Collector`]) whose stores the tests and `verify` read back.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tokio::task::JoinHandle;

use super::fault::Backend;
use super::DemoError;
use crate::otlp::server::Collector;
use crate::otlp::{Limits, Receiver};

/// The destination every tenant's spans (and spans without a tenant) go to.
pub const SHARED_DESTINATION: &str = "shared";

/// The demo's tenants; each has a destination of the same name.
pub const TENANTS: [&str; 2] = ["acme", "globex"];

/// One export destination, as written into the services' export configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationInfo {
    /// Its name in the export configuration (`shared`, `acme`, `globex`).
    pub name: String,
    /// The OTLP/HTTP traces URL (`http://127.0.0.1:PORT/v1/traces`).
    pub traces_url: String,
    /// The tenant it belongs to; `None` for the shared destination.
    pub tenant: Option<String>,
}

/// The running destinations.
pub(crate) struct Destinations {
    pub infos: Vec<DestinationInfo>,
    pub collectors: BTreeMap<String, Collector>,
    stubs: Vec<JoinHandle<()>>,
}

impl Destinations {
    pub async fn start(backend: Backend, slow_delay: Duration) -> Result<Self, DemoError> {
        let mut destinations = Destinations {
            infos: Vec::new(),
            collectors: BTreeMap::new(),
            stubs: Vec::new(),
        };
        let names = std::iter::once((SHARED_DESTINATION, None))
            .chain(TENANTS.iter().map(|t| (*t, Some((*t).to_owned()))));
        for (name, tenant) in names {
            let addr = match backend {
                Backend::Healthy => {
                    let limits = Limits::default();
                    let receiver = Receiver::new(Arc::new(limits.store()), limits);
                    let collector = Collector::start(receiver, loopback(), None)
                        .await
                        .map_err(|e| DemoError::Start(format!("destination {name}: {e}")))?;
                    let addr = collector.http_addr;
                    destinations.collectors.insert(name.to_owned(), collector);
                    addr
                }
                Backend::Down => unused_port(name)?,
                Backend::Slow => destinations.stub(name, slow(slow_delay)).await?,
                Backend::Refusing => destinations.stub(name, refusing()).await?,
            };
            destinations.infos.push(DestinationInfo {
                name: name.to_owned(),
                traces_url: format!("http://{addr}/v1/traces"),
                tenant,
            });
        }
        Ok(destinations)
    }

    async fn stub(&mut self, name: &str, app: Router) -> Result<SocketAddr, DemoError> {
        let listener = tokio::net::TcpListener::bind(loopback())
            .await
            .map_err(|e| DemoError::Start(format!("destination {name}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| DemoError::Start(format!("destination {name}: {e}")))?;
        self.stubs.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
        Ok(addr)
    }

    /// Stop the receivers and the stubs.
    pub async fn shutdown(self) {
        for stub in self.stubs {
            stub.abort();
        }
        for (_, collector) in self.collectors {
            let _ = collector.shutdown().await;
        }
    }
}

pub(crate) fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A loopback port nothing listens on: bound by the OS, then released.
fn unused_port(name: &str) -> Result<SocketAddr, DemoError> {
    let listener = std::net::TcpListener::bind(loopback())
        .map_err(|e| DemoError::Start(format!("destination {name}: {e}")))?;
    listener
        .local_addr()
        .map_err(|e| DemoError::Start(format!("destination {name}: {e}")))
}

/// Answers every export with 200 (an empty, valid response) after `delay`.
fn slow(delay: Duration) -> Router {
    Router::new().route(
        "/v1/traces",
        post(move || async move {
            tokio::time::sleep(delay).await;
            StatusCode::OK
        }),
    )
}

/// Answers every export with 503, then 429, in turn, each with `Retry-After: 1`.
fn refusing() -> Router {
    let count = Arc::new(AtomicU64::new(0));
    Router::new().route(
        "/v1/traces",
        post(move || {
            let n = count.fetch_add(1, Ordering::Relaxed);
            async move {
                let status = if n.is_multiple_of(2) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::TOO_MANY_REQUESTS
                };
                let mut response: Response = status.into_response();
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
                response
            }
        }),
    )
}
