//! Unit tests of the export configuration.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::propagation::export::retry::RetryPolicy;

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
    assert_eq!(
        config.batch_size, 100,
        "the default 512 capped by the queue"
    );
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
        (k == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").then(|| "https://c:4318/v1/traces".to_owned())
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

#[test]
fn batch_size_is_capped_by_queue_size() {
    let text = FILE.replace("queue_size: 100", "queue_size: 100\nbatch_size: 512");
    let config = ExportConfig::from_yaml("f.yaml", &text, |_| Some("t".into())).unwrap();
    assert_eq!((config.queue_size, config.batch_size), (100, 100));
    // The default batch (512) under a small queue from the environment.
    let env = |k: &str| match k {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4318".to_owned()),
        "OTEL_BSP_MAX_QUEUE_SIZE" => Some("64".to_owned()),
        _ => None,
    };
    let config = ExportConfig::from_lookup(env).unwrap().unwrap();
    assert_eq!((config.queue_size, config.batch_size), (64, 64));
    // A file's queue under an environment batch: capped after both are applied.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("routes.yaml");
    std::fs::write(
        &path,
        "destinations:\n  a:\n    endpoint: http://x:4318\nqueue_size: 10\n",
    )
    .unwrap();
    let p = path.display().to_string();
    let env = |k: &str| match k {
        CONFIG_ENV => Some(p.clone()),
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" => Some("300".to_owned()),
        _ => None,
    };
    let config = ExportConfig::from_lookup(env).unwrap().unwrap();
    assert_eq!((config.queue_size, config.batch_size), (10, 10));
}

#[test]
fn retry_on_failure_block_and_defaults() {
    let default = ExportConfig::from_yaml("f.yaml", FILE, |_| Some("t".into())).unwrap();
    assert_eq!(default.retry, RetryPolicy::default());
    assert_eq!(
        default.retry.max_elapsed_time,
        Some(Duration::from_secs(300))
    );
    assert_eq!(default.max_attempts, DEFAULT_MAX_ATTEMPTS);
    let text = FILE.replace(
        "queue_size: 100",
        "retry_on_failure:\n  initial_interval_ms: 250\n  max_interval_ms: 2000\n  max_elapsed_time_ms: 10000\n",
    );
    let config = ExportConfig::from_yaml("f.yaml", &text, |_| Some("t".into())).unwrap();
    assert_eq!(config.retry.initial_interval, Duration::from_millis(250));
    assert_eq!(config.retry.max_interval, Duration::from_secs(2));
    assert_eq!(config.retry.max_elapsed_time, Some(Duration::from_secs(10)));
    let unlimited = FILE.replace(
        "queue_size: 100",
        "retry_on_failure: {max_elapsed_time_ms: 0}",
    );
    let config = ExportConfig::from_yaml("f.yaml", &unlimited, |_| Some("t".into())).unwrap();
    assert_eq!(config.retry.max_elapsed_time, None, "0: no time limit");
    let inverted = FILE.replace(
        "queue_size: 100",
        "retry_on_failure: {initial_interval_ms: 40000}",
    );
    let e = ExportConfig::from_yaml("f.yaml", &inverted, |_| Some("t".into())).unwrap_err();
    assert_eq!(e.key, "retry_on_failure.initial_interval_ms", "{e}");
    let typo = FILE.replace("queue_size: 100", "retry_on_failure: {max_elapsed: 5}");
    let e = ExportConfig::from_yaml("f.yaml", &typo, |_| Some("t".into())).unwrap_err();
    assert!(e.to_string().contains("unknown field `max_elapsed`"), "{e}");
}

#[test]
fn header_file_larger_than_the_limit_is_an_error_not_a_header() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "a".repeat(MAX_SECRET_FILE_BYTES + 1)).unwrap();
    let text = format!(
        "destinations:\n  a:\n    endpoint: http://127.0.0.1:1/v1/traces\n    headers:\n      authorization: {{ file: {} }}\n",
        token.display()
    );
    let e = ExportConfig::from_yaml("f.yaml", &text, no_env).unwrap_err();
    assert_eq!(e.key, "destinations.a.headers.authorization", "{e}");
    assert!(e.to_string().contains("larger than 65536 bytes"), "{e}");
    assert!(!e.to_string().contains("aaaa"), "{e}");
    // Exactly at the limit is accepted (and a trailing newline trimmed).
    std::fs::write(&token, "b".repeat(MAX_SECRET_FILE_BYTES - 1) + "\n").unwrap();
    let config = ExportConfig::from_yaml("f.yaml", &text, no_env).unwrap();
    assert_eq!(
        config.destinations["a"].headers[0].1.expose().len(),
        MAX_SECRET_FILE_BYTES - 1
    );
}

#[test]
fn routing_and_tls_files_are_read_up_to_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.yaml");
    let mut text = "destinations:\n  a:\n    endpoint: http://x:4318\n".to_owned();
    text.push_str(&"# padding\n".repeat(MAX_CONFIG_FILE_BYTES / 10 + 1));
    std::fs::write(&routes, &text).unwrap();
    let p = routes.display().to_string();
    let env = |k: &str| (k == CONFIG_ENV).then(|| p.clone());
    let e = ExportConfig::from_lookup(env).unwrap_err();
    assert_eq!((e.source_name.as_str(), e.key.as_str()), (p.as_str(), "-"));
    assert!(e.to_string().contains("larger than 1048576 bytes"), "{e}");
    // TLS files only exist with the `export-tls` feature (without it an https endpoint is
    // refused before any file is read).
    #[cfg(feature = "export-tls")]
    {
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, vec![b'x'; MAX_CONFIG_FILE_BYTES + 1]).unwrap();
        let text = format!(
            "destinations:\n  v:\n    endpoint: https://v.example\n    tls: {{ca_file: {}}}\n",
            ca.display()
        );
        let e = ExportConfig::from_yaml("f.yaml", &text, no_env).unwrap_err();
        assert_eq!(e.key, "destinations.v.tls.ca_file", "{e}");
        assert!(e.to_string().contains("larger than 1048576 bytes"), "{e}");
    }
}
