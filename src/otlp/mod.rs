//! A small OpenTelemetry Collector: the OTLP receiver and the trace store.
//!
//! * [`http::app`] — OTLP/HTTP `POST /v1/traces` (protobuf and JSON, gzip) and the query API
//!   (`GET /api/traces/{id}`, `GET /api/traces?limit=N`) on one axum [`Router`](axum::Router).
//! * [`grpc`] — OTLP/gRPC `TraceService/Export` (tonic, gzip).
//! * [`store::Store`] — spans in memory indexed by trace ID, bounded, optionally persisted to
//!   an append-only, checksummed log ([`persist`]).
//! * [`wire::scan`] — validate and index a protobuf request without decoding it: the store
//!   keeps spans as zero-copy slices of the request and decodes them when a trace is read.
//! * [`server::Collector`] — both receivers on sockets, stopped together.
//! * [`client`] — fetch a trace by ID from a tracegate receiver, Grafana Tempo or Jaeger v2.
//!
//! Every limit is in [`Limits`]; over a limit the receiver answers 413 / `RESOURCE_EXHAUSTED`,
//! on malformed input 400 / `INVALID_ARGUMENT` with the reason, and when the persisted log
//! cannot be written (disk full) 503 / `UNAVAILABLE` with a retry delay. A full store evicts
//! its oldest traces and keeps accepting.

pub mod client;
pub mod decode;
pub mod grpc;
pub mod http;
pub mod persist;
mod rpc;
pub mod sample;
pub mod server;
pub mod store;
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
    /// Most request bytes held in memory (spans are kept as slices of their requests);
    /// beyond it the oldest traces are evicted.
    pub max_stored_bytes: usize,
    /// The delay exporters are told to wait when a batch cannot be written (503).
    pub retry_after: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 * 1024 * 1024,
            max_decompressed_bytes: 32 * 1024 * 1024,
            max_spans: 1_000_000,
            max_stored_bytes: 512 * 1024 * 1024,
            retry_after: Duration::from_secs(5),
        }
    }
}

/// What the HTTP and gRPC receivers share: the store and the limits.
pub struct Receiver {
    pub store: Arc<store::Store>,
    pub limits: Limits,
    pub assembly: AssemblyOptions,
}

impl Receiver {
    /// A receiver over `store` with `limits` and default assembly options.
    pub fn new(store: Arc<store::Store>, limits: Limits) -> Arc<Receiver> {
        Arc::new(Receiver {
            store,
            limits,
            assembly: AssemblyOptions::default(),
        })
    }
}

impl Limits {
    /// An in-memory store bounded by these limits.
    pub fn store(&self) -> store::Store {
        store::Store::in_memory(self.max_spans).with_max_bytes(self.max_stored_bytes)
    }
}
