//! AC-002: Span creation & hierarchy.
//!
//! Per healthy-phase trace: every expected service has a span; one root and no orphans;
//! every SERVER (CONSUMER) span's parent is a CLIENT (PRODUCER) span of another service;
//! every CLIENT (PRODUCER) span that called an expected service has its SERVER (CONSUMER)
//! child in the trace — when it has not, the hop is named ("propagation breaks between
//! orchestration and pricing"); retries are several CLIENT spans under one parent to one
//! callee, attempts after the first carrying `http.request.resend_count`, all in the trace.
//! Judged by structure only: INTERNAL spans may sit anywhere, and the callee is recognised
//! by its SERVER child, its address or `peer.service` (see [`super::hops`]).

use std::collections::{BTreeMap, HashSet};

use super::hops::{CalleeSearch, CalleeSeen};
use super::select::{healthy_traces, incomplete_detail, not_found_detail, JudgedTrace};
use super::structure::{callee_kind, caller_kind, describe, http_status, resend_count, Shape};
use super::Evaluation;
use crate::trace::{ProblemKind, Span, SpanKind, Trace};
use crate::verify::model::{Criterion, CriterionResult, Evidence, Verdict};

/// Judge AC-002.
pub fn judge(evaluation: &Evaluation<'_>) -> CriterionResult {
    let (judged, unnamed) = healthy_traces(evaluation);
    if judged.is_empty() {
        return CriterionResult::new(
            Criterion::Ac002,
            Verdict::Skip,
            "no healthy-phase request named a trace (no trace ID returned or sent): nothing to judge",
        );
    }
    let collected = evaluation.collected;
    let search = CalleeSearch::new(
        &collected.traces,
        &collected.unclaimed,
        &evaluation.scenario.expect.services,
    );
    let mut tally = Tally::default();
    for judged_trace in &judged {
        judge_trace(judged_trace, &search, &mut tally);
    }
    retries_that_left(evaluation, &mut tally);
    tally.into_result(judged.len(), unnamed)
}

/// What the traces showed, over the run.
#[derive(Default)]
struct Tally {
    /// Broken hops (caller, callee) → traces.
    hops: BTreeMap<(String, String), usize>,
    /// Other kinds of failure → traces.
    other: BTreeMap<&'static str, usize>,
    failed_traces: usize,
    retries: usize,
    evidence: Vec<Evidence>,
    evidence_total: usize,
}

impl Tally {
    fn push(&mut self, evidence: Evidence) {
        self.evidence_total += 1;
        if self.evidence.len() < crate::verify::model::MAX_EVIDENCE {
            self.evidence.push(evidence);
        }
    }

    fn into_result(self, traces: usize, unnamed: usize) -> CriterionResult {
        let unnamed_note = if unnamed > 0 {
            format!(
                " ({unnamed} request{} named no trace in the response, and {} not judged)",
                if unnamed == 1 { "" } else { "s" },
                if unnamed == 1 { "was" } else { "were" }
            )
        } else {
            String::new()
        };
        let mut parts: Vec<String> = self
            .hops
            .iter()
            .map(|((caller, callee), n)| {
                format!(
                    "propagation breaks between {caller} and {callee} ({})",
                    traces_count(*n)
                )
            })
            .collect();
        parts.extend(
            self.other
                .iter()
                .map(|(what, n)| format!("{what} ({})", traces_count(*n))),
        );
        let mut result = if parts.is_empty() {
            CriterionResult::new(
                Criterion::Ac002,
                Verdict::Pass,
                format!(
                    "{traces} traces: every expected service has a span, one root, every SERVER span under its caller's CLIENT span; {} retries kept the trace{unnamed_note}",
                    self.retries
                ),
            )
        } else {
            CriterionResult::new(
                Criterion::Ac002,
                Verdict::Fail,
                format!(
                    "{} of {traces} traces fail: {}{unnamed_note}",
                    self.failed_traces,
                    parts.join("; ")
                ),
            )
        };
        for e in self.evidence {
            result.push(e);
        }
        if self.evidence_total > crate::verify::model::MAX_EVIDENCE {
            result.summary.push_str(&format!(
                " [{} findings, first {} shown]",
                self.evidence_total,
                crate::verify::model::MAX_EVIDENCE
            ));
        }
        result
    }
}

/// "1 trace", "3 traces".
fn traces_count(n: usize) -> String {
    if n == 1 {
        "1 trace".to_owned()
    } else {
        format!("{n} traces")
    }
}

fn judge_trace(judged: &JudgedTrace<'_>, search: &CalleeSearch<'_>, tally: &mut Tally) {
    let Some(trace) = judged.trace else {
        let detail = match judged.incomplete {
            Some(incomplete) => incomplete_detail(incomplete),
            None => not_found_detail(judged.exchange),
        };
        *tally.other.entry("trace not found").or_default() += 1;
        tally.failed_traces += 1;
        tally.push(Evidence::trace(judged.trace_id, detail));
        return;
    };
    let shape = Shape::new(trace, judged.sent_parent);
    let present = shape.services();
    let missing = present.missing(search.expected);
    let before = tally.evidence_total;
    let mut hop_callees: HashSet<String> = HashSet::new();
    let mut hops_here: HashSet<(String, String)> = HashSet::new();
    let mut kinds: HashSet<&'static str> = HashSet::new();
    let spans = &trace.spans;

    // Calls whose callee span is not under them.
    for (i, span) in spans.iter().enumerate() {
        let Some(wanted) = callee_kind(span.kind) else {
            continue;
        };
        if trace.children[i].iter().any(|&c| spans[c].kind == wanted) {
            continue;
        }
        if failed_before_reaching(trace, i) {
            continue;
        }
        let callee = search.name(trace, span, &present, &shape.orphans);
        let expected_callee = search.expected.contains(&callee.name);
        let platform_callee = matches!(
            callee.seen,
            CalleeSeen::NewTrace(..) | CalleeSeen::Orphan(_)
        );
        if callee.seen == CalleeSeen::External
            || (!expected_callee && !platform_callee && missing.is_empty())
        {
            // A call outside the platform (a third-party API): no SERVER span is expected.
            continue;
        }
        let caller = span.service_label().to_owned();
        let seen = match &callee.seen {
            CalleeSeen::NewTrace(trace_id, span_id) => format!(
                "{} started a new trace {} (span {})",
                callee.name, trace_id, span_id
            ),
            CalleeSeen::Orphan(span_id) => {
                format!(
                    "{}'s span {} is an orphan in this trace",
                    callee.name, span_id
                )
            }
            CalleeSeen::Missing => format!("{} has no span in this trace", callee.name),
            CalleeSeen::Unknown | CalleeSeen::External => {
                "no span of the callee was found".to_owned()
            }
        };
        let queue = if span.kind == SpanKind::Producer {
            " (queue hop)"
        } else {
            ""
        };
        tally.push(
            Evidence::trace(
                trace.trace_id,
                format!(
                    "propagation breaks between {caller} and {}{queue}: {} has no {} child; {seen}",
                    callee.name,
                    describe(span),
                    wanted.as_str().to_ascii_uppercase()
                ),
            )
            .with_span(span.span_id)
            .with_service(format!("{caller} → {}", callee.name)),
        );
        hop_callees.insert(callee.name.clone());
        hops_here.insert((caller, callee.name));
    }

    // One CLIENT span per attempt: a CLIENT span with several SERVER children is a retry
    // made below the instrumentation (an HTTP library's own retry loop) that shares a span.
    for (i, span) in spans.iter().enumerate() {
        if span.kind != SpanKind::Client {
            continue;
        }
        let servers: Vec<usize> = trace.children[i]
            .iter()
            .copied()
            .filter(|&c| spans[c].kind == SpanKind::Server)
            .collect();
        if servers.len() < 2 {
            continue;
        }
        let callee = spans[servers[0]].service_label().to_owned();
        tally.push(
            Evidence::trace(
                trace.trace_id,
                format!(
                    "{} attempts share one CLIENT span: {} has {} SERVER children on {callee} (a retry below the instrumentation); each attempt needs its own CLIENT span",
                    servers.len(),
                    describe(span),
                    servers.len()
                ),
            )
            .with_span(span.span_id)
            .with_service(format!("{} → {callee}", span.service_label())),
        );
        kinds.insert("attempts share one CLIENT span");
    }

    // SERVER/CONSUMER spans must hang under their caller's CLIENT/PRODUCER span.
    for (i, span) in spans.iter().enumerate() {
        let Some(wanted) = caller_kind(span.kind) else {
            continue;
        };
        let Some(p) = trace.parent[i] else { continue };
        let parent = &spans[p];
        if parent.kind == wanted && parent.service != span.service {
            continue;
        }
        let why = if parent.kind != wanted {
            format!("a {} span", parent.kind.as_str().to_ascii_uppercase())
        } else {
            "a span of the same service".to_owned()
        };
        tally.push(
            Evidence::trace(
                trace.trace_id,
                format!(
                    "{} is parented to {} ({}), not to its caller's {} span",
                    describe(span),
                    why,
                    describe(parent),
                    wanted.as_str().to_ascii_uppercase()
                ),
            )
            .with_span(span.span_id)
            .with_service(span.service_label()),
        );
        kinds.insert("SERVER span not under a CLIENT span");
    }

    // One root, no orphans (orphans already named as a hop's callee are not repeated).
    if shape.roots.len() != 1 || shape.reached < spans.len() {
        if let Some(detail) = shape.disconnection() {
            tally.push(Evidence::trace(trace.trace_id, detail));
            kinds.insert("not one root");
        }
    }
    for &o in &shape.orphans {
        let span = &spans[o];
        if hop_callees.contains(span.service_label()) {
            continue;
        }
        tally.push(
            Evidence::trace(
                trace.trace_id,
                format!(
                    "orphan: {}'s parent {} is not in the trace",
                    describe(span),
                    span.parent_span_id.map(|p| p.to_hex()).unwrap_or_default()
                ),
            )
            .with_span(span.span_id)
            .with_service(span.service_label()),
        );
        kinds.insert("orphan spans");
    }
    for &r in &shape.roots {
        if spans[r].kind == SpanKind::Client {
            tally.push(
                Evidence::trace(
                    trace.trace_id,
                    format!(
                        "the trace starts with {}: the context was lost upstream",
                        describe(&spans[r])
                    ),
                )
                .with_span(spans[r].span_id)
                .with_service(spans[r].service_label()),
            );
            kinds.insert("CLIENT span at the root");
        }
    }
    for problem in &trace.problems {
        if problem.kind == ProblemKind::DuplicateSpanId {
            let mut e = Evidence::trace(trace.trace_id, problem.detail.clone());
            e.span_id = problem.span_id.map(|s| s.to_hex());
            tally.push(e);
            kinds.insert("span IDs not unique");
        }
    }

    for (caller, callee) in judge_retries(trace, &missing, tally, &mut kinds) {
        hop_callees.extend(missing.iter().map(|s| (*s).to_owned()));
        hops_here.insert((caller, format!("{callee} (on retry)")));
    }
    for hop in hops_here {
        *tally.hops.entry(hop).or_default() += 1;
    }

    // Missing services not explained by a named hop.
    let unexplained: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|s| !hop_callees.contains(*s))
        .collect();
    if !missing.is_empty() && (!unexplained.is_empty() || tally.evidence_total == before) {
        let detail = match judged.incomplete {
            Some(incomplete) => incomplete_detail(incomplete),
            None => format!("no span of {}", missing.join(", ")),
        };
        tally.push(Evidence::trace(trace.trace_id, detail).with_service(missing.join(", ")));
        kinds.insert("expected services missing");
    }
    for kind in kinds {
        *tally.other.entry(kind).or_default() += 1;
    }
    if tally.evidence_total > before {
        tally.failed_traces += 1;
    }
}

/// A call that failed before it reached anyone (no HTTP status, status ERROR) while a sibling
/// attempt with the same name under the same parent did reach its callee: a connection-level
/// failure that the retry recovered from.
fn failed_before_reaching(trace: &Trace, i: usize) -> bool {
    let span = &trace.spans[i];
    if http_status(span).is_some() {
        return false;
    }
    let Some(p) = trace.parent[i] else {
        return false;
    };
    let wanted = callee_kind(span.kind);
    trace.children[p].iter().any(|&s| {
        s != i
            && trace.spans[s].kind == span.kind
            && trace.spans[s].name == span.name
            && trace.children[s]
                .iter()
                .any(|&c| Some(trace.spans[c].kind) == wanted)
    })
}

/// The callee of a CLIENT span, for grouping retries: its SERVER child's service, else its
/// target address, else its name.
#[derive(PartialEq, Eq)]
enum CalleeKey<'t> {
    Service(&'t str),
    Address(super::hops::Address),
    Name(&'t str),
}

fn callee_key(trace: &Trace, i: usize) -> CalleeKey<'_> {
    let span = &trace.spans[i];
    if let Some(&c) = trace.children[i]
        .iter()
        .find(|&&c| trace.spans[c].kind == SpanKind::Server)
    {
        return CalleeKey::Service(trace.spans[c].service_label());
    }
    match super::hops::target_of(span) {
        Some(address) => CalleeKey::Address(address),
        None => CalleeKey::Name(&span.name),
    }
}

/// Retries: several CLIENT spans under one parent to one callee; attempts after the first
/// carry `http.request.resend_count`; a failed last attempt while services are missing means
/// the retry left the trace.
fn judge_retries(
    trace: &Trace,
    missing: &[&str],
    tally: &mut Tally,
    kinds: &mut HashSet<&'static str>,
) -> Vec<(String, String)> {
    let mut left = Vec::new();
    let spans = &trace.spans;
    for (p, children) in trace.children.iter().enumerate() {
        let clients = children
            .iter()
            .filter(|&&c| spans[c].kind == SpanKind::Client)
            .count();
        if clients == 0 {
            continue;
        }
        // one group per callee, in order of first attempt (a few CLIENT children at most)
        let mut groups: Vec<(CalleeKey<'_>, Vec<usize>)> = Vec::new();
        for &c in children {
            if spans[c].kind != SpanKind::Client {
                continue;
            }
            if clients == 1 {
                groups.push((CalleeKey::Name(""), vec![c]));
                break;
            }
            let key = callee_key(trace, c);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, attempts)) => attempts.push(c),
                None => groups.push((key, vec![c])),
            }
        }
        for (_, attempts) in &groups {
            // children are ordered by start time, so attempts are too
            for &a in attempts.iter().skip(1) {
                if resend_count(&spans[a]).is_none() {
                    tally.push(
                        Evidence::trace(
                            trace.trace_id,
                            format!(
                                "{} is a retry (attempt after {:?} under {}) without http.request.resend_count",
                                describe(&spans[a]),
                                spans[attempts[0]].name,
                                describe(&spans[p])
                            ),
                        )
                        .with_span(spans[a].span_id)
                        .with_service(spans[a].service_label()),
                    );
                    kinds.insert("retry without resend_count");
                }
            }
            if attempts.len() > 1 {
                tally.retries += attempts.len() - 1;
            }
            let Some(&last) = attempts.last() else {
                continue;
            };
            if missing.is_empty() || !answered_5xx(trace, last) || parent_failed(&spans[p]) {
                continue;
            }
            let callee = attempt_callee(trace, last);
            tally.push(
                Evidence::trace(
                    trace.trace_id,
                    format!(
                        "{}'s last attempt in the trace got a 5xx from {callee} yet {} succeeded: the retry left the trace (missing {})",
                        spans[last].service_label(),
                        describe(&spans[p]),
                        missing.join(", ")
                    ),
                )
                .with_span(spans[last].span_id)
                .with_service(format!("{} → {callee}", spans[last].service_label())),
            );
            kinds.insert("retry left the trace");
            left.push((spans[last].service_label().to_owned(), callee));
        }
    }
    left
}

fn answered_5xx(trace: &Trace, i: usize) -> bool {
    let server_status = trace.children[i]
        .iter()
        .filter(|&&c| trace.spans[c].kind == SpanKind::Server)
        .find_map(|&c| http_status(&trace.spans[c]));
    server_status
        .or_else(|| http_status(&trace.spans[i]))
        .is_some_and(|s| s >= 500)
}

fn parent_failed(parent: &Span) -> bool {
    http_status(parent).is_some_and(|s| s >= 500)
        || parent.status.code == crate::trace::StatusCode::Error
}

fn attempt_callee(trace: &Trace, i: usize) -> String {
    trace.children[i]
        .iter()
        .find(|&&c| trace.spans[c].kind == SpanKind::Server)
        .map(|&c| trace.spans[c].service_label().to_owned())
        .unwrap_or_else(|| trace.spans[i].name.clone())
}

/// Traces no response named whose root is a resend: the retry started a new trace.
fn retries_that_left(evaluation: &Evaluation<'_>, tally: &mut Tally) {
    for trace in &evaluation.collected.unclaimed {
        for &r in &trace.roots {
            let span = &trace.spans[r];
            if span.kind != SpanKind::Client {
                continue;
            }
            let Some(count) = resend_count(span) else {
                continue;
            };
            tally.push(
                Evidence::trace(
                    trace.trace_id,
                    format!(
                        "{} (http.request.resend_count={count}) is the root of a new trace: the retry did not keep the trace ID",
                        describe(span)
                    ),
                )
                .with_span(span.span_id)
                .with_service(span.service_label()),
            );
            *tally.other.entry("retry started a new trace").or_default() += 1;
        }
    }
}
