//! Peak memory of `tracegate collect` under hostile request shapes (issue #15): the receiver
//! runs in a child process and its `VmHWM` (peak RSS) is read from `/proc` after the requests.
//! Each shape took 1–3.5 GB before the receiver counted what it decodes.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The binary under test: this build's, or `TRACEGATE_UNDER_TEST` (to show that an older build
/// fails these tests).
fn tracegate() -> String {
    std::env::var("TRACEGATE_UNDER_TEST")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_tracegate").to_owned())
}

/// Peak RSS any single request (or the concurrent shapes below) may cost.
const PEAK_RSS_BOUND: u64 = 300 * 1024 * 1024;

/// A running `tracegate collect` on loopback ports.
struct Collect {
    child: Child,
    http: SocketAddr,
    grpc: SocketAddr,
}

impl Collect {
    fn start(extra: &[&str]) -> Collect {
        let mut child = Command::new(tracegate())
            .args([
                "collect",
                "--otlp-http",
                "127.0.0.1:0",
                "--otlp-grpc",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addr = |prefix: &str| -> SocketAddr {
            let line = lines.next().unwrap().unwrap();
            let rest = line
                .split(prefix)
                .nth(1)
                .unwrap_or_else(|| panic!("{line}"));
            rest.split_whitespace().next().unwrap().parse().unwrap()
        };
        let http = addr("listening on http://");
        let grpc = addr("listening on ");
        // keep reading stdout so the child never blocks on a full pipe
        std::thread::spawn(move || for _ in lines {});
        Collect { child, http, grpc }
    }

    /// Peak resident set size so far, in bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    }
}

impl Drop for Collect {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// `n` empty `ResourceSpans` (field 1, length 0): 2 bytes each.
fn empty_resource_spans(n: usize) -> Vec<u8> {
    std::iter::repeat_n([0x0a_u8, 0x00], n).flatten().collect()
}

/// The same in OTLP/JSON: `{"resourceSpans":[{},{},…]}`.
fn empty_resource_spans_json(n: usize) -> Vec<u8> {
    let mut json = b"{\"resourceSpans\":[".to_vec();
    for i in 0..n {
        json.extend_from_slice(if i == 0 { b"{}" } else { b",{}" });
    }
    json.extend_from_slice(b"]}");
    json
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn post_gzip(http: SocketAddr, content_type: &str, body: Vec<u8>) -> u16 {
    let client = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap();
    client
        .post(format!("http://{http}/v1/traces"))
        .header("content-type", content_type)
        .header("content-encoding", "gzip")
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn http_protobuf_gzip_bomb_of_empty_resource_spans_stays_under_300_mb() {
    let collect = Collect::start(&[]);
    let bomb = gzip(&empty_resource_spans(10_000_000));
    assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
    assert_answered_within_bound(&collect, "application/x-protobuf", bomb);
}

#[test]
fn json_gzip_bomb_of_empty_resource_spans_stays_under_300_mb() {
    let collect = Collect::start(&[]);
    let bomb = gzip(&empty_resource_spans_json(10_000_000));
    assert_answered_within_bound(&collect, "application/json", bomb);
}

#[test]
fn grpc_gzip_bomb_of_empty_resource_spans_stays_under_300_mb() {
    let collect = Collect::start(&[]);
    let message = gzip(&empty_resource_spans(10_000_000));
    // a gRPC frame: compressed flag, big-endian length, message
    let mut frame = vec![1u8];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&message);
    let status = runtime().block_on(async {
        let client = tracegate::propagation::export::tls::client_builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let response = client
            .post(format!(
                "http://{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                collect.grpc
            ))
            .header("content-type", "application/grpc")
            .header("grpc-encoding", "gzip")
            .header("te", "trailers")
            .body(frame)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let _ = response.bytes().await;
        status
    });
    assert_eq!(status, 200);
    let peak = collect.peak_rss();
    assert!(peak < PEAK_RSS_BOUND, "peak RSS {} MB", peak >> 20);
}

#[test]
fn sixty_four_concurrent_gzip_bombs_stay_under_300_mb() {
    let collect = Collect::start(&[]);
    let bomb = gzip(&empty_resource_spans(10_000_000));
    let statuses = runtime().block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                tokio::spawn(post_gzip(
                    collect.http,
                    "application/x-protobuf",
                    bomb.clone(),
                ))
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses
    });
    // each is refused (413: over the message budget) or told to retry later (429: the
    // in-flight budget, or no worker free within 2 s)
    assert!(
        statuses.iter().all(|s| [200, 413, 429].contains(s)),
        "{statuses:?}"
    );
    let peak = collect.peak_rss();
    assert!(peak < PEAK_RSS_BOUND, "peak RSS {} MB", peak >> 20);
}

#[test]
fn a_hundred_stalled_8_mib_bodies_do_not_hold_800_mb() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let collect = Collect::start(&["--body-read-timeout-ms", "3000"]);
    let size = 8 * 1024 * 1024;
    let chunk = vec![0x0a_u8; 1024 * 1024];
    let outcomes = runtime().block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let chunk = chunk.clone();
                let http = collect.http;
                tokio::spawn(async move {
                    let mut stream = tokio::net::TcpStream::connect(http).await.unwrap();
                    let head = format!(
                        "POST /v1/traces HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-protobuf\r\ncontent-length: {size}\r\n\r\n"
                    );
                    stream.write_all(head.as_bytes()).await.unwrap();
                    // all but the last byte, then stall; stop writing once the server answers
                    for _ in 0..7 {
                        if stream.write_all(&chunk).await.is_err() {
                            break;
                        }
                    }
                    let _ = stream.write_all(&chunk[..chunk.len() - 1]).await;
                    let mut answer = vec![0u8; 512];
                    let read = tokio::time::timeout(
                        Duration::from_secs(20),
                        stream.read(&mut answer),
                    )
                    .await;
                    match read {
                        Ok(Ok(n)) => String::from_utf8_lossy(&answer[..n])
                            .split_whitespace()
                            .nth(1)
                            .unwrap_or("closed")
                            .to_owned(),
                        Ok(Err(_)) => "reset".to_owned(),
                        Err(_) => "no answer".to_owned(),
                    }
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        outcomes
    });
    // every stalled upload is answered: 429 (over the in-flight budget) or 408 (timed out)
    assert!(
        outcomes.iter().all(|o| o == "429" || o == "408"),
        "{outcomes:?}"
    );
    let peak = collect.peak_rss();
    assert!(peak < PEAK_RSS_BOUND, "peak RSS {} MB", peak >> 20);
}

/// `n` minimal valid spans (trace and span ID only, 30 bytes each), one trace each.
fn minimal_spans(n: usize) -> Vec<u8> {
    let mut spans = Vec::with_capacity(n * 30);
    for i in 1..=n as u128 {
        spans.extend_from_slice(&[0x12, 0x1c, 0x0a, 0x10]);
        spans.extend_from_slice(&i.to_be_bytes());
        spans.extend_from_slice(&[0x12, 0x08]);
        spans.extend_from_slice(&(i as u64).to_be_bytes());
    }
    let mut scope = Vec::new();
    len_field(&mut scope, 2, &spans);
    let mut body = Vec::new();
    len_field(&mut body, 1, &scope);
    body
}

#[test]
fn a_million_minimal_spans_in_one_request_stay_under_300_mb() {
    // 30 MB inflated, within --max-decompressed-bytes: before the per-request span limit it
    // was accepted and peaked at 539 MB (the index of a million one-span traces)
    let collect = Collect::start(&[]);
    let body = gzip(&minimal_spans(1_000_000));
    assert_answered_within_bound(&collect, "application/x-protobuf", body);
}

#[test]
fn the_largest_request_of_minimal_spans_the_defaults_accept_stays_under_300_mb() {
    let collect = Collect::start(&[]);
    let max = tracegate::otlp::Limits::default().max_spans_per_request;
    let body = gzip(&minimal_spans(max));
    let status = runtime().block_on(post_gzip(collect.http, "application/x-protobuf", body));
    assert_eq!(status, 200);
    let peak = collect.peak_rss();
    assert!(peak < PEAK_RSS_BOUND, "peak RSS {} MB", peak >> 20);
}

#[test]
fn trace_show_input_of_empty_spans_stays_under_300_mb() {
    // 10 MB of empty spans in one ScopeSpans of one ResourceSpans
    let spans: Vec<u8> = std::iter::repeat_n([0x12_u8, 0x00], 5_000_000)
        .flatten()
        .collect();
    let mut scope = Vec::new();
    len_field(&mut scope, 2, &spans);
    let mut body = Vec::new();
    len_field(&mut body, 1, &scope);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.pb");
    std::fs::write(&path, &body).unwrap();
    let peak = peak_rss_of(&[
        "trace",
        "show",
        "5b8efff798038103d269b633813fc60c",
        "--input",
        path.to_str().unwrap(),
    ]);
    assert!(peak < PEAK_RSS_BOUND, "peak RSS {} MB", peak >> 20);
}

#[test]
fn trace_show_input_of_a_json_file_of_empty_spans_stays_under_300_mb() {
    // 10.5 MB: 3.5M empty spans in one scope, under the 4 Mi container budget (the count alone
    // does not refuse it); decoded whole, each `{}` became a JSON map and then a 200-byte Span
    for prefix in [&b"{\"resourceSpans\":"[..], b"{\"batches\":"] {
        let mut json = prefix.to_vec();
        json.extend_from_slice(b"[{\"scopeSpans\":[{\"spans\":[{}");
        for _ in 1..3_500_000 {
            json.extend_from_slice(b",{}");
        }
        json.extend_from_slice(b"]}]}]}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, &json).unwrap();
        let peak = peak_rss_of(&[
            "trace",
            "show",
            "5b8efff798038103d269b633813fc60c",
            "--input",
            path.to_str().unwrap(),
        ]);
        assert!(peak < PEAK_RSS_BOUND, "peak RSS {} MB", peak >> 20);
    }
}

fn len_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag << 3 | 2);
    let mut n = bytes.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(bytes);
}

/// Peak RSS of a `tracegate` run to completion, sampled from `/proc` every few milliseconds.
fn peak_rss_of(args: &[&str]) -> u64 {
    let mut child = Command::new(tracegate())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    for _ in 0..6000 {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
                let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
                peak = peak.max(kb * 1024);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    peak
}

#[test]
fn running_out_of_file_descriptors_is_logged_and_recovered_from() {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" collect --otlp-http 127.0.0.1:0 --no-grpc")
        .arg(tracegate())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = stdout.next().unwrap().unwrap();
    let http: SocketAddr = line
        .split("listening on http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || for _ in stdout {});
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let rt = runtime();
    let ok = rt.block_on(async {
        // more connections than the collector has descriptors
        let mut held = Vec::new();
        for _ in 0..100 {
            if let Ok(stream) = tokio::net::TcpStream::connect(http).await {
                held.push(stream);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(held);
        // once they are closed, the collector serves again
        let client = tracegate::propagation::export::tls::client_builder()
            .build()
            .unwrap();
        for _ in 0..50 {
            let sent = client
                .get(format!("http://{http}/api/traces"))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if sent.is_ok_and(|r| r.status().is_success()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    let logged: Vec<String> = rx.try_iter().collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "the collector did not recover; stderr: {logged:?}");
    assert!(
        logged
            .iter()
            .any(|l| l.contains("cannot accept a connection")),
        "{logged:?}"
    );
}

/// POST a gzip body to `collect`: answered (any status below 500), and its peak RSS stayed
/// under [`PEAK_RSS_BOUND`].
fn assert_answered_within_bound(collect: &Collect, content_type: &str, body: Vec<u8>) {
    let status = runtime().block_on(post_gzip(collect.http, content_type, body));
    assert!(status < 500, "{status}");
    let peak = collect.peak_rss();
    assert!(peak < PEAK_RSS_BOUND, "peak RSS {} MB", peak >> 20);
}
