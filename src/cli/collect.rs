//! `tracegate collect`: run the OTLP receiver and trace store until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tracegate::exit::ExitStatus;
use tracegate::otlp::listen::EventHook;
use tracegate::otlp::persist::{FsyncPolicy, PersistOptions};
use tracegate::otlp::server::{Collector, ServeOptions};
use tracegate::otlp::store::{LoadReport, Store, StoreStats};
use tracegate::otlp::{Limits, Receiver};
use tracegate::trace::Trace;

const EXAMPLES: &str = "\
Examples:
  tracegate collect
      receive OTLP on 127.0.0.1:4318 (HTTP) and 127.0.0.1:4317 (gRPC), keep traces in memory
  tracegate collect --store .tracegate/traces
      also persist them, so `tracegate trace show ID --store .tracegate/traces` works later
  http://127.0.0.1:4318/ in a browser
      browse what arrived: recent traces, filters, one trace's waterfall and details
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ./my-service
      point any OpenTelemetry SDK at it
  tracegate collect --allowed-host traces.test
      on loopback, answer localhost, loopback addresses and traces.test (a name /etc/hosts maps
      to 127.0.0.1); any other Host gets 403, so no web page can read traces by DNS rebinding

Prints where it listens, then one line per finished trace (no new span for --quiet-ms):
trace ID, root service and operation, spans, duration, errors and problems. When the store is
full the oldest traces are evicted (a line says so once, the summary counts them); a failed
write to --store is printed and answered 503 with Retry-After.";

/// Receive OTLP spans (HTTP and gRPC), keep them queryable by trace ID, print each trace.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// OTLP/HTTP address (also serves GET /api/traces/{id}, /api/traces and the web UI).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318")]
    otlp_http: SocketAddr,
    /// OTLP/gRPC address.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317")]
    otlp_grpc: SocketAddr,
    /// Do not serve OTLP/gRPC.
    #[arg(long)]
    no_grpc: bool,
    /// Serve the web UI on the OTLP/HTTP address: recent traces at GET /, one trace at
    /// GET /traces/{id}. `--ui false` turns it off (the OTLP endpoints stay).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    ui: bool,
    /// On a loopback address, also answer requests addressed to this host name (repeatable).
    /// Listening on loopback, OTLP/HTTP, the query API and the web UI answer only requests
    /// whose Host is localhost or a loopback address (others get 403: a web page cannot read
    /// your traces through DNS rebinding); on any other address every Host is answered.
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
    /// Persist traces in this directory (append-only log; loaded again at start).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Largest request body on the wire, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Largest request after gzip decompression (and largest gRPC message), in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_decompressed_bytes)]
    max_decompressed_bytes: usize,
    /// Most spans held in memory; beyond it the oldest traces are evicted.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_spans)]
    max_spans: usize,
    /// Most spans one export request may hold; beyond it 413 / RESOURCE_EXHAUSTED (bounds
    /// what one request costs to index and store).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_spans_per_request)]
    max_spans_per_request: usize,
    /// Most protobuf messages (spans, attributes, values…) one export request may hold, and
    /// most JSON objects and arrays in an OTLP/JSON one; beyond it 413 / RESOURCE_EXHAUSTED.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_messages_per_request)]
    max_messages_per_request: usize,
    /// Most spans `GET /api/traces/{id}` answers with; a larger trace gets 413 (read it with
    /// `tracegate trace show ID --store DIR`).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_query_spans)]
    max_query_spans: usize,
    /// Most request bytes held in memory (spans are kept as received); beyond it the oldest
    /// traces are evicted. With --store, at most half of --store-max-bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_stored_bytes)]
    max_stored_bytes: usize,
    /// With --store: compact the log (rewrite it with what memory holds) when it grows past
    /// this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = PersistOptions::default().max_log_bytes)]
    store_max_bytes: u64,
    /// With --store: when an accepted batch is fsynced. `always`: before it is answered (a 200
    /// survives a power loss); `batch`: at most every --fsync-interval-ms; `never`: the OS
    /// decides. Any policy survives a crash of the process.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = FsyncPolicy::default())]
    fsync: FsyncPolicy,
    /// With --fsync batch: longest time between fsyncs, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    fsync_interval_ms: u64,
    /// Retry delay given to exporters when a batch cannot be written (disk full), in seconds.
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
        max_spans_per_request: args.max_spans_per_request,
        max_messages_per_request: args.max_messages_per_request,
        max_query_spans: args.max_query_spans,
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
            let options = PersistOptions {
                fsync: args.fsync,
                fsync_interval: Duration::from_millis(args.fsync_interval_ms),
                max_log_bytes: args.store_max_bytes,
            };
            let (store, report) =
                Store::open_with(dir, limits.max_spans, limits.max_stored_bytes, options)
                    .context("cannot open the trace store")?;
            if !say(&load_line(dir, &store, &report)) {
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
    let options = ServeOptions {
        events: Some(events),
        ui: args.ui,
        allowed_hosts: args.allowed_hosts.clone(),
    };
    let collector =
        Collector::start_with_options(Arc::clone(&receiver), args.otlp_http, grpc_addr, options)
            .await?;
    let terminate = terminated()?;
    let mut open = say(&format!(
        "OTLP/HTTP listening on http://{}  (POST /v1/traces, GET /api/traces/{{trace_id}}, GET /api/traces, GET /api/stats)",
        collector.http_addr
    ));
    if let Some(addr) = collector.grpc_addr {
        open = open && say(&format!("OTLP/gRPC listening on {addr}"));
    }
    if args.ui {
        open = open
            && say(&format!(
                "web UI: http://{}/  (recent traces; reload to refresh; --ui false turns it off)",
                collector.http_addr
            ));
    }

    let quiet = Duration::from_millis(args.quiet_ms);
    let mut seen = StoreStats::default();
    let sync_every = (args.store.is_some() && args.fsync == FsyncPolicy::Batch)
        .then(|| Duration::from_millis(args.fsync_interval_ms.max(1)));
    let mut sync_tick = tokio::time::interval(sync_every.unwrap_or(Duration::from_secs(3600)));
    let mut tick = tokio::time::interval(Duration::from_millis((args.quiet_ms / 4).clamp(50, 500)));
    tokio::pin!(terminate);
    // Runs until a signal, or until nobody reads the output any more (`collect | head -1`).
    while open {
        tokio::select! {
            _ = tick.tick() => {
                for trace in receiver.store.take_quiet(quiet, &receiver.assembly) {
                    open = open && say(&line(&trace));
                }
                let now = receiver.store.stats();
                for news in store_news(&seen, &now) {
                    open = open && say(&news);
                }
                seen = now;
            }
            _ = sync_tick.tick(), if sync_every.is_some() => {
                let store = Arc::clone(&receiver.store);
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.sync()).await {
                    open = open && say(&format!("store: fsync failed: {e}"));
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
        let sync = receiver.store.sync();
        let stats = receiver.store.stats();
        let mut summary = format!(
            "stopped: {} traces, {} spans held; {} traces ({} spans) evicted",
            stats.traces, stats.spans, stats.evicted_traces, stats.evicted_spans
        );
        if stats.write_failures > 0 {
            summary.push_str(&format!(
                "; {} batches refused (store not writable)",
                stats.write_failures
            ));
        }
        if let Err(e) = sync {
            summary.push_str(&format!("; final fsync failed: {e}"));
        }
        say(&summary);
    }
    Ok(ExitStatus::Passed)
}

/// A duration in whole milliseconds, for flag defaults.
fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The line printed after loading a persisted store.
fn load_line(dir: &std::path::Path, store: &Store, report: &LoadReport) -> String {
    let mut line = format!(
        "store {}: loaded {} spans of {} traces",
        dir.display(),
        report.spans,
        store.trace_count()
    );
    if report.upgraded {
        line.push_str("; rewrote the log in format 2");
    }
    if report.damaged_records > 0 {
        line.push_str(&format!(
            "; skipped {} damaged records ({} bytes)",
            report.damaged_records, report.damaged_bytes
        ));
    }
    if report.skipped_bytes > 0 {
        line.push_str(&format!(
            "; cut a torn final record of {} bytes",
            report.skipped_bytes
        ));
    }
    if report.evicted_spans > 0 {
        line.push_str(&format!(
            "; kept the newest traces ({} older spans over --max-spans/--max-stored-bytes)",
            report.evicted_spans
        ));
    }
    if report.dropped_spans > 0 {
        line.push_str(&format!(
            "; {} spans not loaded (their batch alone exceeds the bounds)",
            report.dropped_spans
        ));
    }
    line
}

/// Lines about what the store did since `before`: eviction starting (once), failed writes,
/// failed compactions.
fn store_news(before: &StoreStats, now: &StoreStats) -> Vec<String> {
    let mut out = Vec::new();
    if before.evicted_traces == 0 && now.evicted_traces > 0 {
        out.push(format!(
            "store full ({} spans, {} bytes held): evicting the oldest traces to keep accepting; \
             the summary counts them (GET /api/stats too)",
            now.spans, now.bytes
        ));
    }
    if now.write_failures > before.write_failures {
        out.push(format!(
            "store: {} batches refused with 503 (Retry-After): {}",
            now.write_failures - before.write_failures,
            now.last_write_error.as_deref().unwrap_or("write failed")
        ));
    }
    if now.compaction_failures > before.compaction_failures {
        out.push(format!(
            "store: compaction failed, the log keeps growing: {}",
            now.last_compaction_error
                .as_deref()
                .unwrap_or("unknown error")
        ));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_news_says_once_that_eviction_started_and_each_time_writes_failed() {
        let quiet = StoreStats::default();
        assert!(store_news(&quiet, &quiet).is_empty());
        let evicting = StoreStats {
            spans: 8,
            evicted_traces: 1,
            evicted_spans: 2,
            ..StoreStats::default()
        };
        let news = store_news(&quiet, &evicting);
        assert_eq!(news.len(), 1);
        assert!(news[0].starts_with("store full (8 spans"), "{news:?}");
        let more = StoreStats {
            evicted_traces: 5,
            write_failures: 2,
            last_write_error: Some("traces.log: No space left on device".into()),
            ..evicting.clone()
        };
        let news = store_news(&evicting, &more);
        assert_eq!(
            news,
            vec![
                "store: 2 batches refused with 503 (Retry-After): traces.log: No space left on device"
                    .to_owned()
            ]
        );
    }
}
