//! What a trace says about the system: the service dependency graph and the latency breakdown.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{Span, Trace, Upstream};
use crate::propagation::SpanId;

/// Calls from one service to another, aggregated over parent/child span pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub caller: String,
    pub callee: String,
    /// Parent/child pairs crossing from `caller` to `callee`.
    pub calls: usize,
    /// Sum of the callee spans' durations.
    pub total_ns: u64,
    /// Longest callee span.
    pub max_ns: u64,
    /// Callee spans with status ERROR.
    pub errors: usize,
}

/// The service dependency graph of one trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceGraph {
    /// Every service in the trace, sorted.
    pub services: Vec<String>,
    /// Edges sorted by caller then callee.
    pub edges: Vec<Edge>,
}

/// Latency of one span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpanLatency {
    /// Index into [`Trace::spans`].
    pub index: usize,
    pub duration_ns: u64,
    /// Time not covered by any child span (children clipped to the span, overlaps merged).
    pub self_ns: u64,
}

/// Latency of one service, over its spans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceLatency {
    pub service: String,
    pub spans: usize,
    pub total_ns: u64,
    pub self_ns: u64,
}

/// Self time per span and per service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LatencyBreakdown {
    /// In [`Trace::spans`] order.
    pub spans: Vec<SpanLatency>,
    /// Sorted by self time, largest first, then by name.
    pub services: Vec<ServiceLatency>,
}

/// Whether the trace's context came from upstream: no span without a parent, and exactly one
/// span whose parent is not in the trace (its caller's span, from an incoming `traceparent`,
/// was never exported here). Such a span is the trace's entry point as far as this data goes,
/// not a sign of a lost span; with two or more such spans, some span in between is missing.
pub(super) fn upstream(spans: &[Span], roots: &[usize], orphans: &[usize]) -> Option<Upstream> {
    let (&[], &[root]) = (roots, orphans) else {
        return None;
    };
    let span = spans.get(root)?;
    let parent_span_id: SpanId = span.parent_span_id?;
    (parent_span_id != span.span_id).then_some(Upstream {
        root,
        parent_span_id,
    })
}

impl Trace {
    /// An edge caller → callee for each parent/child pair whose services differ.
    pub fn service_graph(&self) -> ServiceGraph {
        let mut services: Vec<String> = self
            .spans
            .iter()
            .map(|s| s.service_label().to_owned())
            .collect();
        services.sort();
        services.dedup();
        let mut edges: BTreeMap<(String, String), Edge> = BTreeMap::new();
        for (i, child) in self.spans.iter().enumerate() {
            let Some(pi) = self.parent[i] else { continue };
            let caller = self.spans[pi].service_label();
            let callee = child.service_label();
            if caller == callee {
                continue;
            }
            let edge = edges
                .entry((caller.to_owned(), callee.to_owned()))
                .or_insert_with(|| Edge {
                    caller: caller.to_owned(),
                    callee: callee.to_owned(),
                    calls: 0,
                    total_ns: 0,
                    max_ns: 0,
                    errors: 0,
                });
            let d = child.duration_ns();
            edge.calls += 1;
            edge.total_ns += d;
            edge.max_ns = edge.max_ns.max(d);
            if child.status.code == super::StatusCode::Error {
                edge.errors += 1;
            }
        }
        ServiceGraph {
            services,
            edges: edges.into_values().collect(),
        }
    }

    /// Self time per span and per service.
    pub fn latency(&self) -> LatencyBreakdown {
        let spans: Vec<SpanLatency> = self
            .spans
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (start, end) = (s.start_unix_nano, s.end_unix_nano.max(s.start_unix_nano));
                let mut intervals: Vec<(u64, u64)> = self.children[i]
                    .iter()
                    .map(|&c| {
                        let c = &self.spans[c];
                        (
                            c.start_unix_nano.clamp(start, end),
                            c.end_unix_nano.clamp(start, end),
                        )
                    })
                    .filter(|(a, b)| b > a)
                    .collect();
                intervals.sort_unstable();
                let mut covered = 0u64;
                let mut current: Option<(u64, u64)> = None;
                for (a, b) in intervals {
                    match current {
                        Some((ca, cb)) if a <= cb => current = Some((ca, cb.max(b))),
                        Some((ca, cb)) => {
                            covered += cb - ca;
                            current = Some((a, b));
                        }
                        None => current = Some((a, b)),
                    }
                }
                if let Some((ca, cb)) = current {
                    covered += cb - ca;
                }
                let duration_ns = end - start;
                SpanLatency {
                    index: i,
                    duration_ns,
                    self_ns: duration_ns - covered,
                }
            })
            .collect();
        let mut by_service: BTreeMap<&str, ServiceLatency> = BTreeMap::new();
        for l in &spans {
            let name = self.spans[l.index].service_label();
            let entry = by_service.entry(name).or_insert_with(|| ServiceLatency {
                service: name.to_owned(),
                spans: 0,
                total_ns: 0,
                self_ns: 0,
            });
            entry.spans += 1;
            entry.total_ns += l.duration_ns;
            entry.self_ns += l.self_ns;
        }
        let mut services: Vec<ServiceLatency> = by_service.into_values().collect();
        services.sort_by(|a, b| b.self_ns.cmp(&a.self_ns).then(a.service.cmp(&b.service)));
        LatencyBreakdown { spans, services }
    }
}
