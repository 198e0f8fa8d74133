//! OTLP receiver throughput and memory.
//!
//! * `otlp_ingest/decode_index_512` — validate a 512-span OTLP/HTTP protobuf batch and index it
//!   in the in-memory store (what the HTTP handler does after reading the body: spans are kept
//!   encoded and decoded when read); `_2_threads` does it on two threads into one shared store,
//!   as concurrent requests do; `prost_decode_512` is a full prost decode, for comparison.
//! * `otlp_ingest/http_loopback_512` — the same batches POSTed over loopback to the real axum
//!   app, 4 requests in flight.
//! * `otlp_ingest/store_512_fsync_{always,batch,never}` — the same, into a store persisted
//!   with `--store` (one framed log record appended per batch) under each fsync policy
//!   (`batch`: at most every 100 ms); `http_loopback_512_store_always` — over loopback into
//!   a persisted store with the default policy, 4 requests in flight.
//! * after the timings: bytes of memory (RSS growth) and of disk log per stored span.
//!
//! Run: `cargo bench --bench otlp_ingest` (only the persisted ones: `-- store`)
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use criterion::{criterion_group, Criterion, Throughput};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tracegate::otlp::persist::{FsyncPolicy, PersistOptions};
use tracegate::otlp::store::Store;
use tracegate::otlp::{http, sample, Limits, Receiver};

const BATCH: usize = 512;
const SPANS_PER_TRACE: usize = 8;
/// Batches indexed before the store is replaced (keeps memory bounded during long runs).
const STORE_BATCHES: u64 = 400;

fn batches(n: u64) -> Vec<Bytes> {
    (0..n)
        .map(|i| Bytes::from(sample::batch(i, BATCH, SPANS_PER_TRACE).encode_to_vec()))
        .collect()
}

fn decode_index(c: &mut Criterion) {
    let bodies = batches(STORE_BATCHES);
    let mut group = c.benchmark_group("otlp_ingest");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("decode_index_512", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut store = Store::in_memory(usize::MAX);
            for i in 0..iters {
                if i % STORE_BATCHES == 0 {
                    store = Store::in_memory(usize::MAX);
                }
                let body = bodies[(i % STORE_BATCHES) as usize].clone();
                let start = Instant::now();
                store.ingest_encoded(body).unwrap();
                total += start.elapsed();
            }
            drop(store);
            total
        })
    });
    // the receiver decodes concurrent requests on every core: two threads, one shared store
    group.bench_function("decode_index_512_2_threads", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let chunk = (iters - done).min(STORE_BATCHES);
                let store = Store::in_memory(usize::MAX);
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for t in 0..2 {
                        let (store, bodies) = (&store, &bodies);
                        scope.spawn(move || {
                            let mut i = t;
                            while i < chunk {
                                store.ingest_encoded(bodies[i as usize].clone()).unwrap();
                                i += 2;
                            }
                        });
                    }
                });
                total += start.elapsed();
                done += chunk;
            }
            total
        })
    });
    // for comparison: what a full prost decode of the same batch costs
    group.bench_function("prost_decode_512", |b| {
        let body = bodies[0].clone();
        b.iter(|| ExportTraceServiceRequest::decode(body.as_ref()).unwrap())
    });
    group.finish();
}

/// A store persisted in a fresh temporary directory, with `fsync`.
fn persisted(fsync: FsyncPolicy) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let options = PersistOptions {
        fsync,
        ..PersistOptions::default()
    };
    let (store, _) = Store::open_with(dir.path(), usize::MAX, usize::MAX, options).unwrap();
    (dir, store)
}

fn persisted_ingest(c: &mut Criterion) {
    let bodies = batches(STORE_BATCHES);
    let mut group = c.benchmark_group("otlp_ingest");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    for (name, fsync) in [
        ("store_512_fsync_always", FsyncPolicy::Always),
        ("store_512_fsync_batch", FsyncPolicy::Batch),
        ("store_512_fsync_never", FsyncPolicy::Never),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let (mut dir, mut store) = persisted(fsync);
                for i in 0..iters {
                    if i % STORE_BATCHES == 0 {
                        drop(store);
                        (dir, store) = persisted(fsync);
                    }
                    let body = bodies[(i % STORE_BATCHES) as usize].clone();
                    let start = Instant::now();
                    store.ingest_encoded(body).unwrap();
                    total += start.elapsed();
                }
                drop((store, dir));
                total
            })
        });
    }
    group.finish();
}

fn http_loopback(c: &mut Criterion) {
    http_loopback_into(
        c,
        "http_loopback_512",
        Arc::new(Store::in_memory(usize::MAX)),
    );
    let (_dir, store) = persisted(FsyncPolicy::Always);
    http_loopback_into(c, "http_loopback_512_store_always", Arc::new(store));
}

fn http_loopback_into(c: &mut Criterion, name: &str, store: Arc<Store>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = Receiver::new(Arc::clone(&store), Limits::default());
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, http::app(receiver)).await });
        addr
    });
    let bodies: Arc<Vec<Bytes>> = Arc::new(batches(STORE_BATCHES));
    let client = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap();
    let url = format!("http://{addr}/v1/traces");
    let mut group = c.benchmark_group("otlp_ingest");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            store.clear();
            let start = Instant::now();
            rt.block_on(async {
                let mut tasks = Vec::new();
                for worker in 0..4u64 {
                    let (client, url, bodies) = (client.clone(), url.clone(), Arc::clone(&bodies));
                    tasks.push(tokio::spawn(async move {
                        let mut i = worker;
                        while i < iters {
                            let body = bodies[(i % STORE_BATCHES) as usize].clone();
                            let response = client
                                .post(&url)
                                .header("content-type", "application/x-protobuf")
                                .body(body)
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(response.status(), 200);
                            i += 4;
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// RSS growth per span held, and log bytes per persisted span.
fn memory_per_span() {
    const SPANS: u64 = 1_000_000;
    // each body is made inside the measured region, as a request body would arrive; the
    // store keeps slices of the bodies, so the growth counts them and the index
    let before = rss_bytes();
    let store = Store::in_memory(usize::MAX);
    let mut wire_bytes = 0u64;
    for i in 0..SPANS / BATCH as u64 {
        let body = Bytes::from(sample::batch(i, BATCH, SPANS_PER_TRACE).encode_to_vec());
        wire_bytes += body.len() as u64;
        store.ingest_encoded(body).unwrap();
    }
    let after = rss_bytes();
    let held = store.span_count() as u64;
    println!(
        "memory: {held} spans held, RSS grew {:.1} MiB = {} bytes per stored span \
         (of which request bytes: {} per span)",
        (after - before) as f64 / 1048576.0,
        (after.saturating_sub(before)) / held.max(1),
        wire_bytes / held.max(1)
    );
    drop(store);

    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), usize::MAX).unwrap();
    for body in batches(64) {
        store.ingest_encoded(body).unwrap();
    }
    let log = std::fs::metadata(dir.path().join(tracegate::otlp::persist::LOG_FILE))
        .unwrap()
        .len();
    println!(
        "disk: {} spans persisted in {log} bytes = {} bytes per stored span",
        store.span_count(),
        log / store.span_count().max(1) as u64
    );
}

/// Peak RSS (VmHWM) in bytes, after `reset_peak` reset it (Linux: `/proc/self/clear_refs`).
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Start-up on a large log: peak RSS growth while loading, against the log's size (the log is
/// read record by record; the store keeps what it loads). Runs first, in a fresh process
/// heap, and writes the log frame by frame without a store so no freed memory is reused.
fn load_large_log() {
    use std::io::Write;
    use tracegate::otlp::persist::frame;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(tracegate::otlp::persist::LOG_FILE);
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        out.write_all(frame::MAGIC).unwrap();
        for i in 0..800 {
            let body = sample::batch(i, BATCH, SPANS_PER_TRACE).encode_to_vec();
            out.write_all(&frame::frame(&body)).unwrap();
        }
    }
    let log = std::fs::metadata(&path).unwrap().len();
    reset_peak();
    let before = rss_bytes();
    let start = Instant::now();
    let (store, report) = Store::load_read_only(dir.path(), usize::MAX).unwrap();
    let took = start.elapsed();
    let after = rss_bytes();
    let peak = peak_rss_bytes();
    println!(
        "load: {:.1} MiB log, {} batches, {} spans in {:.2} s; RSS grew {:.1} MiB (held), \
         peak {:.1} MiB above the start",
        log as f64 / 1048576.0,
        report.batches,
        store.span_count(),
        took.as_secs_f64(),
        after.saturating_sub(before) as f64 / 1048576.0,
        peak.saturating_sub(before) as f64 / 1048576.0
    );
}

criterion_group!(benches, decode_index, persisted_ingest, http_loopback);

fn main() {
    if std::env::args().any(|a| a == "--bench") {
        load_large_log();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --all-targets` runs each benchmark once to check it; skip the heavy part
    if std::env::args().any(|a| a == "--bench") {
        memory_per_span();
    }
}
