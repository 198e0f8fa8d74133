//! Spans in memory, indexed by trace ID, bounded by evicting the oldest traces; optionally
//! persisted (see [`persist`]).
//!
//! When the span or byte bound is reached, whole traces are evicted in the order they first
//! arrived (as Jaeger's in-memory store does with `max-traces`) and the store keeps
//! accepting. Only a batch larger than the whole store is refused.

mod encode;
mod index;
mod outcome;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::bytes::Bytes;
use prost::Message;

pub use self::encode::TraceSnapshot;
use self::index::{add, evict_oldest};
pub use self::outcome::{IngestError, IngestOutcome, LoadReport, StoreStats};
use super::persist::{self, Log, PersistOptions};
use super::wire::{self, Batch};
use crate::propagation::TraceId;
use crate::trace::{AssemblyOptions, Trace, TraceSummary};

/// The resource of a group of spans, encoded, shared by its spans.
struct ResourceMeta {
    resource: Bytes,
    schema_url: String,
}

/// The scope (and resource) of a group of spans, shared by its spans.
struct ScopeMeta {
    resource: Arc<ResourceMeta>,
    scope: Bytes,
    schema_url: String,
}

struct Entry {
    /// Order of first arrival.
    seq: u64,
    updated: Instant,
    reported: bool,
    /// Request bytes charged to this trace (its share of the bodies its spans came in).
    bytes: usize,
    /// Spans still encoded (slices of the request bodies), with their scope.
    spans: Vec<(Arc<ScopeMeta>, Bytes)>,
}

impl Entry {
    fn snapshot(&self) -> TraceSnapshot {
        TraceSnapshot {
            spans: self.spans.clone(),
        }
    }
}

#[derive(Default)]
struct Inner {
    traces: HashMap<[u8; 16], Entry>,
    /// Trace keys in order of first arrival: the front is evicted first.
    arrival: VecDeque<[u8; 16]>,
    spans: usize,
    /// Request bytes retained by the spans held.
    bytes: usize,
    seq: u64,
    counters: Counters,
}

#[derive(Debug, Clone, Default)]
struct Counters {
    evicted_traces: u64,
    evicted_spans: u64,
    refused_batches: u64,
    write_failures: u64,
    last_write_error: Option<String>,
    compactions: u64,
    compaction_failures: u64,
    last_compaction_error: Option<String>,
}

/// The trace store. Spans are kept encoded, as received (about their wire size in memory), and
/// decoded when a trace is read. Cheap to share behind an `Arc`.
pub struct Store {
    inner: RwLock<Inner>,
    max_spans: usize,
    max_bytes: usize,
    log: Option<Mutex<Log>>,
}

/// Spans of traces charged per compacted record.
const COMPACT_RECORD_BYTES: usize = 1 << 20;

impl Store {
    /// An in-memory store holding at most `max_spans` spans.
    pub fn in_memory(max_spans: usize) -> Store {
        Store {
            inner: RwLock::new(Inner::default()),
            max_spans,
            max_bytes: usize::MAX,
            log: None,
        }
    }

    /// Also bound the request bytes the held spans retain (spans are kept as slices of the
    /// requests they came in, so this bounds the store's memory together with the span limit).
    pub fn with_max_bytes(self, max_bytes: usize) -> Store {
        Store { max_bytes, ..self }
    }

    /// [`Store::open_with`] without a byte bound and with the default [`PersistOptions`].
    pub fn open(dir: &Path, max_spans: usize) -> std::io::Result<(Store, LoadReport)> {
        Store::open_with(dir, max_spans, usize::MAX, PersistOptions::default())
    }

    /// A store persisted under `dir` (created if needed): what an earlier run stored is
    /// loaded record by record (the newest traces when it holds more than the bounds), a torn
    /// final record truncated, and every accepted batch appended before it is answered. The
    /// memory bound is at most half of `options.max_log_bytes`, so that a compaction brings
    /// the log back under its bound.
    pub fn open_with(
        dir: &Path,
        max_spans: usize,
        max_bytes: usize,
        options: PersistOptions,
    ) -> std::io::Result<(Store, LoadReport)> {
        let (mut log, mut records) = persist::open(dir, options)?;
        let half_log = usize::try_from(options.max_log_bytes / 2).unwrap_or(usize::MAX);
        let store = Store::in_memory(max_spans).with_max_bytes(max_bytes.min(half_log));
        let mut report = store.load(&mut records)?;
        log.finish_load(&records.summary())?;
        report.upgraded = records.is_v1();
        if report.upgraded || report.evicted_spans > 0 || log.wants_compaction() {
            let mut inner = store.write();
            let compacted = compact(&mut log, &mut inner);
            if report.upgraded {
                // a format-1 log cannot take format-2 appends: its rewrite must succeed
                compacted?;
                inner.counters = Counters::default();
            }
        }
        let store = Store {
            log: Some(Mutex::new(log)),
            ..store
        };
        Ok((store, report))
    }

    /// The store persisted under `dir`, loaded read-only (nothing is repaired or appended):
    /// for `trace show --store` beside a running `collect`.
    pub fn load_read_only(dir: &Path, max_spans: usize) -> std::io::Result<(Store, LoadReport)> {
        let mut records = persist::read(dir)?;
        let store = Store::in_memory(max_spans);
        let report = store.load(&mut records)?;
        Ok((store, report))
    }

    /// Insert every batch of `records`, oldest first, evicting as needed.
    fn load(&self, records: &mut persist::Records) -> std::io::Result<LoadReport> {
        let mut report = LoadReport::default();
        while let Some(batch) = records.next_batch()? {
            report.batches += 1;
            let n = batch.span_count() - batch.invalid_count();
            if self.insert(batch, None).is_err() {
                report.dropped_spans += n;
            }
        }
        let summary = records.summary();
        report.skipped_bytes = summary.tail_bytes;
        report.damaged_records = summary.damaged_records;
        report.damaged_bytes = summary.damaged_bytes;
        let mut inner = self.write();
        report.spans = inner.spans;
        report.evicted_spans = inner.counters.evicted_spans;
        inner.counters = Counters::default();
        // what an earlier run stored is not news: `take_quiet` returns only new traces
        inner.traces.values_mut().for_each(|e| e.reported = true);
        Ok(report)
    }

    /// Validate and store an export request. Spans with an invalid trace or span ID are
    /// rejected (partial success); the rest is accepted all together or not at all.
    pub fn ingest(&self, request: ExportTraceServiceRequest) -> Result<IngestOutcome, IngestError> {
        self.ingest_encoded(Bytes::from(request.encode_to_vec()))
    }

    /// [`Store::ingest`] for an encoded `ExportTraceServiceRequest`, without decoding it: the
    /// spans are kept as slices of `body`.
    pub fn ingest_encoded(&self, body: Bytes) -> Result<IngestOutcome, IngestError> {
        let batch = wire::scan(body).map_err(IngestError::Malformed)?;
        self.ingest_scanned(batch)
    }

    /// [`Store::ingest_encoded`] for a request already scanned (the receiver scans with its
    /// per-request limits, [`wire::scan_with_limits`]).
    pub fn ingest_scanned(&self, batch: Batch) -> Result<IngestOutcome, IngestError> {
        let rejected = batch.invalid_count();
        let outcome = IngestOutcome {
            accepted: batch.span_count() - rejected,
            rejected,
            reason: batch
                .scopes
                .iter()
                .flat_map(|s| &s.spans)
                .find_map(|s| s.invalid.clone()),
        };
        if outcome.accepted > 0 {
            let payload = self.log.as_ref().map(|_| {
                if rejected == 0 {
                    batch.body.to_vec()
                } else {
                    batch.encode_valid()
                }
            });
            self.insert(batch, payload.as_deref())?;
        }
        Ok(outcome)
    }

    fn insert(&self, batch: Batch, log_payload: Option<&[u8]>) -> Result<(), IngestError> {
        let n = batch.span_count() - batch.invalid_count();
        let bytes = batch.body.len();
        if n > self.max_spans || bytes > self.max_bytes {
            self.write().counters.refused_batches += 1;
            return Err(IngestError::TooLarge {
                spans: n,
                bytes,
                max_spans: self.max_spans,
                max_bytes: self.max_bytes,
            });
        }
        // Lock order everywhere: the log, then the index. The record is appended (and fsynced)
        // before the index is locked, so queries do not wait for the disk; the index is
        // updated before the log is released, so a compaction sees every appended batch.
        let mut log = match (&self.log, log_payload) {
            (Some(log), Some(payload)) => {
                let mut log = lock(log);
                if let Err(e) = log.append(payload) {
                    let mut inner = self.write();
                    inner.counters.write_failures += 1;
                    inner.counters.last_write_error = Some(e.to_string());
                    return Err(IngestError::Io(e));
                }
                Some(log)
            }
            _ => None,
        };
        let mut inner = self.write();
        while inner.spans + n > self.max_spans || inner.bytes + bytes > self.max_bytes {
            if !evict_oldest(&mut inner) {
                break;
            }
        }
        add(&mut inner, batch, n);
        if let Some(log) = log.as_mut().filter(|l| l.wants_compaction()) {
            // a failure is counted; the log keeps growing until a compaction succeeds
            let _ = compact(log, &mut inner);
        }
        Ok(())
    }

    /// fsync the log if batches were appended since the last fsync (for
    /// [`persist::FsyncPolicy::Batch`]: call it every `fsync_interval`).
    pub fn sync(&self) -> std::io::Result<()> {
        match &self.log {
            Some(log) => lock(log).sync_if_dirty(),
            None => Ok(()),
        }
    }

    /// Drop every trace held in memory (the on-disk log, if any, is kept).
    pub fn clear(&self) {
        let mut inner = self.write();
        inner.traces = HashMap::new();
        inner.arrival = VecDeque::new();
        inner.spans = 0;
        inner.bytes = 0;
    }

    /// Spans held.
    pub fn span_count(&self) -> usize {
        self.read().spans
    }

    /// Request bytes retained by the spans held.
    pub fn byte_count(&self) -> usize {
        self.read().bytes
    }

    /// Traces held.
    pub fn trace_count(&self) -> usize {
        self.read().traces.len()
    }

    /// What the store holds, what it evicted, and how its log fares.
    pub fn stats(&self) -> StoreStats {
        let (traces, spans, bytes, c) = {
            let inner = self.read();
            (
                inner.traces.len(),
                inner.spans,
                inner.bytes,
                inner.counters.clone(),
            )
        };
        StoreStats {
            traces,
            spans,
            bytes,
            max_spans: self.max_spans,
            max_bytes: self.max_bytes,
            evicted_traces: c.evicted_traces,
            evicted_spans: c.evicted_spans,
            refused_batches: c.refused_batches,
            write_failures: c.write_failures,
            last_write_error: c.last_write_error,
            log_bytes: self.log.as_ref().map(|l| lock(l).len()),
            compactions: c.compactions,
            compaction_failures: c.compaction_failures,
            last_compaction_error: c.last_compaction_error,
        }
    }

    /// The IDs of every trace held, in order of first arrival.
    pub fn trace_ids(&self) -> Vec<TraceId> {
        let inner = self.read();
        inner
            .arrival
            .iter()
            .filter(|k| inner.traces.contains_key(*k))
            .filter_map(|k| TraceId::from_bytes(*k))
            .collect()
    }

    /// The IDs of the `limit` most recently started traces (by first span received), newest
    /// first.
    pub fn recent_ids(&self, limit: usize) -> Vec<TraceId> {
        let inner = self.read();
        inner
            .arrival
            .iter()
            .rev()
            .filter(|k| inner.traces.contains_key(*k))
            .take(limit)
            .filter_map(|k| TraceId::from_bytes(*k))
            .collect()
    }

    /// One trace's spans as held, `None` when unknown. Cheap (shared slices): the lock is
    /// held only while they are cloned; decode with [`TraceSnapshot::to_otlp`].
    pub fn snapshot(&self, trace_id: TraceId) -> Option<TraceSnapshot> {
        self.read()
            .traces
            .get(&trace_id.to_bytes())
            .map(Entry::snapshot)
    }

    /// One trace as OTLP data, `None` when unknown. Decoded after the lock is released.
    pub fn get(&self, trace_id: TraceId) -> Option<TracesData> {
        self.snapshot(trace_id).map(|s| s.to_otlp())
    }

    /// One trace, assembled, `None` when unknown.
    pub fn trace(&self, trace_id: TraceId, options: &AssemblyOptions) -> Option<Trace> {
        let data = self.get(trace_id)?;
        Trace::from_otlp(&data.resource_spans, options)
            .into_iter()
            .find(|t| t.trace_id == trace_id)
    }

    /// The most recently started traces (by first span received), newest first.
    pub fn recent(&self, limit: usize, options: &AssemblyOptions) -> Vec<TraceSummary> {
        self.recent_bounded(limit, usize::MAX, options)
    }

    /// [`Store::recent`], decoding at most `max_trace_spans` spans of any one trace: a larger
    /// trace is listed with its ID and span count only (root, duration and problems unknown),
    /// so a listing never holds more than one such trace decoded at a time.
    pub fn recent_bounded(
        &self,
        limit: usize,
        max_trace_spans: usize,
        options: &AssemblyOptions,
    ) -> Vec<TraceSummary> {
        let picked: Vec<([u8; 16], TraceSnapshot)> = {
            let inner = self.read();
            inner
                .arrival
                .iter()
                .rev()
                .filter_map(|k| inner.traces.get(k).map(|e| (*k, e)))
                .take(limit)
                .map(|(k, e)| (k, e.snapshot()))
                .collect()
        };
        let mut out = Vec::with_capacity(picked.len());
        for (key, snapshot) in picked {
            if snapshot.span_count() > max_trace_spans {
                out.push(TraceSummary {
                    trace_id: TraceId::from_bytes(key)
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                    root_service: None,
                    root_operation: None,
                    spans: snapshot.span_count(),
                    duration_ns: 0,
                    start_unix_nano: 0,
                    error: false,
                    problems: 0,
                });
                continue;
            }
            let data = snapshot.to_otlp();
            drop(snapshot);
            out.extend(
                Trace::from_otlp(&data.resource_spans, options)
                    .iter()
                    .map(Trace::summary),
            );
        }
        out
    }

    /// Traces that received no span for `quiet` and were not returned before (a trace that
    /// receives more spans later is returned again), oldest first.
    pub fn take_quiet(&self, quiet: Duration, options: &AssemblyOptions) -> Vec<Trace> {
        let mut picked: Vec<(u64, TraceSnapshot)> = {
            let mut inner = self.write();
            let mut out = Vec::new();
            for entry in inner.traces.values_mut() {
                if !entry.reported && entry.updated.elapsed() >= quiet {
                    entry.reported = true;
                    out.push((entry.seq, entry.snapshot()));
                }
            }
            out
        };
        picked.sort_unstable_by_key(|(seq, _)| *seq);
        picked
            .iter()
            .flat_map(|(_, s)| Trace::from_otlp(&s.to_otlp().resource_spans, options))
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Rewrite the log with what memory holds, oldest trace first.
fn compact(log: &mut Log, inner: &mut Inner) -> std::io::Result<()> {
    let mut chunks: Vec<Vec<&[u8; 16]>> = Vec::new();
    let mut charged = COMPACT_RECORD_BYTES;
    for key in &inner.arrival {
        let Some(entry) = inner.traces.get(key) else {
            continue;
        };
        if charged >= COMPACT_RECORD_BYTES {
            chunks.push(Vec::new());
            charged = 0;
        }
        charged += entry.bytes;
        if let Some(chunk) = chunks.last_mut() {
            chunk.push(key);
        }
    }
    let traces = &inner.traces;
    let payloads = chunks.iter().map(|keys| {
        encode::encode_request(
            keys.iter()
                .filter_map(|k| traces.get(*k))
                .flat_map(|e| e.spans.iter()),
        )
    });
    let done = log.compact(payloads);
    match &done {
        Ok(()) => inner.counters.compactions += 1,
        Err(e) => {
            inner.counters.compaction_failures += 1;
            inner.counters.last_compaction_error = Some(e.to_string());
        }
    }
    done
}

fn lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_log;
