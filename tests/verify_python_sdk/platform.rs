//! The Python platform's harness: the venv's Python, a tracegate collector, the launcher
//! (killed on drop), requests through the gateway and waits for spans, all bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracegate::otlp::server::Collector;
use tracegate::otlp::store::Store;
use tracegate::otlp::{Limits, Receiver};
use tracegate::propagation::{TraceId, TraceParent};
use tracegate::trace::{AssemblyOptions, Span, SpanKind, Trace};

/// The services of the platform, in launcher order.
pub const SERVICES: [&str; 4] = ["gateway", "catalog", "stock", "pricing"];
/// Longest wait for the platform to answer, for spans to arrive.
pub const START_TIMEOUT: Duration = Duration::from_secs(40);
pub const SPANS_TIMEOUT: Duration = Duration::from_secs(15);

/// At most one Python platform at a time: 2 cores are shared by the whole suite.
pub static ONE_PLATFORM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, `None` (the test skips) when `bash .ci/setup` was never run.
pub fn python() -> Option<PathBuf> {
    let venv = repo().join(".venv/bin/python");
    if venv.exists() {
        Some(venv)
    } else {
        eprintln!(
            "SKIPPED: {} is missing: run `bash .ci/setup` to install the Python test peers",
            venv.display()
        );
        None
    }
}

/// Free loopback ports, all different (held together while picked).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// An in-process tracegate collector on 127.0.0.1:0 (OTLP/HTTP only) and its store.
pub async fn receiver() -> (Collector, Arc<Store>) {
    let store = Arc::new(Store::in_memory(200_000));
    let receiver = Receiver::new(Arc::clone(&store), Limits::default());
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let collector = Collector::start(receiver, addr, None).await.unwrap();
    (collector, store)
}

/// The running Python platform. Dropping it closes the launcher's stdin (it stops the
/// services), then kills the launcher if it is still there; the services also die with the
/// launcher (PR_SET_PDEATHSIG), so nothing outlives the test.
pub struct Platform {
    launcher: Child,
    stdin: Option<ChildStdin>,
    pub ports: BTreeMap<&'static str, u16>,
}

impl Platform {
    /// Start every service, `uninstrumented` without OpenTelemetry, exporting to `otlp`; wait
    /// (bounded) until each answers `/health`.
    /// Tried up to 3 times: the ports are picked free and released before Python binds
    /// them, so another process may take one meanwhile (the launcher then exits).
    pub async fn start(
        python: &PathBuf,
        otlp: SocketAddr,
        uninstrumented: Option<&str>,
    ) -> Platform {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Platform::try_start(python, otlp, uninstrumented).await {
                Ok(platform) => return platform,
                Err(why) => failures.push(why),
            }
        }
        panic!("the Python platform did not start: {}", failures.join("; "));
    }

    async fn try_start(
        python: &PathBuf,
        otlp: SocketAddr,
        uninstrumented: Option<&str>,
    ) -> Result<Platform, String> {
        let ports: BTreeMap<&'static str, u16> = SERVICES
            .into_iter()
            .zip(free_ports(SERVICES.len()))
            .collect();
        let assignment = ports
            .iter()
            .map(|(name, port)| format!("{name}={port}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut command = Command::new(python);
        command
            .arg(repo().join("tests/peers/pyplatform/launch.py"))
            .args(["--ports", &assignment])
            .args(["--otlp-endpoint", &format!("http://{otlp}")])
            .arg("--watch-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // The SDK reads OTEL_* (sampler, headers, semantic conventions…): only the launcher's.
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            if text.starts_with("OTEL_") || text.starts_with("PYPLATFORM_") {
                command.env_remove(&name);
            }
        }
        if let Some(service) = uninstrumented {
            command.args(["--uninstrumented", service]);
        }
        let mut launcher = command.spawn().unwrap();
        let stdin = launcher.stdin.take();
        let mut platform = Platform {
            launcher,
            stdin,
            ports,
        };
        platform.wait_ready().await?;
        Ok(platform)
    }

    pub fn url(&self, service: &str, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[service])
    }

    /// Every service answers `/health`; `Err` when the launcher exited first.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let client = http_client();
        let deadline = Instant::now() + START_TIMEOUT;
        for service in SERVICES {
            loop {
                if let Some(status) = self.launcher.try_wait().unwrap() {
                    return Err(format!("the launcher exited with {status} while starting"));
                }
                let answer = client.get(self.url(service, "/health")).send().await;
                if matches!(&answer, Ok(r) if r.status().is_success()) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{service} did not answer /health within {START_TIMEOUT:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if matches!(self.launcher.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.launcher.kill();
        let _ = self.launcher.wait();
    }
}

pub fn http_client() -> reqwest::Client {
    tracegate::propagation::export::tls::client_builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// GET the gateway's `/order/{n}`, optionally with an incoming `traceparent`; the response's
/// `traceresponse`, parsed.
pub async fn order(platform: &Platform, n: u32, traceparent: Option<&str>) -> TraceParent {
    let mut request = http_client()
        .get(platform.url("gateway", &format!("/order/{n}")))
        .header("x-tenant-id", "acme");
    if let Some(value) = traceparent {
        request = request.header("traceparent", value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "GET /order/{n} through the gateway");
    let header = response
        .headers()
        .get("traceresponse")
        .expect("the gateway returns the trace ID in `traceresponse`")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        header.starts_with("00-") && header.len() == 55,
        "traceresponse {header:?}"
    );
    TraceParent::parse(&header)
        .unwrap_or_else(|e| panic!("traceresponse {header:?} is not traceparent-shaped: {e}"))
}

/// No new span for this long after every awaited service showed: the trace is complete (the
/// services export every 200 ms).
const QUIET: Duration = Duration::from_millis(1000);

/// The trace once it has a span of each of `services` and no new span arrived for [`QUIET`],
/// so a late span (or one too many) shows; bounded by [`SPANS_TIMEOUT`].
pub async fn wait_for_trace(store: &Store, trace_id: TraceId, services: &[&str]) -> Trace {
    let deadline = Instant::now() + SPANS_TIMEOUT;
    let mut last = (0, Instant::now());
    loop {
        if let Some(trace) = store.trace(trace_id, &AssemblyOptions::default()) {
            if trace.spans.len() != last.0 {
                last = (trace.spans.len(), Instant::now());
            }
            let seen = services_of(&trace);
            if services.iter().all(|s| seen.contains(*s)) && last.1.elapsed() >= QUIET {
                return trace;
            }
        }
        assert!(
            Instant::now() < deadline,
            "trace {trace_id}: not every one of {services:?} then quiet after {SPANS_TIMEOUT:?} (have {:?})",
            store
                .trace(trace_id, &AssemblyOptions::default())
                .map(|t| services_of(&t))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn services_of(trace: &Trace) -> BTreeSet<String> {
    trace
        .spans
        .iter()
        .filter_map(|s| s.service.clone())
        .collect()
}

/// The SERVER span of `service` in `trace` (exactly one).
pub fn server_span<'t>(trace: &'t Trace, service: &str) -> &'t Span {
    let mut servers = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server && s.service.as_deref() == Some(service));
    let span = servers
        .next()
        .unwrap_or_else(|| panic!("no SERVER span of {service}"));
    assert!(servers.next().is_none(), "two SERVER spans of {service}");
    span
}

/// `callee`'s SERVER span is the child of a CLIENT span of `caller` in the same trace.
pub fn assert_called_by(trace: &Trace, callee: &str, caller: &str) {
    let server = server_span(trace, callee);
    let parent = server
        .parent_span_id
        .unwrap_or_else(|| panic!("{callee}'s SERVER span has no parent"));
    let client = trace
        .spans
        .iter()
        .find(|s| s.span_id == parent)
        .unwrap_or_else(|| panic!("{callee}'s SERVER span's parent {parent} is not in the trace"));
    assert_eq!(client.kind, SpanKind::Client, "{callee}'s parent span kind");
    assert_eq!(client.service.as_deref(), Some(caller), "{callee}'s caller");
}

/// Every SERVER span carries the HTTP status under the older or the stable name.
pub fn http_status(span: &Span) -> Option<i64> {
    span.attributes
        .get("http.response.status_code")
        .or_else(|| span.attributes.get("http.status_code"))
        .and_then(|v| v.as_i64())
}
