//! A full store keeps working, and `--store` never loses an acknowledged batch: through the
//! HTTP app, a real (tiny) filesystem that fills up, and the `collect` binary.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use prost::Message;
use tower::ServiceExt;
use tracegate::otlp::persist::PersistOptions;
use tracegate::otlp::store::Store;
use tracegate::otlp::{http::app, sample, Limits, Receiver};

fn post(body: Vec<u8>) -> Request<Body> {
    Request::post("/v1/traces")
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .body(Body::from(body))
        .unwrap()
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, body.to_vec())
}

async fn stats(app: &Router) -> serde_json::Value {
    let req = Request::get("/api/stats").body(Body::empty()).unwrap();
    let (status, _, body) = send(app, req).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn a_full_store_keeps_answering_200_and_api_stats_counts_the_evictions() {
    let limits = Limits {
        max_spans: 10,
        ..Limits::default()
    };
    let app = app(Receiver::new(Arc::new(limits.store()), limits));
    for seed in 0..20 {
        let (status, _, _) = send(&app, post(sample::batch(seed, 4, 2).encode_to_vec())).await;
        assert_eq!(status, StatusCode::OK, "batch {seed}");
    }
    let stats = stats(&app).await;
    assert_eq!(stats["spans"], 10, "{stats}");
    assert_eq!(stats["evicted_spans"], 70, "{stats}");
    assert_eq!(stats["evicted_traces"], 35, "{stats}");
    // the newest trace is served, the oldest is gone
    let newest = "00000000000000140000000000000002";
    let req = Request::get(format!("/api/traces/{newest}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::OK);
    let oldest = "0000000000000001000000000000000001";
    let req = Request::get(format!("/api/traces/{}", &oldest[..32]))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_batch_larger_than_the_whole_store_gets_413_and_is_counted() {
    let limits = Limits {
        max_spans: 10,
        ..Limits::default()
    };
    let app = app(Receiver::new(Arc::new(limits.store()), limits));
    let (status, headers, _) = send(&app, post(sample::batch(1, 11, 2).encode_to_vec())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(headers.get(header::RETRY_AFTER).is_none());
    assert_eq!(stats(&app).await["refused_batches"], 1);
}

/// A tmpfs of `size`, mounted on a temporary directory while it lives (root only).
struct TinyFs(tempfile::TempDir);

impl TinyFs {
    fn mount(size: &str) -> Option<TinyFs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(TinyFs(dir))
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[tokio::test]
async fn on_a_full_disk_exports_get_503_with_retry_after_and_acknowledged_batches_survive() {
    let Some(fs) = TinyFs::mount("256k") else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let dir = fs.0.path().join("store");
    let limits = Limits::default();
    let (store, _) =
        Store::open_with(&dir, usize::MAX, usize::MAX, PersistOptions::default()).unwrap();
    let store = Arc::new(store);
    let app = app(Receiver::new(Arc::clone(&store), limits));
    // fill the filesystem, leaving about 40 KiB
    let filler = fs.0.path().join("filler");
    std::fs::write(&filler, vec![0u8; 200 * 1024]).unwrap();
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for seed in 0..40 {
        let (status, headers, _) =
            send(&app, post(sample::batch(seed, 16, 4).encode_to_vec())).await;
        match status {
            StatusCode::OK => acknowledged.push(seed),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(headers[header::RETRY_AFTER], "5");
                refused += 1;
            }
            other => panic!("batch {seed}: {other}"),
        }
    }
    assert!(refused > 0 && !acknowledged.is_empty(), "{refused}");
    let stats = stats(&app).await;
    assert_eq!(stats["write_failures"], refused, "{stats}");
    assert!(stats["last_write_error"]
        .as_str()
        .unwrap()
        .contains("No space left"));
    // space returns: later batches are accepted again
    std::fs::remove_file(&filler).unwrap();
    for seed in 100..104 {
        let (status, _, _) = send(&app, post(sample::batch(seed, 16, 4).encode_to_vec())).await;
        assert_eq!(status, StatusCode::OK);
        acknowledged.push(seed);
    }
    drop(app);
    drop(store);
    let (store, report) = Store::open(&dir, usize::MAX).unwrap();
    assert_eq!(report.batches, acknowledged.len(), "{report:?}");
    assert_eq!((report.damaged_records, report.skipped_bytes), (0, 0));
    assert_eq!(store.span_count(), 16 * acknowledged.len());
}

#[test]
fn collect_says_when_it_starts_evicting_and_counts_evictions_in_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut child = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["collect", "--otlp-http", "127.0.0.1:0", "--no-grpc"])
        .args(["--quiet-ms", "100", "--max-spans", "8", "--fsync", "batch"])
        .arg("--store")
        .arg(&store)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let http = loop {
        let line = next();
        if let Some(rest) = line.strip_prefix("OTLP/HTTP listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = tracegate::propagation::export::tls::client_builder()
            .build()
            .unwrap();
        for seed in 0..5 {
            let status = client
                .post(format!("{http}/v1/traces"))
                .header("content-type", "application/x-protobuf")
                .body(sample::batch(seed, 4, 2).encode_to_vec())
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 200);
        }
    });
    let evicting = loop {
        let line = next();
        if line.starts_with("store full") {
            break line;
        }
    };
    assert!(
        evicting.contains("evicting the oldest traces"),
        "{evicting}"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let summary = loop {
        let line = next();
        if line.starts_with("stopped:") {
            break line;
        }
    };
    assert_eq!(
        summary,
        "stopped: 4 traces, 8 spans held; 6 traces (12 spans) evicted"
    );
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    // the evicted traces are gone from the log too: the next start loads what was held
    let (reloaded, _) = Store::load_read_only(&store, usize::MAX).unwrap();
    assert!(reloaded.span_count() >= 8);
}

#[tokio::test]
async fn on_a_full_disk_grpc_exports_get_unavailable_with_retry_info() {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let Some(fs) = TinyFs::mount("128k") else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let (store, _) = Store::open(&fs.0.path().join("store"), usize::MAX).unwrap();
    let store = Arc::new(store);
    let receiver = Receiver::new(Arc::clone(&store), Limits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tracegate::otlp::grpc::serve(receiver, listener, async {
        let _ = stopped.await;
    }));
    let mut client = TraceServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let mut refused = None;
    for seed in 0..40 {
        if let Err(status) = client.export(sample::batch(seed, 64, 4)).await {
            refused = Some(status);
            break;
        }
    }
    let status = refused.expect("the 128 KiB filesystem fills up");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status}");
    assert!(status.message().contains("No space left"), "{status}");
    let details = String::from_utf8_lossy(status.details()).to_string();
    assert!(details.contains("google.rpc.RetryInfo"), "{details}");
    assert_eq!(store.stats().write_failures, 1);
    // close the log before the filesystem is unmounted
    drop(client);
    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    drop(store);
    drop(fs);
}
