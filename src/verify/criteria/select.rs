//! Which traces the criteria judge: the healthy phase's, one per distinct trace ID, each with
//! the exchange that named it.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use super::Evaluation;
use crate::propagation::{SpanId, TraceId, TraceParent};
use crate::trace::Trace;
use crate::verify::model::{Exchange, Incomplete, Phase};

/// A healthy-phase trace to judge.
#[derive(Clone, Copy, Debug)]
pub struct JudgedTrace<'a> {
    pub trace_id: TraceId,
    /// The first exchange that named the trace.
    pub exchange: &'a Exchange,
    /// The assembled trace; `None` when the source did not return it.
    pub trace: Option<&'a Trace>,
    /// Set when collection gave up waiting for the trace to complete.
    pub incomplete: Option<&'a Incomplete>,
    /// The `parent-id` of the valid `traceparent` sent with the request: the root span's
    /// parent, which is legitimately absent from the trace.
    pub sent_parent: Option<SpanId>,
}

/// The trace ID an exchange names: the one the response returned, else the valid one sent.
pub fn trace_id_of(exchange: &Exchange) -> Option<TraceId> {
    exchange
        .returned
        .as_ref()
        .map(|r| r.trace_id)
        .or(exchange.sent_trace_id)
}

/// The `parent-id` of the valid `traceparent` an exchange sent for `trace_id`.
pub fn sent_parent_of(exchange: &Exchange, trace_id: TraceId) -> Option<SpanId> {
    if exchange.sent_trace_id != Some(trace_id) || exchange.sent_traceparent.len() != 1 {
        return None;
    }
    TraceParent::parse(&exchange.sent_traceparent[0])
        .ok()
        .filter(|p| p.trace_id == trace_id)
        .map(|p| p.parent_id)
}

/// The healthy phase's traces, in exchange order, one per distinct trace ID; and how many
/// healthy-phase exchanges named no trace at all (no response, or no trace ID returned and
/// none sent).
pub fn healthy_traces<'a>(evaluation: &Evaluation<'a>) -> (Vec<JudgedTrace<'a>>, usize) {
    let collected = evaluation.collected;
    let mut seen: IdSet = IdSet::default();
    let mut judged = Vec::new();
    let mut unnamed = 0;
    for exchange in &evaluation.replay.exchanges {
        if exchange.phase != Phase::Healthy {
            continue;
        }
        let Some(trace_id) = trace_id_of(exchange).filter(|_| exchange.status.is_some()) else {
            unnamed += 1;
            continue;
        };
        if !seen.insert(trace_id) {
            continue;
        }
        judged.push(JudgedTrace {
            trace_id,
            exchange,
            trace: collected.traces.get(&trace_id),
            incomplete: collected.incomplete.get(&trace_id),
            sent_parent: sent_parent_of(exchange, trace_id),
        });
    }
    (judged, unnamed)
}

/// A hasher for trace IDs: folds the bytes FxHash-style and finishes with murmur3's mix, so
/// sequential IDs spread as well as random ones. Faster than SipHash for the sets of the
/// run's trace IDs.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write(&n.to_le_bytes());
    }

    fn finish(&self) -> u64 {
        // murmur3's finaliser: every input bit reaches the low bits hashbrown indexes by
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A set of trace IDs.
pub type IdSet = HashSet<crate::propagation::TraceId, BuildHasherDefault<IdHasher>>;

/// "incomplete after 30s: missing pricing, payment-gateway".
pub fn incomplete_detail(incomplete: &Incomplete) -> String {
    let secs = incomplete.waited.as_secs_f64();
    let waited = if secs.fract() == 0.0 {
        format!("{secs:.0}s")
    } else {
        format!("{secs:.1}s")
    };
    if incomplete.missing.is_empty() {
        format!("incomplete after {waited}: spans were still arriving")
    } else {
        format!(
            "incomplete after {waited}: missing {}",
            incomplete.missing.join(", ")
        )
    }
}

/// "the source returned no trace for this ID (…)" with the exchange it came from.
pub fn not_found_detail(exchange: &Exchange) -> String {
    format!(
        "trace not found at the span source ({} #{} {} {}, {})",
        exchange.request,
        exchange.number,
        exchange.method,
        exchange.path,
        exchange.http_version.as_str()
    )
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::IdHasher;
    use crate::propagation::TraceId;

    /// Sequential IDs (a platform numbering its traces, the synthetic runs) must spread over
    /// the buckets: hashbrown indexes by the low bits.
    #[test]
    fn sequential_trace_ids_spread_over_the_low_bits() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let mut buckets = std::collections::HashSet::new();
        for n in 1..=4096u64 {
            let mut bytes = [0u8; 16];
            bytes[8..].copy_from_slice(&n.to_be_bytes());
            let id = TraceId::from_bytes(bytes).unwrap();
            buckets.insert(build.hash_one(id) & 0xfff);
        }
        assert!(
            buckets.len() > 2000,
            "{} of 4096 buckets used",
            buckets.len()
        );
    }
}
