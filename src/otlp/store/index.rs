//! The in-memory index: adding a batch's spans, evicting the oldest trace.

use std::sync::Arc;
use std::time::Instant;

use super::super::wire::Batch;
use super::{Entry, Inner, ResourceMeta, ScopeMeta};

/// Evict the trace that arrived first; `false` when none is left.
pub(super) fn evict_oldest(inner: &mut Inner) -> bool {
    while let Some(key) = inner.arrival.pop_front() {
        if let Some(entry) = inner.traces.remove(&key) {
            inner.spans -= entry.spans.len();
            inner.bytes -= entry.bytes;
            inner.counters.evicted_traces += 1;
            inner.counters.evicted_spans += entry.spans.len() as u64;
            return true;
        }
    }
    false
}

/// Add the `n` valid spans of `batch`, charging each its share of the body's bytes.
pub(super) fn add(inner: &mut Inner, batch: Batch, n: usize) {
    let now = Instant::now();
    let body_len = batch.body.len();
    if n == 0 {
        return;
    }
    let share = body_len / n;
    let mut remainder = body_len - share * n;
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
        let Some(resource) = resources.get(scope.resource) else {
            continue;
        };
        let meta = Arc::new(ScopeMeta {
            resource: Arc::clone(resource),
            scope: scope.scope,
            schema_url: scope.schema_url,
        });
        for span in scope.spans {
            let (Some(key), None) = (span.trace_id, &span.invalid) else {
                continue;
            };
            inner.seq += 1;
            let seq = inner.seq;
            let mut created = false;
            let entry = inner.traces.entry(key).or_insert_with(|| {
                created = true;
                Entry {
                    seq,
                    updated: now,
                    reported: false,
                    bytes: 0,
                    spans: Vec::new(),
                }
            });
            entry.updated = now;
            entry.reported = false;
            let charge = share + std::mem::take(&mut remainder);
            entry.bytes += charge;
            entry.spans.push((Arc::clone(&meta), span.bytes));
            inner.spans += 1;
            inner.bytes += charge;
            if created {
                inner.arrival.push_back(key);
            }
        }
    }
}
