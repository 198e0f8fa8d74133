//! Run the receiver on sockets: OTLP/HTTP (+ query API) and OTLP/gRPC, stopped together.
//! Used by `tracegate collect`, and by anything that needs an in-process collector.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::host_check::{self, HostPolicy};
use super::listen::{self, EventHook};
use super::{grpc, http, Receiver};

/// A running collector.
pub struct Collector {
    /// Where OTLP/HTTP and the query API listen.
    pub http_addr: SocketAddr,
    /// Where OTLP/gRPC listens, when it was asked for.
    pub grpc_addr: Option<SocketAddr>,
    receiver: Arc<Receiver>,
    stop: watch::Sender<bool>,
    http_task: JoinHandle<std::io::Result<()>>,
    grpc_task: Option<JoinHandle<std::io::Result<()>>>,
}

/// How [`Collector::start_with_options`] serves.
#[derive(Clone, Default)]
pub struct ServeOptions {
    /// Where events the library does not print go (accept errors, retried with a backoff).
    pub events: Option<EventHook>,
    /// Also serve the web UI ([`super::ui`]) on the OTLP/HTTP port.
    pub ui: bool,
    /// Names besides the loopback ones that OTLP/HTTP answers when it listens on loopback
    /// ([`super::host_check`]: DNS-rebinding protection).
    pub allowed_hosts: Vec<String>,
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The message carries the I/O error itself (no `#[source]`), so that `{:#}` does not
    /// print it twice.
    #[error("{protocol}: cannot listen on {addr}: {error}")]
    Bind {
        protocol: &'static str,
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("serving OTLP/HTTP: {0}")]
    Http(std::io::Error),
    #[error("serving OTLP/gRPC: {0}")]
    Grpc(std::io::Error),
    #[error("a server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl Collector {
    /// Bind and start serving (port 0 picks a free port; see [`Collector::http_addr`]).
    pub async fn start(
        receiver: Arc<Receiver>,
        http_addr: SocketAddr,
        grpc_addr: Option<SocketAddr>,
    ) -> Result<Collector, ServeError> {
        Collector::start_with_events(receiver, http_addr, grpc_addr, None).await
    }

    /// [`Collector::start`], reporting events the library does not print (an accept error
    /// such as running out of file descriptors, retried with a backoff) to `events`.
    pub async fn start_with_events(
        receiver: Arc<Receiver>,
        http_addr: SocketAddr,
        grpc_addr: Option<SocketAddr>,
        events: Option<EventHook>,
    ) -> Result<Collector, ServeError> {
        let options = ServeOptions {
            events,
            ..ServeOptions::default()
        };
        Collector::start_with_options(receiver, http_addr, grpc_addr, options).await
    }

    /// [`Collector::start`] with [`ServeOptions`]: events reported, the web UI served.
    pub async fn start_with_options(
        receiver: Arc<Receiver>,
        http_addr: SocketAddr,
        grpc_addr: Option<SocketAddr>,
        options: ServeOptions,
    ) -> Result<Collector, ServeError> {
        let ServeOptions {
            events,
            ui,
            allowed_hosts,
        } = options;
        let bind = |protocol: &'static str, addr: SocketAddr| async move {
            let error = |error| ServeError::Bind {
                protocol,
                addr,
                error,
            };
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(error)?;
            let local = listener.local_addr().map_err(error)?;
            Ok::<_, ServeError>((listener, local))
        };
        let (http_listener, http_local) = bind("OTLP/HTTP", http_addr).await?;
        let grpc = match grpc_addr {
            Some(addr) => Some(bind("OTLP/gRPC", addr).await?),
            None => None,
        };
        let (stop, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let app = if ui {
            http::app_with_ui(Arc::clone(&receiver))
        } else {
            http::app(Arc::clone(&receiver))
        };
        let policy = Arc::new(HostPolicy::for_listener(http_local, &allowed_hosts));
        let app = app.layer(axum::middleware::from_fn_with_state(
            policy,
            host_check::enforce,
        ));
        let http_task = tokio::spawn(listen::serve(
            http_listener,
            hyper_util::service::TowerToHyperService::new(app),
            receiver.limits,
            events.clone(),
            stopped(stop_rx.clone()),
        ));
        let (grpc_task, grpc_local) = match grpc {
            Some((listener, local)) => (
                Some(tokio::spawn(grpc::serve_with_events(
                    Arc::clone(&receiver),
                    listener,
                    events,
                    stopped(stop_rx),
                ))),
                Some(local),
            ),
            None => (None, None),
        };
        Ok(Collector {
            http_addr: http_local,
            grpc_addr: grpc_local,
            receiver,
            stop,
            http_task,
            grpc_task,
        })
    }

    /// The receiver (and through it the store) being served.
    pub fn receiver(&self) -> &Arc<Receiver> {
        &self.receiver
    }

    /// Stop accepting, finish in-flight requests, and wait for both servers.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        self.http_task.await?.map_err(ServeError::Http)?;
        if let Some(task) = self.grpc_task {
            task.await?.map_err(ServeError::Grpc)?;
        }
        Ok(())
    }
}
