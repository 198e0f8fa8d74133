//! `trace show --format html`: one self-contained page (inline CSS and SVG, no scripts, no
//! network) with the waterfall, the service dependency graph and the latency breakdown.
//! Geometry is computed here; the markup lives in the minijinja template `trace.html`, which
//! HTML-escapes every value (auto-escaping by the `.html` name). Received strings also have
//! their control characters escaped ([`escape_control`]): the page may go to a terminal.

use minijinja::{context, Environment};
use serde::Serialize;

use crate::report::escape_control;
use crate::trace::{format_ns, StatusCode, Trace};

const TEMPLATE: &str = include_str!("trace.html");
const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f",
];
const ROW: u32 = 22;
const LABEL_W: u32 = 330;
const BAR_W: u32 = 620;
const NODE_W: u32 = 160;
const NODE_H: u32 = 36;
const LAYER_GAP: u32 = 90;
const ROW_GAP: u32 = 24;

#[derive(Serialize)]
struct Row {
    y: u32,
    text_y: u32,
    indent: u32,
    name: String,
    service: String,
    color: &'static str,
    x: f64,
    width: f64,
    duration: String,
    error: bool,
    problems: Vec<String>,
    span_id: String,
}

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
    total: String,
    self_time: String,
    self_pct: String,
}

/// The whole page.
pub fn html(trace: &Trace) -> Result<String, minijinja::Error> {
    let graph = trace.service_graph();
    let color = |service: &str| {
        let i = graph
            .services
            .iter()
            .position(|s| s == service)
            .unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    let t0 = trace.start_unix_nano();
    let total = trace.duration_ns().max(1) as f64;
    let rows: Vec<Row> = trace
        .walk()
        .into_iter()
        .enumerate()
        .map(|(row, (i, depth))| {
            let s = &trace.spans[i];
            let x = LABEL_W as f64
                + (s.start_unix_nano.saturating_sub(t0)) as f64 / total * BAR_W as f64;
            let width = (s.duration_ns() as f64 / total * BAR_W as f64).max(1.0);
            let y = row as u32 * ROW;
            Row {
                y: y + 3,
                text_y: y + 15,
                indent: 4 + 14 * depth.min(16) as u32,
                name: text(&s.name),
                service: text(s.service_label()),
                color: color(s.service_label()),
                x: (x * 10.0).round() / 10.0,
                width: (width * 10.0).round() / 10.0,
                duration: format_ns(s.duration_ns()),
                error: s.status.code == StatusCode::Error,
                problems: trace
                    .problems_of(s.span_id)
                    .map(|p| format!("{}: {}", p.kind, escape_control(&p.detail)))
                    .collect(),
                span_id: s.span_id.to_hex(),
            }
        })
        .collect();
    let waterfall_height = rows.len() as u32 * ROW + 4;

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
            color: color(name),
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
    let services: Vec<LatencyRow> = latency
        .services
        .iter()
        .map(|s| LatencyRow {
            name: text(&s.service),
            service: text(&s.service),
            spans: s.spans,
            total: format_ns(s.total_ns),
            self_time: format_ns(s.self_ns),
            self_pct: format!("{:.1}%", s.self_ns as f64 * 100.0 / total_self as f64),
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
                    total: format_ns(l.duration_ns),
                    self_time: format_ns(l.self_ns),
                    self_pct: format!("{:.1}%", l.self_ns as f64 * 100.0 / total_self as f64),
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
        span_count => trace.spans.len(),
        service_count => graph.services.len(),
        duration => format_ns(trace.duration_ns()),
        error => trace.has_error(),
        rows,
        waterfall_width => LABEL_W + BAR_W + 90,
        waterfall_height,
        axis_x => LABEL_W,
        axis_end => LABEL_W + BAR_W,
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

/// A received string for the page: control characters escaped (markup is escaped by the
/// template).
fn text(received: &str) -> String {
    escape_control(received).into_owned()
}
