//! The trace model: spans, problems, traces and their summaries (assembled from OTLP in
//! [`super::assembly`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::propagation::{SpanId, TraceId};

/// How a span without `service.name` is labelled in graphs and tables.
pub const UNKNOWN_SERVICE: &str = "(unknown service)";

/// The OTLP span kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// From the OTLP enum value; unknown values map to `Unspecified`.
    pub fn from_otlp(value: i32) -> Self {
        match value {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    /// Lowercase name, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    /// Asynchronous kinds may legitimately outlive their parent.
    pub(super) fn is_async(self) -> bool {
        matches!(self, SpanKind::Producer | SpanKind::Consumer)
    }
}

/// The OTLP status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusCode {
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    /// Lowercase name, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

/// A span's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanStatus {
    pub code: StatusCode,
    pub message: String,
}

/// One span, with the service taken from its resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    /// `service.name` of the span's resource; `None` when missing or empty.
    pub service: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub status: SpanStatus,
    pub attributes: BTreeMap<String, serde_json::Value>,
    pub resource_attributes: BTreeMap<String, serde_json::Value>,
    /// The span's events (exceptions, log points), in the order received.
    pub events: Vec<SpanEvent>,
}

/// A timed event within a span (an exception, a log point).
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    pub name: String,
    pub time_unix_nano: u64,
    pub attributes: BTreeMap<String, serde_json::Value>,
}

impl Span {
    /// End minus start, zero when the end precedes the start.
    pub fn duration_ns(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    /// The service name, or [`UNKNOWN_SERVICE`].
    pub fn service_label(&self) -> &str {
        self.service.as_deref().unwrap_or(UNKNOWN_SERVICE)
    }
}

/// What is structurally wrong with a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The span's parent ID is not in the trace.
    Orphan,
    /// More than one span without a parent.
    MultipleRoots,
    /// No span without a parent: the root is missing.
    NoRoot,
    /// Two spans share a span ID.
    DuplicateSpanId,
    /// The root span is a CLIENT span: the context was lost upstream.
    ClientRoot,
    /// A child starts before or ends after its parent beyond the tolerance.
    ClockSkew,
    /// The span's resource has no `service.name`.
    MissingServiceName,
    /// The span's ID is not 8 non-zero bytes, or its parent ID is malformed.
    InvalidId,
    /// The span is part of a parent cycle and unreachable from any root.
    Cycle,
}

impl ProblemKind {
    /// snake_case name, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Orphan => "orphan",
            ProblemKind::MultipleRoots => "multiple_roots",
            ProblemKind::NoRoot => "no_root",
            ProblemKind::DuplicateSpanId => "duplicate_span_id",
            ProblemKind::ClientRoot => "client_root",
            ProblemKind::ClockSkew => "clock_skew",
            ProblemKind::MissingServiceName => "missing_service_name",
            ProblemKind::InvalidId => "invalid_id",
            ProblemKind::Cycle => "cycle",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A structural problem, reported as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The span the problem is about, when it is about one.
    pub span_id: Option<SpanId>,
    pub detail: String,
}

/// Assembly settings.
#[derive(Debug, Clone, Copy)]
pub struct AssemblyOptions {
    /// How far (ns) a child may start before or end after its parent before it is clock skew.
    pub clock_skew_tolerance_ns: u64,
}

impl Default for AssemblyOptions {
    fn default() -> Self {
        AssemblyOptions {
            clock_skew_tolerance_ns: 1_000_000,
        }
    }
}

/// One assembled trace.
#[derive(Debug, Clone)]
pub struct Trace {
    pub trace_id: TraceId,
    /// Spans ordered by start time, then span ID.
    pub spans: Vec<Span>,
    /// Index of each span's parent in `spans`, when the parent is present.
    pub parent: Vec<Option<usize>>,
    /// Indices of each span's children, by start time.
    pub children: Vec<Vec<usize>>,
    /// Spans without a parent, by start time.
    pub roots: Vec<usize>,
    /// Spans whose parent is missing, by start time.
    pub orphans: Vec<usize>,
    /// When the trace started upstream of what was received: the one top-level span, whose
    /// parent (the caller's span, from an incoming `traceparent`) was never exported here.
    /// Not a problem: no `orphan` or `no_root` is reported for it ([`Trace::upstream`]).
    pub upstream: Option<Upstream>,
    pub problems: Vec<Problem>,
}

/// The entry span of a trace whose context came from upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upstream {
    /// Index into [`Trace::spans`] of the entry span (also in [`Trace::orphans`]).
    pub root: usize,
    /// Its parent, a span of the caller that is not in the trace.
    pub parent_span_id: SpanId,
}

/// A one-line description of a trace, for listings and `collect`'s live output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub root_service: Option<String>,
    pub root_operation: Option<String>,
    pub spans: usize,
    pub duration_ns: u64,
    pub start_unix_nano: u64,
    pub error: bool,
    pub problems: usize,
}

impl Trace {
    /// Top-level spans for display: roots and orphans, by start time.
    pub fn top_level(&self) -> Vec<usize> {
        let mut top: Vec<usize> = self.roots.iter().chain(&self.orphans).copied().collect();
        top.sort_unstable();
        top
    }

    /// Depth-first order from the top-level spans: `(span index, depth)`. Spans in a parent
    /// cycle are not reached.
    pub fn walk(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(self.spans.len());
        let mut seen = vec![false; self.spans.len()];
        let mut stack: Vec<(usize, usize)> =
            self.top_level().into_iter().rev().map(|i| (i, 0)).collect();
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            out.push((i, depth));
            for &c in self.children[i].iter().rev() {
                stack.push((c, depth + 1));
            }
        }
        out
    }

    /// The first root, or failing that the earliest span.
    pub fn root(&self) -> Option<&Span> {
        self.roots
            .first()
            .or(self.top_level().first())
            .and_then(|&i| self.spans.get(i))
            .or(self.spans.first())
    }

    /// Earliest start over all spans.
    pub fn start_unix_nano(&self) -> u64 {
        self.spans
            .iter()
            .map(|s| s.start_unix_nano)
            .min()
            .unwrap_or(0)
    }

    /// Latest end over all spans.
    pub fn end_unix_nano(&self) -> u64 {
        self.spans
            .iter()
            .map(|s| s.end_unix_nano)
            .max()
            .unwrap_or(0)
    }

    /// Latest end minus earliest start.
    pub fn duration_ns(&self) -> u64 {
        self.end_unix_nano().saturating_sub(self.start_unix_nano())
    }

    /// Whether any span has status ERROR.
    pub fn has_error(&self) -> bool {
        self.spans
            .iter()
            .any(|s| s.status.code == StatusCode::Error)
    }

    /// Problems about one span.
    pub fn problems_of(&self, span_id: SpanId) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(move |p| p.span_id == Some(span_id))
    }

    /// The one-line summary.
    pub fn summary(&self) -> TraceSummary {
        let root = self.root();
        TraceSummary {
            trace_id: self.trace_id.to_hex(),
            root_service: root.and_then(|r| r.service.clone()),
            root_operation: root.map(|r| r.name.clone()),
            spans: self.spans.len(),
            duration_ns: self.duration_ns(),
            start_unix_nano: self.start_unix_nano(),
            error: self.has_error(),
            problems: self.problems.len(),
        }
    }
}

/// A duration for people: `850ns`, `12.3µs`, `4.56ms`, `1.23s`.
pub fn format_ns(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2}ms", ns as f64 / 1e6)
    } else {
        format!("{:.2}s", ns as f64 / 1e9)
    }
}
