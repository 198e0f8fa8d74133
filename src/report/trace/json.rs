//! `trace show --format json`.

use serde_json::{json as j, Value};

use crate::trace::Trace;

/// The JSON contract: `{"trace_id","spans":[…],"problems":[{"kind","span_id","detail"}],
/// "upstream":{"span_id","parent_span_id"}|null}` (`upstream`: the entry span whose parent is
/// the caller's, from an incoming `traceparent`, not in the trace).
pub fn json_value(trace: &Trace) -> Value {
    let spans: Vec<Value> = trace
        .spans
        .iter()
        .map(|s| {
            j!({
                "span_id": s.span_id.to_hex(),
                "parent_span_id": s.parent_span_id.map(|p| p.to_hex()),
                "service": s.service,
                "name": s.name,
                "kind": s.kind.as_str(),
                "start_unix_nano": s.start_unix_nano,
                "end_unix_nano": s.end_unix_nano,
                "status": s.status.code.as_str(),
                "attributes": s.attributes,
            })
        })
        .collect();
    let problems: Vec<Value> = trace
        .problems
        .iter()
        .map(|p| {
            j!({
                "kind": p.kind.as_str(),
                "span_id": p.span_id.map(|s| s.to_hex()),
                "detail": p.detail,
            })
        })
        .collect();
    let upstream = trace.upstream.and_then(|u| {
        let root = trace.spans.get(u.root)?;
        Some(j!({
            "span_id": root.span_id.to_hex(),
            "parent_span_id": u.parent_span_id.to_hex(),
        }))
    });
    j!({
        "trace_id": trace.trace_id.to_hex(),
        "spans": spans,
        "problems": problems,
        "upstream": upstream,
    })
}

/// [`json_value`], pretty-printed with a trailing newline.
pub fn json(trace: &Trace) -> String {
    let mut out = serde_json::to_string_pretty(&json_value(trace)).unwrap_or_default();
    out.push('\n');
    out
}
