//! TLS for `https://` export destinations (the `export-tls` feature): rustls with the *ring*
//! provider (no cmake or aws-lc build; ring needs only the C compiler Rust builds already
//! use), Mozilla's root certificates from `webpki-roots` compiled in (so it works in
//! `scratch`/distroless/slim containers without a CA bundle), plus the CA file a destination
//! names (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `tls.ca_file`), and optionally a client
//! certificate and key for mutual TLS. TLS files are read and checked with or without the
//! feature, so a bad file is always a start-up error naming the file and key.
//!
//! Nothing here touches process-global state: the provider is handed to each client through
//! reqwest's `ClientBuilder::tls_backend_preconfigured`, not installed as the rustls default.
//! Because `export-tls` builds reqwest with `rustls-no-provider`, a plain
//! `reqwest::Client::new()` in the same program panics unless the program enables a provider
//! itself (reqwest's default `rustls` feature does); [`client_builder`] gives a builder that
//! works as is. That is why the feature is opt-in (the `cli` feature turns it on).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::config::ConfigError;

/// The TLS material of one destination, read and checked at configuration time. The private
/// key is never formatted.
#[derive(Default)]
pub struct TlsSettings {
    /// Extra trusted CA certificates (added to the built-in roots).
    ca_certificates: Vec<CertificateDer<'static>>,
    /// Client certificate chain and key, for mutual TLS.
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl TlsSettings {
    /// Number of extra trusted CA certificates.
    pub fn ca_certificates(&self) -> usize {
        self.ca_certificates.len()
    }

    /// Whether a client certificate is configured.
    pub fn has_client_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// Nothing configured: the built-in roots only.
    pub fn is_default(&self) -> bool {
        self.ca_certificates.is_empty() && self.identity.is_none()
    }
}

impl Clone for TlsSettings {
    fn clone(&self) -> Self {
        TlsSettings {
            ca_certificates: self.ca_certificates.clone(),
            identity: self
                .identity
                .as_ref()
                .map(|(chain, key)| (chain.clone(), key.clone_key())),
        }
    }
}

impl PartialEq for TlsSettings {
    fn eq(&self, other: &Self) -> bool {
        let identity = match (&self.identity, &other.identity) {
            (None, None) => true,
            (Some((a, ka)), Some((b, kb))) => a == b && ka.secret_der() == kb.secret_der(),
            _ => false,
        };
        identity && self.ca_certificates == other.ca_certificates
    }
}

impl Eq for TlsSettings {}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca_certificates", &self.ca_certificates.len())
            .field(
                "client_identity",
                &self.identity.as_ref().map(|_| "certificate + key(***)"),
            )
            .finish()
    }
}

/// A file setting and where it is configured: the file or environment variable the setting is
/// in, and its key there (`-` for a variable), for errors.
#[derive(Clone, Copy)]
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

fn read(at: FileSetting<'_>) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(at.path).map_err(|e| {
        err(
            at.source,
            at.key,
            format!("cannot read {}: {}", at.path.display(), e.kind()),
        )
    })
}

fn certificates(at: FileSetting<'_>) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = read(at)?;
    let not_pem = || {
        err(
            at.source,
            at.key,
            format!(
                "{} is not a PEM file with a CERTIFICATE section",
                at.path.display()
            ),
        )
    };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| not_pem())?;
    if certs.is_empty() {
        return Err(not_pem());
    }
    Ok(certs)
}

/// Read and check the files (at configuration time, so a bad file is a start-up error naming
/// the file and key). The key file's content never appears in an error.
pub(crate) fn load(files: &TlsFiles<'_>) -> Result<TlsSettings, ConfigError> {
    let mut settings = TlsSettings::default();
    if let Some(at) = files.ca {
        settings.ca_certificates = certificates(at)?;
        let mut store = rustls::RootCertStore::empty();
        for cert in &settings.ca_certificates {
            store.add(cert.clone()).map_err(|_| {
                err(
                    at.source,
                    at.key,
                    format!(
                        "{} holds a certificate that is not a valid CA certificate",
                        at.path.display()
                    ),
                )
            })?;
        }
    }
    match (files.cert, files.key) {
        (None, None) => {}
        (Some(at), None) | (None, Some(at)) => {
            return Err(err(
                at.source,
                at.key,
                "a client certificate and a client key go together: give both".to_owned(),
            ))
        }
        (Some(cert), Some(key)) => {
            let chain = certificates(cert)?;
            let bytes = read(key)?;
            let private = PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| {
                err(
                    key.source,
                    key.key,
                    format!(
                        "{} is not a PEM file with a private key (content not shown)",
                        key.path.display()
                    ),
                )
            })?;
            settings.identity = Some((chain, private));
            // Build once, so a key that does not match its certificate fails here.
            rustls_config(&settings).map_err(|_| {
                err(
                    key.source,
                    key.key,
                    format!(
                        "{} does not match the client certificate {} (content not shown)",
                        key.path.display(),
                        cert.path.display()
                    ),
                )
            })?;
        }
    }
    Ok(settings)
}

fn rustls_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in &settings.ca_certificates {
        roots.add(cert.clone())?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match &settings.identity {
        Some((chain, key)) => builder.with_client_auth_cert(chain.clone(), key.clone_key())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A reqwest client builder with TLS preconfigured (rustls + ring, the built-in roots plus
/// `settings`).
#[cfg(feature = "export-tls")]
pub fn client_builder_with(settings: &TlsSettings) -> Result<reqwest::ClientBuilder, ConfigError> {
    let config = rustls_config(settings).map_err(|e| ConfigError {
        source_name: "exporter".to_owned(),
        key: "tls".to_owned(),
        message: format!("unusable TLS settings: {e}"),
    })?;
    Ok(reqwest::Client::builder().tls_backend_preconfigured(config))
}

/// Without the `export-tls` feature reqwest has no TLS: plain builders, and TLS settings are
/// an error (https endpoints are already refused when the configuration is read).
#[cfg(not(feature = "export-tls"))]
pub fn client_builder_with(settings: &TlsSettings) -> Result<reqwest::ClientBuilder, ConfigError> {
    if settings.is_default() {
        return Ok(reqwest::Client::builder());
    }
    Err(ConfigError {
        source_name: "exporter".to_owned(),
        key: "tls".to_owned(),
        message: "TLS settings need tracegate built with its `export-tls` feature".to_owned(),
    })
}

/// A reqwest client builder with TLS preconfigured (rustls + ring, Mozilla's roots), for
/// programs that use the `export` feature and build their own clients (a plain
/// `reqwest::Client::new()` needs a rustls provider the program chooses).
pub fn client_builder() -> reqwest::ClientBuilder {
    client_builder_with(&TlsSettings::default()).unwrap_or_else(|_| reqwest::Client::builder())
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
