//! The data `verify`'s stages hand each other: what was sent and answered ([`Exchange`]),
//! what was read back ([`Collected`]), and the verdicts ([`VerifyReport`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use serde::Serialize;

use crate::propagation::{SpanId, TraceId};
use crate::trace::{ServiceGraph, Trace};

/// An acceptance criterion of the framework (DESIGN.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Criterion {
    Ac001,
    Ac002,
    Ac003,
    Ac004,
    Ac005,
    Ac006,
    Ac007,
}

impl Criterion {
    /// Every criterion, in order.
    pub const ALL: [Criterion; 7] = [
        Criterion::Ac001,
        Criterion::Ac002,
        Criterion::Ac003,
        Criterion::Ac004,
        Criterion::Ac005,
        Criterion::Ac006,
        Criterion::Ac007,
    ];

    /// The stable id (`AC-001`).
    pub fn id(self) -> &'static str {
        match self {
            Criterion::Ac001 => "AC-001",
            Criterion::Ac002 => "AC-002",
            Criterion::Ac003 => "AC-003",
            Criterion::Ac004 => "AC-004",
            Criterion::Ac005 => "AC-005",
            Criterion::Ac006 => "AC-006",
            Criterion::Ac007 => "AC-007",
        }
    }

    /// The framework's name of the criterion.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Ac001 => "Trace ID generation & preservation",
            Criterion::Ac002 => "Span creation & hierarchy",
            Criterion::Ac003 => "Trace data capture",
            Criterion::Ac004 => "Trace queryability",
            Criterion::Ac005 => "Config-only export",
            Criterion::Ac006 => "Platform visualization",
            Criterion::Ac007 => "Non-disruptive & secure",
        }
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Criterion {
    type Err = String;
    /// `AC-001`, `ac-001`, `AC001` or `1`.
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        let digits = t.trim_start_matches("AC").trim_start_matches('-');
        let n: usize = digits
            .parse()
            .map_err(|_| format!("unknown criterion {s:?}: use AC-001 … AC-007"))?;
        Criterion::ALL
            .get(n.wrapping_sub(1))
            .copied()
            .ok_or_else(|| format!("unknown criterion {s:?}: use AC-001 … AC-007"))
    }
}

impl Serialize for Criterion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// A criterion's verdict. A criterion that could not be judged is `Skip`, never `Pass`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
        }
    }
}

/// One piece of evidence: what was seen, where.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// The service (or hop, "orchestration → pricing") at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub detail: String,
}

impl Evidence {
    /// Evidence with only a detail.
    pub fn detail(detail: impl Into<String>) -> Self {
        Evidence {
            detail: detail.into(),
            ..Evidence::default()
        }
    }

    /// Evidence about one trace.
    pub fn trace(trace_id: TraceId, detail: impl Into<String>) -> Self {
        Evidence {
            trace_id: Some(trace_id.to_hex()),
            detail: detail.into(),
            ..Evidence::default()
        }
    }

    pub fn with_span(mut self, span_id: SpanId) -> Self {
        self.span_id = Some(span_id.to_hex());
        self
    }

    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }
}

/// Evidence items kept per criterion; the summary says how many there were in all.
pub const MAX_EVIDENCE: usize = 20;

/// A criterion's verdict with its one-line summary and evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CriterionResult {
    pub id: Criterion,
    pub name: &'static str,
    pub verdict: Verdict,
    pub summary: String,
    pub evidence: Vec<Evidence>,
}

impl CriterionResult {
    pub fn new(id: Criterion, verdict: Verdict, summary: impl Into<String>) -> Self {
        CriterionResult {
            id,
            name: id.name(),
            verdict,
            summary: summary.into(),
            evidence: Vec::new(),
        }
    }

    /// Add evidence, keeping at most [`MAX_EVIDENCE`] items.
    pub fn push(&mut self, evidence: Evidence) {
        if self.evidence.len() < MAX_EVIDENCE {
            self.evidence.push(evidence);
        }
    }
}

/// The result of a verify run (the JSON contract of DESIGN.md, plus extra fields).
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub target: String,
    /// Requests sent, every phase together.
    pub requests: usize,
    pub criteria: Vec<CriterionResult>,
    pub services_seen: Vec<String>,
    /// Spans read back from the span source.
    pub spans_read: usize,
    /// What the run could not do or chose not to (HTTP/2 not spoken, a phase skipped…).
    pub notes: Vec<String>,
    /// Wall time of the whole run, in milliseconds.
    pub duration_ms: u64,
    /// Where that time went.
    pub timings: Timings,
    /// The service dependency graph over the healthy phase's traces (calls summed).
    pub service_graph: ServiceGraph,
}

impl VerifyReport {
    /// Passed when no criterion failed and at least one span was read.
    pub fn passed(&self) -> bool {
        self.spans_read > 0 && self.criteria.iter().all(|c| c.verdict != Verdict::Fail)
    }
}

/// Wall time per stage of a run, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// Preflight, HTTP/2 probe and the healthy phase's requests.
    pub replay_ms: u64,
    /// Reading the traces back until complete (or the timeout).
    pub collect_ms: u64,
    /// The fault phase, its start and stop included (0 without one).
    pub fault_phase_ms: u64,
    /// Judging the criteria.
    pub judge_ms: u64,
}

/// Milliseconds since `since`, saturating.
pub fn elapsed_ms(since: std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The phase a request was sent in (AC-007(a) compares their latencies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The telemetry backend is healthy.
    Healthy,
    /// The telemetry backend is down, slow or refusing (`--fault-start`, the demo's `--backend`).
    Fault,
}

/// The HTTP version a request was sent over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum HttpVersion {
    #[serde(rename = "HTTP/1.1")]
    Http1,
    #[serde(rename = "HTTP/2")]
    Http2,
}

impl HttpVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http1 => "HTTP/1.1",
            HttpVersion::Http2 => "HTTP/2",
        }
    }
}

/// Whether the target speaks HTTP/2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Http2Support {
    Yes,
    /// Not spoken: only HTTP/1.1 was tested; the reason is reported as a note.
    No(String),
    /// Not probed (the matrix was not sent).
    NotTried,
}

/// The incoming trace context a request was sent with: one cell of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncomingCase {
    /// No `traceparent`: a fresh trace ID is expected.
    Absent,
    /// A valid `traceparent`: its trace ID must be preserved.
    Valid,
    /// A valid `traceparent` and a `tracestate`: the trace ID must be preserved.
    ValidWithTracestate,
    /// Uppercase hex digits: invalid, a fresh trace ID is expected.
    UppercaseHex,
    /// Version `ff`: invalid.
    VersionFf,
    /// An all-zero trace ID: invalid.
    ZeroTraceId,
    /// A field of the wrong length: invalid.
    WrongLength,
    /// Version 00 with data after the flags: invalid.
    TrailingData,
    /// Two `traceparent` headers: invalid.
    TwoHeaders,
}

impl IncomingCase {
    pub const ALL: [IncomingCase; 9] = [
        IncomingCase::Absent,
        IncomingCase::Valid,
        IncomingCase::ValidWithTracestate,
        IncomingCase::UppercaseHex,
        IncomingCase::VersionFf,
        IncomingCase::ZeroTraceId,
        IncomingCase::WrongLength,
        IncomingCase::TrailingData,
        IncomingCase::TwoHeaders,
    ];

    /// Whether the sent context is valid (its trace ID must be kept).
    pub fn is_valid(self) -> bool {
        matches!(
            self,
            IncomingCase::Valid | IncomingCase::ValidWithTracestate
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IncomingCase::Absent => "absent",
            IncomingCase::Valid => "valid",
            IncomingCase::ValidWithTracestate => "valid-with-tracestate",
            IncomingCase::UppercaseHex => "uppercase-hex",
            IncomingCase::VersionFf => "version-ff",
            IncomingCase::ZeroTraceId => "zero-trace-id",
            IncomingCase::WrongLength => "wrong-length",
            IncomingCase::TrailingData => "trailing-data",
            IncomingCase::TwoHeaders => "two-headers",
        }
    }
}

/// The trace ID a response carried, and in which header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnedId {
    pub trace_id: TraceId,
    /// The span ID of the response header, when it has one.
    pub span_id: Option<SpanId>,
    /// The header it was read from (`traceresponse`, `server-timing`, or the scenario's).
    pub header: String,
}

/// One request sent and what came back.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// The scenario request's name.
    pub request: String,
    /// The request's number in the run (`{n}`), unique over the run.
    pub number: u64,
    pub method: String,
    /// The path sent, `{n}` substituted, query string included.
    pub path: String,
    pub tenant: Option<String>,
    pub phase: Phase,
    pub http_version: HttpVersion,
    pub incoming: IncomingCase,
    /// The `traceparent` header values sent (none, one, or two for [`IncomingCase::TwoHeaders`]).
    pub sent_traceparent: Vec<String>,
    /// The trace ID of a valid incoming context (the one that must be preserved).
    pub sent_trace_id: Option<TraceId>,
    /// Whether the request carried the run's canaries (AC-007(b)).
    pub canaries: bool,
    /// The response status; `None` when no response came (see `error`).
    pub status: Option<u16>,
    /// Why no response came (connection refused, timeout…).
    pub error: Option<String>,
    /// The response headers relevant to tracing (`traceresponse`, `server-timing`, the
    /// scenario's header), lowercase names.
    pub response_headers: Vec<(String, String)>,
    /// The trace ID read from the response headers; `None` when none was found or it was invalid.
    pub returned: Option<ReturnedId>,
    /// Time from sending the request to the end of the response body.
    pub latency: Duration,
}

impl Exchange {
    /// A 2xx/3xx answer (4xx and 5xx and transport errors are failures).
    pub fn succeeded(&self) -> bool {
        matches!(self.status, Some(s) if s < 400)
    }
}

/// The secrets sent in a run (fresh per run) that must never appear in span data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canaries {
    /// Sent as `authorization: Bearer …`.
    pub bearer_token: String,
    /// In the body and the query string.
    pub email: String,
    /// A Luhn-valid card number, in the body.
    pub card_number: String,
    /// Sent as `cookie: session=…`.
    pub cookie: String,
    /// A `password` field in the body.
    pub password: String,
    /// A value in the query string (`?api_key=…`).
    pub query_value: String,
}

impl Canaries {
    /// Each canary with what it stands for (`"bearer token"`, …).
    pub fn values(&self) -> [(&'static str, &str); 6] {
        [
            ("bearer token", &self.bearer_token),
            ("e-mail", &self.email),
            ("card number", &self.card_number),
            ("cookie", &self.cookie),
            ("password", &self.password),
            ("query-string value", &self.query_value),
        ]
    }
}

/// Everything replay produced.
#[derive(Clone, Debug)]
pub struct ReplayRecord {
    pub target: String,
    pub exchanges: Vec<Exchange>,
    pub http2: Http2Support,
    pub canaries: Canaries,
    /// Whether a fault phase ran (AC-007(a) is skipped otherwise).
    pub fault_phase: bool,
}

/// Why a trace was judged before it was complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incomplete {
    /// Expected services with no span in the trace.
    pub missing: Vec<String>,
    /// How long collection waited.
    pub waited: Duration,
}

/// What one export destination received (AC-005).
#[derive(Clone, Debug, Default)]
pub struct DestinationSpans {
    pub name: String,
    /// The tenant the destination belongs to; `None` for a shared destination.
    pub tenant: Option<String>,
    /// Spans found there per `tenant.id` attribute value (`""` for spans without one).
    pub spans_by_tenant: BTreeMap<String, usize>,
    /// The services (`service.name`) whose spans of each tenant are there: who to blame for
    /// a tenant's spans at another tenant's destination.
    pub senders_by_tenant: BTreeMap<String, BTreeSet<String>>,
    /// The run's trace IDs found there.
    pub trace_ids: BTreeSet<TraceId>,
    /// Why the destination could not be read.
    pub error: Option<String>,
}

/// Everything collection read back.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    /// The traces of the run, by trace ID (the returned and the sent ones).
    pub traces: BTreeMap<TraceId, Trace>,
    /// Traces judged incomplete after the timeout.
    pub incomplete: BTreeMap<TraceId, Incomplete>,
    /// Traces the source holds that no response named (new traces started by a service that
    /// dropped the context); empty when the source can only be asked by trace ID.
    pub unclaimed: Vec<Trace>,
    /// Whether `unclaimed` is meaningful (the source can list every trace).
    pub can_list: bool,
    /// The raw OTLP of every span read (AC-007(b) searches every byte of it).
    pub otlp: Vec<ResourceSpans>,
    /// The per-destination view (AC-005), when destinations were given.
    pub destinations: Vec<DestinationSpans>,
    /// Spans read, in all.
    pub spans_read: usize,
    /// How long collection took.
    pub waited: Duration,
}

/// A TG2xx finding of `check` on the manifests given with `--manifests` (AC-005).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestFinding {
    pub rule: String,
    pub file: String,
    pub line: Option<u32>,
    pub message: String,
}
