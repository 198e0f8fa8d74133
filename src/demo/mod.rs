//! The demo platform: the framework's billing platform on loopback, as a library.
//!
//! Six services, each a real axum HTTP server on `127.0.0.1` (ports picked by the OS) built on
//! [`crate::propagation`] — the server layer, the traced reqwest client with its retry helper,
//! producer/consumer spans for the queue, and the non-blocking exporter configured only
//! through a routing file in the `TRACEGATE_EXPORT_CONFIG` format:
//!
//! ```text
//! ingress ─▶ auth ─▶ orchestration ─┬─▶ pricing
//!                                   └─▶ payment-gateway (503 on the first attempt of some
//!                                        │                orders; orchestration retries)
//!                                        └─▶ queue ─▶ webhook-dispatcher (consumer)
//! ```
//!
//! Spans are exported to a shared destination and to one destination per tenant (`acme`,
//! `globex`, from the `x-tenant-id` header, forwarded downstream), each an in-process
//! tracegate receiver on loopback unless [`Backend`] says otherwise. [`Fault`]s switch single
//! services into the mistakes the acceptance criteria catch.
//!
//! ```no_run
//! # async fn run() -> Result<(), tracegate::demo::DemoError> {
//! use tracegate::demo::{Fault, Faults, Platform, PlatformOptions, Service};
//!
//! let platform = Platform::start(PlatformOptions {
//!     faults: Faults::none().with(Service::Pricing, Fault::NoPropagation),
//!     ..PlatformOptions::default()
//! })
//! .await?;
//! println!("curl -X POST -H 'x-tenant-id: acme' {}/checkout/1", platform.ingress_url());
//! let traces = platform.traces("shared");
//! platform.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! [`Platform::set_backend`] switches the destinations' behaviour while the services run
//! (`tracegate demo --backend B`'s fault phase); [`Platform::destination_store`] reads what a
//! destination received. The services speak HTTP/1.1 and HTTP/2 (h2c, prior knowledge).

mod backend;
mod export_setup;
mod fault;
mod service;
mod services;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

pub use backend::{DestinationInfo, SHARED_DESTINATION, TENANTS};
pub use fault::{Backend, Fault, Faults, Service, UnknownName};
pub use service::{DEMO_CARD_NUMBER, DEMO_EMAIL};

use crate::otlp::store::Store;
use crate::otlp::Receiver;
use crate::propagation::export::{Diagnostic, DiagnosticSink, ExportStats};
use crate::trace::{AssemblyOptions, Trace};
use service::{RunningService, Setup};

/// The tenant header the services read and forward.
pub const TENANT_HEADER: &str = "x-tenant-id";

/// Exporter diagnostics kept at most (later ones are dropped).
const MAX_DIAGNOSTICS: usize = 256;

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A listener, client, receiver or exporter could not be set up.
    #[error("demo platform: {0}")]
    Start(String),
}

/// How to run the platform.
#[derive(Clone, Debug)]
pub struct PlatformOptions {
    /// Services switched into faults (none by default).
    pub faults: Faults,
    /// How the export destinations behave.
    pub backend: Backend,
    /// How long a [`Backend::Slow`] destination takes to answer (default 3 s).
    pub slow_backend_delay: Duration,
    /// `payment-gateway` answers 503 to the first attempt of orders whose number is a
    /// multiple of this (default 2: every even order is retried once); 0 never fails.
    pub fail_first_attempt_every: u64,
    /// The exporters' `batch_timeout_ms` (default 50 ms, so spans arrive quickly).
    pub batch_timeout: Duration,
    /// More OTLP/HTTP traces URLs (`http://127.0.0.1:4318/v1/traces`) that receive every span
    /// besides the platform's own destinations: an external collector, or `tracegate verify
    /// --receive`. Named `export-1`, `export-2`… in the export configuration; not switched by
    /// [`Platform::set_backend`], and not used by a service with [`Fault::SyncExport`].
    pub export_to: Vec<String>,
}

impl Default for PlatformOptions {
    fn default() -> Self {
        PlatformOptions {
            faults: Faults::none(),
            backend: Backend::Healthy,
            slow_backend_delay: Duration::from_secs(3),
            fail_first_attempt_every: 2,
            batch_timeout: Duration::from_millis(50),
            export_to: Vec::new(),
        }
    }
}

/// The running platform.
pub struct Platform {
    services: Vec<RunningService>,
    destinations: backend::Destinations,
    diagnostics: Arc<Mutex<Vec<String>>>,
    options: PlatformOptions,
}

impl Platform {
    /// Start the destinations, then the services from the last hop to `ingress`.
    pub async fn start(options: PlatformOptions) -> Result<Platform, DemoError> {
        let destinations =
            backend::Destinations::start(options.backend, options.slow_backend_delay).await?;
        let diagnostics: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = Arc::clone(&diagnostics);
        let sink: DiagnosticSink = Arc::new(move |d: &Diagnostic| {
            let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
            if kept.len() < MAX_DIAGNOSTICS {
                kept.push(d.message.clone());
            }
        });
        let faults = Arc::new(options.faults.clone());
        let mut export_destinations = destinations.infos.clone();
        for (i, url) in options.export_to.iter().enumerate() {
            export_destinations.push(DestinationInfo {
                name: format!("export-{}", i + 1),
                traces_url: url.clone(),
                tenant: None,
            });
        }
        let setup = |service| Setup {
            service,
            faults: &faults,
            destinations: &export_destinations,
            batch_timeout: options.batch_timeout,
            diagnostics: Arc::clone(&sink),
        };
        let mut services = Vec::with_capacity(Service::ALL.len());

        let (queue, events) = mpsc::channel(services::webhook_dispatcher::QUEUE_CAPACITY);
        let (ctx, export) = setup(Service::WebhookDispatcher).prepare()?;
        let delivered = Arc::new(AtomicU64::new(0));
        let consumer = tokio::spawn(services::webhook_dispatcher::consume(
            ctx.clone(),
            events,
            Arc::clone(&delivered),
        ));
        let routes = services::webhook_dispatcher::routes(delivered);
        services.push(
            service::serve(&ctx, export, routes)
                .await?
                .with_background(consumer),
        );

        let (ctx, export) = setup(Service::PaymentGateway).prepare()?;
        let routes =
            services::payment_gateway::routes(ctx.clone(), options.fail_first_attempt_every, queue);
        services.push(service::serve(&ctx, export, routes).await?);
        let payment_url = services[services.len() - 1].url();

        let (ctx, export) = setup(Service::Pricing).prepare()?;
        let routes = services::pricing::routes(ctx.clone());
        services.push(service::serve(&ctx, export, routes).await?);
        let pricing_url = services[services.len() - 1].url();

        let (ctx, export) = setup(Service::Orchestration).prepare()?;
        let routes = services::orchestration::routes(ctx.clone(), pricing_url, payment_url);
        services.push(service::serve(&ctx, export, routes).await?);
        let orchestration_url = services[services.len() - 1].url();

        let (ctx, export) = setup(Service::Auth).prepare()?;
        let routes = services::auth::routes(ctx.clone(), orchestration_url);
        services.push(service::serve(&ctx, export, routes).await?);
        let auth_url = services[services.len() - 1].url();

        let (ctx, export) = setup(Service::Ingress).prepare()?;
        let routes = services::ingress::routes(ctx.clone(), auth_url);
        services.push(service::serve(&ctx, export, routes).await?);

        Ok(Platform {
            services,
            destinations,
            diagnostics,
            options,
        })
    }

    fn service(&self, service: Service) -> Option<&RunningService> {
        self.services.iter().find(|s| s.service == service)
    }

    /// `http://127.0.0.1:PORT` of `ingress`: send `POST /checkout/{order}` with an
    /// `x-tenant-id` header.
    pub fn ingress_url(&self) -> String {
        self.service_url(Service::Ingress).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT` of any service.
    pub fn service_url(&self, service: Service) -> Option<String> {
        self.service(service).map(RunningService::url)
    }

    /// The export destinations: name, traces URL, tenant.
    pub fn destinations(&self) -> &[DestinationInfo] {
        &self.destinations.infos
    }

    /// The receivers of the destinations that are served now, by destination name: all of
    /// them while the backend is [`Backend::Healthy`], none otherwise.
    pub fn collectors(&self) -> BTreeMap<String, Arc<Receiver>> {
        if self.destinations.current() == Backend::Healthy {
            self.destinations.receivers.clone()
        } else {
            BTreeMap::new()
        }
    }

    /// The store behind destination `name` (`shared`, `acme`, `globex`): everything it
    /// received while healthy, kept across [`Platform::set_backend`] switches. Read it with
    /// `verify`'s `SpanSource::Store`.
    pub fn destination_store(&self, name: &str) -> Option<Arc<Store>> {
        self.destinations
            .receivers
            .get(name)
            .map(|r| Arc::clone(&r.store))
    }

    /// The shared destination's store (every span, whatever its tenant).
    pub fn shared_store(&self) -> Arc<Store> {
        // the shared destination always exists
        self.destination_store(SHARED_DESTINATION)
            .unwrap_or_else(|| Arc::new(Store::in_memory(0)))
    }

    /// How the destinations behave now (the start option, or the last
    /// [`Platform::set_backend`]).
    pub fn backend(&self) -> Backend {
        self.destinations.current()
    }

    /// The export configuration (routing-file YAML) `service` was started with.
    pub fn export_config(&self, service: Service) -> Option<&str> {
        self.service(service).map(|s| s.export.yaml.as_str())
    }

    /// Export counters of `service` (all zero for a service exporting synchronously).
    pub fn export_stats(&self, service: Service) -> ExportStats {
        self.service(service)
            .and_then(|s| s.export.export.as_ref())
            .map(|e| e.stats())
            .unwrap_or_default()
    }

    /// The exporters' diagnostics so far (the library prints nothing).
    pub fn diagnostics(&self) -> Vec<String> {
        self.diagnostics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The options the platform was started with.
    pub fn options(&self) -> &PlatformOptions {
        &self.options
    }

    /// Every trace the receiver behind `destination` holds (what it received while
    /// healthy), assembled with [`Trace::from_otlp`]; empty for an unknown destination.
    pub fn traces(&self, destination: &str) -> Vec<Trace> {
        let Some(store) = self.destination_store(destination) else {
            return Vec::new();
        };
        let options = AssemblyOptions::default();
        let mut resource_spans = Vec::new();
        for id in store.trace_ids() {
            if let Some(data) = store.get(id) {
                resource_spans.extend(data.resource_spans);
            }
        }
        Trace::from_otlp(&resource_spans, &options)
    }

    /// Switch every destination to `backend` while the services keep running with their
    /// export configuration unchanged (AC-007(a)'s fault phase, then back to
    /// [`Backend::Healthy`]): `Down` stops listening (connections are refused), `Slow` and
    /// `Refusing` answer on the same ports, and `Healthy` serves the destinations' receivers
    /// there again, so spans exported afterwards are stored again. Spans exported while a
    /// destination is not healthy are not stored (the exporters retry a few times, then drop
    /// them). Returns once the new behaviour is in place.
    pub async fn set_backend(&self, backend: Backend) -> Result<(), DemoError> {
        self.destinations.switch(backend).await
    }

    /// Stop the services (in-flight requests get a second), flush their exporters (at most a
    /// second each), then stop the destinations.
    pub async fn shutdown(self) {
        for service in self.services.into_iter().rev() {
            service
                .shutdown(Duration::from_secs(1), Duration::from_secs(1))
                .await;
        }
        self.destinations.shutdown().await;
    }
}
