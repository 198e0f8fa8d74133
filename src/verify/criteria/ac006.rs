//! AC-006: Platform visualization.
//!
//! For each healthy-phase trace: a waterfall needs every span's timestamps and a parent tree
//! (one root, no orphans, no cycle); the service graph needs every span's service and every
//! service but the root's reached by a parent/child edge from another service; the latency
//! breakdown needs a duration for every span. Those preconditions are checked on every trace;
//! the views themselves ([`Trace::service_graph`], [`Trace::latency`]) are built for the
//! first [`BUILT_SAMPLES`] traces (the sample traces `--artifacts` draws) and checked to cover
//! every span and service.

use std::collections::BTreeMap;

use super::select::healthy_traces;
use super::structure::Shape;
use super::Evaluation;
use crate::trace::{Trace, UNKNOWN_SERVICE};
use crate::verify::model::{Criterion, CriterionResult, Evidence, Verdict};

/// How many traces have their service graph and latency breakdown actually built.
pub const BUILT_SAMPLES: usize = 32;

/// What a trace lacks for the three views; empty when all three can be built. `build` also
/// builds the service graph and the latency breakdown and checks them.
pub fn missing_for_views(trace: &Trace, shape: &Shape<'_>, build: bool) -> Vec<String> {
    let mut missing = Vec::new();
    let spans = &trace.spans;
    let untimed = spans
        .iter()
        .filter(|s| {
            s.start_unix_nano == 0 || s.end_unix_nano == 0 || s.end_unix_nano < s.start_unix_nano
        })
        .count();
    if untimed > 0 {
        missing.push(format!(
            "waterfall: {untimed} spans without valid timestamps"
        ));
        missing.push(format!(
            "latency breakdown: {untimed} spans without a duration"
        ));
    }
    if let Some(detail) = shape.disconnection() {
        missing.push(format!(
            "waterfall: parents do not form one tree ({detail})"
        ));
    }
    if spans.iter().any(|s| s.service.is_none()) {
        missing.push("service graph: spans without service.name".to_owned());
    }
    // every service but the root's has a span whose parent belongs to another service
    let services = shape.services();
    let root_service = shape.single_root().and_then(|r| r.service.as_deref());
    let mut reached: Vec<&str> = Vec::with_capacity(services.0.len());
    for (i, span) in spans.iter().enumerate() {
        let (Some(service), Some(p)) = (span.service.as_deref(), trace.parent[i]) else {
            continue;
        };
        if spans[p].service.as_deref() != Some(service) && !reached.contains(&service) {
            reached.push(service);
        }
    }
    let unreached: Vec<&str> = services
        .iter()
        .filter(|s| Some(*s) != root_service && !reached.contains(s))
        .collect();
    if !unreached.is_empty() {
        missing.push(format!(
            "service graph: no caller edge into {}",
            unreached.join(", ")
        ));
    }
    if build {
        let graph = trace.service_graph();
        let known = graph
            .services
            .iter()
            .filter(|s| *s != UNKNOWN_SERVICE)
            .count();
        let latency = trace.latency();
        if known != services.0.len() {
            missing.push("service graph: not every service is in the graph".to_owned());
        }
        if latency.spans.len() != spans.len() || latency.services.len() != graph.services.len() {
            missing
                .push("latency breakdown: not every span and service has a self time".to_owned());
        }
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
        let missing = missing_for_views(trace, &shape, traces <= BUILT_SAMPLES);
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
