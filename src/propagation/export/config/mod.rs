//! Export configuration: the standard `OTEL_*` environment variables and a YAML file (path in
//! `TRACEGATE_EXPORT_CONFIG`, typically a mounted ConfigMap) with named destinations, a default
//! route, per-tenant routes and shared destinations. Destinations never come from code.
//!
//! ```yaml
//! destinations:
//!   acme-tempo:
//!     endpoint: http://tempo-acme:4318/v1/traces
//!     headers:
//!       authorization: { env: ACME_TEMPO_TOKEN }      # or { file: /var/run/secrets/token }
//!       x-scope-orgid: acme                           # a literal (not a secret)
//!   platform:
//!     endpoint: http://collector:4318                 # /v1/traces is appended to a bare host
//!     shared: true                                    # receives every tenant's spans
//!   vendor:
//!     endpoint: https://otlp.vendor.example/v1/traces
//!     tls:                                            # all optional
//!       ca_file: /etc/tracegate/vendor-ca.pem         # trusted in addition to the built-in roots
//!       cert_file: /var/run/secrets/client.pem        # client certificate (mutual TLS) ...
//!       key_file: /var/run/secrets/client-key.pem     # ... and its key
//! default: [platform]                                 # spans with no or an unrouted tenant
//! tenants:
//!   acme: [acme-tempo]
//! queue_size: 2048
//! batch_size: 512          # capped at queue_size
//! batch_timeout_ms: 1000
//! timeout_ms: 10000
//! retry_on_failure:        # the Collector's names and defaults (in ms)
//!   initial_interval_ms: 5000
//!   max_interval_ms: 30000
//!   max_elapsed_time_ms: 300000   # per batch and destination; 0 = no time limit
//! max_attempts: 3          # optional extra cap (default: none)
//! thread_nice: 10          # the export thread's nice value (Linux), 0 = same as the service
//! ```
//!
//! Header values are held as [`Secret`]s: they are never formatted, logged or quoted in errors;
//! neither is a client key ([`TlsSettings`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::retry::RetryPolicy;
use super::tls::{self, FileSetting, TlsFiles, TlsSettings};
use http::header::{HeaderName, HeaderValue};

mod file;
use file::{load_file, parse_yaml};
pub use file::{MAX_CONFIG_FILE_BYTES, MAX_SECRET_FILE_BYTES};

/// Path of the YAML routing file.
pub const CONFIG_ENV: &str = "TRACEGATE_EXPORT_CONFIG";
/// Name of the destination built from `OTEL_EXPORTER_OTLP_*` variables (usable in routes).
pub const ENV_DESTINATION: &str = "otlp";

/// Defaults (OpenTelemetry batch span processor defaults).
pub const DEFAULT_QUEUE_SIZE: usize = 2048;
/// Spans per export request.
pub const DEFAULT_BATCH_SIZE: usize = 512;
/// Longest wait before a partial batch is sent.
pub const DEFAULT_BATCH_TIMEOUT: Duration = Duration::from_secs(1);
/// Per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per batch and destination (first try included): no limit by default, the retry
/// policy's `max_elapsed_time` ends the retries (as the Collector's `retry_on_failure`).
pub const DEFAULT_MAX_ATTEMPTS: u32 = u32::MAX;
/// The export thread's default nice increment (Linux): low enough to give way to request
/// threads on busy cores, high enough to keep up when they are idle (see
/// `docs/reference-library.md`).
pub const DEFAULT_THREAD_NICE: u8 = 10;
/// The largest nice increment (Linux nice values run from -20 to 19).
pub const MAX_THREAD_NICE: u8 = 19;
/// Environment variable overriding the export thread's nice increment.
pub const THREAD_NICE_ENV: &str = "TRACEGATE_EXPORT_THREAD_NICE";

/// A configuration error. Its message names the source (file or variable) and the key, and
/// never contains a header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {key}: {message}")]
pub struct ConfigError {
    /// The file path or environment variable the error is in.
    pub source_name: String,
    /// The key (`destinations.acme.endpoint`), or `-` for the whole file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn err(source: &str, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        source_name: source.to_owned(),
        key: key.into(),
        message: message.into(),
    }
}

/// A header value that may be a credential: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(HeaderValue);

impl Secret {
    /// The value, for sending.
    pub fn expose(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One export destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Its name in the configuration.
    pub name: String,
    /// The OTLP/HTTP traces URL (`http://host:4318/v1/traces`).
    pub endpoint: String,
    /// Headers sent with every request (values are secrets).
    pub headers: Vec<(HeaderName, Secret)>,
    /// Receives every tenant's spans in addition to the tenant's own routes.
    pub shared: bool,
    /// Extra CA certificates and client identity for an `https://` endpoint.
    pub tls: TlsSettings,
}

/// The validated export configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportConfig {
    /// `OTEL_SERVICE_NAME`, when set.
    pub service_name: Option<String>,
    /// Destinations by name.
    pub destinations: BTreeMap<String, Destination>,
    /// Destinations for spans without a tenant, or whose tenant has no route.
    pub default_route: Vec<String>,
    /// Per-tenant routes.
    pub tenants: BTreeMap<String, Vec<String>>,
    /// Bounded queue between span end and the exporter task.
    pub queue_size: usize,
    /// Spans per export request; at most `queue_size` (a larger value is capped when the
    /// configuration is read, and by the exporter).
    pub batch_size: usize,
    /// Longest wait before a partial batch is sent.
    pub batch_timeout: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per batch and destination before the batch is dropped (also bounded by
    /// `retry.max_elapsed_time`).
    pub max_attempts: u32,
    /// Waiting between attempts, and the per-batch time budget (the file's
    /// `retry_on_failure` block).
    pub retry: RetryPolicy,
    /// How much lower than the service's threads the export thread is scheduled (Linux nice
    /// increment, 0–19): batching, encoding and sending give way to request handling when
    /// the cores are busy. `TRACEGATE_EXPORT_THREAD_NICE` or the file's `thread_nice`.
    pub thread_nice: u8,
}

impl ExportConfig {
    /// A configuration with one destination that is the default route.
    pub fn single(endpoint: &str) -> Self {
        let destination = Destination {
            name: ENV_DESTINATION.to_owned(),
            endpoint: endpoint.to_owned(),
            headers: Vec::new(),
            shared: false,
            tls: TlsSettings::default(),
        };
        ExportConfig {
            service_name: None,
            destinations: BTreeMap::from([(ENV_DESTINATION.to_owned(), destination)]),
            default_route: vec![ENV_DESTINATION.to_owned()],
            tenants: BTreeMap::new(),
            queue_size: DEFAULT_QUEUE_SIZE,
            batch_size: DEFAULT_BATCH_SIZE,
            batch_timeout: DEFAULT_BATCH_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            retry: RetryPolicy::default(),
            thread_nice: DEFAULT_THREAD_NICE,
        }
    }

    /// Read the process environment (and the file it names). `Ok(None)`: nothing configured.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ExportConfig::from_env`], with variables from `env` (for tests and embedding).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if get("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
            || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim() == "none")
        {
            return Ok(None);
        }
        let env_destination = env_destination(&get)?;
        let file = get(CONFIG_ENV);
        let mut config = match (file, env_destination) {
            (None, None) => return Ok(None),
            (None, Some(destination)) => {
                let mut config = Self::single(&destination.endpoint);
                config
                    .destinations
                    .insert(ENV_DESTINATION.to_owned(), destination);
                config
            }
            (Some(path), destination) => load_file(Path::new(&path), destination, &get)?,
        };
        config.service_name = get("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned());
        apply_bsp_env(&mut config, &get)?;
        config.cap_batch_size();
        Ok(Some(config))
    }

    /// Parse a YAML routing file's text (`source` names it in errors). `env` resolves
    /// `{ env: NAME }` header values.
    pub fn from_yaml(
        source: &str,
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        parse_yaml(source, text, None, &env)
    }

    /// A batch is never larger than the queue (as the OpenTelemetry batch span processor's
    /// `maxExportBatchSize` ≤ `maxQueueSize`): cap it.
    fn cap_batch_size(&mut self) {
        self.batch_size = self.batch_size.min(self.queue_size);
    }
}

fn env_destination(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Destination>, ConfigError> {
    let endpoint = if let Some(traces) = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        check_endpoint(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "-",
            traces.trim(),
            false,
        )?
    } else if let Some(base) = get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", "-", base.trim(), true)?
    } else {
        return Ok(None);
    };
    let mut headers = Vec::new();
    for var in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ] {
        if let Some(list) = get(var) {
            for (index, pair) in list.split(',').filter(|p| !p.trim().is_empty()).enumerate() {
                let key = format!("entry {}", index + 1);
                let (name, value) = pair
                    .split_once('=')
                    .ok_or_else(|| err(var, &key, "expected key=value"))?;
                let name = header_name(var, &key, &percent_decode(name.trim()))?;
                let value = secret(var, name.as_str(), &percent_decode(value.trim()))?;
                headers.retain(|(n, _): &(HeaderName, Secret)| n != name);
                headers.push((name, value));
            }
        }
    }
    // The certificate variables are often set for a whole pod or namespace; they only mean
    // something for an https endpoint, so an http one ignores them.
    let tls = if endpoint.starts_with("https://") {
        env_tls(get)?
    } else {
        TlsSettings::default()
    };
    Ok(Some(Destination {
        name: ENV_DESTINATION.to_owned(),
        endpoint,
        headers,
        shared: false,
        tls,
    }))
}

/// `OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`, `…CLIENT_CERTIFICATE`, `…CLIENT_KEY` (the
/// traces-specific variable wins, as for the endpoint).
fn env_tls(get: &impl Fn(&str) -> Option<String>) -> Result<TlsSettings, ConfigError> {
    let pick = |suffix: &str| -> Option<(String, PathBuf)> {
        [
            format!("OTEL_EXPORTER_OTLP_TRACES_{suffix}"),
            format!("OTEL_EXPORTER_OTLP_{suffix}"),
        ]
        .into_iter()
        .find_map(|var| get(&var).map(|path| (var, PathBuf::from(path.trim()))))
    };
    let (ca, cert, key) = (
        pick("CERTIFICATE"),
        pick("CLIENT_CERTIFICATE"),
        pick("CLIENT_KEY"),
    );
    fn setting(found: &Option<(String, PathBuf)>) -> Option<FileSetting<'_>> {
        found.as_ref().map(|(var, path)| FileSetting {
            source: var,
            key: "-",
            path,
        })
    }
    tls::load(&TlsFiles {
        ca: setting(&ca),
        cert: setting(&cert),
        key: setting(&key),
    })
}

fn apply_bsp_env(
    config: &mut ExportConfig,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let number = |var: &str| -> Result<Option<u64>, ConfigError> {
        get(var)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| err(var, "-", "expected a non-negative integer"))
            })
            .transpose()
    };
    if let Some(n) = number("OTEL_BSP_MAX_QUEUE_SIZE")? {
        config.queue_size = positive("OTEL_BSP_MAX_QUEUE_SIZE", "-", n)?;
    }
    if let Some(n) = number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")? {
        config.batch_size = positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "-", n)?;
    }
    if let Some(ms) = number("OTEL_BSP_SCHEDULE_DELAY")? {
        config.batch_timeout = Duration::from_millis(ms.max(1));
    }
    if let Some(ms) = number("OTEL_EXPORTER_OTLP_TIMEOUT")? {
        config.timeout = Duration::from_millis(ms.max(1));
    }
    if let Some(n) = number(THREAD_NICE_ENV)? {
        config.thread_nice = nice(THREAD_NICE_ENV, "-", n)?;
    }
    Ok(())
}

fn nice(source: &str, key: &str, n: u64) -> Result<u8, ConfigError> {
    match u8::try_from(n) {
        Ok(n) if n <= MAX_THREAD_NICE => Ok(n),
        _ => Err(err(
            source,
            key,
            format!("must be between 0 and {MAX_THREAD_NICE}"),
        )),
    }
}

fn positive(source: &str, key: &str, n: u64) -> Result<usize, ConfigError> {
    match usize::try_from(n) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(err(source, key, "must be a positive integer")),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Check an endpoint; `append` adds `/v1/traces` (the generic endpoint, or a bare host).
fn check_endpoint(
    source: &str,
    key: &str,
    endpoint: &str,
    append: bool,
) -> Result<String, ConfigError> {
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|_| err(source, key, "not a valid URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") if cfg!(feature = "export-tls") => {}
        Some("https") => {
            return Err(err(
                source,
                key,
                "https:// needs tracegate built with its `export-tls` feature (this build has \
                 no TLS); or export to a local collector over http://",
            ))
        }
        _ => {
            return Err(err(
                source,
                key,
                "the URL must start with http:// or https://",
            ))
        }
    }
    if uri.host().is_none() {
        return Err(err(source, key, "the URL has no host"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(err(
            source,
            key,
            "credentials in the URL are not accepted (URL not shown); send them in a header \
             from `env` or `file`",
        ));
    }
    let path = uri.path();
    let base = endpoint.trim_end_matches('/');
    if append || path.is_empty() || path == "/" {
        Ok(format!("{base}/v1/traces"))
    } else {
        Ok(endpoint.to_owned())
    }
}

fn header_name(source: &str, key: &str, name: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| err(source, key, "not a valid HTTP header name"))
}

fn secret(source: &str, key: &str, value: &str) -> Result<Secret, ConfigError> {
    HeaderValue::from_str(value)
        .map(|mut v| {
            v.set_sensitive(true);
            Secret(v)
        })
        .map_err(|_| {
            err(
                source,
                key,
                "the value is not a valid HTTP header value (value not shown)",
            )
        })
}

/// Why a size-limited read failed.
#[derive(Debug)]
pub(crate) enum CappedReadError {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// The file is larger than the limit (or never ends, like a device).
    TooLarge,
}

/// Read `path` whole if it is at most `limit` bytes long; only `limit + 1` bytes are ever read.
pub(crate) fn read_capped(path: &Path, limit: usize) -> Result<Vec<u8>, CappedReadError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(CappedReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(CappedReadError::Io)?;
    if bytes.len() > limit {
        return Err(CappedReadError::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;
