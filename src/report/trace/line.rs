//! `collect`'s one line per finished trace.

use crate::report::escape_control;
use crate::trace::{format_ns, Trace};

/// Trace ID, root service and operation, spans, duration, `ERROR` when a span failed, and the
/// kinds of problems found; received strings have their control characters escaped, so a
/// service or span name cannot break the line or forge another one.
pub fn finished_line(trace: &Trace) -> String {
    let s = trace.summary();
    let mut out = format!(
        "trace {}  {} {}  {} span{}  {}",
        s.trace_id,
        escape_control(s.root_service.as_deref().unwrap_or("(unknown service)")),
        escape_control(s.root_operation.as_deref().unwrap_or("?")),
        s.spans,
        if s.spans == 1 { "" } else { "s" },
        format_ns(s.duration_ns)
    );
    if s.error {
        out.push_str("  ERROR");
    }
    if !trace.problems.is_empty() {
        let mut kinds: Vec<&str> = trace.problems.iter().map(|p| p.kind.as_str()).collect();
        kinds.dedup();
        out.push_str(&format!("  problems: {}", kinds.join(", ")));
    }
    out
}
