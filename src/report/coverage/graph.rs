//! The runtime service dependency graph's layout: layered left to right (a service one layer
//! right of its furthest caller; cycles broken at the edges a depth-first walk finds going
//! back), services in a layer ordered by the mean position of their callers (fewer crossings),
//! each service and edge styled by its propagation status. Linear in services + edges, up to
//! the sort per layer.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{broken_services, plural};
use crate::coverage::model::{RuntimeEdge, RuntimeVerdict};
use crate::coverage::CoverageReport;

const NODE_W: u32 = 180;
const NODE_H: u32 = 44;
const LAYER_GAP: u32 = 180;
const ROW_GAP: u32 = 26;
const MARGIN: u32 = 16;
/// Services drawn at most: a bigger graph is cut to where propagation breaks.
pub(super) const GRAPH_CAP: usize = 200;
/// Characters of a name shown in a box (the full name is in its `<title>`).
const NAME_CHARS: usize = 22;

/// How a service or an edge is drawn; its class in the SVG and the words beside the colour.
#[derive(Clone, Copy, Serialize, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub(super) enum Status {
    /// Propagating (green, solid).
    Propagating,
    /// Broken at runtime (red, dashed, thick).
    Broken,
    /// Not propagating for a static reason while its runtime is fine (amber, dotted).
    Static,
    /// Seen in traces, not in the catalog (grey).
    Uncounted,
}

impl Status {
    fn words(self) -> &'static str {
        match self {
            Status::Propagating => "propagating",
            Status::Broken => "BROKEN at runtime",
            Status::Static => "fails statically",
            Status::Uncounted => "not in catalog",
        }
    }
}

#[derive(Serialize)]
pub(super) struct Node {
    name: String,
    short: String,
    team: String,
    status: Status,
    words: &'static str,
    x: u32,
    y: u32,
    cx: u32,
    name_y: u32,
    words_y: u32,
}

#[derive(Serialize)]
pub(super) struct Edge {
    caller: String,
    callee: String,
    status: Status,
    path: String,
    label: String,
    label_x: u32,
    label_y: u32,
}

#[derive(Serialize)]
pub(super) struct Graph {
    /// Only the broken part is drawn (the whole graph has more than [`GRAPH_CAP`] services).
    focused: bool,
    total_services: usize,
    total_edges: usize,
    width: u32,
    height: u32,
    node_w: u32,
    node_h: u32,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

fn short(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        name.to_owned()
    } else {
        let head: String = name.chars().take(NAME_CHARS - 1).collect();
        format!("{head}…")
    }
}

fn edge_label(edge: &RuntimeEdge) -> String {
    let calls = edge.paired.saturating_add(edge.broken);
    let calls = usize::try_from(calls).unwrap_or(usize::MAX);
    if edge.broken > 0 {
        format!("BROKEN: {} of {}", edge.broken, plural(calls, "call"))
    } else {
        format!("{} paired", plural(calls, "call"))
    }
}

/// Layer of each service: longest path from a service nobody calls, over the edges left once
/// the back edges of a depth-first walk (in name order) are set aside.
fn layers(count: usize, out: &[Vec<usize>]) -> Vec<usize> {
    // Iterative DFS: 0 = new, 1 = on the stack, 2 = done. Back edges point at state 1.
    let mut state = vec![0u8; count];
    let mut forward: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut order = Vec::with_capacity(count);
    for root in 0..count {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&to) = out[node].get(*next) {
                *next += 1;
                match state[to] {
                    0 => {
                        forward[node].push(to);
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    2 => forward[node].push(to),
                    _ => {} // back edge: left out of the layering
                }
            } else {
                state[node] = 2;
                order.push(node);
                stack.pop();
            }
        }
    }
    // `order` is a post-order: reversed, a topological order of the forward edges.
    let mut layer = vec![0usize; count];
    for &node in order.iter().rev() {
        for &to in &forward[node] {
            layer[to] = layer[to].max(layer[node] + 1);
        }
    }
    layer
}

/// Every service of the graph: edge ends, plus services broken at runtime without edges.
fn select_all(report: &CoverageReport) -> BTreeSet<&str> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for e in &report.edges {
        names.insert(&e.caller);
        names.insert(&e.callee);
    }
    for s in &report.services {
        if s.runtime == Some(RuntimeVerdict::Fail) {
            names.insert(&s.name);
        }
    }
    names
}

/// The edges and services drawn, and whether that is a cut. Up to [`GRAPH_CAP`] services,
/// everything; above, the broken edges with the edges touching their ends (the callers of a
/// broken caller, the other callees…), or the broken edges alone when that is still too
/// many, then broken services without edges, as long as the cap allows.
fn select(report: &CoverageReport) -> (Vec<&RuntimeEdge>, Vec<&str>, bool) {
    let all = select_all(report);
    if all.len() <= GRAPH_CAP {
        return (
            report.edges.iter().collect(),
            all.into_iter().collect(),
            false,
        );
    }
    let broken: Vec<&RuntimeEdge> = report.edges.iter().filter(|e| e.broken > 0).collect();
    let ends: BTreeSet<&str> = broken
        .iter()
        .flat_map(|e| [e.caller.as_str(), e.callee.as_str()])
        .collect();
    let near: Vec<&RuntimeEdge> = report
        .edges
        .iter()
        .filter(|e| ends.contains(e.caller.as_str()) || ends.contains(e.callee.as_str()))
        .collect();
    let mut names = BTreeSet::new();
    let mut edges = Vec::new();
    let candidates = if ends_of(&near).len() <= GRAPH_CAP {
        near
    } else {
        broken
    };
    for e in candidates {
        let new = usize::from(!names.contains(e.caller.as_str()))
            + usize::from(!names.contains(e.callee.as_str()));
        if names.len() + new > GRAPH_CAP {
            break;
        }
        names.insert(e.caller.as_str());
        names.insert(e.callee.as_str());
        edges.push(e);
    }
    for s in broken_services(report) {
        if names.len() >= GRAPH_CAP {
            break;
        }
        names.insert(s.name.as_str());
    }
    (edges, names.into_iter().collect(), true)
}

fn ends_of<'a>(edges: &[&'a RuntimeEdge]) -> BTreeSet<&'a str> {
    edges
        .iter()
        .flat_map(|e| [e.caller.as_str(), e.callee.as_str()])
        .collect()
}

/// The graph, or `None` without runtime edges.
pub(super) fn graph(report: &CoverageReport, text: impl Fn(&str) -> String) -> Option<Graph> {
    if report.edges.is_empty() {
        return None;
    }
    let (edges, names, focused) = select(report);
    let names: Vec<&str> = names.into_iter().collect();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut out = vec![Vec::new(); names.len()];
    let mut callers = vec![Vec::new(); names.len()];
    for e in &edges {
        let (a, b) = (index[e.caller.as_str()], index[e.callee.as_str()]);
        out[a].push(b);
        callers[b].push(a);
    }
    let layer = layers(names.len(), &out);
    let layer_count = layer.iter().max().map_or(1, |m| m + 1);
    let mut by_layer: Vec<Vec<usize>> = vec![Vec::new(); layer_count];
    for (i, &l) in layer.iter().enumerate() {
        by_layer[l].push(i);
    }
    // Order each layer by the mean row of its callers in earlier layers (barycentre).
    let mut row = vec![0usize; names.len()];
    for members in &mut by_layer {
        let key = |i: usize| {
            let earlier: Vec<usize> = callers[i]
                .iter()
                .filter(|&&c| layer[c] < layer[i])
                .map(|&c| row[c])
                .collect();
            if earlier.is_empty() {
                f64::INFINITY
            } else {
                earlier.iter().sum::<usize>() as f64 / earlier.len() as f64
            }
        };
        let mut keyed: Vec<(f64, usize)> = members.iter().map(|&i| (key(i), i)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *members = keyed.into_iter().map(|(_, i)| i).collect();
        for (r, &i) in members.iter().enumerate() {
            row[i] = r;
        }
    }
    let position = |i: usize| {
        (
            MARGIN + layer[i] as u32 * (NODE_W + LAYER_GAP),
            MARGIN + row[i] as u32 * (NODE_H + ROW_GAP),
        )
    };

    let status_of = |name: &str| match super::service(report, name) {
        None => Status::Uncounted,
        Some(s) if s.runtime == Some(RuntimeVerdict::Fail) => Status::Broken,
        Some(s) if s.propagating => Status::Propagating,
        Some(_) => Status::Static,
    };
    let nodes = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (x, y) = position(i);
            let status = status_of(name);
            Node {
                name: text(name),
                short: text(&short(name)),
                team: super::service(report, name).map_or_else(String::new, |s| text(&s.team)),
                status,
                words: status.words(),
                x,
                y,
                cx: x + NODE_W / 2,
                name_y: y + 18,
                words_y: y + 35,
            }
        })
        .collect();
    let total_services = select_all(report).len();
    let edges = edges
        .iter()
        .map(|e| {
            let (a, b) = (
                position(index[e.caller.as_str()]),
                position(index[e.callee.as_str()]),
            );
            let (x1, y1) = (a.0 + NODE_W, a.1 + NODE_H / 2);
            let (x2, y2) = (b.0, b.1 + NODE_H / 2);
            let bend = 50;
            Edge {
                caller: text(&e.caller),
                callee: text(&e.callee),
                status: if e.broken > 0 {
                    Status::Broken
                } else {
                    Status::Propagating
                },
                path: format!(
                    "M {x1} {y1} C {} {y1}, {} {y2}, {x2} {y2}",
                    x1 + bend,
                    x2.saturating_sub(bend)
                ),
                label: edge_label(e),
                label_x: (x1 + x2) / 2,
                label_y: (y1 + y2) / 2 - 6,
            }
        })
        .collect();
    let width = MARGIN * 2 + layer_count as u32 * (NODE_W + LAYER_GAP) - LAYER_GAP;
    let rows = by_layer.iter().map(Vec::len).max().unwrap_or(1) as u32;
    let height = MARGIN * 2 + rows * (NODE_H + ROW_GAP) - ROW_GAP;
    Some(Graph {
        focused,
        total_services,
        total_edges: report.edges.len(),
        width,
        height,
        node_w: NODE_W,
        node_h: NODE_H,
        nodes,
        edges,
    })
}
