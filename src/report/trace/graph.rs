//! The service dependency graph as Graphviz DOT and as Mermaid.

use std::fmt::Write;

use crate::report::escape_control;
use crate::trace::{format_ns, Edge, Trace};

fn label(edge: &Edge) -> String {
    let calls = if edge.calls == 1 { "call" } else { "calls" };
    let mut s = format!("{} {calls}, {}", edge.calls, format_ns(edge.total_ns));
    if edge.errors > 0 {
        let _ = write!(
            s,
            ", {} error{}",
            edge.errors,
            if edge.errors == 1 { "" } else { "s" }
        );
    }
    s
}

/// A DOT string; control characters are escaped first (so `\n` shows as text, not a break).
fn dot_quote(s: &str) -> String {
    let s = escape_control(s);
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `digraph` with a node per service and an edge per caller → callee, labelled with calls
/// and total latency.
pub fn dot(trace: &Trace) -> String {
    let graph = trace.service_graph();
    let mut out = String::new();
    let _ = writeln!(out, "digraph services {{");
    let _ = writeln!(
        out,
        "  label={};",
        dot_quote(&format!("trace {}", trace.trace_id))
    );
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(out, "  node [shape=box, style=rounded];");
    for s in &graph.services {
        let _ = writeln!(out, "  {};", dot_quote(s));
    }
    for e in &graph.edges {
        let color = if e.errors > 0 { ", color=red" } else { "" };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}{color}];",
            dot_quote(&e.caller),
            dot_quote(&e.callee),
            dot_quote(&label(e))
        );
    }
    let _ = writeln!(out, "}}");
    out
}

fn mermaid_text(s: &str) -> String {
    escape_control(s).replace('"', "#quot;")
}

/// A Mermaid `flowchart LR` of the same graph.
pub fn mermaid(trace: &Trace) -> String {
    let graph = trace.service_graph();
    let mut out = String::from("flowchart LR\n");
    for (i, s) in graph.services.iter().enumerate() {
        let _ = writeln!(out, "  s{i}[\"{}\"]", mermaid_text(s));
    }
    let id = |name: &str| graph.services.iter().position(|s| s == name).unwrap_or(0);
    for e in &graph.edges {
        let _ = writeln!(
            out,
            "  s{} -->|\"{}\"| s{}",
            id(&e.caller),
            mermaid_text(&label(e)),
            id(&e.callee)
        );
    }
    out
}
