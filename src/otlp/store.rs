//! Spans in memory, indexed by trace ID, bounded; optionally persisted (see [`persist`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, TracesData};
use prost::bytes::Bytes;
use prost::Message;

use super::decode::DecodeError;
use super::persist::{self, Log};
use super::wire::{self, Batch};
use crate::propagation::TraceId;
use crate::trace::{AssemblyOptions, Trace, TraceSummary};

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
    /// Accepting the batch would exceed the span limit (429 / `UNAVAILABLE`).
    #[error("the trace store is full ({held} of {limit} spans held); retry later")]
    Full { held: usize, limit: usize },
    /// Accepting the batch would exceed the byte limit (429 / `UNAVAILABLE`).
    #[error("the trace store is full ({held} of {limit} bytes held); retry later")]
    FullBytes { held: usize, limit: usize },
    /// The protobuf body is malformed (400 / `INVALID_ARGUMENT`).
    #[error("{0}")]
    Malformed(DecodeError),
    /// The persistent log could not be written.
    #[error("cannot write the trace store: {0}")]
    Io(#[from] std::io::Error),
}

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
    seq: u64,
    updated: Instant,
    reported: bool,
    /// Spans still encoded (slices of the request bodies), with their scope.
    spans: Vec<(Arc<ScopeMeta>, Bytes)>,
}

#[derive(Default)]
struct Inner {
    traces: HashMap<[u8; 16], Entry>,
    spans: usize,
    /// Request bytes retained by the spans held.
    bytes: usize,
    seq: u64,
}

/// The trace store. Spans are kept encoded, as received (about their wire size in memory), and
/// decoded when a trace is read. Cheap to share behind an `Arc`.
pub struct Store {
    inner: RwLock<Inner>,
    max_spans: usize,
    max_bytes: usize,
    log: Option<Mutex<Log>>,
}

/// What loading a persisted store found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub batches: usize,
    pub spans: usize,
    /// Bytes of a torn or corrupt tail that were skipped (and, by [`Store::open`], truncated).
    pub skipped_bytes: u64,
    /// Spans not loaded because the store was full.
    pub dropped_spans: usize,
}

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

    /// A store persisted under `dir` (created if needed): what an earlier run stored is
    /// loaded, a torn tail skipped, and every accepted batch appended before it is answered.
    pub fn open(dir: &Path, max_spans: usize) -> std::io::Result<(Store, LoadReport)> {
        let (log, batches, skipped_bytes) = persist::open(dir)?;
        let (store, report) = Store::loaded(batches, skipped_bytes, max_spans);
        Ok((
            Store {
                log: Some(Mutex::new(log)),
                ..store
            },
            report,
        ))
    }

    /// The store persisted under `dir`, loaded read-only (nothing is repaired or appended):
    /// for `trace show --store` beside a running `collect`.
    pub fn load_read_only(dir: &Path, max_spans: usize) -> std::io::Result<(Store, LoadReport)> {
        let (batches, skipped_bytes) = persist::read(dir)?;
        Ok(Store::loaded(batches, skipped_bytes, max_spans))
    }

    fn loaded(batches: Vec<Batch>, skipped_bytes: u64, max_spans: usize) -> (Store, LoadReport) {
        let store = Store::in_memory(max_spans);
        let mut report = LoadReport {
            batches: batches.len(),
            skipped_bytes,
            ..LoadReport::default()
        };
        for batch in batches {
            let n = batch.span_count() - batch.invalid_count();
            match store.insert(batch, None) {
                Ok(()) => report.spans += n,
                Err(_) => report.dropped_spans += n,
            }
        }
        // what an earlier run stored is not news: `take_quiet` returns only new traces
        let mut inner = store.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.traces.values_mut().for_each(|e| e.reported = true);
        drop(inner);
        (store, report)
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
            let record = self.log.as_ref().map(|_| {
                if rejected == 0 {
                    persist::record(&batch.body)
                } else {
                    persist::record(&batch.encode_valid())
                }
            });
            self.insert(batch, record.as_deref())?;
        }
        Ok(outcome)
    }

    fn insert(&self, batch: Batch, log_record: Option<&[u8]>) -> Result<(), IngestError> {
        let n = batch.span_count() - batch.invalid_count();
        let bytes = batch.body.len();
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.spans + n > self.max_spans {
            return Err(IngestError::Full {
                held: inner.spans,
                limit: self.max_spans,
            });
        }
        if inner.bytes.saturating_add(bytes) > self.max_bytes {
            return Err(IngestError::FullBytes {
                held: inner.bytes,
                limit: self.max_bytes,
            });
        }
        if let (Some(log), Some(record)) = (&self.log, log_record) {
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(record)?;
        }
        let now = Instant::now();
        inner.spans += n;
        inner.bytes += bytes;
        let resources: Vec<Arc<ResourceMeta>> = batch
            .resources
            .into_iter()
            .map(|r| {
                Arc::new(ResourceMeta {
                    resource: r.resource,
                    schema_url: r.schema_url,
                })
            })
            .collect();
        for scope in batch.scopes {
            let meta = Arc::new(ScopeMeta {
                resource: Arc::clone(&resources[scope.resource]),
                scope: scope.scope,
                schema_url: scope.schema_url,
            });
            for span in scope.spans {
                let (Some(key), None) = (span.trace_id, &span.invalid) else {
                    continue;
                };
                inner.seq += 1;
                let seq = inner.seq;
                let entry = inner.traces.entry(key).or_insert_with(|| Entry {
                    seq,
                    updated: now,
                    reported: false,
                    spans: Vec::new(),
                });
                entry.updated = now;
                entry.reported = false;
                entry.spans.push((Arc::clone(&meta), span.bytes));
            }
        }
        Ok(())
    }

    /// Drop every trace held in memory (the on-disk log, if any, is kept).
    pub fn clear(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.traces = HashMap::new();
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

    /// One trace as OTLP data, `None` when unknown.
    pub fn get(&self, trace_id: TraceId) -> Option<TracesData> {
        let inner = self.read();
        inner.traces.get(&trace_id.to_bytes()).map(to_otlp)
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
        let picked: Vec<TracesData> = {
            let inner = self.read();
            let mut entries: Vec<&Entry> = inner.traces.values().collect();
            entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.seq));
            entries.into_iter().take(limit).map(to_otlp).collect()
        };
        picked
            .iter()
            .flat_map(|data| Trace::from_otlp(&data.resource_spans, options))
            .map(|t| t.summary())
            .collect()
    }

    /// Traces that received no span for `quiet` and were not returned before (a trace that
    /// receives more spans later is returned again), oldest first.
    pub fn take_quiet(&self, quiet: Duration, options: &AssemblyOptions) -> Vec<Trace> {
        let picked: Vec<(u64, TracesData)> = {
            let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
            let mut out = Vec::new();
            for entry in inner.traces.values_mut() {
                if !entry.reported && entry.updated.elapsed() >= quiet {
                    entry.reported = true;
                    out.push((entry.seq, to_otlp(entry)));
                }
            }
            out
        };
        let mut picked = picked;
        picked.sort_unstable_by_key(|(seq, _)| *seq);
        picked
            .iter()
            .flat_map(|(_, data)| Trace::from_otlp(&data.resource_spans, options))
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Decode a trace's spans, grouped by resource and scope as received. A span that does not
/// decode (impossible for what [`wire::scan`] accepted) is left out.
fn to_otlp(entry: &Entry) -> TracesData {
    let mut resource_spans: Vec<ResourceSpans> = Vec::new();
    let mut last: Option<&Arc<ScopeMeta>> = None;
    for (meta, bytes) in &entry.spans {
        let Ok(span) = Span::decode(bytes.as_ref()) else {
            continue;
        };
        let same_scope = last.is_some_and(|l| Arc::ptr_eq(l, meta));
        let same_resource = last.is_some_and(|l| Arc::ptr_eq(&l.resource, &meta.resource));
        match resource_spans.last_mut() {
            Some(rs) if same_scope => {
                if let Some(ss) = rs.scope_spans.last_mut() {
                    ss.spans.push(span);
                }
            }
            Some(rs) if same_resource => rs.scope_spans.push(scope_spans(meta, span)),
            _ => resource_spans.push(ResourceSpans {
                resource: Some(
                    Resource::decode(meta.resource.resource.as_ref()).unwrap_or_default(),
                ),
                scope_spans: vec![scope_spans(meta, span)],
                schema_url: meta.resource.schema_url.clone(),
            }),
        }
        last = Some(meta);
    }
    TracesData { resource_spans }
}

fn scope_spans(meta: &ScopeMeta, span: Span) -> ScopeSpans {
    ScopeSpans {
        scope: Some(InstrumentationScope::decode(meta.scope.as_ref()).unwrap_or_default()),
        spans: vec![span],
        schema_url: meta.schema_url.clone(),
    }
}

#[cfg(test)]
mod tests;
