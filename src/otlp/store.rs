//! Spans in memory, indexed by trace ID, bounded; optionally persisted (see [`persist`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, TracesData};

use super::persist::{self, Log};
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
    /// The persistent log could not be written.
    #[error("cannot write the trace store: {0}")]
    Io(#[from] std::io::Error),
}

struct Group {
    resource: Arc<Resource>,
    resource_schema_url: Arc<str>,
    scope: Arc<InstrumentationScope>,
    scope_schema_url: Arc<str>,
    spans: Vec<Span>,
}

struct Entry {
    seq: u64,
    updated: Instant,
    reported: bool,
    spans: usize,
    groups: Vec<Group>,
}

#[derive(Default)]
struct Inner {
    traces: HashMap<[u8; 16], Entry>,
    spans: usize,
    seq: u64,
}

/// The trace store. Cheap to share behind an `Arc`.
pub struct Store {
    inner: RwLock<Inner>,
    max_spans: usize,
    log: Option<Mutex<Log>>,
}

/// What loading a persisted store found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub batches: usize,
    pub spans: usize,
    /// Bytes of a torn or corrupt tail that were skipped and truncated away.
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
            log: None,
        }
    }

    /// A store persisted under `dir` (created if needed): what an earlier run stored is
    /// loaded, a torn tail skipped, and every accepted batch appended before it is answered.
    pub fn open(dir: &Path, max_spans: usize) -> std::io::Result<(Store, LoadReport)> {
        let (log, batches, skipped_bytes) = persist::open(dir)?;
        let store = Store::in_memory(max_spans);
        let mut report = LoadReport {
            batches: batches.len(),
            skipped_bytes,
            ..LoadReport::default()
        };
        for batch in batches {
            let n = count_spans(&batch);
            match store.insert(batch, None) {
                Ok(()) => report.spans += n,
                Err(_) => report.dropped_spans += n,
            }
        }
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
        let store = Store::in_memory(max_spans);
        let mut report = LoadReport {
            batches: batches.len(),
            skipped_bytes,
            ..LoadReport::default()
        };
        for batch in batches {
            let n = count_spans(&batch);
            match store.insert(batch, None) {
                Ok(()) => report.spans += n,
                Err(_) => report.dropped_spans += n,
            }
        }
        Ok((store, report))
    }

    /// Validate and store an export request. Spans with an invalid trace or span ID are
    /// rejected (partial success); the rest is accepted all together or not at all.
    pub fn ingest(
        &self,
        mut request: ExportTraceServiceRequest,
    ) -> Result<IngestOutcome, IngestError> {
        let mut outcome = IngestOutcome::default();
        for rs in &mut request.resource_spans {
            for ss in &mut rs.scope_spans {
                ss.spans.retain(|s| match invalid_reason(s) {
                    None => true,
                    Some(reason) => {
                        outcome.rejected += 1;
                        outcome.reason.get_or_insert(reason);
                        false
                    }
                });
                outcome.accepted += ss.spans.len();
            }
        }
        if outcome.accepted > 0 {
            let encoded = self.log.as_ref().map(|_| persist::encode(&request));
            self.insert(request, encoded.as_deref())?;
        }
        Ok(outcome)
    }

    fn insert(
        &self,
        request: ExportTraceServiceRequest,
        log_record: Option<&[u8]>,
    ) -> Result<(), IngestError> {
        let n = count_spans(&request);
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.spans + n > self.max_spans {
            return Err(IngestError::Full {
                held: inner.spans,
                limit: self.max_spans,
            });
        }
        if let (Some(log), Some(record)) = (&self.log, log_record) {
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(record)?;
        }
        let now = Instant::now();
        inner.spans += n;
        for rs in request.resource_spans {
            let resource = Arc::new(rs.resource.unwrap_or_default());
            let resource_schema_url: Arc<str> = rs.schema_url.into();
            for ss in rs.scope_spans {
                let scope = Arc::new(ss.scope.unwrap_or_default());
                let scope_schema_url: Arc<str> = ss.schema_url.into();
                for span in ss.spans {
                    let Ok(key) = <[u8; 16]>::try_from(span.trace_id.as_slice()) else {
                        continue;
                    };
                    inner.seq += 1;
                    let seq = inner.seq;
                    let entry = inner.traces.entry(key).or_insert_with(|| Entry {
                        seq,
                        updated: now,
                        reported: false,
                        spans: 0,
                        groups: Vec::new(),
                    });
                    entry.updated = now;
                    entry.reported = false;
                    entry.spans += 1;
                    match entry.groups.last_mut() {
                        Some(g)
                            if Arc::ptr_eq(&g.resource, &resource)
                                && Arc::ptr_eq(&g.scope, &scope) =>
                        {
                            g.spans.push(span)
                        }
                        _ => entry.groups.push(Group {
                            resource: Arc::clone(&resource),
                            resource_schema_url: Arc::clone(&resource_schema_url),
                            scope: Arc::clone(&scope),
                            scope_schema_url: Arc::clone(&scope_schema_url),
                            spans: vec![span],
                        }),
                    }
                }
            }
        }
        Ok(())
    }

    /// Drop every trace held in memory (the on-disk log, if any, is kept).
    pub fn clear(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.traces = HashMap::new();
        inner.spans = 0;
    }

    /// Spans held.
    pub fn span_count(&self) -> usize {
        self.read().spans
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

fn to_otlp(entry: &Entry) -> TracesData {
    let mut resource_spans: Vec<ResourceSpans> = Vec::new();
    let mut last: Option<&Group> = None;
    for g in &entry.groups {
        let scope_spans = ScopeSpans {
            scope: Some((*g.scope).clone()),
            spans: g.spans.clone(),
            schema_url: g.scope_schema_url.to_string(),
        };
        match (last, resource_spans.last_mut()) {
            (Some(prev), Some(rs)) if Arc::ptr_eq(&prev.resource, &g.resource) => {
                rs.scope_spans.push(scope_spans)
            }
            _ => resource_spans.push(ResourceSpans {
                resource: Some((*g.resource).clone()),
                scope_spans: vec![scope_spans],
                schema_url: g.resource_schema_url.to_string(),
            }),
        }
        last = Some(g);
    }
    TracesData { resource_spans }
}

fn count_spans(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// Why a span cannot be stored, `None` when it can.
fn invalid_reason(span: &Span) -> Option<String> {
    if span.trace_id.len() != 16 || span.trace_id.iter().all(|b| *b == 0) {
        return Some(format!(
            "span {:?}: trace ID must be 16 bytes, not all zero (got {} bytes)",
            span.name,
            span.trace_id.len()
        ));
    }
    if span.span_id.len() != 8 || span.span_id.iter().all(|b| *b == 0) {
        return Some(format!(
            "span {:?}: span ID must be 8 bytes, not all zero (got {} bytes)",
            span.name,
            span.span_id.len()
        ));
    }
    if !(span.parent_span_id.is_empty() || span.parent_span_id.len() == 8) {
        return Some(format!(
            "span {:?}: parent span ID must be empty or 8 bytes (got {} bytes)",
            span.name,
            span.parent_span_id.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests;
