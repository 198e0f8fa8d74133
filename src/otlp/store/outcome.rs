//! What the store answers: outcomes and errors of an export, load reports, statistics.

use super::super::decode::DecodeError;

/// What an accepted export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub accepted: usize,
    /// Spans rejected for invalid IDs (reported as OTLP partial success).
    pub rejected: usize,
    /// Why the first rejected span was rejected.
    pub reason: Option<String>,
}

/// Why an export was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The batch alone holds more than the whole store may (413 / `RESOURCE_EXHAUSTED`):
    /// evicting everything would not make room, and retrying cannot help.
    #[error(
        "the batch is larger than the whole trace store ({spans} spans of {bytes} bytes; \
         the store holds at most {max_spans} spans and {max_bytes} bytes)"
    )]
    TooLarge {
        spans: usize,
        bytes: usize,
        max_spans: usize,
        max_bytes: usize,
    },
    /// The protobuf body is malformed (400 / `INVALID_ARGUMENT`).
    #[error("{0}")]
    Malformed(DecodeError),
    /// The persistent log could not be written, e.g. the disk is full (503 with a retry
    /// delay / `UNAVAILABLE`). Nothing of the batch was kept, in memory or on disk.
    #[error("cannot write the trace store: {0}")]
    Io(#[from] std::io::Error),
}

/// What the store holds and what it had to do to keep accepting (`GET /api/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
    pub traces: usize,
    pub spans: usize,
    /// Request bytes retained by the spans held.
    pub bytes: usize,
    pub max_spans: usize,
    pub max_bytes: usize,
    /// Traces evicted (oldest first) to make room, and their spans.
    pub evicted_traces: u64,
    pub evicted_spans: u64,
    /// Batches refused because each alone was larger than the whole store.
    pub refused_batches: u64,
    /// Batches refused because the log could not be written (disk full…), and the last error.
    pub write_failures: u64,
    pub last_write_error: Option<String>,
    /// Length of the on-disk log, when persisted.
    pub log_bytes: Option<u64>,
    /// Log compactions done, failed, and the last failure.
    pub compactions: u64,
    pub compaction_failures: u64,
    pub last_compaction_error: Option<String>,
}

/// What loading a persisted store found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub batches: usize,
    /// Spans held after loading.
    pub spans: usize,
    /// Bytes after the last valid record (a torn final record): truncated by
    /// [`Store::open`](super::Store::open), ignored by
    /// [`Store::load_read_only`](super::Store::load_read_only).
    pub skipped_bytes: u64,
    /// Damaged records in the log that were skipped (only they are lost), and their bytes.
    pub damaged_records: usize,
    pub damaged_bytes: u64,
    /// Spans of the oldest traces not kept because the log holds more than the bounds.
    pub evicted_spans: u64,
    /// Spans not loaded because their batch alone exceeds the bounds.
    pub dropped_spans: usize,
    /// The log was in format 1 (rewritten in format 2 by
    /// [`Store::open`](super::Store::open)).
    pub upgraded: bool,
}
