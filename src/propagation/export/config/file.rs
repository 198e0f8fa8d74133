//! The routing file (`TRACEGATE_EXPORT_CONFIG`): its YAML shape and validation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{
    check_endpoint, err, header_name, nice, positive, read_capped, secret, CappedReadError,
    ConfigError, Destination, ExportConfig, ENV_DESTINATION,
};
use crate::propagation::export::retry::RetryPolicy;
use crate::propagation::export::tls::{self, FileSetting, TlsFiles, TlsSettings};

/// Most bytes read from a header value's `file:` (credentials are a few hundred bytes).
pub const MAX_SECRET_FILE_BYTES: usize = 64 * 1024;
/// Most bytes read from the routing file (and from a TLS PEM file).
pub const MAX_CONFIG_FILE_BYTES: usize = 1024 * 1024;

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
    retry_on_failure: Option<RawRetry>,
    thread_nice: Option<u64>,
}

/// The `retry_on_failure:` block (the Collector's key names, in milliseconds).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    initial_interval_ms: Option<u64>,
    max_interval_ms: Option<u64>,
    /// 0: no time limit.
    max_elapsed_time_ms: Option<u64>,
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

pub(super) fn load_file(
    path: &Path,
    env_destination: Option<Destination>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ExportConfig, ConfigError> {
    let source = path.display().to_string();
    let bytes = read_capped(path, MAX_CONFIG_FILE_BYTES).map_err(|e| match e {
        CappedReadError::Io(e) => err(&source, "-", format!("cannot read the file: {e}")),
        CappedReadError::TooLarge => err(
            &source,
            "-",
            format!("the file is larger than {MAX_CONFIG_FILE_BYTES} bytes (not read)"),
        ),
    })?;
    let text =
        String::from_utf8(bytes).map_err(|_| err(&source, "-", "the file is not UTF-8 text"))?;
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

pub(super) fn parse_yaml(
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
                }) => read_secret_file(source, &hkey, &file)?,
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
    if let Some(retry) = raw.retry_on_failure {
        config.retry = retry_policy(source, retry)?;
    }
    if let Some(n) = raw.thread_nice {
        config.thread_nice = nice(source, "thread_nice", n)?;
    }
    config.cap_batch_size();
    Ok(config)
}

fn retry_policy(source: &str, raw: RawRetry) -> Result<RetryPolicy, ConfigError> {
    let mut policy = RetryPolicy::default();
    if let Some(ms) = raw.initial_interval_ms {
        policy.initial_interval = Duration::from_millis(ms.max(1));
    }
    if let Some(ms) = raw.max_interval_ms {
        policy.max_interval = Duration::from_millis(ms.max(1));
    }
    if policy.initial_interval > policy.max_interval {
        return Err(err(
            source,
            "retry_on_failure.initial_interval_ms",
            format!(
                "must not be larger than max_interval_ms ({} ms)",
                policy.max_interval.as_millis()
            ),
        ));
    }
    if let Some(ms) = raw.max_elapsed_time_ms {
        policy.max_elapsed_time = (ms > 0).then(|| Duration::from_millis(ms));
    }
    Ok(policy)
}

/// A header value from a mounted file, read up to [`MAX_SECRET_FILE_BYTES`] (a file that
/// does not end there, such as a device or a wrongly mounted volume, is an error).
fn read_secret_file(source: &str, key: &str, file: &Path) -> Result<String, ConfigError> {
    let bytes = read_capped(file, MAX_SECRET_FILE_BYTES).map_err(|e| match e {
        CappedReadError::Io(e) => err(
            source,
            key,
            format!("cannot read {}: {}", file.display(), e.kind()),
        ),
        CappedReadError::TooLarge => err(
            source,
            key,
            format!(
                "{} is larger than {MAX_SECRET_FILE_BYTES} bytes (value not read)",
                file.display()
            ),
        ),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        err(
            source,
            key,
            format!("{} is not UTF-8 text (value not shown)", file.display()),
        )
    })?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}
