//! A trace as one row of a listing (the web UI of `collect`), and which rows a filter keeps.

use serde::Serialize;

use super::model::{StatusCode, Trace, TraceSummary};

/// A trace summarised for a listing: the [`TraceSummary`] plus what filters and columns need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceRow {
    pub summary: TraceSummary,
    /// Every service with a span in the trace, sorted.
    pub services: Vec<String>,
    /// Spans with status ERROR.
    pub errors: usize,
    /// The kinds of problems found, deduplicated, in order of first appearance.
    pub problem_kinds: Vec<&'static str>,
    /// The trace's context came from upstream ([`Trace::upstream`]).
    pub upstream: bool,
}

impl TraceRow {
    pub fn of(trace: &Trace) -> TraceRow {
        let mut problem_kinds: Vec<&'static str> = Vec::new();
        for p in &trace.problems {
            if !problem_kinds.contains(&p.kind.as_str()) {
                problem_kinds.push(p.kind.as_str());
            }
        }
        TraceRow {
            summary: trace.summary(),
            services: trace.service_graph().services,
            errors: trace
                .spans
                .iter()
                .filter(|s| s.status.code == StatusCode::Error)
                .count(),
            problem_kinds,
            upstream: trace.upstream.is_some(),
        }
    }

    /// A trace too large to decode for a listing: its ID and span count only.
    pub fn undecoded(trace_id: String, spans: usize) -> TraceRow {
        TraceRow {
            summary: TraceSummary {
                trace_id,
                root_service: None,
                root_operation: None,
                spans,
                duration_ns: 0,
                start_unix_nano: 0,
                error: false,
                problems: 0,
            },
            services: Vec::new(),
            errors: 0,
            problem_kinds: Vec::new(),
            upstream: false,
        }
    }
}

/// Which traces a listing shows. Empty fields keep everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// Keep traces with a span of this service (exact name).
    pub service: Option<String>,
    /// Keep traces with at least one problem or failed span.
    pub problems_only: bool,
    /// Keep traces whose ID starts with these lowercase hex digits.
    pub id_prefix: Option<String>,
}

impl TraceFilter {
    /// Whether `row` passes every condition set.
    pub fn keeps(&self, row: &TraceRow) -> bool {
        self.service
            .as_ref()
            .is_none_or(|s| row.services.iter().any(|x| x == s))
            && (!self.problems_only || row.summary.problems > 0 || row.errors > 0)
            && self
                .id_prefix
                .as_ref()
                .is_none_or(|p| row.summary.trace_id.starts_with(p.as_str()))
    }

    /// Whether any condition is set.
    pub fn is_active(&self) -> bool {
        self.service.is_some() || self.problems_only || self.id_prefix.is_some()
    }
}

/// A trace ID prefix as typed in a search box: 1 to 32 hex digits, lowercased; surrounding
/// space ignored. `None` for anything else.
pub fn id_prefix(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty() && t.len() <= 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| t.to_ascii_lowercase())
}
