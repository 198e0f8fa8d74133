//! Each service's export: an export configuration in the reference library's routing-file
//! format (`TRACEGATE_EXPORT_CONFIG`, see `docs/reference-library.md`), parsed and validated by
//! [`ExportConfig::from_yaml`] like a mounted file, and the non-blocking exporter it starts.
//! A service with [`Fault::SyncExport`](super::Fault::SyncExport) instead keeps its spans and
//! sends them before each response ([`SyncExporter`]): the anti-pattern AC-007 catches.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::backend::{DestinationInfo, SHARED_DESTINATION};
use super::DemoError;
use crate::propagation::export::{otlp, DiagnosticSink, Export, ExportConfig};
use crate::propagation::{SpanRecord, SpanSink, Telemetry};

/// Per-request timeout of every export (the exporter's and the synchronous one's).
const EXPORT_TIMEOUT_MS: u64 = 2_000;

/// Spans a synchronous exporter holds at most between two responses; beyond, they are dropped.
const MAX_PENDING_SPANS: usize = 10_000;

/// The routing file a service is configured with: the shared destination receives every
/// span; each tenant's spans also go to its own destination — or, with `swap_tenants`
/// ([`Fault::WrongTenantRoute`](super::Fault::WrongTenantRoute)), to the other tenant's.
pub(crate) fn config_yaml(
    destinations: &[DestinationInfo],
    swap_tenants: bool,
    batch_timeout: Duration,
) -> String {
    let mut yaml = String::from("destinations:\n");
    for d in destinations {
        let _ = writeln!(yaml, "  {}:\n    endpoint: {}", d.name, d.traces_url);
        if d.tenant.is_none() {
            yaml.push_str("    shared: true\n");
        }
    }
    // spans without a tenant go to every shared destination (`shared` and any `--export-to`)
    let shared: Vec<&str> = destinations
        .iter()
        .filter(|d| d.tenant.is_none())
        .map(|d| d.name.as_str())
        .collect();
    let _ = writeln!(yaml, "default: [{}]\ntenants:", shared.join(", "));
    for (tenant, destination) in tenant_routes(destinations, swap_tenants) {
        let _ = writeln!(yaml, "  {tenant}: [{}]", destination.name);
    }
    let _ = write!(
        yaml,
        "batch_timeout_ms: {}\ntimeout_ms: {EXPORT_TIMEOUT_MS}\n\
         retry_on_failure:\n  initial_interval_ms: 200\n  max_interval_ms: 1000\n  \
         max_elapsed_time_ms: 3000\nmax_attempts: 3\n",
        batch_timeout.as_millis().max(1)
    );
    yaml
}

/// Each tenant and the destination its spans are routed to.
fn tenant_routes(
    destinations: &[DestinationInfo],
    swap_tenants: bool,
) -> Vec<(&str, &DestinationInfo)> {
    let tenants: Vec<&DestinationInfo> =
        destinations.iter().filter(|d| d.tenant.is_some()).collect();
    tenants
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let target = if swap_tenants {
                tenants[(i + 1) % tenants.len()]
            } else {
                d
            };
            Some((d.tenant.as_deref()?, target))
        })
        .collect()
}

/// Start `service`'s exporter from `yaml` (named `source` in errors).
pub(crate) fn start_export(
    service: &str,
    source: &str,
    yaml: &str,
    diagnostics: DiagnosticSink,
) -> Result<Export, DemoError> {
    let config = ExportConfig::from_yaml(source, yaml, |_| None)
        .map_err(|e| DemoError::Start(format!("{service}: export configuration: {e}")))?;
    Export::start_with_diagnostics(service, &config, diagnostics)
        .map_err(|e| DemoError::Start(format!("{service}: export: {e}")))
}

/// Keeps finished spans until the next flush.
#[derive(Debug, Default)]
struct PendingSink {
    spans: Mutex<Vec<SpanRecord>>,
}

impl SpanSink for PendingSink {
    fn record(&self, span: SpanRecord) {
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        if spans.len() < MAX_PENDING_SPANS {
            spans.push(span);
        }
    }
}

/// Exports on the request path: the middleware around the service sends every pending span
/// to its destinations and waits for the answers before the response leaves.
#[derive(Clone, Debug)]
pub(crate) struct SyncExporter {
    pending: Arc<PendingSink>,
    http: reqwest::Client,
    shared_url: Option<String>,
    tenant_urls: Vec<(String, String)>,
}

impl SyncExporter {
    pub fn new(
        destinations: &[DestinationInfo],
        swap_tenants: bool,
        http: reqwest::Client,
    ) -> Self {
        SyncExporter {
            pending: Arc::new(PendingSink::default()),
            http,
            shared_url: destinations
                .iter()
                .find(|d| d.name == SHARED_DESTINATION)
                .map(|d| d.traces_url.clone()),
            tenant_urls: tenant_routes(destinations, swap_tenants)
                .into_iter()
                .map(|(tenant, d)| (tenant.to_owned(), d.traces_url.clone()))
                .collect(),
        }
    }

    /// The telemetry handle whose spans this exporter sends.
    pub fn telemetry(&self, service: &str) -> Telemetry {
        Telemetry::new(service, self.pending.clone())
    }

    /// Send every pending span, waiting for each destination (bounded by the export timeout).
    pub async fn flush(&self) {
        let spans =
            std::mem::take(&mut *self.pending.spans.lock().unwrap_or_else(|e| e.into_inner()));
        if spans.is_empty() {
            return;
        }
        if let Some(url) = &self.shared_url {
            self.post(url, otlp::encode(spans.iter())).await;
        }
        for (tenant, url) in &self.tenant_urls {
            let own: Vec<&SpanRecord> = spans
                .iter()
                .filter(|s| s.tenant().is_some_and(|t| t.as_str() == tenant))
                .collect();
            if !own.is_empty() {
                self.post(url, otlp::encode(own)).await;
            }
        }
    }

    async fn post(&self, url: &str, body: Vec<u8>) {
        let send = self
            .http
            .post(url)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send();
        // The outcome does not matter to the request: only the wait does.
        let _ = tokio::time::timeout(Duration::from_millis(EXPORT_TIMEOUT_MS), send).await;
    }
}

/// axum middleware: answer, then export synchronously, then let the response go.
pub(crate) async fn export_before_responding(
    State(exporter): State<SyncExporter>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    exporter.flush().await;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destinations() -> Vec<DestinationInfo> {
        ["shared", "acme", "globex"]
            .iter()
            .enumerate()
            .map(|(i, name)| DestinationInfo {
                name: (*name).to_owned(),
                traces_url: format!("http://127.0.0.1:{}/v1/traces", 4000 + i),
                tenant: (*name != "shared").then(|| (*name).to_owned()),
            })
            .collect()
    }

    #[test]
    fn the_routing_file_is_valid_and_routes_each_tenant_to_its_own_or_the_swapped_destination() {
        let yaml = config_yaml(&destinations(), false, Duration::from_millis(50));
        let config = ExportConfig::from_yaml("demo.yaml", &yaml, |_| None).unwrap();
        assert_eq!(config.tenants["acme"], vec!["acme".to_owned()]);
        assert_eq!(config.tenants["globex"], vec!["globex".to_owned()]);
        assert!(config.destinations["shared"].shared);
        assert_eq!(config.batch_timeout, Duration::from_millis(50));

        let swapped = config_yaml(&destinations(), true, Duration::from_millis(50));
        let config = ExportConfig::from_yaml("demo.yaml", &swapped, |_| None).unwrap();
        assert_eq!(config.tenants["acme"], vec!["globex".to_owned()]);
        assert_eq!(config.tenants["globex"], vec!["acme".to_owned()]);
    }
}
