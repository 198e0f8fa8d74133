//! The exporter against real `https://` OTLP receivers on 127.0.0.1: a test CA and server (and
//! client) certificates are made at test time with rcgen; the receiver is the tests' axum OTLP
//! receiver served through tokio-rustls.
#![allow(clippy::unwrap_used)]

mod common;

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{Mode, Receiver};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio_rustls::rustls::{self, pki_types};
use tower::{service_fn, Layer, ServiceExt};
use tracegate::propagation::export::{ConfigError, ExportConfig, ExportStats, Exporter};
use tracegate::propagation::server::TraceLayer;
use tracegate::propagation::{OperationName, SpanKind, Telemetry, TenantId, TraceContext};

/// A test PKI in a temporary directory: a CA, a server certificate for 127.0.0.1/localhost and
/// a client certificate, all signed by the CA.
struct Pki {
    dir: tempfile::TempDir,
    ca_der: pki_types::CertificateDer<'static>,
    server_chain: Vec<pki_types::CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tracegate test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server = server_params.signed_by(&server_key, &ca).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "tracegate exporter");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = client_params.signed_by(&client_key, &ca).unwrap();
        std::fs::write(dir.path().join("client.pem"), client.pem()).unwrap();
        std::fs::write(
            dir.path().join("client-key.pem"),
            client_key.serialize_pem(),
        )
        .unwrap();

        Pki {
            ca_der: ca.der().clone(),
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server_config(&self, require_client_cert: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = pki_types::PrivateKeyDer::Pkcs8(self.server_key.clone().into());
        let mut config = builder
            .with_single_cert(self.server_chain.clone(), key)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// An OTLP/HTTP receiver over TLS on 127.0.0.1; counts handshakes that failed.
struct TlsReceiver {
    receiver: Receiver,
    port: u16,
    failed_handshakes: Arc<AtomicU64>,
}

impl TlsReceiver {
    async fn start(config: Arc<rustls::ServerConfig>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver::default();
        let app = common::app(&receiver, Mode::Ok);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let failed_handshakes = Arc::new(AtomicU64::new(0));
        let failed = Arc::clone(&failed_handshakes);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, app, failed) = (acceptor.clone(), app.clone(), failed.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        app.clone().oneshot(request.map(axum::body::Body::new))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        TlsReceiver {
            receiver,
            port,
            failed_handshakes,
        }
    }

    fn endpoint(&self, host: &str) -> String {
        format!("https://{host}:{}/v1/traces", self.port)
    }
}

fn record(telemetry: &Telemetry, n: usize) {
    for _ in 0..n {
        let mut span = telemetry.start(
            &TraceContext::new_root(),
            SpanKind::Server,
            OperationName::fixed("POST /orders"),
        );
        span.set_http_status(201);
        span.set_tenant(TenantId::new("acme"));
        span.end();
    }
}

/// Record `n` spans through an exporter with `config` and shut it down.
async fn export(config: &ExportConfig, n: usize) -> ExportStats {
    let exporter = Arc::new(Exporter::start(config).unwrap());
    let telemetry = Telemetry::new("orders", exporter.clone());
    record(&telemetry, n);
    exporter.shutdown(Duration::from_secs(10)).await
}

fn yaml(endpoint: &str, tls: &str) -> ExportConfig {
    let text = format!(
        "destinations:\n  vendor:\n    endpoint: '{endpoint}'\n{tls}batch_timeout_ms: 20\n\
         timeout_ms: 2000\nmax_attempts: 2\nretry_on_failure: {{initial_interval_ms: 100}}\n"
    );
    ExportConfig::from_yaml("routes.yaml", &text, |_| None).unwrap()
}

fn lookup(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_ca_file_spans_reach_an_https_receiver() {
    let pki = Pki::new();
    let server = TlsReceiver::start(pki.server_config(false)).await;

    // The YAML destination's `tls.ca_file`, by IP address.
    let tls = format!(
        "    tls:\n      ca_file: '{}'\n",
        pki.path("ca.pem").display()
    );
    let stats = export(&yaml(&server.endpoint("127.0.0.1"), &tls), 300).await;
    assert_eq!((stats.queued, stats.exported), (300, 300), "{stats:?}");
    assert_eq!((stats.dropped, stats.failed), (0, 0), "{stats:?}");
    let spans = server.receiver.wait_for(300, Duration::from_secs(5)).await;
    assert_eq!(spans.len(), 300);
    assert!(spans.iter().all(|s| s.service == "orders"));
    assert!(spans
        .iter()
        .all(|s| s.attr_str("tenant.id").as_deref() == Some("acme")));
    assert!(spans
        .iter()
        .all(|s| s.attr_int("http.response.status_code") == Some(201)));

    // The standard variables, by host name: the traces-specific ones win over the generic.
    let env = lookup(vec![
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://nowhere.invalid:1".to_owned(),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            server.endpoint("localhost"),
        ),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            "/nonexistent/ca.pem".to_owned(),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            pki.path("ca.pem").display().to_string(),
        ),
    ]);
    let config = ExportConfig::from_lookup(env).unwrap().unwrap();
    assert_eq!(
        config.destinations["otlp"].endpoint,
        server.endpoint("localhost")
    );
    let stats = export(&config, 40).await;
    assert_eq!((stats.exported, stats.failed), (40, 0), "{stats:?}");
    assert_eq!(
        server
            .receiver
            .wait_for(340, Duration::from_secs(5))
            .await
            .len(),
        340
    );
    assert_eq!(server.failed_handshakes.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_file_export_fails_and_requests_are_unaffected() {
    let pki = Pki::new();
    let server = TlsReceiver::start(pki.server_config(false)).await;
    let config = yaml(&server.endpoint("127.0.0.1"), "");
    let exporter = Arc::new(Exporter::start(&config).unwrap());
    let telemetry = Telemetry::new("orders", exporter.clone());
    let service =
        TraceLayer::new(telemetry).layer(service_fn(|_request: http::Request<String>| async {
            Ok::<_, Infallible>(http::Response::new("ok".to_owned()))
        }));
    for _ in 0..200 {
        let response = service
            .clone()
            .oneshot(http::Request::new(String::new()))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("traceresponse"));
    }
    let stats = exporter.shutdown(Duration::from_secs(10)).await;
    assert_eq!(stats.queued, 200, "{stats:?}");
    assert_eq!(stats.exported, 0, "{stats:?}");
    assert_eq!(
        stats.failed, 200,
        "an untrusted certificate fails every delivery: {stats:?}"
    );
    assert!(server.receiver.spans().is_empty());
    assert!(
        server.failed_handshakes.load(Ordering::Relaxed) > 0,
        "the client rejected the server certificate during the handshake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_a_client_certificate_and_key() {
    let pki = Pki::new();
    let server = TlsReceiver::start(pki.server_config(true)).await;
    let endpoint = server.endpoint("localhost");
    let env = lookup(vec![
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            endpoint.replace("/v1/traces", ""),
        ),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.path("ca.pem").display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            pki.path("client.pem").display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            pki.path("client-key.pem").display().to_string(),
        ),
    ]);
    let config = ExportConfig::from_lookup(env).unwrap().unwrap();
    let debug = format!("{config:?}");
    let key_pem = std::fs::read_to_string(pki.path("client-key.pem")).unwrap();
    let key_body = key_pem.lines().nth(1).unwrap();
    assert!(
        !debug.contains(key_body),
        "the client key is never formatted"
    );
    assert!(debug.contains("key(***)"), "{debug}");
    let stats = export(&config, 25).await;
    assert_eq!((stats.exported, stats.failed), (25, 0), "{stats:?}");
    assert_eq!(
        server
            .receiver
            .wait_for(25, Duration::from_secs(5))
            .await
            .len(),
        25
    );

    // The same CA without the client certificate: the server refuses the handshake.
    let tls = format!(
        "    tls:\n      ca_file: '{}'\n",
        pki.path("ca.pem").display()
    );
    let stats = export(&yaml(&endpoint, &tls), 10).await;
    assert_eq!((stats.exported, stats.failed), (0, 10), "{stats:?}");
    assert_eq!(server.receiver.spans().len(), 25);
}

fn yaml_error(tls: &str) -> ConfigError {
    let text = format!("destinations:\n  vendor:\n    endpoint: https://127.0.0.1:1\n{tls}");
    ExportConfig::from_yaml("/etc/tracegate/routes.yaml", &text, |_| None).unwrap_err()
}

fn env_error(vars: Vec<(&'static str, String)>) -> ConfigError {
    let mut vars = vars;
    vars.push((
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "https://127.0.0.1:1".to_owned(),
    ));
    ExportConfig::from_lookup(lookup(vars)).unwrap_err()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn bad_tls_files_are_start_up_errors_naming_the_file_and_key() {
    let pki = Pki::new();
    let dir = pki.dir.path();
    let not_pem = write(dir, "notes.txt", "hello\n");
    let secret_key = write(
        dir,
        "broken-key.pem",
        "-----BEGIN PRIVATE KEY-----\nhunter2hunter2\n-----END PRIVATE KEY-----\n",
    );
    let ca = pki.path("ca.pem").display().to_string();
    let client = pki.path("client.pem").display().to_string();
    let client_key = pki.path("client-key.pem").display().to_string();

    let e = yaml_error("    tls:\n      ca_file: /nonexistent/ca.pem\n");
    assert_eq!(e.source_name, "/etc/tracegate/routes.yaml");
    assert_eq!(e.key, "destinations.vendor.tls.ca_file");
    assert!(e.message.contains("cannot read /nonexistent/ca.pem"), "{e}");

    let e = yaml_error(&format!("    tls:\n      ca_file: '{not_pem}'\n"));
    assert_eq!(e.key, "destinations.vendor.tls.ca_file");
    assert!(e.message.contains("not a PEM file"), "{e}");

    let e = yaml_error(&format!("    tls:\n      cert_file: '{client}'\n"));
    assert_eq!(e.key, "destinations.vendor.tls.cert_file");
    assert!(e.message.contains("give both"), "{e}");

    let e = yaml_error(&format!(
        "    tls:\n      cert_file: '{client}'\n      key_file: '{secret_key}'\n"
    ));
    assert_eq!(e.key, "destinations.vendor.tls.key_file");
    assert!(!e.to_string().contains("hunter2"), "{e}");

    // A key that is valid but not the certificate's.
    let other = write(
        dir,
        "other-key.pem",
        &KeyPair::generate().unwrap().serialize_pem(),
    );
    let e = yaml_error(&format!(
        "    tls:\n      cert_file: '{client}'\n      key_file: '{other}'\n"
    ));
    assert_eq!(e.key, "destinations.vendor.tls.key_file");
    assert!(e.message.contains("does not match"), "{e}");

    let e = yaml_error("    tls:\n      ca: x\n");
    assert!(e.message.contains("unknown field `ca`"), "{e}");

    let e = env_error(vec![(
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "/nonexistent/ca.pem".to_owned(),
    )]);
    assert_eq!(e.source_name, "OTEL_EXPORTER_OTLP_CERTIFICATE");
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");

    let e = env_error(vec![
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.clone()),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", client.clone()),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", secret_key.clone()),
    ]);
    assert_eq!(e.source_name, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY");
    assert!(e.to_string().contains(&secret_key), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");

    let e = env_error(vec![("OTEL_EXPORTER_OTLP_CLIENT_KEY", client_key)]);
    assert_eq!(e.source_name, "OTEL_EXPORTER_OTLP_CLIENT_KEY");
    assert!(e.message.contains("give both"), "{e}");
}
