//! The non-blocking exporter. Ending a span is a `try_send` into a bounded lock-free queue
//! (`std::sync::mpsc::sync_channel`); a background task on the exporter's own thread (a
//! single-threaded tokio runtime) batches spans, routes them per tenant and hands one encoded
//! OTLP/HTTP protobuf request per destination to that destination's worker
//! ([`super::delivery`]), which sends it with a timeout and retries it within the retry
//! policy's time budget (honouring the server's `Retry-After` / `RetryInfo`), then settles it.
//! A slow destination only delays its own worker: other destinations (and other tenants) keep
//! flowing.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

use super::config::{ConfigError, ExportConfig};
use super::delivery::Worker;
use super::diagnostics::{stderr_sink, Diagnostic, DiagnosticSink};
use super::otlp;
use super::routing::Router;
use crate::propagation::{SpanRecord, SpanSink};

/// Least number of encoded requests waiting per destination before new ones are counted as
/// failed.
const DESTINATION_BACKLOG: usize = 8;

/// Exporter counters (monotonic since start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Spans accepted into the queue.
    pub queued: u64,
    /// Span deliveries a destination accepted (a span routed to two destinations counts twice).
    pub exported: u64,
    /// Spans dropped at span end because the queue was full (or the exporter stopped).
    pub dropped: u64,
    /// Span deliveries given up: the destination refused the batch for good, kept failing
    /// until the retry policy's budget (or `max_attempts`) ran out, its backlog was full, or
    /// the shutdown deadline passed.
    pub failed: u64,
    /// Spans whose tenant had no route and no default route exists.
    pub unrouted: u64,
}

/// One line for a person: `12 spans queued, 12 exported, 0 dropped, 0 failed, 0 unrouted`.
impl std::fmt::Display for ExportStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ExportStats {
            queued,
            exported,
            dropped,
            failed,
            unrouted,
        } = self;
        write!(
            f,
            "{queued} spans queued, {exported} exported, {dropped} dropped, {failed} failed, {unrouted} unrouted"
        )
    }
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    queued: AtomicU64,
    pub(super) exported: AtomicU64,
    dropped: AtomicU64,
    pub(super) failed: AtomicU64,
    unrouted: AtomicU64,
    /// Span deliveries handed to a worker and not yet settled.
    pub(super) in_flight: AtomicU64,
    warned_drop: AtomicBool,
}

impl Counters {
    fn snapshot(&self) -> ExportStats {
        ExportStats {
            queued: self.queued.load(Ordering::Relaxed),
            exported: self.exported.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            unrouted: self.unrouted.load(Ordering::Relaxed),
        }
    }
}

/// The span queue's signalling. Span end does not wake the batcher per span (a task wake-up
/// per request is the expensive part of a channel): it wakes it once a batch is waiting, and
/// the batcher otherwise drains on its batch timer.
#[derive(Debug, Default)]
struct Intake {
    /// Spans in the queue, not yet drained.
    waiting: AtomicUsize,
    /// Wake the batcher when `waiting` reaches this.
    threshold: usize,
    notify: Notify,
    closed: AtomicBool,
}

struct Control {
    stop: oneshot::Sender<Instant>,
    task: JoinHandle<()>,
}

/// The exporter handle: a [`SpanSink`]. Create it inside a tokio runtime.
pub struct Exporter {
    queue: SyncSender<SpanRecord>,
    intake: Arc<Intake>,
    counters: Arc<Counters>,
    control: Mutex<Option<Control>>,
    destinations: Vec<String>,
    diagnostics: DiagnosticSink,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("destinations", &self.destinations)
            .field("stats", &self.stats())
            .finish()
    }
}

/// One encoded export request for one destination.
pub(super) struct Payload {
    pub(super) body: Vec<u8>,
    pub(super) spans: u64,
}

impl Exporter {
    /// Start the background task on the current tokio runtime, with diagnostics on stderr
    /// ([`stderr_sink`]).
    pub fn start(config: &ExportConfig) -> Result<Self, ConfigError> {
        Self::start_with_diagnostics(config, stderr_sink())
    }

    /// Start the background task on the current tokio runtime; diagnostics go to `sink`.
    pub fn start_with_diagnostics(
        config: &ExportConfig,
        sink: DiagnosticSink,
    ) -> Result<Self, ConfigError> {
        let problem = |message: String| ConfigError {
            source_name: "exporter".to_owned(),
            key: "-".to_owned(),
            message,
        };
        tokio::runtime::Handle::try_current()
            .map_err(|_| problem("must be started inside a tokio runtime".to_owned()))?;
        // The batcher and the delivery workers run on their own single-threaded runtime in a
        // dedicated thread, so batching, encoding and HTTP sends never occupy the service's
        // worker threads between requests (it ends when the batcher has finished).
        let own = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| problem(format!("cannot start the export runtime: {e}")))?;
        let runtime = own.handle().clone();
        let (done, done_rx) = oneshot::channel::<()>();
        let nice = config.thread_nice;
        std::thread::Builder::new()
            .name("tracegate-otlp".to_owned())
            .spawn(move || {
                lower_thread_priority(nice);
                let _ = own.block_on(done_rx);
            })
            .map_err(|e| problem(format!("cannot start the export thread: {e}")))?;
        let counters = Arc::new(Counters::default());
        let router = Router::new(config);
        let mut workers = Vec::new();
        // Room for a full queue's worth of requests per destination, at least a few.
        // A batch larger than the queue could never fill from it (the configuration caps it
        // too; this covers a configuration built in code).
        let queue_size = config.queue_size.max(1);
        let batch_size = config.batch_size.clamp(1, queue_size);
        let backlog = (queue_size / batch_size + 2).max(DESTINATION_BACKLOG);
        let mut worker_tasks = Vec::new();
        for name in router.names() {
            let Some(destination) = config.destinations.get(name) else {
                continue;
            };
            let (tx, rx) = mpsc::channel(backlog);
            workers.push(tx);
            let client = super::tls::destination_client(destination, config.timeout)?;
            let worker = Worker {
                client,
                destination: destination.clone(),
                counters: Arc::clone(&counters),
                max_attempts: config.max_attempts.max(1),
                retry: config.retry,
                diagnostics: Arc::clone(&sink),
            };
            worker_tasks.push(runtime.spawn(worker.run(rx)));
        }
        let (queue, rx) = sync_channel(queue_size);
        let intake = Arc::new(Intake {
            threshold: batch_size.min(queue_size / 2).max(1),
            ..Intake::default()
        });
        let (stop, stop_rx) = oneshot::channel();
        let config_batch_timeout = config.batch_timeout;
        let destinations = router.names().to_vec();
        let batcher = Batcher {
            pending: vec![Vec::new(); workers.len()],
            backlog_warned: vec![false; workers.len()],
            router,
            workers,
            counters: Arc::clone(&counters),
            intake: Arc::clone(&intake),
            batch_size,
            backlog,
            diagnostics: Arc::clone(&sink),
        };
        let task = runtime.spawn(async move {
            batcher
                .run(rx, stop_rx, config_batch_timeout, worker_tasks)
                .await;
            let _ = done.send(());
        });
        Ok(Exporter {
            queue,
            intake,
            counters,
            control: Mutex::new(Some(Control { stop, task })),
            destinations,
            diagnostics: sink,
        })
    }

    /// Current counters.
    pub fn stats(&self) -> ExportStats {
        self.counters.snapshot()
    }

    /// Destination names.
    pub fn destinations(&self) -> &[String] {
        &self.destinations
    }

    /// Stop accepting spans, send what is queued, and wait for delivery until `deadline`
    /// elapses; whatever is still in flight then is counted as failed. Returns the final
    /// counters. Calling it again returns the counters at once.
    pub async fn shutdown(&self, deadline: Duration) -> ExportStats {
        let control = match self.control.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        self.intake.closed.store(true, Ordering::Release);
        if let Some(Control { stop, task }) = control {
            let until = Instant::now() + deadline;
            let _ = stop.send(until);
            let abort = task.abort_handle();
            // A little slack for the batcher to count abandoned deliveries.
            if tokio::time::timeout_at(until + Duration::from_millis(50), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        self.stats()
    }
}

impl SpanSink for Exporter {
    fn record(&self, span: SpanRecord) {
        // Count the span as waiting *before* it can be received: the batcher decrements on
        // receipt, so incrementing afterwards would let the count dip below zero and wrap.
        let waiting = self.intake.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        let accepted =
            !self.intake.closed.load(Ordering::Acquire) && self.queue.try_send(span).is_ok();
        match accepted {
            true => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                if waiting == self.intake.threshold {
                    self.intake.notify.notify_one();
                }
            }
            false => {
                self.intake.waiting.fetch_sub(1, Ordering::Relaxed);
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                if !self.counters.warned_drop.swap(true, Ordering::Relaxed) {
                    (self.diagnostics)(&Diagnostic::warn(
                        "span queue full, dropping spans (requests are not affected; further \
                         drops are counted, not logged)",
                    ));
                }
            }
        }
    }
}

struct Batcher {
    router: Router,
    workers: Vec<mpsc::Sender<Payload>>,
    /// Spans waiting per destination (a span routed to two destinations is in both).
    pending: Vec<Vec<SpanRecord>>,
    counters: Arc<Counters>,
    intake: Arc<Intake>,
    batch_size: usize,
    /// Requests each destination's worker can have waiting.
    backlog: usize,
    /// Whether a full backlog was reported, per destination (once each).
    backlog_warned: Vec<bool>,
    diagnostics: DiagnosticSink,
}

impl Batcher {
    async fn run(
        mut self,
        rx: Receiver<SpanRecord>,
        mut stop: oneshot::Receiver<Instant>,
        batch_timeout: Duration,
        worker_tasks: Vec<JoinHandle<()>>,
    ) {
        let mut tick = tokio::time::interval(batch_timeout);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let intake = Arc::clone(&self.intake);
        let deadline = loop {
            let disconnected = tokio::select! {
                until = &mut stop => break until.ok(),
                _ = intake.notify.notified() => self.drain(&rx),
                _ = tick.tick() => {
                    let disconnected = self.drain(&rx);
                    self.flush_all();
                    disconnected
                }
            };
            if disconnected {
                break None;
            }
        };
        self.drain(&rx);
        self.flush_all();
        let Batcher {
            workers, counters, ..
        } = self;
        drop(workers);
        let aborts: Vec<AbortHandle> = worker_tasks.iter().map(|t| t.abort_handle()).collect();
        let all = async {
            for task in worker_tasks {
                let _ = task.await;
            }
        };
        match deadline {
            Some(until) => {
                if tokio::time::timeout_at(until, all).await.is_err() {
                    for abort in aborts {
                        abort.abort();
                    }
                    // Deliveries still queued or in flight are lost: count them.
                    counters.failed.fetch_add(
                        counters.in_flight.swap(0, Ordering::Relaxed),
                        Ordering::Relaxed,
                    );
                }
            }
            None => all.await,
        }
    }

    /// Take every queued span; `true` when the exporter handle is gone.
    fn drain(&mut self, rx: &Receiver<SpanRecord>) -> bool {
        loop {
            match rx.try_recv() {
                Ok(span) => {
                    self.intake.waiting.fetch_sub(1, Ordering::Relaxed);
                    self.add(span);
                }
                Err(TryRecvError::Empty) => return false,
                Err(TryRecvError::Disconnected) => return true,
            }
        }
    }

    fn add(&mut self, span: SpanRecord) {
        let route = self.router.route(span.tenant());
        match route {
            [] => {
                self.counters.unrouted.fetch_add(1, Ordering::Relaxed);
            }
            [index] => {
                let index = *index;
                self.push(index, span);
            }
            many => {
                let many = many.to_vec();
                for index in many {
                    self.push(index, span.clone());
                }
            }
        }
    }

    fn push(&mut self, index: usize, span: SpanRecord) {
        let full = match self.pending.get_mut(index) {
            Some(pending) => {
                pending.push(span);
                pending.len() >= self.batch_size
            }
            None => false,
        };
        if full {
            self.flush(index);
        }
    }

    fn flush_all(&mut self) {
        for index in 0..self.pending.len() {
            self.flush(index);
        }
    }

    fn flush(&mut self, index: usize) {
        let Some(pending) = self.pending.get_mut(index) else {
            return;
        };
        if pending.is_empty() {
            return;
        }
        let count = pending.len() as u64;
        let Some(worker) = self.workers.get(index) else {
            pending.clear();
            return;
        };
        if worker.capacity() == 0 {
            // The destination is not keeping up (or is waiting to retry): give the batch up
            // without encoding it.
            pending.clear();
            self.backlog_full(index, count);
            return;
        }
        let payload = Payload {
            body: otlp::encode(pending.iter()),
            spans: count,
        };
        pending.clear();
        if worker.try_send(payload).is_ok() {
            self.counters.in_flight.fetch_add(count, Ordering::Relaxed);
        } else {
            self.backlog_full(index, count);
        }
    }

    /// Count a batch given up at a full backlog; report the first one per destination.
    fn backlog_full(&mut self, index: usize, spans: u64) {
        self.counters.failed.fetch_add(spans, Ordering::Relaxed);
        let Some(warned) = self.backlog_warned.get_mut(index) else {
            return;
        };
        if std::mem::replace(warned, true) {
            return;
        }
        let name = self
            .router
            .names()
            .get(index)
            .map(String::as_str)
            .unwrap_or("?");
        (self.diagnostics)(
            &Diagnostic::warn(format!(
                "destination `{name}` is not keeping up: its backlog of {} requests is full \
                 (slow, down, or asking to wait before a retry); dropping its new batches \
                 (requests are not affected; further drops are counted, not logged)",
                self.backlog
            ))
            .about(name),
        );
    }
}

/// Schedule the calling thread `by` nice steps below where it is (Linux: the nice value is
/// per thread, and threads it starts, such as the runtime's blocking pool for DNS lookups,
/// inherit it). Best effort: if the kernel refuses, export runs at the service's priority.
#[cfg(target_os = "linux")]
fn lower_thread_priority(by: u8) {
    use rustix::process::{getpriority_process, setpriority_process};
    if by == 0 {
        return;
    }
    let thread = Some(rustix::thread::gettid());
    if let Ok(current) = getpriority_process(thread) {
        let target = current.saturating_add(i32::from(by)).min(19);
        let _ = setpriority_process(thread, target);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_thread_priority(_by: u8) {}
