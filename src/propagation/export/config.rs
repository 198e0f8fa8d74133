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
//! batch_size: 512
//! batch_timeout_ms: 1000
//! timeout_ms: 10000
//! max_attempts: 3
//! thread_nice: 10          # the export thread's nice value (Linux), 0 = same as the service
//! ```
//!
//! Header values are held as [`Secret`]s: they are never formatted, logged or quoted in errors;
//! neither is a client key ([`TlsSettings`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::tls::{self, FileSetting, TlsFiles, TlsSettings};

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
/// Attempts per batch and destination (first try included).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
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
    /// Spans per export request.
    pub batch_size: usize,
    /// Longest wait before a partial batch is sent.
    pub batch_timeout: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per batch and destination before the batch is dropped.
    pub max_attempts: u32,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    destinations: BTreeMap<String, RawDestination>,
    #[serde(default)]
    default: Vec<String>,
    #[serde(default)]
    tenants: BTreeMap<String, Vec<String>>,
    queue_size: Option<u64>,
    batch_size: Option<u64>,
    batch_timeout_ms: Option<u64>,
    timeout_ms: Option<u64>,
    max_attempts: Option<u32>,
    thread_nice: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    endpoint: String,
    #[serde(default)]
    headers: BTreeMap<String, RawHeaderValue>,
    #[serde(default)]
    shared: bool,
    tls: Option<RawTls>,
}

/// A destination's `tls:` block (the OpenTelemetry Collector's key names).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    ca_file: Option<PathBuf>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawHeaderValue {
    Literal(String),
    From(RawSecretSource),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecretSource {
    env: Option<String>,
    file: Option<PathBuf>,
}

fn load_file(
    path: &Path,
    env_destination: Option<Destination>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ExportConfig, ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(&source, "-", format!("cannot read the file: {e}")))?;
    parse_yaml(&source, &text, env_destination, env)
}

/// Quoted fragments of a YAML error may contain a value: replace them.
fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if !inside {
                out.push_str("\"…\"");
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

fn parse_yaml(
    source: &str,
    text: &str,
    env_destination: Option<Destination>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ExportConfig, ConfigError> {
    let raw: RawFile = serde_yaml::from_str(text).map_err(|e| {
        let key = e
            .location()
            .map(|l| format!("line {}", l.line()))
            .unwrap_or_else(|| "-".to_owned());
        err(source, key, redact(&e.to_string()))
    })?;
    let mut config = ExportConfig::single("http://127.0.0.1:4318/v1/traces");
    config.destinations.clear();
    config.default_route.clear();
    if let Some(destination) = env_destination {
        config
            .destinations
            .insert(ENV_DESTINATION.to_owned(), destination);
    }
    for (name, raw_destination) in raw.destinations {
        let key = format!("destinations.{name}");
        if name == ENV_DESTINATION && config.destinations.contains_key(ENV_DESTINATION) {
            return Err(err(
                source,
                &key,
                "the name `otlp` is taken by OTEL_EXPORTER_OTLP_ENDPOINT; rename it",
            ));
        }
        let endpoint = check_endpoint(
            source,
            &format!("{key}.endpoint"),
            raw_destination.endpoint.trim(),
            false,
        )?;
        let mut headers = Vec::new();
        for (header, value) in raw_destination.headers {
            let hkey = format!("{key}.headers.{header}");
            let name = header_name(source, &hkey, &header)?;
            let value = match value {
                RawHeaderValue::Literal(v) => v,
                RawHeaderValue::From(RawSecretSource {
                    env: Some(var),
                    file: None,
                }) => env(&var).ok_or_else(|| {
                    err(
                        source,
                        &hkey,
                        format!("environment variable {var} is not set"),
                    )
                })?,
                RawHeaderValue::From(RawSecretSource {
                    env: None,
                    file: Some(file),
                }) => std::fs::read_to_string(&file)
                    .map(|v| v.trim_end_matches(['\r', '\n']).to_owned())
                    .map_err(|e| {
                        err(
                            source,
                            &hkey,
                            format!("cannot read {}: {}", file.display(), e.kind()),
                        )
                    })?,
                RawHeaderValue::From(_) => {
                    return Err(err(source, &hkey, "give exactly one of `env` or `file`"))
                }
            };
            headers.push((name, secret(source, &hkey, value.trim())?));
        }
        let tls = match &raw_destination.tls {
            None => TlsSettings::default(),
            Some(_) if !endpoint.starts_with("https://") => {
                return Err(err(
                    source,
                    format!("{key}.tls"),
                    "applies only to an https:// endpoint",
                ))
            }
            Some(raw) => {
                let [ca, cert, keyfile] =
                    ["ca_file", "cert_file", "key_file"].map(|k| format!("{key}.tls.{k}"));
                fn setting<'a>(
                    source: &'a str,
                    key: &'a str,
                    path: &'a Option<PathBuf>,
                ) -> Option<FileSetting<'a>> {
                    path.as_deref()
                        .map(|path| FileSetting { source, key, path })
                }
                tls::load(&TlsFiles {
                    ca: setting(source, &ca, &raw.ca_file),
                    cert: setting(source, &cert, &raw.cert_file),
                    key: setting(source, &keyfile, &raw.key_file),
                })?
            }
        };
        config.destinations.insert(
            name.clone(),
            Destination {
                name,
                endpoint,
                headers,
                shared: raw_destination.shared,
                tls,
            },
        );
    }
    if config.destinations.is_empty() {
        return Err(err(
            source,
            "destinations",
            "no destination declared (and no OTEL_EXPORTER_OTLP_ENDPOINT)",
        ));
    }
    let check_route = |key: &str, route: &[String]| -> Result<(), ConfigError> {
        if route.is_empty() {
            return Err(err(source, key, "the route lists no destination"));
        }
        match route
            .iter()
            .find(|name| !config.destinations.contains_key(*name))
        {
            Some(unknown) => Err(err(source, key, format!("unknown destination `{unknown}`"))),
            None => Ok(()),
        }
    };
    let default_route = if raw.default.is_empty() {
        if config.destinations.contains_key(ENV_DESTINATION) {
            vec![ENV_DESTINATION.to_owned()]
        } else if config.destinations.len() == 1 {
            config.destinations.keys().cloned().collect()
        } else {
            Vec::new()
        }
    } else {
        check_route("default", &raw.default)?;
        raw.default
    };
    for (tenant, route) in &raw.tenants {
        let key = format!("tenants.{tenant}");
        if crate::propagation::TenantId::new(tenant).is_none() {
            return Err(err(
                source,
                &key,
                "tenant IDs are 1-64 characters of [A-Za-z0-9._:-]",
            ));
        }
        check_route(&key, route)?;
    }
    config.default_route = default_route;
    config.tenants = raw.tenants;
    if let Some(n) = raw.queue_size {
        config.queue_size = positive(source, "queue_size", n)?;
    }
    if let Some(n) = raw.batch_size {
        config.batch_size = positive(source, "batch_size", n)?;
    }
    if let Some(ms) = raw.batch_timeout_ms {
        config.batch_timeout = Duration::from_millis(ms.max(1));
    }
    if let Some(ms) = raw.timeout_ms {
        config.timeout = Duration::from_millis(ms.max(1));
    }
    if let Some(n) = raw.max_attempts {
        if n == 0 {
            return Err(err(source, "max_attempts", "must be at least 1"));
        }
        config.max_attempts = n;
    }
    if let Some(n) = raw.thread_nice {
        config.thread_nice = nice(source, "thread_nice", n)?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const FILE: &str = "
destinations:
  acme-tempo:
    endpoint: http://127.0.0.1:4318/v1/traces
    headers:
      authorization: { env: ACME_TOKEN }
      x-scope-orgid: acme
  platform:
    endpoint: http://collector:4318
    shared: true
default: [platform]
tenants:
  acme: [acme-tempo]
queue_size: 100
";

    #[test]
    fn file_with_routes_and_secrets() {
        let env = |k: &str| (k == "ACME_TOKEN").then(|| "Bearer s3cr3t".to_owned());
        let config = ExportConfig::from_yaml("routes.yaml", FILE, env).unwrap();
        assert_eq!(config.default_route, vec!["platform"]);
        assert_eq!(config.tenants["acme"], vec!["acme-tempo"]);
        assert_eq!(config.queue_size, 100);
        assert_eq!(config.batch_size, DEFAULT_BATCH_SIZE);
        let platform = &config.destinations["platform"];
        assert!(platform.shared);
        assert_eq!(platform.endpoint, "http://collector:4318/v1/traces");
        let acme = &config.destinations["acme-tempo"];
        assert_eq!(acme.headers[0].1.expose(), "Bearer s3cr3t");
        assert!(
            !format!("{config:?}").contains("s3cr3t"),
            "secrets never in Debug"
        );
    }

    #[test]
    fn errors_name_the_file_and_key_and_never_the_value() {
        let cases: Vec<(String, &str, &str)> = vec![
            (
                FILE.replace("ACME_TOKEN", "MISSING"),
                "destinations.acme-tempo.headers.authorization",
                "MISSING is not set",
            ),
            (
                FILE.replace("[acme-tempo]", "[nope]"),
                "tenants.acme",
                "unknown destination `nope`",
            ),
            (
                FILE.replace("http://collector:4318", "ftp://x"),
                "destinations.platform.endpoint",
                "http://",
            ),
            (
                FILE.replace("queue_size: 100", "queue_size: 0"),
                "queue_size",
                "positive",
            ),
            (
                FILE.replace(
                    "http://collector:4318",
                    "http://user:hunter2@collector:4318",
                ),
                "destinations.platform.endpoint",
                "credentials in the URL",
            ),
            (
                FILE.replace("shared: true", "sharde: true"),
                "line",
                "unknown field `sharde`",
            ),
            (
                FILE.replace("x-scope-orgid: acme", "x-scope-orgid: [\"hunter2\"]"),
                "line",
                "did not match",
            ),
            (
                FILE.replace("default: [platform]", "default: []")
                    .replace("tenants:", "tenants:\n  bad tenant: [platform]"),
                "tenants.bad tenant",
                "tenant IDs",
            ),
            (
                FILE.replace("queue_size: 100", "thread_nice: 20"),
                "thread_nice",
                "between 0 and 19",
            ),
        ];
        for (text, key, message) in cases {
            let env = |k: &str| (k == "ACME_TOKEN").then(|| "hunter2".to_owned());
            let e = ExportConfig::from_yaml("/etc/tracegate/routes.yaml", &text, env).unwrap_err();
            assert_eq!(e.source_name, "/etc/tracegate/routes.yaml");
            assert!(e.key.starts_with(key), "{e}");
            assert!(e.to_string().contains(message), "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn export_thread_nice_from_file_and_environment() {
        let default = ExportConfig::from_yaml("routes.yaml", FILE, |_| Some("t".into())).unwrap();
        assert_eq!(default.thread_nice, DEFAULT_THREAD_NICE);
        let text = FILE.replace("queue_size: 100", "thread_nice: 0");
        let file = ExportConfig::from_yaml("routes.yaml", &text, |_| Some("t".into())).unwrap();
        assert_eq!(file.thread_nice, 0, "0 keeps the service's priority");
        let env = |nice: &'static str| {
            move |k: &str| match k {
                "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318".to_owned()),
                THREAD_NICE_ENV => Some(nice.to_owned()),
                _ => None,
            }
        };
        let from_env = ExportConfig::from_lookup(env("19")).unwrap().unwrap();
        assert_eq!(from_env.thread_nice, 19);
        for bad in ["20", "-1", "low"] {
            let e = ExportConfig::from_lookup(env(bad)).unwrap_err();
            assert_eq!(e.source_name, THREAD_NICE_ENV, "{bad}: {e}");
        }
    }

    #[test]
    fn otel_environment_variables() {
        let env = |k: &str| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318/".to_owned()),
            "OTEL_EXPORTER_OTLP_HEADERS" => Some("api-key=a%3Db, x-org = 7".to_owned()),
            "OTEL_SERVICE_NAME" => Some("checkout".to_owned()),
            "OTEL_BSP_MAX_QUEUE_SIZE" => Some("64".to_owned()),
            _ => None,
        };
        let config = ExportConfig::from_lookup(env).unwrap().unwrap();
        let otlp = &config.destinations[ENV_DESTINATION];
        assert_eq!(otlp.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(otlp.headers[0].1.expose(), "a=b");
        assert_eq!(otlp.headers[1].0.as_str(), "x-org");
        assert_eq!(config.default_route, vec![ENV_DESTINATION]);
        assert_eq!(config.service_name.as_deref(), Some("checkout"));
        assert_eq!(config.queue_size, 64);

        let traces = |k: &str| {
            (k == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").then(|| "http://c:4318/custom".to_owned())
        };
        let config = ExportConfig::from_lookup(traces).unwrap().unwrap();
        assert_eq!(
            config.destinations[ENV_DESTINATION].endpoint,
            "http://c:4318/custom"
        );

        assert_eq!(ExportConfig::from_lookup(no_env).unwrap(), None);
        let disabled = |k: &str| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4318".to_owned()),
            "OTEL_SDK_DISABLED" => Some("true".to_owned()),
            _ => None,
        };
        assert_eq!(ExportConfig::from_lookup(disabled).unwrap(), None);
        let bad = |k: &str| (k == "OTEL_EXPORTER_OTLP_HEADERS").then(|| "novalue".to_owned());
        let bad_with_endpoint = |k: &str| {
            bad(k).or_else(|| (k == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://c".to_owned()))
        };
        let e = ExportConfig::from_lookup(bad_with_endpoint).unwrap_err();
        assert_eq!(e.source_name, "OTEL_EXPORTER_OTLP_HEADERS");
    }

    #[cfg(not(feature = "export-tls"))]
    #[test]
    fn https_endpoints_need_the_export_tls_feature() {
        let text = "destinations:\n  vendor:\n    endpoint: https://otlp.vendor.example\n";
        let e = ExportConfig::from_yaml("f.yaml", text, no_env).unwrap_err();
        assert_eq!(e.key, "destinations.vendor.endpoint", "{e}");
        assert!(e.to_string().contains("export-tls"), "{e}");
    }

    #[test]
    fn tls_settings_apply_to_https_endpoints_only() {
        // Pod-wide certificate variables do not disable an http export (with or without the
        // `export-tls` feature, and whether or not the file exists).
        let env = |k: &str| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4318".to_owned()),
            "OTEL_EXPORTER_OTLP_CERTIFICATE" => Some("/nonexistent/ca.pem".to_owned()),
            _ => None,
        };
        let config = ExportConfig::from_lookup(env).unwrap().unwrap();
        assert!(config.destinations[ENV_DESTINATION].tls.is_default());
        // In the file a `tls:` block is per destination: on an http endpoint it is a mistake.
        let text =
            "destinations:\n  c:\n    endpoint: http://c:4318\n    tls: {ca_file: /etc/ca.pem}\n";
        let e = ExportConfig::from_yaml("f.yaml", text, no_env).unwrap_err();
        assert_eq!(e.key, "destinations.c.tls", "{e}");
        assert!(e.to_string().contains("https://"), "{e}");
    }

    #[cfg(feature = "export-tls")]
    #[test]
    fn https_endpoints_are_accepted_with_the_built_in_roots() {
        let text = "destinations:\n  vendor:\n    endpoint: https://otlp.vendor.example\n";
        let config = ExportConfig::from_yaml("f.yaml", text, no_env).unwrap();
        let vendor = &config.destinations["vendor"];
        assert_eq!(vendor.endpoint, "https://otlp.vendor.example/v1/traces");
        assert!(vendor.tls.is_default());
        let env = |k: &str| {
            (k == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                .then(|| "https://c:4318/v1/traces".to_owned())
        };
        let config = ExportConfig::from_lookup(env).unwrap().unwrap();
        assert_eq!(
            config.destinations[ENV_DESTINATION].endpoint,
            "https://c:4318/v1/traces"
        );
    }

    #[test]
    fn header_values_from_files_and_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "Bearer from-file\n").unwrap();
        let text = format!(
            "destinations:\n  a:\n    endpoint: http://127.0.0.1:1/v1/traces\n    headers:\n      authorization: {{ file: {} }}\n",
            token.display()
        );
        let config = ExportConfig::from_yaml("f.yaml", &text, no_env).unwrap();
        assert_eq!(
            config.destinations["a"].headers[0].1.expose(),
            "Bearer from-file"
        );
        assert_eq!(
            config.default_route,
            vec!["a"],
            "a single destination is the default"
        );
        let missing = text.replace("token", "missing");
        let e = ExportConfig::from_yaml("f.yaml", &missing, no_env).unwrap_err();
        assert_eq!(e.key, "destinations.a.headers.authorization");
    }

    #[test]
    fn file_from_the_environment_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("routes.yaml");
        std::fs::write(&path, "destinations:\n  a:\n    endpoint: http://x:4318\n").unwrap();
        let p = path.display().to_string();
        let env = |k: &str| match k {
            CONFIG_ENV => Some(p.clone()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4318".to_owned()),
            _ => None,
        };
        let config = ExportConfig::from_lookup(env).unwrap().unwrap();
        assert_eq!(config.destinations.len(), 2);
        assert_eq!(config.default_route, vec![ENV_DESTINATION]);
        let gone = |k: &str| (k == CONFIG_ENV).then(|| "/nonexistent/routes.yaml".to_owned());
        let e = ExportConfig::from_lookup(gone).unwrap_err();
        assert_eq!(e.source_name, "/nonexistent/routes.yaml");
    }
}
