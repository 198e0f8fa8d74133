//! A small OpenTelemetry Collector: the OTLP receiver and the trace store.
//!
//! * [`http::app`] — OTLP/HTTP `POST /v1/traces` (protobuf and JSON, gzip) and the query API
//!   (`GET /api/traces/{id}`, `GET /api/traces?limit=N`) on one axum [`Router`](axum::Router).
//! * [`grpc`] — OTLP/gRPC `TraceService/Export` (tonic, gzip).
//! * [`store::Store`] — spans in memory indexed by trace ID, bounded, optionally persisted to
//!   an append-only, checksummed log ([`persist`]).
//! * [`wire::scan`] — validate and index a protobuf request without decoding it: the store
//!   keeps spans as zero-copy slices of the request and decodes them when a trace is read.
//! * [`ui`] — `collect`'s web UI on the OTLP/HTTP port: recent traces (`GET /`) and one trace
//!   (`GET /traces/{id}`) as HTML, read from the store per request.
//! * [`server::Collector`] — both receivers on sockets, stopped together.
//! * [`client`] — fetch a trace by ID from a tracegate receiver, Grafana Tempo or Jaeger v2.
//!
//! Every limit is in [`Limits`]; over a limit the receiver answers 413 / `RESOURCE_EXHAUSTED`,
//! when the in-flight budget ([`budget`]) is exhausted 429 / `UNAVAILABLE` with a retry delay,
//! on malformed input 400 / `INVALID_ARGUMENT` with the reason, and when the persisted log
//! cannot be written (disk full) 503 / `UNAVAILABLE` with a retry delay. A full store evicts
//! its oldest traces and keeps accepting. Connections are capped and timed out ([`listen`]).

pub mod budget;
pub mod client;
pub mod decode;
pub mod grpc;
pub mod host_check;
pub mod http;
pub mod json;
pub mod listen;
pub mod persist;
mod rpc;
pub mod sample;
pub mod server;
pub mod store;
pub mod ui;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use crate::trace::AssemblyOptions;

/// Receiver limits. All configurable; the defaults suit a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body accepted on the wire (HTTP), before decompression.
    pub max_body_bytes: usize,
    /// Largest request after decompression (HTTP gzip) and largest gRPC message.
    pub max_decompressed_bytes: usize,
    /// Most spans held in memory; beyond it the oldest traces are evicted.
    pub max_spans: usize,
    /// Most spans one export request may hold (valid or not); beyond it 413 /
    /// `RESOURCE_EXHAUSTED`. Bounds what indexing and storing one request costs.
    pub max_spans_per_request: usize,
    /// Most protobuf messages (resource spans, scope spans, spans, attributes, values…) one
    /// export request may hold, and most JSON objects and arrays in an OTLP/JSON one; beyond
    /// it 413 / `RESOURCE_EXHAUSTED`.
    pub max_messages_per_request: usize,
    /// Most spans a trace query (`GET /api/traces/{id}`) answers with; a larger trace gets
    /// 413 saying how many spans it has (`trace show --store` reads it whole).
    pub max_query_spans: usize,
    /// Most request bytes held in memory (spans are kept as slices of their requests);
    /// beyond it the oldest traces are evicted.
    pub max_stored_bytes: usize,
    /// The delay exporters are told to wait when the receiver is busy (429) or a batch cannot
    /// be written (503).
    pub retry_after: Duration,
    /// Most bytes all requests being received and processed may hold together (bodies,
    /// decompressed bodies, the cost of indexing them); beyond it exports get 429 /
    /// `UNAVAILABLE` (the Collector's `memory_limiter`).
    pub max_inflight_bytes: usize,
    /// Most export requests processed at once (HTTP and gRPC together); beyond it 429 /
    /// `UNAVAILABLE`.
    pub max_inflight_requests: usize,
    /// Most open connections per listener; further ones wait in the accept queue.
    pub max_connections: usize,
    /// Most trace queries (`GET /api/traces…`) answered at once; beyond it 503.
    pub max_concurrent_queries: usize,
    /// Time a client has to send a request's headers (HTTP/1); slower connections are closed.
    pub header_read_timeout: Duration,
    /// Time a client has to send a request body; beyond it 408.
    pub body_read_timeout: Duration,
    /// A connection with no byte read or written for this long while the server waits for
    /// the client (idle keep-alive, stalled upload) is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 * 1024 * 1024,
            max_decompressed_bytes: 32 * 1024 * 1024,
            max_spans: 1_000_000,
            max_spans_per_request: wire::DEFAULT_MAX_SPANS,
            max_messages_per_request: wire::DEFAULT_MAX_MESSAGES,
            max_query_spans: 100_000,
            max_stored_bytes: 512 * 1024 * 1024,
            retry_after: Duration::from_secs(5),
            max_inflight_bytes: 128 * 1024 * 1024,
            max_inflight_requests: 256,
            max_connections: 1024,
            max_concurrent_queries: 4,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Longest a large request waits for a worker slot before it is told to retry later.
pub const WORKER_WAIT: Duration = Duration::from_secs(2);

/// What the HTTP and gRPC receivers share: the store, the limits and the budgets.
pub struct Receiver {
    pub store: Arc<store::Store>,
    pub limits: Limits,
    pub assembly: AssemblyOptions,
    /// Bytes held by requests in flight, bounded by [`Limits::max_inflight_bytes`].
    pub inflight: Arc<budget::InflightBudget>,
    requests: Arc<tokio::sync::Semaphore>,
    queries: Arc<tokio::sync::Semaphore>,
    workers: Arc<tokio::sync::Semaphore>,
}

impl Receiver {
    /// A receiver over `store` with `limits` and default assembly options.
    pub fn new(store: Arc<store::Store>, limits: Limits) -> Arc<Receiver> {
        Arc::new(Receiver {
            store,
            limits,
            assembly: AssemblyOptions::default(),
            inflight: budget::InflightBudget::new(limits.max_inflight_bytes),
            requests: Arc::new(tokio::sync::Semaphore::new(
                limits.max_inflight_requests.max(1),
            )),
            queries: Arc::new(tokio::sync::Semaphore::new(
                limits.max_concurrent_queries.max(1),
            )),
            workers: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        })
    }

    /// Wait (at most [`WORKER_WAIT`]) for one of the slots, as many as CPU cores, for
    /// decompressing and indexing a large request: more at once would not go faster, and each
    /// holds its buffers meanwhile. `None` when none freed up in time: the caller answers
    /// 429 / `UNAVAILABLE`, so a flood is shed instead of queued past exporters' timeouts.
    pub async fn worker_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let slot = Arc::clone(&self.workers).acquire_owned();
        tokio::time::timeout(WORKER_WAIT, slot).await.ok()?.ok()
    }

    /// A slot among [`Limits::max_inflight_requests`], `None` when all are taken.
    pub fn try_start_request(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.requests).try_acquire_owned().ok()
    }

    /// A slot among [`Limits::max_concurrent_queries`], `None` when all are taken.
    pub fn try_start_query(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.queries).try_acquire_owned().ok()
    }
}

impl Limits {
    /// What one export request may cost [`wire::scan_with_limits`].
    pub fn scan_limits(&self) -> wire::ScanLimits {
        wire::ScanLimits {
            max_messages: self.max_messages_per_request,
            max_spans: self.max_spans_per_request,
        }
    }

    /// An in-memory store bounded by these limits.
    pub fn store(&self) -> store::Store {
        store::Store::in_memory(self.max_spans).with_max_bytes(self.max_stored_bytes)
    }
}
