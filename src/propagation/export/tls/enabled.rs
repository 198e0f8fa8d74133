//! TLS material with the `export-tls` feature: rustls with the ring provider.

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{err, read, FileSetting, TlsFiles};
use crate::propagation::export::config::ConfigError;

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
pub fn client_builder_with(settings: &TlsSettings) -> Result<reqwest::ClientBuilder, ConfigError> {
    let config = rustls_config(settings).map_err(|e| ConfigError {
        source_name: "exporter".to_owned(),
        key: "tls".to_owned(),
        message: format!("unusable TLS settings: {e}"),
    })?;
    Ok(reqwest::Client::builder().tls_backend_preconfigured(config))
}

/// A reqwest client builder with TLS preconfigured (rustls + ring, Mozilla's roots), for
/// programs that use the `export` feature and build their own clients (a plain
/// `reqwest::Client::new()` needs a rustls provider the program chooses).
pub fn client_builder() -> reqwest::ClientBuilder {
    client_builder_with(&TlsSettings::default()).unwrap_or_else(|_| reqwest::Client::builder())
}
