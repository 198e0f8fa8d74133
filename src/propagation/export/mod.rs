//! Non-blocking OTLP/HTTP export with configuration-only destinations and tenant routing
//! (principles 4 and 5; acceptance criteria AC-005 and AC-007).
//!
//! ```no_run
//! # async fn run() {
//! use tracegate::propagation::export;
//!
//! // Reads OTEL_EXPORTER_OTLP_* / OTEL_SERVICE_NAME and the file named by
//! // TRACEGATE_EXPORT_CONFIG. An invalid configuration disables export (one line on stderr,
//! // or to the sink given to `from_env_with_diagnostics`); the service keeps serving.
//! let export = export::from_env("checkout");
//! let telemetry = export.telemetry.clone();   // give this to the server layer and the client
//! // ... serve ...
//! export.shutdown(std::time::Duration::from_secs(5)).await;
//! # }
//! ```

mod config;
mod delivery;
mod diagnostics;
mod exporter;
pub mod otlp;
pub mod retry;
mod routing;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

pub use config::{
    ConfigError, Destination, ExportConfig, Secret, CONFIG_ENV, DEFAULT_BATCH_SIZE,
    DEFAULT_BATCH_TIMEOUT, DEFAULT_MAX_ATTEMPTS, DEFAULT_QUEUE_SIZE, DEFAULT_THREAD_NICE,
    DEFAULT_TIMEOUT, ENV_DESTINATION, MAX_CONFIG_FILE_BYTES, MAX_SECRET_FILE_BYTES,
    MAX_THREAD_NICE, THREAD_NICE_ENV,
};
pub use delivery::MAX_RESPONSE_BODY_BYTES;
pub use diagnostics::{stderr_sink, Diagnostic, DiagnosticSink, Level};
pub use exporter::{ExportStats, Exporter};
pub use retry::RetryPolicy;
pub use routing::Router;
pub use tls::TlsSettings;

use super::Telemetry;

/// The result of [`from_env`]: the telemetry handle to use, and the exporter if export is on.
#[derive(Debug)]
pub struct Export {
    /// Give this to the server layer and the client.
    pub telemetry: Telemetry,
    /// The running exporter, or `None` when export is disabled.
    pub exporter: Option<Arc<Exporter>>,
    /// Why export is disabled (`None` when enabled).
    pub disabled_reason: Option<String>,
}

impl Export {
    /// Start export with an explicit configuration (inside a tokio runtime); diagnostics on
    /// stderr.
    pub fn start(default_service: &str, config: &ExportConfig) -> Result<Self, ConfigError> {
        Self::start_with_diagnostics(default_service, config, stderr_sink())
    }

    /// [`Export::start`] with the exporter's diagnostics sent to `sink`.
    pub fn start_with_diagnostics(
        default_service: &str,
        config: &ExportConfig,
        sink: DiagnosticSink,
    ) -> Result<Self, ConfigError> {
        let service = config.service_name.as_deref().unwrap_or(default_service);
        let exporter = Arc::new(Exporter::start_with_diagnostics(config, sink)?);
        Ok(Export {
            telemetry: Telemetry::new(service, exporter.clone()),
            exporter: Some(exporter),
            disabled_reason: None,
        })
    }

    /// Export disabled: propagation still works, spans are not recorded.
    pub fn disabled(service: &str, reason: String) -> Self {
        Export {
            telemetry: Telemetry::disabled(service),
            exporter: None,
            disabled_reason: Some(reason),
        }
    }

    /// Counters (all zero when disabled).
    pub fn stats(&self) -> ExportStats {
        self.exporter
            .as_ref()
            .map(|e| e.stats())
            .unwrap_or_default()
    }

    /// Flush queued spans, waiting at most `deadline`.
    pub async fn shutdown(&self, deadline: Duration) -> ExportStats {
        match &self.exporter {
            Some(exporter) => exporter.shutdown(deadline).await,
            None => ExportStats::default(),
        }
    }
}

/// Configure export from the environment (see [`ExportConfig::from_env`]), inside a tokio
/// runtime. Never fails: a configuration error disables export and is reported on stderr in
/// one line naming the file (or variable) and key; the service keeps serving.
pub fn from_env(default_service: &str) -> Export {
    from_env_with_diagnostics(default_service, stderr_sink())
}

/// [`from_env`] with every diagnostic (enabled or disabled, and the exporter's own) sent to
/// `sink` instead of stderr.
pub fn from_env_with_diagnostics(default_service: &str, sink: DiagnosticSink) -> Export {
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default_service.to_owned());
    let started = match ExportConfig::from_env() {
        Ok(Some(config)) => Export::start_with_diagnostics(&service, &config, Arc::clone(&sink))
            .map_err(|e| e.to_string()),
        Ok(None) => Err(format!(
            "no OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or {CONFIG_ENV} \
             (or OTEL_SDK_DISABLED=true)"
        )),
        Err(e) => Err(e.to_string()),
    };
    match started {
        Ok(export) => {
            let names = export
                .exporter
                .as_ref()
                .map(|e| e.destinations().join(", "))
                .unwrap_or_default();
            sink(&Diagnostic::info(format!(
                "enabled for service `{service}`, destinations: {names}"
            )));
            export
        }
        Err(reason) => {
            sink(&Diagnostic::warn(format!(
                "disabled: {reason}; the service keeps serving"
            )));
            Export::disabled(&service, reason)
        }
    }
}
