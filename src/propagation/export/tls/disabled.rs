//! Without the `export-tls` feature: reqwest has no TLS, so there is no TLS material, and a
//! TLS file setting is a configuration error that names the feature (https endpoints are
//! already refused when the configuration is read).

use super::{err, TlsFiles};
use crate::propagation::export::config::ConfigError;

/// The TLS material of one destination: always empty without the `export-tls` feature.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    _none: (),
}

impl TlsSettings {
    /// Number of extra trusted CA certificates.
    pub fn ca_certificates(&self) -> usize {
        0
    }

    /// Whether a client certificate is configured.
    pub fn has_client_identity(&self) -> bool {
        false
    }

    /// Nothing configured.
    pub fn is_default(&self) -> bool {
        true
    }
}

/// Refuse TLS files: this build cannot use them.
pub(crate) fn load(files: &TlsFiles<'_>) -> Result<TlsSettings, ConfigError> {
    match files.ca.or(files.cert).or(files.key) {
        None => Ok(TlsSettings::default()),
        Some(at) => Err(err(
            at.source,
            at.key,
            "TLS files need tracegate built with its `export-tls` feature (this build has no TLS)"
                .to_owned(),
        )),
    }
}

/// A plain reqwest client builder (no TLS in this build).
pub fn client_builder_with(_settings: &TlsSettings) -> Result<reqwest::ClientBuilder, ConfigError> {
    Ok(reqwest::Client::builder())
}

/// A plain reqwest client builder (no TLS in this build).
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
}
