//! AC-006: Platform visualization.
//!
//! For each healthy-phase trace: a waterfall needs every span's timestamps and a parent tree
//! (one root, no orphans, no cycle); the service graph ([`Trace::service_graph`]) needs every
//! span's service and every service but the root's reached by an edge from a caller; the
//! latency breakdown ([`Trace::latency`]) needs a self time for every service.

use std::collections::{BTreeMap, HashSet};

use super::select::healthy_traces;
use super::structure::Shape;
use super::Evaluation;
use crate::trace::{Trace, UNKNOWN_SERVICE};
use crate::verify::model::{Criterion, CriterionResult, Evidence, Verdict};

/// What a trace lacks for the three views; empty when all three can be built.
pub fn missing_for_views(trace: &Trace, shape: &Shape<'_>) -> Vec<String> {
    let mut missing = Vec::new();
    let untimed = trace
        .spans
        .iter()
        .filter(|s| {
            s.start_unix_nano == 0 || s.end_unix_nano == 0 || s.end_unix_nano < s.start_unix_nano
        })
        .count();
    if untimed > 0 {
        missing.push(format!(
            "waterfall: {untimed} spans without valid timestamps"
        ));
    }
    if let Some(detail) = shape.disconnection() {
        missing.push(format!(
            "waterfall: parents do not form one tree ({detail})"
        ));
    }
    let graph = trace.service_graph();
    if graph.services.iter().any(|s| s == UNKNOWN_SERVICE) {
        missing.push("service graph: spans without service.name".to_owned());
    }
    let root_service = shape.single_root().map(|r| r.service_label());
    let callees: HashSet<&str> = graph.edges.iter().map(|e| e.callee.as_str()).collect();
    let unreached: Vec<&str> = graph
        .services
        .iter()
        .map(String::as_str)
        .filter(|s| Some(*s) != root_service && !callees.contains(s) && *s != UNKNOWN_SERVICE)
        .collect();
    if !unreached.is_empty() {
        missing.push(format!(
            "service graph: no caller edge into {}",
            unreached.join(", ")
        ));
    }
    let latency = trace.latency();
    if latency.spans.len() != trace.spans.len() || latency.services.len() != graph.services.len() {
        missing.push("latency breakdown: not every span and service has a self time".to_owned());
    }
    missing
}

/// Judge AC-006.
pub fn judge(evaluation: &Evaluation<'_>) -> CriterionResult {
    let (judged, _) = healthy_traces(evaluation);
    let mut traces = 0usize;
    let mut spans = 0usize;
    let mut failing = 0usize;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut evidence = Vec::new();
    for judged_trace in &judged {
        let Some(trace) = judged_trace.trace else {
            continue;
        };
        traces += 1;
        spans += trace.spans.len();
        let shape = Shape::new(trace, judged_trace.sent_parent);
        let missing = missing_for_views(trace, &shape);
        if missing.is_empty() {
            continue;
        }
        failing += 1;
        for m in &missing {
            let view = m.split(':').next().unwrap_or_default().to_owned();
            *kinds.entry(view).or_default() += 1;
        }
        evidence.push(Evidence::trace(trace.trace_id, missing.join("; ")));
    }
    if traces == 0 {
        return CriterionResult::new(
            Criterion::Ac006,
            Verdict::Skip,
            "no trace of the healthy phase was read: no view to build",
        );
    }
    if failing == 0 {
        return CriterionResult::new(
            Criterion::Ac006,
            Verdict::Pass,
            format!(
                "waterfall, service graph and latency breakdown built for {traces} traces ({spans} spans)"
            ),
        );
    }
    let parts: Vec<String> = kinds
        .iter()
        .map(|(view, n)| format!("{view} ({n} traces)"))
        .collect();
    let mut result = CriterionResult::new(
        Criterion::Ac006,
        Verdict::Fail,
        format!(
            "{failing} of {traces} traces cannot be fully drawn: {}",
            parts.join(", ")
        ),
    );
    for e in evidence {
        result.push(e);
    }
    result
}
