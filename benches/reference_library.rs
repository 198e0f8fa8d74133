//! Reference-library benchmarks (a bench binary, not criterion: these are load tests).
//!
//! ```sh
//! cargo bench --bench reference_library               # all three, ~2 minutes
//! BENCH_SECS=3 BENCH_ROUNDS=5 cargo bench --bench reference_library -- overhead
//! ```
//!
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
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracegate::propagation::export::{ExportConfig, Exporter};
use tracegate::propagation::server::TraceLayer;
use tracegate::propagation::{OperationName, SpanKind, Telemetry, TenantId, TraceContext};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

const CONNECTIONS: usize = 16;

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
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
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
    rps: f64,
    p50_us: u64,
    p99_us: u64,
}

/// Closed-loop load: CONNECTIONS concurrent clients for `duration`.
fn load(client_rt: &tokio::runtime::Runtime, url: &str, duration: Duration) -> Load {
    client_rt.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(CONNECTIONS)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let failed = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let until = start + duration;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..CONNECTIONS {
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
            failed: failed.load(Ordering::Relaxed),
            rps: all.len() as f64 / elapsed,
            p50_us: pct(0.50),
            p99_us: pct(0.99),
        }
    })
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

fn overhead() {
    println!("## overhead: axum hello-world, {CONNECTIONS} connections, {} s x {} rounds per variant, interleaved", secs().as_secs_f64(), rounds());
    let server = server_runtime();
    let client = client_runtime();
    let (plain, traced, peer, provider, exporter) = server.block_on(async {
        let plain = serve(hello()).await;
        let ours_receiver = sink_receiver("ok").await;
        let exporter = exporter(&ours_receiver);
        let traced =
            serve(hello().layer(tracegate_layer(Telemetry::new("bench", exporter.clone())))).await;
        let peer_receiver = sink_receiver("ok").await;
        let provider = install_peer(&peer_receiver);
        let peer = serve(hello().layer(middleware::from_fn(peer_middleware))).await;
        (plain, traced, peer, provider, exporter)
    });
    let variants = [
        ("no layer", plain),
        ("tracegate TraceLayer + exporter", traced),
        ("peer: tracing-opentelemetry + SDK batch", peer),
    ];
    let mut rps: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut p50: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut p99: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut failed = vec![0u64; variants.len()];
    // Warm-up.
    for (_, base) in &variants {
        load(
            &client,
            &format!("{base}/hello/warm"),
            Duration::from_millis(300),
        );
    }
    for _ in 0..rounds() {
        for (i, (_, base)) in variants.iter().enumerate() {
            let result = load(&client, &format!("{base}/hello/world"), secs());
            rps[i].push(result.rps);
            p50[i].push(result.p50_us as f64);
            p99[i].push(result.p99_us as f64);
            failed[i] += result.failed;
        }
    }
    let base_rps = median(rps[0].clone());
    println!(
        "| variant | median req/s | vs no layer | median p50 (µs) | median p99 (µs) | failed |"
    );
    println!("|---|---|---|---|---|---|");
    for (i, (name, _)) in variants.iter().enumerate() {
        let m = median(rps[i].clone());
        println!(
            "| {name} | {m:.0} | {:+.1}% | {:.0} | {:.0} | {} |",
            (m / base_rps - 1.0) * 100.0,
            median(p50[i].clone()),
            median(p99[i].clone()),
            failed[i]
        );
    }
    let stats = server.block_on(exporter.shutdown(Duration::from_secs(5)));
    println!("tracegate exporter: {stats:?}");
    let _ = provider.shutdown();
}

fn backend() {
    println!("## backend: traced hello-world, export off vs backend down / hanging / 503 ({CONNECTIONS} connections, {} s each)", secs().as_secs_f64());
    let server = server_runtime();
    let client = client_runtime();
    let services = server.block_on(async {
        let mut services = vec![(
            "export off".to_owned(),
            serve(hello().layer(tracegate_layer(Telemetry::disabled("bench")))).await,
            None,
        )];
        for (name, endpoint) in [
            ("backend down", closed_endpoint().await),
            ("backend hangs", sink_receiver("hang").await),
            ("backend 503", sink_receiver("503").await),
        ] {
            let exporter = exporter(&endpoint);
            let url =
                serve(hello().layer(tracegate_layer(Telemetry::new("bench", exporter.clone()))))
                    .await;
            services.push((name.to_owned(), url, Some(exporter)));
        }
        services
    });
    for (_, url, _) in &services {
        load(
            &client,
            &format!("{url}/hello/warm"),
            Duration::from_millis(300),
        );
    }
    let mut p99: Vec<Vec<f64>> = vec![Vec::new(); services.len()];
    let mut rps: Vec<Vec<f64>> = vec![Vec::new(); services.len()];
    let mut failed = vec![0u64; services.len()];
    for _ in 0..rounds() {
        for (i, (_, url, _)) in services.iter().enumerate() {
            let result = load(&client, &format!("{url}/hello/world"), secs());
            p99[i].push(result.p99_us as f64);
            rps[i].push(result.rps);
            failed[i] += result.failed;
        }
    }
    let base = median(p99[0].clone());
    println!("| export | median req/s | median p99 (µs) | p99 vs off | failed requests | exporter counters |");
    println!("|---|---|---|---|---|---|");
    for (i, (name, _, exporter)) in services.iter().enumerate() {
        let m = median(p99[i].clone());
        let stats = exporter
            .as_ref()
            .map(|e| format!("{:?}", e.stats()))
            .unwrap_or_else(|| "-".to_owned());
        println!(
            "| {name} | {:.0} | {m:.0} | {:+.1}% | {} | {stats} |",
            median(rps[i].clone()),
            (m / base - 1.0) * 100.0,
            failed[i]
        );
    }
}

fn exporter_throughput() {
    const SPANS: usize = 200_000;
    println!("## exporter: {SPANS} spans through the exporter to a loopback receiver");
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    server.block_on(async {
        let endpoint = sink_receiver("ok").await;
        let yaml = format!("destinations:\n  d: {{endpoint: '{endpoint}'}}\nqueue_size: {SPANS}\n");
        let exporter = Arc::new(Exporter::start(&ExportConfig::from_yaml("bench", &yaml, |_| None).unwrap()).unwrap());
        let telemetry = Telemetry::new("bench", exporter.clone());
        let tenant = TenantId::new("acme");
        let root = TraceContext::new_root();
        let start = Instant::now();
        let mut end_cost = Duration::ZERO;
        for _ in 0..SPANS {
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
            "| {SPANS} | {:.0} ms | {:.0} ns | {} | {:.2} s | {:.0} |",
            recorded.as_secs_f64() * 1e3,
            end_cost.as_nanos() as f64 / SPANS as f64,
            stats.exported,
            total.as_secs_f64(),
            stats.exported as f64 / total.as_secs_f64()
        );
    });
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if wanted("overhead") {
        overhead();
    }
    if wanted("backend") {
        backend();
    }
    if wanted("exporter") {
        exporter_throughput();
    }
}
