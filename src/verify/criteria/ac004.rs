//! AC-004: Trace queryability.
//!
//! Every trace ID a healthy-phase response returned resolves, by that ID alone, to one
//! connected tree rooted at `expect.root`'s SERVER span with every expected service, within
//! the timeout (a trace collection gave up on fails with "incomplete after Ns: missing …").

use super::select::{incomplete_detail, not_found_detail, sent_parent_of};
use super::structure::{describe, Shape};
use super::Evaluation;
use crate::trace::SpanKind;
use crate::verify::model::{Criterion, CriterionResult, Evidence, Phase, Verdict};

/// Judge AC-004.
pub fn judge(evaluation: &Evaluation<'_>) -> CriterionResult {
    let expect = &evaluation.scenario.expect;
    let collected = evaluation.collected;
    let mut seen = super::select::IdSet::default();
    let mut judged = 0usize;
    let mut without_id = 0usize;
    let mut failed: Vec<Evidence> = Vec::new();
    let (mut not_found, mut incomplete, mut broken) = (0usize, 0usize, 0usize);
    for exchange in &evaluation.replay.exchanges {
        if exchange.phase != Phase::Healthy || exchange.status.is_none() {
            continue;
        }
        let Some(returned) = &exchange.returned else {
            without_id += 1;
            continue;
        };
        let trace_id = returned.trace_id;
        if !seen.insert(trace_id) {
            continue;
        }
        judged += 1;
        if let Some(gave_up) = collected.incomplete.get(&trace_id) {
            incomplete += 1;
            failed.push(Evidence::trace(trace_id, incomplete_detail(gave_up)));
            continue;
        }
        let Some(trace) = collected.traces.get(&trace_id) else {
            not_found += 1;
            failed.push(Evidence::trace(trace_id, not_found_detail(exchange)));
            continue;
        };
        let shape = Shape::new(trace, sent_parent_of(exchange, trace_id));
        let mut problems = Vec::new();
        if let Some(detail) = shape.disconnection() {
            problems.push(format!("not one connected tree: {detail}"));
        }
        if let Some(root) = shape.single_root() {
            if root.kind != SpanKind::Server || root.service_label() != expect.root {
                problems.push(format!(
                    "rooted at {}, not at {}'s SERVER span",
                    describe(root),
                    expect.root
                ));
            }
        }
        let missing = shape.missing(&expect.services);
        if !missing.is_empty() {
            problems.push(format!("missing {}", missing.join(", ")));
        }
        if !problems.is_empty() {
            broken += 1;
            let mut evidence = Evidence::trace(trace_id, problems.join("; "));
            if let Some(root) = shape.single_root() {
                evidence = evidence.with_span(root.span_id);
            }
            if let Some(service) = missing.first() {
                evidence = evidence.with_service(*service);
            }
            failed.push(evidence);
        }
    }
    let without_note = if without_id > 0 {
        format!(" ({without_id} responses carried no trace ID: see AC-001)")
    } else {
        String::new()
    };
    if judged == 0 {
        return CriterionResult::new(
            Criterion::Ac004,
            Verdict::Skip,
            format!("no healthy-phase response returned a trace ID to look up{without_note}"),
        );
    }
    if failed.is_empty() {
        return CriterionResult::new(
            Criterion::Ac004,
            Verdict::Pass,
            format!(
                "{judged} returned trace ID{} resolve{} to a connected tree rooted at {} with {}{without_note}",
                if judged == 1 { "" } else { "s" },
                if judged == 1 { "s" } else { "" },
                expect.root,
                match expect.services.len() {
                    1 => "its expected service".to_owned(),
                    n => format!("all {n} expected services"),
                }
            ),
        );
    }
    let mut parts = Vec::new();
    if not_found > 0 {
        parts.push(format!("{not_found} not found"));
    }
    if incomplete > 0 {
        parts.push(format!("{incomplete} incomplete within the timeout"));
    }
    if broken > 0 {
        parts.push(format!(
            "{broken} not a complete tree rooted at {}",
            expect.root
        ));
    }
    let mut result = CriterionResult::new(
        Criterion::Ac004,
        Verdict::Fail,
        format!(
            "{} of {judged} returned trace IDs do not resolve to the complete path: {}{without_note}",
            failed.len(),
            parts.join(", ")
        ),
    );
    for e in failed {
        result.push(e);
    }
    result
}
