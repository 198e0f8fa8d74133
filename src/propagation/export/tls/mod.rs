//! TLS for `https://` export destinations (the `export-tls` feature): rustls with the *ring*
//! provider (no cmake or aws-lc build; ring needs only the C compiler Rust builds already
//! use), Mozilla's root certificates from `webpki-roots` compiled in (so it works in
//! `scratch`/distroless/slim containers without a CA bundle), plus the CA file a destination
//! names (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `tls.ca_file`), and optionally a client
//! certificate and key for mutual TLS. Without the feature, TLS settings are a start-up
//! error that names the feature, and [`client_builder`] is a plain reqwest builder.
//!
//! Nothing here touches process-global state: the provider is handed to each client through
//! reqwest's `ClientBuilder::tls_backend_preconfigured`, not installed as the rustls default.
//! Because `export-tls` builds reqwest with `rustls-no-provider`, a plain
//! `reqwest::Client::new()` in the same program panics unless the program enables a provider
//! itself (reqwest's default `rustls` feature does); [`client_builder`] gives a builder that
//! works as is. That is why the feature is opt-in (the `cli` feature turns it on).

#[cfg(not(feature = "export-tls"))]
mod disabled;
#[cfg(feature = "export-tls")]
mod enabled;

#[cfg(not(feature = "export-tls"))]
pub(crate) use disabled::load;
#[cfg(not(feature = "export-tls"))]
pub use disabled::{client_builder, client_builder_with, TlsSettings};
#[cfg(feature = "export-tls")]
pub(crate) use enabled::load;
#[cfg(feature = "export-tls")]
pub use enabled::{client_builder, client_builder_with, TlsSettings};

use std::path::Path;

use super::config::ConfigError;

/// A file setting and where it is configured: the file or environment variable the setting is
/// in, and its key there (`-` for a variable), for errors.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "export-tls"), allow(dead_code))]
pub(crate) struct FileSetting<'a> {
    pub source: &'a str,
    pub key: &'a str,
    pub path: &'a Path,
}

/// The TLS files of one destination.
#[derive(Default)]
pub(crate) struct TlsFiles<'a> {
    /// Extra trusted CA certificates (PEM).
    pub ca: Option<FileSetting<'a>>,
    /// Client certificate chain (PEM).
    pub cert: Option<FileSetting<'a>>,
    /// Client private key (PEM).
    pub key: Option<FileSetting<'a>>,
}

fn err(source: &str, key: &str, message: String) -> ConfigError {
    ConfigError {
        source_name: source.to_owned(),
        key: key.to_owned(),
        message,
    }
}

#[cfg_attr(not(feature = "export-tls"), allow(dead_code))]
fn read(at: FileSetting<'_>) -> Result<Vec<u8>, ConfigError> {
    use super::config::{read_capped, CappedReadError, MAX_CONFIG_FILE_BYTES};
    read_capped(at.path, MAX_CONFIG_FILE_BYTES).map_err(|e| match e {
        CappedReadError::Io(e) => err(
            at.source,
            at.key,
            format!("cannot read {}: {}", at.path.display(), e.kind()),
        ),
        CappedReadError::TooLarge => err(
            at.source,
            at.key,
            format!(
                "{} is larger than {MAX_CONFIG_FILE_BYTES} bytes (not read)",
                at.path.display()
            ),
        ),
    })
}

/// The HTTP client of one destination.
pub(crate) fn destination_client(
    destination: &super::Destination,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, ConfigError> {
    let problem = |message: String| ConfigError {
        source_name: "exporter".to_owned(),
        key: format!("destinations.{}", destination.name),
        message,
    };
    client_builder_with(&destination.tls)
        .map_err(|e| problem(e.message))?
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|e| problem(format!("cannot build the HTTP client: {e}")))
}
