//! AC-007: Non-disruptive & secure.
//!
//! (a) With the telemetry backend failing (the fault phase), every request succeeded and the
//! p99 latency stayed within `Expect::budget()` of the healthy phase's (skipped when no fault
//! phase ran). (b) No canary and no credential/PII pattern appears anywhere in the exported
//! span data ([`super::sensitive`]).

use std::collections::BTreeMap;
use std::time::Duration;

use super::sensitive::Scanner;
use super::Evaluation;
use crate::verify::model::{Criterion, CriterionResult, Evidence, Exchange, Phase, Verdict};

/// A part's verdict, summary and evidence.
struct Part {
    verdict: Verdict,
    summary: String,
    evidence: Vec<Evidence>,
}

/// The p99 (nearest rank) of `latencies`; `None` when empty.
pub fn p99(latencies: &mut [Duration]) -> Option<Duration> {
    if latencies.is_empty() {
        return None;
    }
    latencies.sort_unstable();
    let rank = (latencies.len() * 99).div_ceil(100).max(1);
    latencies.get(rank - 1).copied()
}

fn ms(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1000.0)
}

fn non_disruptive(evaluation: &Evaluation<'_>) -> Part {
    let replay = evaluation.replay;
    if !replay.fault_phase {
        return Part {
            verdict: Verdict::Skip,
            summary: "(a) no fault phase ran (no --fault-start, or a healthy backend): non-blocking export not judged".to_owned(),
            evidence: Vec::new(),
        };
    }
    let fault: Vec<&Exchange> = replay
        .exchanges
        .iter()
        .filter(|e| e.phase == Phase::Fault)
        .collect();
    if fault.is_empty() {
        return Part {
            verdict: Verdict::Skip,
            summary: "(a) the fault phase sent no request".to_owned(),
            evidence: Vec::new(),
        };
    }
    // The healthy phase's repeat requests (those with canaries) are the fault phase's twins;
    // fall back to the whole healthy phase when none carried canaries.
    let healthy_all: Vec<&Exchange> = replay
        .exchanges
        .iter()
        .filter(|e| e.phase == Phase::Healthy && e.succeeded())
        .collect();
    let twins: Vec<&Exchange> = healthy_all.iter().copied().filter(|e| e.canaries).collect();
    let healthy = if twins.is_empty() { healthy_all } else { twins };
    let mut evidence = Vec::new();
    let failed: Vec<&&Exchange> = fault.iter().filter(|e| !e.succeeded()).collect();
    for e in &failed {
        let what = match (e.status, &e.error) {
            (Some(status), _) => format!("status {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no response".to_owned(),
        };
        evidence.push(Evidence::detail(format!(
            "fault phase: {} #{} {} {} failed: {what} after {}",
            e.request,
            e.number,
            e.method,
            e.path,
            ms(e.latency)
        )));
    }
    let mut fault_latencies: Vec<Duration> = fault.iter().map(|e| e.latency).collect();
    let mut healthy_latencies: Vec<Duration> = healthy.iter().map(|e| e.latency).collect();
    let fault_p99 = p99(&mut fault_latencies);
    let healthy_p99 = p99(&mut healthy_latencies);
    let budget = evaluation.scenario.expect.budget();
    let mut problems = Vec::new();
    if !failed.is_empty() {
        problems.push(format!(
            "{} of {} requests failed with the backend failing",
            failed.len(),
            fault.len()
        ));
    }
    let latency = match (fault_p99, healthy_p99) {
        (Some(fault_p99), Some(healthy_p99)) => {
            let limit = budget.limit(healthy_p99);
            let text = format!(
                "p99 {} vs {} healthy (limit {}: +{:.0}% +{})",
                ms(fault_p99),
                ms(healthy_p99),
                ms(limit),
                budget.fraction * 100.0,
                ms(budget.slack)
            );
            if fault_p99 > limit {
                problems.push(format!("latency over budget: {text}"));
                evidence.push(Evidence::detail(format!("fault phase {text}")));
            }
            text
        }
        _ => {
            problems
                .push("no healthy-phase request succeeded to compare latencies with".to_owned());
            String::new()
        }
    };
    if problems.is_empty() {
        Part {
            verdict: Verdict::Pass,
            summary: format!(
                "(a) all {} requests succeeded with the backend failing, {latency}",
                fault.len()
            ),
            evidence,
        }
    } else {
        Part {
            verdict: Verdict::Fail,
            summary: format!("(a) {}", problems.join("; ")),
            evidence,
        }
    }
}

fn no_sensitive_data(evaluation: &Evaluation<'_>) -> Part {
    let collected = evaluation.collected;
    if collected.otlp.is_empty() {
        return Part {
            verdict: Verdict::Skip,
            summary: "(b) no span data was read: nothing to search".to_owned(),
            evidence: Vec::new(),
        };
    }
    let scanner = Scanner::new(&evaluation.replay.canaries);
    // what → (count, services)
    let mut kinds: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let mut evidence = Vec::new();
    scanner.scan(&collected.otlp, &mut |finding| {
        let service = finding
            .service
            .clone()
            .unwrap_or_else(|| "(unknown service)".to_owned());
        let entry = kinds.entry(finding.what.clone()).or_default();
        entry.0 += 1;
        if !entry.1.contains(&service) {
            entry.1.push(service.clone());
        }
        if evidence.len() < crate::verify::model::MAX_EVIDENCE {
            let span = finding
                .span
                .as_ref()
                .map(|(name, _)| format!("span {name:?}, "))
                .unwrap_or_default();
            evidence.push(Evidence {
                trace_id: finding.trace_id.clone(),
                span_id: finding.span.as_ref().map(|(_, id)| id.clone()),
                service: Some(service),
                detail: format!("{}: {span}{}", finding.what, finding.location),
            });
        }
    });
    let canaries_sent = evaluation
        .replay
        .exchanges
        .iter()
        .filter(|e| e.canaries)
        .count();
    let sent_note = if canaries_sent == 0 {
        " (no request carried canaries: patterns only)".to_owned()
    } else {
        format!(
            " ({canaries_sent} request{} carried canaries)",
            if canaries_sent == 1 { "" } else { "s" }
        )
    };
    let spans: usize = collected
        .otlp
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    if kinds.is_empty() {
        return Part {
            verdict: Verdict::Pass,
            summary: format!(
                "(b) no canary, credential or PII pattern in {spans} spans{sent_note}"
            ),
            evidence,
        };
    }
    let parts: Vec<String> = kinds
        .iter()
        .map(|(what, (n, services))| format!("{what} ×{n} ({})", services.join(", ")))
        .collect();
    Part {
        verdict: Verdict::Fail,
        summary: format!("(b) sensitive data in span data: {}", parts.join(", ")),
        evidence,
    }
}

/// Judge AC-007.
pub fn judge(evaluation: &Evaluation<'_>) -> CriterionResult {
    let a = non_disruptive(evaluation);
    let b = no_sensitive_data(evaluation);
    let verdict = match (a.verdict, b.verdict) {
        (Verdict::Fail, _) | (_, Verdict::Fail) => Verdict::Fail,
        (Verdict::Skip, Verdict::Skip) => Verdict::Skip,
        _ => Verdict::Pass,
    };
    let mut result = CriterionResult::new(
        Criterion::Ac007,
        verdict,
        format!("{}; {}", a.summary, b.summary),
    );
    for e in a.evidence.into_iter().chain(b.evidence) {
        result.push(e);
    }
    result
}
