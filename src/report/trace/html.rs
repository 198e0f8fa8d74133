//! `trace show --format html`: one self-contained page (inline CSS and SVG, no scripts, no
//! network) in the manner of Jaeger's trace view: a header (root service and operation, start,
//! duration, services, depth, spans, errors, problems), the waterfall on a time axis with a
//! service colour legend and each span's details in a `<details>` element (opens without
//! JavaScript), the service dependency graph and the latency breakdown. Geometry is computed
//! here and in [`super::waterfall`]; the markup lives in the minijinja template `trace.html`,
//! which HTML-escapes every value (auto-escaping by the `.html` name). Received strings also
//! have their control characters escaped ([`escape_control`](crate::report::escape_control)): the page may go to a terminal.

use minijinja::{context, Environment};
use serde::Serialize;

use super::clock;
use super::tree::{count, upstream_line};
use super::waterfall::{self, color, text};
use crate::trace::{format_ns, StatusCode, Trace};

const TEMPLATE: &str = include_str!("trace.html");
const NODE_W: u32 = 160;
const NODE_H: u32 = 36;
const LAYER_GAP: u32 = 90;
const ROW_GAP: u32 = 24;
/// Most intervals on the time axis.
const MAX_TICKS: u64 = 10;

#[derive(Serialize)]
struct Node {
    name: String,
    x: u32,
    y: u32,
    text_x: u32,
    text_y: u32,
    color: &'static str,
}

#[derive(Serialize)]
struct GraphEdge {
    caller: String,
    callee: String,
    x1: u32,
    y1: u32,
    x2: u32,
    y2: u32,
    label_x: u32,
    label_y: u32,
    label: String,
    error: bool,
}

#[derive(Serialize)]
struct LatencyRow {
    name: String,
    service: String,
    spans: usize,
    duration: String,
    self_time: String,
    self_pct: String,
}

/// The whole page, as `trace show --format html` writes it.
pub fn html(trace: &Trace) -> Result<String, minijinja::Error> {
    page(trace, None)
}

/// The page with a link back to a listing at `back` (the web UI of `collect`).
pub fn html_with_back_link(trace: &Trace, back: &str) -> Result<String, minijinja::Error> {
    page(trace, Some(back))
}

fn page(trace: &Trace, back: Option<&str>) -> Result<String, minijinja::Error> {
    let graph = trace.service_graph();
    let rows = waterfall::rows(trace, &graph.services);
    let legend = waterfall::legend(trace, &graph.services);
    let ticks = waterfall::ticks(trace.duration_ns(), MAX_TICKS);
    let depth = trace.walk().iter().map(|&(_, d)| d + 1).max().unwrap_or(0);
    let errors = trace
        .spans
        .iter()
        .filter(|s| s.status.code == StatusCode::Error)
        .count();
    let root = trace.root();

    // layered layout: a service sits one layer right of its furthest caller
    let n = graph.services.len();
    let mut layer = vec![0usize; n];
    let index = |name: &str| graph.services.iter().position(|s| s == name).unwrap_or(0);
    for _ in 0..n {
        for e in &graph.edges {
            let (a, b) = (index(&e.caller), index(&e.callee));
            if layer[b] < layer[a] + 1 && layer[a] + 1 < n {
                layer[b] = layer[a] + 1;
            }
        }
    }
    let mut slot = vec![0u32; n.max(1)];
    let mut pos = vec![(0u32, 0u32); n];
    for (i, &l) in layer.iter().enumerate() {
        pos[i] = (
            10 + l as u32 * (NODE_W + LAYER_GAP),
            10 + slot[l] * (NODE_H + ROW_GAP),
        );
        slot[l] += 1;
    }
    let nodes: Vec<Node> = graph
        .services
        .iter()
        .zip(&pos)
        .map(|(name, &(x, y))| Node {
            name: text(name),
            x,
            y,
            text_x: x + NODE_W / 2,
            text_y: y + NODE_H / 2 + 5,
            color: color(&graph.services, name),
        })
        .collect();
    let edges: Vec<GraphEdge> = graph
        .edges
        .iter()
        .map(|e| {
            let (a, b) = (pos[index(&e.caller)], pos[index(&e.callee)]);
            let (x1, y1) = (a.0 + NODE_W, a.1 + NODE_H / 2);
            let (x2, y2) = (b.0, b.1 + NODE_H / 2);
            GraphEdge {
                caller: text(&e.caller),
                callee: text(&e.callee),
                x1,
                y1,
                x2,
                y2,
                label_x: (x1 + x2) / 2,
                label_y: (y1 + y2) / 2 - 6,
                label: format!("{}× {}", e.calls, format_ns(e.total_ns)),
                error: e.errors > 0,
            }
        })
        .collect();
    let graph_width = pos.iter().map(|p| p.0 + NODE_W + 20).max().unwrap_or(200);
    let graph_height = pos.iter().map(|p| p.1 + NODE_H + 20).max().unwrap_or(60);

    let latency = trace.latency();
    let total_self: u64 = latency
        .services
        .iter()
        .map(|s| s.self_ns)
        .sum::<u64>()
        .max(1);
    let share = |ns: u64| format!("{:.1}%", ns as f64 * 100.0 / total_self as f64);
    let services: Vec<LatencyRow> = latency
        .services
        .iter()
        .map(|s| LatencyRow {
            name: text(&s.service),
            service: text(&s.service),
            spans: s.spans,
            duration: format_ns(s.total_ns),
            self_time: format_ns(s.self_ns),
            self_pct: share(s.self_ns),
        })
        .collect();
    let mut span_rows: Vec<(u64, LatencyRow)> = latency
        .spans
        .iter()
        .map(|l| {
            let s = &trace.spans[l.index];
            (
                l.self_ns,
                LatencyRow {
                    name: text(&s.name),
                    service: text(s.service_label()),
                    spans: 1,
                    duration: format_ns(l.duration_ns),
                    self_time: format_ns(l.self_ns),
                    self_pct: share(l.self_ns),
                },
            )
        })
        .collect();
    span_rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let span_rows: Vec<LatencyRow> = span_rows.into_iter().map(|(_, r)| r).collect();

    let problems: Vec<(String, String, String)> = trace
        .problems
        .iter()
        .map(|p| {
            (
                p.kind.to_string(),
                p.span_id.map(|s| s.to_hex()).unwrap_or_default(),
                text(&p.detail),
            )
        })
        .collect();

    let mut env = Environment::new();
    env.add_template("trace.html", TEMPLATE)?;
    env.get_template("trace.html")?.render(context! {
        trace_id => trace.trace_id.to_hex(),
        root_service => root.map(|r| text(r.service_label())),
        root_operation => root.map(|r| text(&r.name)),
        started => clock::utc_seconds(trace.start_unix_nano()),
        span_count => count(trace.spans.len(), "span"),
        service_count => count(graph.services.len(), "service"),
        error_count => count(errors, "error"),
        problem_count => count(trace.problems.len(), "problem"),
        errors,
        depth,
        duration => format_ns(trace.duration_ns()),
        upstream => upstream_line(trace),
        back,
        rows,
        legend,
        ticks,
        nodes,
        edges,
        node_w => NODE_W,
        node_h => NODE_H,
        graph_width,
        graph_height,
        services,
        span_rows,
        problems,
    })
}
