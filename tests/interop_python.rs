//! Interop with the real OpenTelemetry Python SDK (installed into ./.venv by `bash .ci/setup`):
//! it exports a two-service trace over OTLP/HTTP and over OTLP/gRPC (gzip both), and the
//! trace is read back by ID with the right parents, services and attributes.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tracegate::otlp::store::Store;
use tracegate::otlp::{grpc, http, Limits, Receiver};
use tracegate::propagation::{SpanId, TraceId};
use tracegate::trace::{AssemblyOptions, SpanKind, StatusCode, Trace};

fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run `bash .ci/setup` to install the Python test peers",
        venv.display()
    );
    venv
}

async fn start() -> (SocketAddr, SocketAddr, Arc<Store>) {
    let store = Arc::new(Store::in_memory(100_000));
    let receiver = Receiver::new(Arc::clone(&store), Limits::default());
    let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (h, g) = (
        http_listener.local_addr().unwrap(),
        grpc_listener.local_addr().unwrap(),
    );
    let app = http::app(Arc::clone(&receiver));
    tokio::spawn(async move { axum::serve(http_listener, app).await });
    tokio::spawn(grpc::serve(receiver, grpc_listener, std::future::pending()));
    (h, g, store)
}

async fn export(protocol: &str, endpoint: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/otel_export.py");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(python())
            .arg(script)
            .args([protocol, endpoint])
            .output(),
    )
    .await
    .expect("the Python exporter did not finish within 60 s")
    .unwrap();
    assert!(
        out.status.success(),
        "python exporter failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids["flushed"], true, "the SDK reports a failed export");
    ids
}

fn id(v: &Value) -> SpanId {
    SpanId::from_hex(v.as_str().unwrap()).unwrap()
}

/// The SDK's trace, read back from the store by ID alone.
fn check(store: &Store, ids: &Value) {
    let trace_id = TraceId::from_hex(ids["trace_id"].as_str().unwrap()).unwrap();
    let data = store
        .get(trace_id)
        .expect("the exported trace is in the store");
    let traces = Trace::from_otlp(&data.resource_spans, &AssemblyOptions::default());
    assert_eq!(traces.len(), 1);
    let t = &traces[0];
    assert!(t.problems.is_empty(), "{:?}", t.problems);
    let span = |key: &str| t.spans.iter().find(|s| s.span_id == id(&ids[key])).unwrap();
    let (root, client, server, inner) =
        (span("root"), span("client"), span("server"), span("inner"));
    assert_eq!(t.spans.len(), 4);
    assert_eq!(root.parent_span_id, None);
    assert_eq!(client.parent_span_id, Some(root.span_id));
    assert_eq!(server.parent_span_id, Some(client.span_id));
    assert_eq!(inner.parent_span_id, Some(server.span_id));
    assert_eq!(
        [root, client, server, inner].map(|s| s.service.clone().unwrap()),
        ["frontend", "frontend", "payments", "payments"]
    );
    assert_eq!(
        [root.kind, client.kind, server.kind, inner.kind],
        [
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Server,
            SpanKind::Internal
        ]
    );
    assert_eq!(root.name, "GET /checkout");
    assert_eq!(root.attributes["http.response.status_code"], 200);
    assert_eq!(root.attributes["tenant.id"], "acme");
    assert_eq!(inner.attributes["retry.count"], 2);
    assert_eq!(inner.status.code, StatusCode::Error);
    assert_eq!(inner.status.message, "card declined");
    assert!(
        root.start_unix_nano <= client.start_unix_nano && inner.end_unix_nano <= root.end_unix_nano
    );
    let graph = t.service_graph();
    assert_eq!(graph.edges.len(), 1);
    assert_eq!(
        (
            graph.edges[0].caller.as_str(),
            graph.edges[0].callee.as_str()
        ),
        ("frontend", "payments")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_exports_over_otlp_http_and_the_trace_reads_back() {
    let (http_addr, _, store) = start().await;
    let ids = export("http", &format!("http://{http_addr}/v1/traces")).await;
    check(&store, &ids);
    // and through the query API, as OTLP JSON with hex IDs
    let url = format!(
        "http://{http_addr}/api/traces/{}",
        ids["trace_id"].as_str().unwrap()
    );
    let json: Value = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let spans: Vec<&Value> = json["resourceSpans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rs| rs["scopeSpans"].as_array().unwrap())
        .flat_map(|ss| ss["spans"].as_array().unwrap())
        .collect();
    assert_eq!(spans.len(), 4);
    assert!(spans
        .iter()
        .any(|s| s["spanId"] == ids["inner"] && s["parentSpanId"] == ids["server"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_exports_over_otlp_grpc_and_the_trace_reads_back() {
    let (_, grpc_addr, store) = start().await;
    let ids = export("grpc", &grpc_addr.to_string()).await;
    check(&store, &ids);
}

/// The `rotel-agent` binary shipped in the `rotel` wheel, made executable.
fn rotel_agent() -> PathBuf {
    let out = std::process::Command::new(python())
        .args([
            "-c",
            "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the rotel package is missing from .venv: run `bash .ci/setup` ({})",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    if perms.mode() & 0o111 != 0o111 {
        perms.set_mode(perms.mode() | 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
    }
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_through_the_rotel_collector_reaches_the_receiver() {
    let (_, grpc_addr, store) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let (rotel_grpc, rotel_http) = (free_port(), free_port());
    // kill_on_drop: a failing test leaves no collector behind
    let _rotel = tokio::process::Command::new(rotel_agent())
        .arg("start")
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{rotel_grpc}")])
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{rotel_http}")])
        .args(["--exporter", "otlp", "--otlp-exporter-protocol", "grpc"])
        .args(["--otlp-exporter-endpoint", &format!("http://{grpc_addr}")])
        .args(["--batch-timeout", "100ms"])
        .arg("--pid-file")
        .arg(dir.path().join("rotel.pid"))
        .arg("--log-file")
        .arg(dir.path().join("rotel.log"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", rotel_http))
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        up,
        "rotel did not start listening on 127.0.0.1:{rotel_http}"
    );

    for (protocol, endpoint) in [
        ("http", format!("http://127.0.0.1:{rotel_http}/v1/traces")),
        ("grpc", format!("127.0.0.1:{rotel_grpc}")),
    ] {
        let ids = export(protocol, &endpoint).await;
        let trace_id = TraceId::from_hex(ids["trace_id"].as_str().unwrap()).unwrap();
        // rotel batches and forwards asynchronously: wait, bounded, for all four spans
        let mut complete = false;
        for _ in 0..100 {
            let spans = store.get(trace_id).map_or(0, |d| {
                d.resource_spans
                    .iter()
                    .flat_map(|rs| &rs.scope_spans)
                    .map(|ss| ss.spans.len())
                    .sum()
            });
            if spans >= 4 {
                complete = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            complete,
            "the trace exported over {protocol} did not arrive through rotel"
        );
        check(&store, &ids);
    }
}
