//! Structural views of a trace the criteria share: its effective roots and orphans (a root
//! whose parent is the caller's span sent in `traceparent` is a root, not an orphan), the
//! services present, and span attributes read whichever semantic-convention generation a
//! span uses.

use crate::propagation::SpanId;
use crate::trace::{ProblemKind, Span, SpanKind, Trace};

/// The HTTP status of a span: `http.response.status_code` (stable conventions) or
/// `http.status_code` (older ones, still emitted by many SDKs), as a number or numeric string.
pub fn http_status(span: &Span) -> Option<u16> {
    attr_u64(span, "http.response.status_code")
        .or_else(|| attr_u64(span, "http.status_code"))
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (100..=599).contains(code))
}

/// `http.request.resend_count` (a retry attempt after the first).
pub fn resend_count(span: &Span) -> Option<u64> {
    attr_u64(span, "http.request.resend_count").filter(|&n| n > 0)
}

/// A string attribute.
pub fn attr_str<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .get(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

/// An integer attribute, or a string attribute holding one.
pub fn attr_u64(span: &Span, key: &str) -> Option<u64> {
    let value = span.attributes.get(key)?;
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A span described for evidence: `orchestration CLIENT "POST /quote/{order}"`.
pub fn describe(span: &Span) -> String {
    format!(
        "{} {} {:?}",
        span.service_label(),
        span.kind.as_str().to_ascii_uppercase(),
        span.name
    )
}

/// The kind a span's callee must have: SERVER under CLIENT, CONSUMER under PRODUCER.
pub fn callee_kind(kind: SpanKind) -> Option<SpanKind> {
    match kind {
        SpanKind::Client => Some(SpanKind::Server),
        SpanKind::Producer => Some(SpanKind::Consumer),
        _ => None,
    }
}

/// The kind a span's caller must have: CLIENT above SERVER, PRODUCER above CONSUMER.
pub fn caller_kind(kind: SpanKind) -> Option<SpanKind> {
    match kind {
        SpanKind::Server => Some(SpanKind::Client),
        SpanKind::Consumer => Some(SpanKind::Producer),
        _ => None,
    }
}

/// The distinct services of a trace.
#[derive(Clone, Debug, Default)]
pub struct Services<'a>(pub Vec<&'a str>);

impl Services<'_> {
    /// Whether `service` has a span in the trace.
    pub fn contains(&self, service: &str) -> bool {
        self.0.contains(&service)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().copied()
    }

    /// Expected services not among these, in the expected order.
    pub fn missing<'e>(&self, expected: &'e [String]) -> Vec<&'e str> {
        expected
            .iter()
            .map(String::as_str)
            .filter(|s| !self.contains(s))
            .collect()
    }
}

/// A trace's shape as the criteria see it.
#[derive(Debug)]
pub struct Shape<'a> {
    pub trace: &'a Trace,
    /// Spans without a parent, plus the span whose parent is the caller's span sent in
    /// `traceparent` (by start time).
    pub roots: Vec<usize>,
    /// Spans whose parent is missing from the trace (other than the sent parent).
    pub orphans: Vec<usize>,
    /// Spans reached from the top-level spans (fewer than all when there is a parent cycle).
    pub reached: usize,
}

impl<'a> Shape<'a> {
    /// The shape of `trace`; `sent_parent` is the `parent-id` of the valid `traceparent`
    /// the request carried.
    pub fn new(trace: &'a Trace, sent_parent: Option<SpanId>) -> Self {
        let mut roots = trace.roots.clone();
        let mut orphans = Vec::with_capacity(trace.orphans.len());
        for &o in &trace.orphans {
            if sent_parent.is_some() && trace.spans[o].parent_span_id == sent_parent {
                roots.push(o);
            } else {
                orphans.push(o);
            }
        }
        roots.sort_unstable();
        let cycle = trace.problems.iter().any(|p| p.kind == ProblemKind::Cycle);
        let reached = if cycle {
            trace.walk().len()
        } else {
            trace.spans.len()
        };
        Shape {
            trace,
            roots,
            orphans,
            reached,
        }
    }

    /// The root span, when there is exactly one.
    pub fn single_root(&self) -> Option<&'a Span> {
        match self.roots.as_slice() {
            [only] => self.trace.spans.get(*only),
            _ => None,
        }
    }

    /// One root, no orphans, every span reached.
    pub fn is_connected(&self) -> bool {
        self.roots.len() == 1 && self.orphans.is_empty() && self.reached == self.trace.spans.len()
    }

    /// The services with a span in the trace (a trace holds a handful: a vector beats a hash).
    pub fn services(&self) -> Services<'a> {
        let mut services = Services(Vec::new());
        let mut last: Option<&str> = None;
        for span in &self.trace.spans {
            if let Some(service) = span.service.as_deref() {
                if last != Some(service) && !services.contains(service) {
                    services.0.push(service);
                }
                last = Some(service);
            }
        }
        services
    }

    /// Expected services without a span in the trace, in the expected order.
    pub fn missing<'e>(&self, expected: &'e [String]) -> Vec<&'e str> {
        self.services().missing(expected)
    }

    /// Why the trace is not one connected tree, for evidence ("2 roots: …; orphan …").
    pub fn disconnection(&self) -> Option<String> {
        let spans = &self.trace.spans;
        let mut parts = Vec::new();
        if self.roots.is_empty() {
            parts.push("no root span".to_owned());
        } else if self.roots.len() > 1 {
            let listed: Vec<String> = self
                .roots
                .iter()
                .take(3)
                .map(|&r| describe(&spans[r]))
                .collect();
            parts.push(format!("{} roots: {}", self.roots.len(), listed.join(", ")));
        }
        if let Some(&o) = self.orphans.first() {
            let more = self.orphans.len() - 1;
            parts.push(format!(
                "orphan {} (parent {} not in the trace){}",
                describe(&spans[o]),
                spans[o]
                    .parent_span_id
                    .map(|p| p.to_hex())
                    .unwrap_or_default(),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if self.reached < spans.len() {
            parts.push(format!(
                "{} spans in a parent cycle",
                spans.len() - self.reached
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}
