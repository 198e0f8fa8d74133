//! `tracegate collect`: run the OTLP receiver and trace store until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tracegate::exit::ExitStatus;
use tracegate::otlp::listen::EventHook;
use tracegate::otlp::server::Collector;
use tracegate::otlp::store::Store;
use tracegate::otlp::{Limits, Receiver};
use tracegate::trace::Trace;

const EXAMPLES: &str = "\
Examples:
  tracegate collect
      receive OTLP on 127.0.0.1:4318 (HTTP) and 127.0.0.1:4317 (gRPC), keep traces in memory
  tracegate collect --store .tracegate/traces
      also persist them, so `tracegate trace show ID --store .tracegate/traces` works later
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ./my-service
      point any OpenTelemetry SDK at it

Prints where it listens, then one line per finished trace (no new span for --quiet-ms):
trace ID, root service and operation, spans, duration, errors and problems.";

/// Receive OTLP spans (HTTP and gRPC), keep them queryable by trace ID, print each trace.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// OTLP/HTTP address (also serves GET /api/traces/{id} and /api/traces).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318")]
    otlp_http: SocketAddr,
    /// OTLP/gRPC address.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317")]
    otlp_grpc: SocketAddr,
    /// Do not serve OTLP/gRPC.
    #[arg(long)]
    no_grpc: bool,
    /// Persist traces in this directory (append-only log; loaded again at start).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Largest request body on the wire, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Largest request after gzip decompression (and largest gRPC message), in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_decompressed_bytes)]
    max_decompressed_bytes: usize,
    /// Most spans held in memory; beyond it exporters are told to retry later (429/UNAVAILABLE).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_spans)]
    max_spans: usize,
    /// Most request bytes held in memory (spans are kept as received); beyond it exporters
    /// are told to retry later.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_stored_bytes)]
    max_stored_bytes: usize,
    /// Retry delay given to exporters when the store is full, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    retry_after_secs: u64,
    /// Most bytes all requests in flight may hold together (bodies, decompressed bodies, the
    /// work of indexing them); beyond it exporters are told to retry later (429/UNAVAILABLE).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_inflight_bytes)]
    max_inflight_bytes: usize,
    /// Most export requests processed at once; beyond it exporters are told to retry later.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_inflight_requests)]
    max_inflight_requests: usize,
    /// Most open connections per listener (HTTP and gRPC each); others wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Most trace queries (GET /api/traces…) answered at once; beyond it 503.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_concurrent_queries)]
    max_concurrent_queries: usize,
    /// Time a client has to send a request's headers, in milliseconds (slowloris defence).
    #[arg(long, value_name = "MS", default_value_t = ms(Limits::default().header_read_timeout))]
    header_read_timeout_ms: u64,
    /// Time a client has to send a request body, in milliseconds; beyond it 408.
    #[arg(long, value_name = "MS", default_value_t = ms(Limits::default().body_read_timeout))]
    body_read_timeout_ms: u64,
    /// A connection with no traffic for this long while waiting for the client is closed
    /// (idle keep-alive, stalled upload), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = ms(Limits::default().idle_timeout))]
    idle_timeout_ms: u64,
    /// A trace is printed once it received no span for this long, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    quiet_ms: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let limits = Limits {
        max_body_bytes: args.max_body_bytes,
        max_decompressed_bytes: args.max_decompressed_bytes,
        max_spans: args.max_spans,
        max_stored_bytes: args.max_stored_bytes,
        retry_after: Duration::from_secs(args.retry_after_secs),
        max_inflight_bytes: args.max_inflight_bytes,
        max_inflight_requests: args.max_inflight_requests,
        max_connections: args.max_connections,
        max_concurrent_queries: args.max_concurrent_queries,
        header_read_timeout: Duration::from_millis(args.header_read_timeout_ms),
        body_read_timeout: Duration::from_millis(args.body_read_timeout_ms),
        idle_timeout: Duration::from_millis(args.idle_timeout_ms),
    };
    let store = match &args.store {
        None => limits.store(),
        Some(dir) => {
            let (store, report) =
                Store::open(dir, limits.max_spans).context("cannot open the trace store")?;
            let store = store.with_max_bytes(limits.max_stored_bytes);
            let mut line = format!(
                "store {}: loaded {} spans of {} traces",
                dir.display(),
                report.spans,
                store.trace_count()
            );
            if report.skipped_bytes > 0 {
                line.push_str(&format!(
                    "; skipped a torn tail of {} bytes",
                    report.skipped_bytes
                ));
            }
            if report.dropped_spans > 0 {
                line.push_str(&format!(
                    "; {} spans not loaded (over --max-spans)",
                    report.dropped_spans
                ));
            }
            if !say(&line) {
                return Ok(ExitStatus::Passed);
            }
            store
        }
    };
    let receiver = Receiver::new(Arc::new(store), limits);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve(args, receiver))
}

async fn serve(args: Args, receiver: Arc<Receiver>) -> anyhow::Result<ExitStatus> {
    let grpc_addr = (!args.no_grpc).then_some(args.otlp_grpc);
    // accept errors (out of file descriptors…) are retried by the library and reported here
    let events: EventHook = Arc::new(|line: &str| eprintln!("tracegate collect: {line}"));
    let collector = Collector::start_with_events(
        Arc::clone(&receiver),
        args.otlp_http,
        grpc_addr,
        Some(events),
    )
    .await?;
    let terminate = terminated()?;
    let mut open = say(&format!(
        "OTLP/HTTP listening on http://{}  (POST /v1/traces, GET /api/traces/{{trace_id}}, GET /api/traces)",
        collector.http_addr
    ));
    if let Some(addr) = collector.grpc_addr {
        open = open && say(&format!("OTLP/gRPC listening on {addr}"));
    }

    let quiet = Duration::from_millis(args.quiet_ms);
    let mut tick = tokio::time::interval(Duration::from_millis((args.quiet_ms / 4).clamp(50, 500)));
    tokio::pin!(terminate);
    // Runs until a signal, or until nobody reads the output any more (`collect | head -1`).
    while open {
        tokio::select! {
            _ = tick.tick() => {
                for trace in receiver.store.take_quiet(quiet, &receiver.assembly) {
                    open = open && say(&line(&trace));
                }
            }
            () = &mut terminate => break,
        }
    }
    collector.shutdown().await?;
    if open {
        for trace in receiver
            .store
            .take_quiet(Duration::ZERO, &receiver.assembly)
        {
            open = open && say(&line(&trace));
        }
        say(&format!(
            "stopped: {} traces, {} spans held",
            receiver.store.trace_count(),
            receiver.store.span_count()
        ));
    }
    Ok(ExitStatus::Passed)
}

/// A duration in whole milliseconds, for flag defaults.
fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Print one line on standard output; `false` once it cannot be written (the reader went
/// away, as with `collect | head -1`): the collector then stops quietly instead of panicking.
fn say(line: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

/// Completes on SIGTERM or Ctrl-C (SIGINT). The handlers are installed when this is called, not
/// when the future is first polled: call it before announcing readiness, so a supervisor that
/// stops the process right after the "listening" line gets a clean exit, not a default kill.
pub(super) fn terminated() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// One line per finished trace.
fn line(trace: &Trace) -> String {
    tracegate::report::trace::finished_line(trace)
}
