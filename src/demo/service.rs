//! What every demo service shares: its context ([`Ctx`]), the layers around its routes (the
//! reference library's `TraceLayer` plus the fault middlewares), serving on a loopback port,
//! and the PII-leak fault.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::export_setup::{self, SyncExporter};
use super::fault::{Fault, Faults, Service};
use super::DemoError;
use crate::propagation::export::Export;
use crate::propagation::server::TraceLayer;
use crate::propagation::{Current, OperationName, SpanKind, Telemetry, TRACEPARENT, TRACESTATE};
use crate::propagation::{SERVER_TIMING, TRACERESPONSE};

/// The card number recorded by [`Fault::PiiLeak`] when the request names none.
pub const DEMO_CARD_NUMBER: &str = "4111111111111111";
/// The e-mail recorded by [`Fault::PiiLeak`] when the request names none.
pub const DEMO_EMAIL: &str = "jane.doe@example.com";

/// How long a service call may take before the caller gives up.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A service's context, handed to its handlers.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub service: Service,
    pub faults: Arc<Faults>,
    pub http: reqwest::Client,
    pub telemetry: Telemetry,
}

impl Ctx {
    pub fn has(&self, fault: Fault) -> bool {
        self.faults.has(self.service, fault)
    }
}

/// A service's telemetry and, for the async exporter, the handle to flush at shutdown.
pub(crate) struct ServiceExport {
    pub telemetry: Telemetry,
    pub export: Option<Export>,
    pub sync: Option<SyncExporter>,
    pub yaml: String,
}

/// Everything needed to set a service up.
pub(crate) struct Setup<'a> {
    pub service: Service,
    pub faults: &'a Arc<Faults>,
    pub destinations: &'a [super::DestinationInfo],
    pub batch_timeout: Duration,
    pub diagnostics: crate::propagation::export::DiagnosticSink,
}

impl Setup<'_> {
    /// The service's HTTP client and export.
    pub fn prepare(&self) -> Result<(Ctx, ServiceExport), DemoError> {
        let name = self.service.as_str();
        let http = crate::propagation::export::tls::client_builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| DemoError::Start(format!("{name}: HTTP client: {e}")))?;
        let swap = self.faults.has(self.service, Fault::WrongTenantRoute);
        let yaml = export_setup::config_yaml(self.destinations, swap, self.batch_timeout);
        let export = if self.faults.has(self.service, Fault::SyncExport) {
            let sync = SyncExporter::new(self.destinations, swap, http.clone());
            ServiceExport {
                telemetry: sync.telemetry(name),
                export: None,
                sync: Some(sync),
                yaml,
            }
        } else {
            let source = format!("demo:{name}.yaml");
            let export =
                export_setup::start_export(name, &source, &yaml, self.diagnostics.clone())?;
            ServiceExport {
                telemetry: export.telemetry.clone(),
                export: Some(export),
                sync: None,
                yaml,
            }
        };
        let ctx = Ctx {
            service: self.service,
            faults: Arc::clone(self.faults),
            http,
            telemetry: export.telemetry.clone(),
        };
        Ok((ctx, export))
    }
}

/// A service listening on loopback.
pub(crate) struct RunningService {
    pub service: Service,
    pub addr: SocketAddr,
    pub export: ServiceExport,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
}

impl RunningService {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Tasks to stop with the service (a queue consumer).
    pub fn with_background(mut self, task: JoinHandle<()>) -> Self {
        self.background.push(task);
        self
    }

    /// Stop serving (in-flight requests get `grace`), then flush the exporter within
    /// `flush_deadline`.
    pub async fn shutdown(self, grace: Duration, flush_deadline: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
        for background in self.background {
            background.abort();
        }
        if let Some(export) = &self.export.export {
            export.shutdown(flush_deadline).await;
        }
    }
}

/// Wrap `routes` in the service's layers and serve them on a new loopback port.
pub(crate) async fn serve(
    ctx: &Ctx,
    export: ServiceExport,
    routes: Router,
) -> Result<RunningService, DemoError> {
    let name = ctx.service.as_str();
    let mut app = routes.layer(
        TraceLayer::new(ctx.telemetry.clone())
            .route_from(|ext| ext.get::<MatchedPath>().map(MatchedPath::as_str))
            .forward_tenant(),
    );
    // Outer layers run before the trace layer on the request, after it on the response.
    if ctx.has(Fault::NoPropagation) {
        app = app.layer(middleware::from_fn(drop_incoming_context));
    }
    if ctx.has(Fault::NoResponseHeader) {
        app = app.layer(middleware::from_fn(drop_response_headers));
    }
    if let Some(sync) = &export.sync {
        app = app.layer(middleware::from_fn_with_state(
            sync.clone(),
            export_setup::export_before_responding,
        ));
    }
    let listener = tokio::net::TcpListener::bind(super::backend::loopback())
        .await
        .map_err(|e| DemoError::Start(format!("{name}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| DemoError::Start(format!("{name}: {e}")))?;
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
    });
    Ok(RunningService {
        service: ctx.service,
        addr,
        export,
        stop,
        task,
        background: Vec::new(),
    })
}

/// [`Fault::NoPropagation`]: the service never sees its caller's context.
async fn drop_incoming_context(mut request: Request, next: Next) -> Response {
    request.headers_mut().remove(TRACEPARENT);
    request.headers_mut().remove(TRACESTATE);
    next.run(request).await
}

/// [`Fault::NoResponseHeader`]: the trace ID is not returned to the caller.
async fn drop_response_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().remove(TRACERESPONSE);
    response.headers_mut().remove(SERVER_TIMING);
    response
}

/// The card number and e-mail a request body (JSON `card_number`, `email`) carries, or the
/// demo's own.
pub(crate) fn payment_details(body: &[u8]) -> (String, String) {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |key: &str, fallback: &str| {
        json.as_ref()
            .and_then(|j| j.get(key))
            .and_then(|v| v.as_str())
            .unwrap_or(fallback)
            .to_owned()
    };
    (
        field("card_number", DEMO_CARD_NUMBER),
        field("email", DEMO_EMAIL),
    )
}

/// [`Fault::PiiLeak`]: record the request's card number and e-mail in a span name — exactly
/// what the closed span schema exists to prevent, done here on purpose.
pub(crate) fn leak_pii(ctx: &Ctx, current: &Current, body: &[u8]) {
    if !ctx.has(Fault::PiiLeak) {
        return;
    }
    let (card, email) = payment_details(body);
    let name = OperationName::http(&Method::POST, &format!("/charge card={card} email={email}"));
    let (_, span) = current.child_span(SpanKind::Internal, name);
    span.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_details_come_from_the_body_or_fall_back_to_the_demo_values() {
        let body = br#"{"card_number":"5555555555554444","email":"a@b.example"}"#;
        assert_eq!(
            payment_details(body),
            ("5555555555554444".to_owned(), "a@b.example".to_owned())
        );
        for body in [&b"not json"[..], b"{}", br#"{"card_number":42}"#] {
            assert_eq!(
                payment_details(body),
                (DEMO_CARD_NUMBER.to_owned(), DEMO_EMAIL.to_owned())
            );
        }
    }
}
