//! The run's service graph (edges summed over the healthy phase's traces) as plain text, DOT,
//! Mermaid and a small self-contained SVG of boxes and arrows.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::report::escape_control;
use crate::trace::{format_ns, Edge, ServiceGraph};

fn label(edge: &Edge) -> String {
    let mut text = format!(
        "{} call{}, {} total",
        edge.calls,
        if edge.calls == 1 { "" } else { "s" },
        format_ns(edge.total_ns)
    );
    if edge.errors > 0 {
        let _ = write!(
            text,
            ", {} error{}",
            edge.errors,
            if edge.errors == 1 { "" } else { "s" }
        );
    }
    text
}

/// One line per edge (`  ingress ─▶ auth  (20 calls, 31.2ms total)`), then services that
/// call and are called by nobody; empty for an empty graph.
pub fn graph_text(graph: &ServiceGraph) -> String {
    let mut out = String::new();
    let width = graph
        .edges
        .iter()
        .map(|e| e.caller.chars().count() + e.callee.chars().count())
        .max()
        .unwrap_or(0);
    for edge in &graph.edges {
        let pair = format!(
            "{} ─▶ {}",
            escape_control(&edge.caller),
            escape_control(&edge.callee)
        );
        let pad = width.saturating_sub(edge.caller.chars().count() + edge.callee.chars().count());
        let _ = writeln!(out, "  {pair}{}  ({})", " ".repeat(pad), label(edge));
    }
    for service in graph.services.iter().filter(|s| {
        !graph
            .edges
            .iter()
            .any(|e| &e.caller == *s || &e.callee == *s)
    }) {
        let _ = writeln!(out, "  {} (no calls)", escape_control(service));
    }
    out
}

fn dot_quote(text: &str) -> String {
    let text = escape_control(text);
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A Graphviz `digraph`: a box per service, an edge per caller → callee with calls and time.
pub fn graph_dot(graph: &ServiceGraph) -> String {
    let mut out =
        String::from("digraph services {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    for service in &graph.services {
        let _ = writeln!(out, "  {};", dot_quote(service));
    }
    for edge in &graph.edges {
        let color = if edge.errors > 0 { ", color=red" } else { "" };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}{color}];",
            dot_quote(&edge.caller),
            dot_quote(&edge.callee),
            dot_quote(&label(edge))
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_text(text: &str) -> String {
    escape_control(text)
        .replace('"', "#quot;")
        .replace('`', "#96;")
}

/// A Mermaid `flowchart LR` of the same graph (service names are labels, ids are `s0`, `s1`…).
pub fn graph_mermaid(graph: &ServiceGraph) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, service) in graph.services.iter().enumerate() {
        let _ = writeln!(out, "  s{i}[\"{}\"]", mermaid_text(service));
    }
    let id = |name: &str| graph.services.iter().position(|s| s == name);
    for edge in &graph.edges {
        if let (Some(from), Some(to)) = (id(&edge.caller), id(&edge.callee)) {
            let _ = writeln!(
                out,
                "  s{from} -->|\"{}\"| s{to}",
                mermaid_text(&label(edge))
            );
        }
    }
    out
}

fn xml_text(text: &str) -> String {
    escape_control(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const BOX_WIDTH: usize = 170;
const BOX_HEIGHT: usize = 36;
const COLUMN_GAP: usize = 90;
const ROW_GAP: usize = 24;
const MARGIN: usize = 20;

/// Each service's column: the length of the longest call path leading to it (services on a
/// cycle stop growing after as many rounds as there are services).
fn columns(graph: &ServiceGraph) -> BTreeMap<&str, usize> {
    let mut column: BTreeMap<&str, usize> =
        graph.services.iter().map(|s| (s.as_str(), 0)).collect();
    for _ in 0..graph.services.len() {
        let mut changed = false;
        for edge in &graph.edges {
            let from = column.get(edge.caller.as_str()).copied().unwrap_or(0);
            if let Some(to) = column.get_mut(edge.callee.as_str()) {
                if *to < from + 1 && from < graph.services.len() {
                    *to = from + 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    column
}

/// A self-contained SVG: services as boxes in columns by call depth, calls as arrows
/// (red for edges with errors), each labelled with its call count.
pub fn graph_svg(graph: &ServiceGraph) -> String {
    let column = columns(graph);
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut position: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for service in &graph.services {
        let col = column.get(service.as_str()).copied().unwrap_or(0);
        let row = rows.entry(col).or_default();
        let x = MARGIN + col * (BOX_WIDTH + COLUMN_GAP);
        let y = MARGIN + *row * (BOX_HEIGHT + ROW_GAP);
        *row += 1;
        position.insert(service.as_str(), (x, y));
    }
    let columns_used = rows.keys().max().map_or(1, |c| c + 1);
    let rows_used = rows.values().max().copied().unwrap_or(1).max(1);
    let width = 2 * MARGIN + columns_used * BOX_WIDTH + (columns_used - 1) * COLUMN_GAP;
    let height = 2 * MARGIN + rows_used * BOX_HEIGHT + (rows_used - 1) * ROW_GAP;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
  <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"context-stroke\"/></marker></defs>\n\
  <title>Service graph</title>\n"
    );
    for edge in &graph.edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (
            position.get(edge.caller.as_str()),
            position.get(edge.callee.as_str()),
        ) else {
            continue;
        };
        let (from_x, to_x) = if x2 > x1 {
            (x1 + BOX_WIDTH, x2)
        } else {
            (x1, x2 + BOX_WIDTH)
        };
        let (from_y, to_y) = (y1 + BOX_HEIGHT / 2, y2 + BOX_HEIGHT / 2);
        let color = if edge.errors > 0 { "#c0392b" } else { "#555" };
        let _ = writeln!(
            out,
            "  <line x1=\"{from_x}\" y1=\"{from_y}\" x2=\"{to_x}\" y2=\"{to_y}\" stroke=\"{color}\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>{}</title></line>",
            xml_text(&format!("{} → {}: {}", edge.caller, edge.callee, label(edge)))
        );
        let _ = writeln!(
            out,
            "  <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{color}\">{}×</text>",
            (from_x + to_x) / 2,
            (from_y + to_y) / 2 - 4,
            edge.calls
        );
    }
    for service in &graph.services {
        let Some(&(x, y)) = position.get(service.as_str()) else {
            continue;
        };
        let _ = writeln!(
            out,
            "  <rect x=\"{x}\" y=\"{y}\" width=\"{BOX_WIDTH}\" height=\"{BOX_HEIGHT}\" rx=\"6\" fill=\"#eef3fb\" stroke=\"#3b6ea5\"/>\n  <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x + BOX_WIDTH / 2,
            y + BOX_HEIGHT / 2 + 5,
            xml_text(service)
        );
    }
    out.push_str("</svg>\n");
    out
}
