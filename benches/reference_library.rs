//! Reference-library benchmarks (a bench binary, not criterion: these are load tests).
//!
//! ```sh
//! cargo bench --bench reference_library               # all parts
//! BENCH_SECS=3 BENCH_ROUNDS=5 cargo bench --bench reference_library -- overhead
//! BENCH_REQUESTS=10000 BENCH_ROUNDS=3 cargo bench --bench reference_library -- instructions
//! BENCH_CONNECTIONS=2 BENCH_ROUNDS=40 BENCH_SECS=0.5 cargo bench --bench reference_library -- backend
//! ```
//!
//! 0. `instructions`: the `overhead` variants, each under `valgrind --tool=callgrind`:
//!    user-space instructions per request, repeatable on a loaded machine (see BENCHMARKS.md).
//! 1. `overhead`: an axum hello-world without a layer, with tracegate's `TraceLayer` (+ the
//!    exporter to a loopback receiver), and with the peer — `tracing-opentelemetry` +
//!    `opentelemetry_sdk` batch exporter (OTLP/HTTP protobuf) to the same kind of receiver —
//!    under the same closed-loop load, interleaved in rounds within one run.
//! 2. `backend`: the traced service with export off vs a backend that is down, hangs, or
//!    answers 503: p99 latency and failed requests.
//! 3. `exporter`: spans/s through the exporter to a loopback receiver, and the cost of `end()`.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracegate::propagation::export::{ExportConfig, Exporter};
use tracegate::propagation::server::TraceLayer;
use tracegate::propagation::{OperationName, SpanKind, Telemetry, TenantId, TraceContext};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// Concurrent keep-alive connections of the load generator (`BENCH_CONNECTIONS`, default 16).
fn connections() -> usize {
    std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(16)
}

fn secs() -> Duration {
    Duration::from_secs_f64(
        std::env::var("BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0),
    )
}

fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

/// A server runtime with one worker thread: the service gets one core.
fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn hello() -> Router {
    Router::new().route("/hello/{name}", get(|| async { "hello" }))
}

/// A receiver that counts spans' bytes and answers 200 (or 503, or never).
async fn sink_receiver(mode: &'static str) -> String {
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| async move {
            match mode {
                "503" => StatusCode::SERVICE_UNAVAILABLE,
                "hang" => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    StatusCode::OK
                }
                _ => {
                    std::hint::black_box(body.len());
                    StatusCode::OK
                }
            }
        }),
    );
    format!("{}/v1/traces", serve(app).await)
}

async fn closed_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1/traces")
}

fn exporter(endpoint: &str) -> Arc<Exporter> {
    let yaml = format!("destinations:\n  d: {{endpoint: '{endpoint}'}}\n");
    Arc::new(Exporter::start(&ExportConfig::from_yaml("bench", &yaml, |_| None).unwrap()).unwrap())
}

fn tracegate_layer(telemetry: Telemetry) -> TraceLayer {
    TraceLayer::new(telemetry).route_from(|ext| ext.get::<MatchedPath>().map(MatchedPath::as_str))
}

// ---- the peer: tracing-opentelemetry + opentelemetry_sdk batch exporter ----

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The same job as `TraceLayer`: extract, server span named by the route, status code,
/// `traceresponse` header.
async fn peer_middleware(request: Request, next: Next) -> Response {
    let parent = TraceContextPropagator::new().extract(&Headers(request.headers()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let name = format!("{} {route}", request.method());
    let span = tracing::info_span!(
        "request",
        otel.name = %name,
        otel.kind = "server",
        http.response.status_code = tracing::field::Empty,
        tenant.id = tracing::field::Empty,
    );
    let _ = span.set_parent(parent);
    let mut response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    let context = span.context();
    let span_ref = context.span();
    let sc = span_ref.span_context();
    let value = format!("00-{}-{}-01", sc.trace_id(), sc.span_id());
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert("traceresponse", value);
    }
    response
}

fn install_peer(endpoint: &str) -> opentelemetry_sdk::trace::SdkTracerProvider {
    // reqwest is built with rustls but no default crypto provider (tracegate's `export`
    // feature): give the SDK a blocking client with its TLS preconfigured (loopback http only).
    let http_client = std::thread::spawn(|| {
        let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let tls = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(tokio_rustls::rustls::RootCertStore::empty())
            .with_no_client_auth();
        reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    })
    .join()
    .unwrap();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(http_client)
        .with_endpoint(endpoint)
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("peer")
                .build(),
        )
        .build();
    let tracer = provider.tracer("bench");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    provider
}

// ---- load ----

#[derive(Clone, Debug, Default)]
struct Load {
    failed: u64,
    latencies_us: Vec<u64>,
    rps: f64,
    p50_us: u64,
    p99_us: u64,
}

/// Closed-loop load: `connections()` concurrent clients for `duration`.
fn load(client_rt: &tokio::runtime::Runtime, url: &str, duration: Duration) -> Load {
    client_rt.block_on(async {
        let client = tracegate::propagation::export::tls::client_builder()
            .no_proxy()
            .pool_max_idle_per_host(connections())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let failed = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let until = start + duration;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..connections() {
            let client = client.clone();
            let url = url.to_owned();
            let failed = failed.clone();
            tasks.spawn(async move {
                let mut latencies = Vec::with_capacity(16 * 1024);
                while Instant::now() < until {
                    let t = Instant::now();
                    match client.get(&url).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    latencies.push(t.elapsed().as_micros() as u64);
                }
                latencies
            });
        }
        let mut all = Vec::new();
        while let Some(result) = tasks.join_next().await {
            all.extend(result.unwrap());
        }
        let elapsed = start.elapsed().as_secs_f64();
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0)
        };
        Load {
            latencies_us: all.clone(),
            failed: failed.load(Ordering::Relaxed),
            rps: all.len() as f64 / elapsed,
            p50_us: pct(0.50),
            p99_us: pct(0.99),
        }
    })
}

/// Closed-loop load of exactly `total` requests over `connections()` connections; returns the
/// number of failed requests.
fn load_count(client_rt: &tokio::runtime::Runtime, url: &str, total: usize) -> u64 {
    client_rt.block_on(async {
        let client = tracegate::propagation::export::tls::client_builder()
            .no_proxy()
            .pool_max_idle_per_host(connections())
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..connections() {
            let client = client.clone();
            let url = url.to_owned();
            let share = total / connections() + usize::from(task < total % connections());
            tasks.spawn(async move {
                let mut failed = 0;
                for _ in 0..share {
                    match client.get(&url).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                        }
                        _ => failed += 1,
                    }
                }
                failed
            });
        }
        let mut failed = 0;
        while let Some(result) = tasks.join_next().await {
            failed += result.unwrap();
        }
        failed
    })
}

/// The value at quantile `q` (0..=1) of `values` (nearest rank).
fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[((values.len() - 1) as f64 * q).round() as usize]
}

/// `median (p25–p75)` of per-round ratios `a[i] / b[i] - 1`, in percent: pairing each round
/// with the baseline measured right next to it cancels most of the machine's drift.
fn paired(a: &[f64], b: &[f64]) -> String {
    let ratios: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(a, b)| (a / b - 1.0) * 100.0)
        .collect();
    format!(
        "{:+.1}% ({:+.1}…{:+.1}%)",
        quantile(ratios.clone(), 0.5),
        quantile(ratios.clone(), 0.25),
        quantile(ratios, 0.75)
    )
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

// ---- the service under test runs in a child process, so its CPU time can be measured ----

/// In the child: serve `variant` (exporting to `endpoint`) on a one-worker runtime, print the
/// port, and run until stdin closes.
fn serve_child(variant: &str, endpoint: &str) {
    // BENCH_SERVER_THREADS: worker threads of the service under test (default 1).
    let threads = std::env::var("BENCH_SERVER_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    let _peer = (variant == "peer").then(|| install_peer(endpoint));
    let app = match variant {
        "plain" => hello(),
        "peer" => hello().layer(middleware::from_fn(peer_middleware)),
        "off" => hello().layer(tracegate_layer(Telemetry::disabled("bench"))),
        _ => {
            let exporter = runtime.block_on(async { exporter(endpoint) });
            hello().layer(tracegate_layer(Telemetry::new("bench", exporter)))
        }
    };
    let url = runtime.block_on(serve(app));
    println!("{url}");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

struct Child {
    process: std::process::Child,
    url: String,
}

impl Child {
    fn spawn(variant: &str, endpoint: &str) -> Child {
        Self::spawn_with(&[], variant, endpoint)
    }

    /// Spawn the child under `wrapper` (e.g. `valgrind --tool=callgrind …`) when not empty.
    fn spawn_with(wrapper: &[String], variant: &str, endpoint: &str) -> Child {
        use std::io::BufRead;
        let exe = std::env::current_exe().unwrap();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = std::process::Command::new(program);
                command.args(args).arg(&exe);
                command
            }
            None => std::process::Command::new(&exe),
        };
        let mut process = command
            .args(["--serve-child", variant, endpoint])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut url = String::new();
        std::io::BufReader::new(process.stdout.take().unwrap())
            .read_line(&mut url)
            .unwrap();
        Child {
            process,
            url: url.trim().to_owned(),
        }
    }

    /// CPU time of all the child's threads (ns, from /proc/PID/task/*/schedstat).
    fn cpu_ns(&self) -> u64 {
        let dir = format!("/proc/{}/task", self.process.id());
        std::fs::read_dir(dir)
            .map(|tasks| {
                tasks
                    .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
                    .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[derive(Default)]
struct Samples {
    rps: Vec<f64>,
    cpu_us: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    /// Every request's latency over all rounds (µs).
    pooled: Vec<u64>,
    failed: u64,
}

/// Run the variants in interleaved rounds; per window: req/s, server CPU µs per request, p50,
/// p99.
fn measure(client: &tokio::runtime::Runtime, children: &[Child]) -> Vec<Samples> {
    let mut samples: Vec<Samples> = children.iter().map(|_| Samples::default()).collect();
    for child in children {
        load(
            client,
            &format!("{}/hello/warm", child.url),
            Duration::from_millis(500),
        );
    }
    for _ in 0..rounds() {
        for (child, sample) in children.iter().zip(samples.iter_mut()) {
            let before = child.cpu_ns();
            let result = load(client, &format!("{}/hello/world", child.url), secs());
            let cpu = child.cpu_ns().saturating_sub(before);
            let requests = (result.rps * secs().as_secs_f64()).max(1.0);
            sample.rps.push(result.rps);
            sample.cpu_us.push(cpu as f64 / 1e3 / requests);
            sample.p50.push(result.p50_us as f64);
            sample.p99.push(result.p99_us as f64);
            sample.pooled.extend_from_slice(&result.latencies_us);
            sample.failed += result.failed;
        }
    }
    samples
}

fn overhead() {
    println!(
        "## overhead: axum hello-world, {} connections, {} s x {} rounds per variant, interleaved",
        connections(),
        secs().as_secs_f64(),
        rounds()
    );
    let receivers = server_runtime();
    let client = client_runtime();
    let (ours, theirs) =
        receivers.block_on(async { (sink_receiver("ok").await, sink_receiver("ok").await) });
    let variants = [
        ("no layer", "plain", ours.as_str()),
        (
            "tracegate TraceLayer, export disabled",
            "off",
            ours.as_str(),
        ),
        (
            "tracegate TraceLayer + exporter",
            "tracegate",
            ours.as_str(),
        ),
        (
            "peer: tracing-opentelemetry + SDK batch exporter",
            "peer",
            theirs.as_str(),
        ),
    ];
    let children: Vec<Child> = variants
        .iter()
        .map(|(_, variant, endpoint)| Child::spawn(variant, endpoint))
        .collect();
    let samples = measure(&client, &children);
    let base_cpu = median(samples[0].cpu_us.clone());
    let base_rps = median(samples[0].rps.clone());
    println!("| variant | server CPU µs/request | CPU vs no layer (median of rounds, p25…p75) | median req/s | req/s vs no layer (median of rounds, p25…p75) | median p50 (µs) | median p99 (µs) | failed |");
    println!("|---|---|---|---|---|---|---|---|");
    for ((name, _, _), sample) in variants.iter().zip(&samples) {
        let cpu = median(sample.cpu_us.clone());
        let rps = median(sample.rps.clone());
        println!(
            "| {name} | {cpu:.2} (medians: {:+.1}%) | {} | {rps:.0} (medians: {:+.1}%) | {} | {:.0} | {:.0} | {} |",
            (cpu / base_cpu - 1.0) * 100.0,
            paired(&sample.cpu_us, &samples[0].cpu_us),
            (rps / base_rps - 1.0) * 100.0,
            paired(&sample.rps, &samples[0].rps),
            median(sample.p50.clone()),
            median(sample.p99.clone()),
            sample.failed
        );
    }
}

fn backend() {
    println!(
        "## backend: traced hello-world, export off vs backend down / hanging / 503 ({} connections, {} s x {} rounds, interleaved)",
        connections(),
        secs().as_secs_f64(),
        rounds()
    );
    let receivers = server_runtime();
    let client = client_runtime();
    let (ok, down, hang, unavailable) = receivers.block_on(async {
        (
            sink_receiver("ok").await,
            closed_endpoint().await,
            sink_receiver("hang").await,
            sink_receiver("503").await,
        )
    });
    let variants = [
        ("export off", "off", ok.as_str()),
        ("export on, backend up", "tracegate", ok.as_str()),
        ("export on, backend down", "tracegate", down.as_str()),
        ("export on, backend hangs", "tracegate", hang.as_str()),
        (
            "export on, backend answers 503",
            "tracegate",
            unavailable.as_str(),
        ),
    ];
    let children: Vec<Child> = variants
        .iter()
        .map(|(_, variant, endpoint)| Child::spawn(variant, endpoint))
        .collect();
    let samples = measure(&client, &children);
    let pooled_p99 = |sample: &Samples| {
        let mut all = sample.pooled.clone();
        all.sort_unstable();
        all.get(all.len() * 99 / 100).copied().unwrap_or(0) as f64
    };
    let base_pooled = pooled_p99(&samples[0]);
    println!("| export | p99 (µs): median (p25…p75) of rounds | p99 vs off: median of per-round ratios (p25…p75) | pooled p99 of all requests (µs), vs off | median p50 (µs) | p50 vs off (per-round) | median req/s | failed requests |");
    println!("|---|---|---|---|---|---|---|---|");
    for ((name, _, _), sample) in variants.iter().zip(&samples) {
        let pooled = pooled_p99(sample);
        println!(
            "| {name} | {:.0} ({:.0}…{:.0}) | {} | {pooled:.0}, {:+.1}% | {:.0} | {} | {:.0} | {} |",
            quantile(sample.p99.clone(), 0.5),
            quantile(sample.p99.clone(), 0.25),
            quantile(sample.p99.clone(), 0.75),
            paired(&sample.p99, &samples[0].p99),
            (pooled / base_pooled - 1.0) * 100.0,
            median(sample.p50.clone()),
            paired(&sample.p50, &samples[0].p50),
            median(sample.rps.clone()),
            sample.failed
        );
    }
}

/// Server instructions per request, counted by callgrind: repeatable on a loaded machine
/// (unlike time). Each variant's child runs under `valgrind --tool=callgrind`; after a warm-up
/// the counters are zeroed (`callgrind_control --zero`), a fixed number of requests is sent,
/// the exporter gets 1.5 s to flush its batch timer, and the counters are dumped
/// (`callgrind_control --dump`). Everything the service process executes is counted: hyper,
/// axum, the layer, batching, OTLP encoding and sending.
fn instructions() {
    let requests: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let rounds = rounds().min(3);
    println!(
        "## instructions: server instructions per request under callgrind, {requests} requests x {rounds} rounds per variant, {} connections",
        connections()
    );
    let receivers = server_runtime();
    let client = client_runtime();
    let (ours, theirs) =
        receivers.block_on(async { (sink_receiver("ok").await, sink_receiver("ok").await) });
    let variants = [
        ("no layer", "plain", ours.as_str()),
        (
            "tracegate TraceLayer, export disabled",
            "off",
            ours.as_str(),
        ),
        (
            "tracegate TraceLayer + exporter",
            "tracegate",
            ours.as_str(),
        ),
        (
            "peer: tracing-opentelemetry + SDK batch exporter",
            "peer",
            theirs.as_str(),
        ),
    ];
    // BENCH_CALLGRIND_DIR=DIR keeps the dumps there (for `callgrind_annotate`).
    let keep = std::env::var_os("BENCH_CALLGRIND_DIR").map(std::path::PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tracegate-callgrind-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).unwrap();
    let mut counts: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for ((_, variant, endpoint), counts) in variants.iter().zip(counts.iter_mut()) {
            let out = dir.join(format!("{variant}.%p"));
            let wrapper = vec![
                "valgrind".to_owned(),
                "--tool=callgrind".to_owned(),
                format!("--callgrind-out-file={}", out.display()),
            ];
            let child = Child::spawn_with(&wrapper, variant, endpoint);
            let url = format!("{}/hello/world", child.url);
            let pid = child.process.id().to_string();
            let control = |what: &str| {
                let status = std::process::Command::new("callgrind_control")
                    .args([what, &pid])
                    .stdout(std::process::Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success(), "callgrind_control {what} failed");
            };
            load_count(&client, &url, 2_000);
            std::thread::sleep(Duration::from_millis(1500));
            control("--zero");
            let failed = load_count(&client, &url, requests);
            assert_eq!(failed, 0, "{variant}: failed requests");
            std::thread::sleep(Duration::from_millis(1500));
            control("--dump");
            let dump = dir.join(format!("{variant}.{pid}.1"));
            let text = std::fs::read_to_string(&dump).unwrap();
            let total: u64 = text
                .lines()
                .find_map(|l| l.strip_prefix("summary: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap();
            counts.push(total as f64 / requests as f64);
            drop(child);
            if keep.is_none() {
                let _ = std::fs::remove_file(dump);
            }
        }
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let base = median(counts[0].clone());
    println!("| variant | instructions/request (median; min…max of rounds) | vs no layer | added per request |");
    println!("|---|---|---|---|");
    for ((name, _, _), counts) in variants.iter().zip(&counts) {
        let ir = median(counts.clone());
        println!(
            "| {name} | {ir:.0} ({:.0}…{:.0}) | {:+.1}% | {:+.0} |",
            quantile(counts.clone(), 0.0),
            quantile(counts.clone(), 1.0),
            (ir / base - 1.0) * 100.0,
            ir - base
        );
    }
}

/// In-process: requests through the axum router with `oneshot` (no sockets), ns per request.
fn micro(n: u32, rounds: usize) {
    use tower::ServiceExt;
    println!("## micro: in-process axum router calls (no network), {n} requests x {rounds} interleaved rounds per variant, fastest round");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let endpoint = sink_receiver("ok").await;
        let sink = Arc::new(tracegate::propagation::MemorySink::new());
        let variants: Vec<(&str, Router)> = vec![
            ("no layer", hello()),
            (
                "TraceLayer, export disabled",
                hello().layer(tracegate_layer(Telemetry::disabled("bench"))),
            ),
            (
                "TraceLayer + exporter",
                hello().layer(tracegate_layer(Telemetry::new(
                    "bench",
                    exporter(&endpoint),
                ))),
            ),
        ];
        let _ = sink;
        let mut runs: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
        for _ in 0..rounds {
            for ((_, router), runs) in variants.iter().zip(runs.iter_mut()) {
                let start = Instant::now();
                for _ in 0..n {
                    let request = axum::http::Request::get("/hello/world")
                        .body(axum::body::Body::empty())
                        .unwrap();
                    let response = router.clone().oneshot(request).await.unwrap();
                    std::hint::black_box(response);
                }
                runs.push(start.elapsed().as_nanos() as f64 / f64::from(n));
            }
        }
        // The fastest round: the least disturbed by other processes on a shared machine.
        let results: Vec<(&str, f64)> = variants
            .iter()
            .zip(runs)
            .map(|((name, _), runs)| (*name, runs.into_iter().fold(f64::INFINITY, f64::min)))
            .collect();
        println!("| variant | ns/request | added by the layer |");
        println!("|---|---|---|");
        let base = results[0].1;
        for (name, ns) in results {
            println!("| {name} | {ns:.0} | {:+.0} ns |", ns - base);
        }
    });
}

fn exporter_throughput(spans: usize) {
    println!("## exporter: {spans} spans through the exporter to a loopback receiver");
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    server.block_on(async {
        let endpoint = sink_receiver("ok").await;
        let yaml = format!("destinations:\n  d: {{endpoint: '{endpoint}'}}\nqueue_size: {spans}\n");
        let exporter = Arc::new(Exporter::start(&ExportConfig::from_yaml("bench", &yaml, |_| None).unwrap()).unwrap());
        let telemetry = Telemetry::new("bench", exporter.clone());
        let tenant = TenantId::new("acme");
        let root = TraceContext::new_root();
        let start = Instant::now();
        let mut end_cost = Duration::ZERO;
        for _ in 0..spans {
            let mut span = telemetry.start(&root.child(), SpanKind::Server, OperationName::fixed("GET /hello/{name}"));
            span.set_http_status(200);
            span.set_tenant(tenant.clone());
            let t = Instant::now();
            span.end();
            end_cost += t.elapsed();
        }
        let recorded = start.elapsed();
        let stats = exporter.shutdown(Duration::from_secs(60)).await;
        let total = start.elapsed();
        println!("| spans | record (start+end) | end() mean | exported | total time | spans/s exported |");
        println!("|---|---|---|---|---|---|");
        println!(
            "| {spans} | {:.0} ms | {:.0} ns | {} | {:.2} s | {:.0} |",
            recorded.as_secs_f64() * 1e3,
            end_cost.as_nanos() as f64 / spans as f64,
            stats.exported,
            total.as_secs_f64(),
            stats.exported as f64 / total.as_secs_f64()
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve-child") {
        serve_child(&args[2], &args[3]);
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it:
    // then make a quick smoke run of the in-process parts only.
    if !args.iter().any(|a| a == "--bench") {
        micro(200, 1);
        exporter_throughput(2_000);
        return;
    }
    let filter: Vec<String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if wanted("instructions") {
        instructions();
    }
    if wanted("overhead") {
        overhead();
    }
    if wanted("backend") {
        backend();
    }
    if wanted("micro") {
        micro(20_000, 15);
    }
    if wanted("exporter") {
        exporter_throughput(200_000);
    }
}
