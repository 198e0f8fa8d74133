//! The export destinations: a shared one and one per tenant, each on its own loopback port,
//! behaving as [`Backend`] says and switchable while the services run
//! ([`Destinations::switch`]). Each destination keeps one tracegate receiver (and its store)
//! for the platform's whole life: it is served on the destination's port while the backend is
//! healthy, so what arrives is read back from the same store across switches.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::fault::Backend;
use super::DemoError;
use crate::otlp::server::Collector;
use crate::otlp::{Limits, Receiver};

/// The destination every tenant's spans (and spans without a tenant) go to.
pub const SHARED_DESTINATION: &str = "shared";

/// The demo's tenants; each has a destination of the same name.
pub const TENANTS: [&str; 2] = ["acme", "globex"];

/// Attempts to re-bind a destination's port after it was released.
const BIND_ATTEMPTS: u32 = 50;

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

/// What listens on a destination's port.
enum Serving {
    /// The receiver ([`Backend::Healthy`]).
    Receiver(Collector),
    /// A stub answering slowly or refusing; aborting it closes its connections too.
    Stub(JoinHandle<()>),
    /// Nothing ([`Backend::Down`]).
    Nothing,
}

struct Destination {
    name: String,
    addr: SocketAddr,
    receiver: Arc<Receiver>,
    serving: Serving,
}

/// The running destinations.
pub(crate) struct Destinations {
    pub infos: Vec<DestinationInfo>,
    /// Each destination's receiver, by name (served only while the backend is healthy).
    pub receivers: BTreeMap<String, Arc<Receiver>>,
    slow_delay: Duration,
    current: Mutex<Backend>,
    running: tokio::sync::Mutex<Vec<Destination>>,
}

impl Destinations {
    /// Start every destination's receiver on a port picked by the OS, then switch to `backend`.
    pub async fn start(backend: Backend, slow_delay: Duration) -> Result<Self, DemoError> {
        let mut infos = Vec::new();
        let mut receivers = BTreeMap::new();
        let mut running = Vec::new();
        let names = std::iter::once((SHARED_DESTINATION, None))
            .chain(TENANTS.iter().map(|t| (*t, Some((*t).to_owned()))));
        for (name, tenant) in names {
            let limits = Limits::default();
            let receiver = Receiver::new(Arc::new(limits.store()), limits);
            let collector = Collector::start(Arc::clone(&receiver), loopback(), None)
                .await
                .map_err(|e| DemoError::Start(format!("destination {name}: {e}")))?;
            let addr = collector.http_addr;
            infos.push(DestinationInfo {
                name: name.to_owned(),
                traces_url: format!("http://{addr}/v1/traces"),
                tenant,
            });
            receivers.insert(name.to_owned(), Arc::clone(&receiver));
            running.push(Destination {
                name: name.to_owned(),
                addr,
                receiver,
                serving: Serving::Receiver(collector),
            });
        }
        let destinations = Destinations {
            infos,
            receivers,
            slow_delay,
            current: Mutex::new(Backend::Healthy),
            running: tokio::sync::Mutex::new(running),
        };
        destinations.switch(backend).await?;
        Ok(destinations)
    }

    /// How the destinations behave now.
    pub fn current(&self) -> Backend {
        *self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Make every destination behave as `backend`, on the same ports: what listened is
    /// stopped (its connections closed), then the receiver, a stub or nothing listens.
    pub async fn switch(&self, backend: Backend) -> Result<(), DemoError> {
        let mut running = self.running.lock().await;
        if self.current() == backend {
            return Ok(());
        }
        for destination in running.iter_mut() {
            stop(std::mem::replace(
                &mut destination.serving,
                Serving::Nothing,
            ))
            .await;
        }
        // Recorded before starting, so that a failure leaves a state that says what failed.
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = backend;
        for destination in running.iter_mut() {
            let name = &destination.name;
            let fail = |e: String| DemoError::Start(format!("destination {name}: {e}"));
            destination.serving = match backend {
                Backend::Healthy => Serving::Receiver(
                    serve_receiver(&destination.receiver, destination.addr)
                        .await
                        .map_err(fail)?,
                ),
                Backend::Down => Serving::Nothing,
                Backend::Slow => {
                    let listener = rebind(destination.addr).await.map_err(fail)?;
                    Serving::Stub(serve_stub(listener, slow(self.slow_delay)))
                }
                Backend::Refusing => {
                    let listener = rebind(destination.addr).await.map_err(fail)?;
                    Serving::Stub(serve_stub(listener, refusing()))
                }
            };
        }
        Ok(())
    }

    /// Stop whatever listens.
    pub async fn shutdown(self) {
        for destination in self.running.into_inner() {
            stop(destination.serving).await;
        }
    }
}

async fn stop(serving: Serving) {
    match serving {
        Serving::Receiver(collector) => {
            let _ = collector.shutdown().await;
        }
        Serving::Stub(task) => {
            task.abort();
            let _ = task.await;
        }
        Serving::Nothing => {}
    }
}

/// Bind `addr` again (a port just released may take a moment to be free).
async fn rebind(addr: SocketAddr) -> Result<TcpListener, String> {
    let mut last = String::new();
    for _ in 0..BIND_ATTEMPTS {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = format!("cannot listen on {addr} again: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(last)
}

/// Serve `receiver` on `addr` again.
async fn serve_receiver(receiver: &Arc<Receiver>, addr: SocketAddr) -> Result<Collector, String> {
    let mut last = String::new();
    for _ in 0..BIND_ATTEMPTS {
        match Collector::start(Arc::clone(receiver), addr, None).await {
            Ok(collector) => return Ok(collector),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(last)
}

/// Serve `app` on `listener` (HTTP/1.1 and h2c); aborting the task drops the listener and
/// every connection.
fn serve_stub(listener: TcpListener, app: Router) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let service = TowerToHyperService::new(app.clone());
                    connections.spawn(async move {
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    })
}

pub(crate) fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
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
