//! AC-001: Trace ID generation & preservation.
//!
//! Over every exchange that succeeded: the response carries a trace ID; a valid incoming
//! trace ID came back unchanged; an absent or invalid one was replaced by a fresh valid one
//! (not the invalid value's digits, lowercased or not); and the trace IDs are distinct over
//! the run (preserved incoming IDs aside, which are the sender's to choose).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Evaluation;
use crate::propagation::TraceId;
use crate::verify::model::{Criterion, CriterionResult, Evidence, Exchange, Phase, Verdict};

/// What went wrong, for the summary.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Failure {
    NoHeader,
    NotPreserved,
    NotFresh,
    Duplicate,
}

impl Failure {
    fn describe(self) -> &'static str {
        match self {
            Failure::NoHeader => "no valid trace ID in the response",
            Failure::NotPreserved => "valid incoming trace ID not preserved",
            Failure::NotFresh => "invalid incoming trace ID not replaced by a fresh one",
            Failure::Duplicate => "trace ID reused across requests",
        }
    }
}

/// Judge AC-001.
pub fn judge(evaluation: &Evaluation<'_>) -> CriterionResult {
    let exchanges = &evaluation.replay.exchanges;
    let succeeded: Vec<&Exchange> = exchanges.iter().filter(|e| e.succeeded()).collect();
    if exchanges.is_empty() {
        return CriterionResult::new(Criterion::Ac001, Verdict::Skip, "no request was sent");
    }
    // The healthy phase's requests must succeed: a scenario whose requests all get a 404
    // (a wrong path, a staging ingress that is down) proves nothing and must not pass.
    // Fault-phase failures are AC-007(a)'s.
    let failed_healthy: Vec<&Exchange> = exchanges
        .iter()
        .filter(|e| e.phase == Phase::Healthy && !e.succeeded())
        .collect();
    if !failed_healthy.is_empty() {
        return requests_failed(exchanges, &failed_healthy);
    }
    let root = evaluation.scenario.expect.root.as_str();
    let mut failures: BTreeMap<Failure, (usize, BTreeSet<String>)> = BTreeMap::new();
    let mut evidence = Vec::new();
    let mut note = |failure: Failure, exchange: &Exchange, e: Evidence| {
        let entry = failures.entry(failure).or_default();
        entry.0 += 1;
        entry.1.insert(format!(
            "{} over {}",
            exchange.incoming.as_str(),
            exchange.http_version.as_str()
        ));
        evidence.push(e.with_service(root));
    };
    let mut first_use: HashMap<TraceId, &Exchange> = HashMap::new();
    for exchange in &succeeded {
        let Some(returned) = &exchange.returned else {
            note(
                Failure::NoHeader,
                exchange,
                Evidence::detail(format!(
                    "{}: no valid trace ID in the response; headers seen: {}",
                    case(exchange),
                    headers_seen(exchange)
                )),
            );
            continue;
        };
        let returned_hex = returned.trace_id.to_hex();
        if exchange.incoming.is_valid() {
            if let Some(sent) = exchange.sent_trace_id {
                if sent != returned.trace_id {
                    note(
                        Failure::NotPreserved,
                        exchange,
                        Evidence::trace(
                            returned.trace_id,
                            format!(
                                "{}: sent trace ID {sent}, {} returned {returned_hex}",
                                case(exchange),
                                returned.header
                            ),
                        ),
                    );
                }
                continue;
            }
        } else if let Some(sent) = echoed_invalid(exchange, &returned_hex) {
            note(
                Failure::NotFresh,
                exchange,
                Evidence::trace(
                    returned.trace_id,
                    format!(
                        "{}: sent traceparent {sent:?}, {} returned its trace ID {returned_hex} instead of a fresh one",
                        case(exchange),
                        returned.header
                    ),
                ),
            );
            continue;
        }
        if let Some(first) = first_use.get(&returned.trace_id) {
            note(
                Failure::Duplicate,
                exchange,
                Evidence::trace(
                    returned.trace_id,
                    format!(
                        "{}: trace ID already returned for {}",
                        case(exchange),
                        case(first)
                    ),
                ),
            );
        } else {
            first_use.insert(returned.trace_id, exchange);
        }
    }
    let failed_requests = exchanges.len() - succeeded.len();
    let failed_note = if failed_requests > 0 {
        format!(" ({failed_requests} requests got no successful response and were not judged)")
    } else {
        String::new()
    };
    if failures.is_empty() {
        return CriterionResult::new(
            Criterion::Ac001,
            Verdict::Pass,
            format!(
                "{} responses carried a trace ID; valid incoming IDs preserved, absent and invalid ones replaced, all distinct{failed_note}",
                succeeded.len()
            ),
        );
    }
    let parts: Vec<String> = failures
        .iter()
        .map(|(failure, (count, cases))| {
            let listed: Vec<&str> = cases.iter().map(String::as_str).take(4).collect();
            let more = if cases.len() > 4 {
                format!(", +{} more", cases.len() - 4)
            } else {
                String::new()
            };
            format!(
                "{} on {count} of {} responses ({}{more})",
                failure.describe(),
                succeeded.len(),
                listed.join(", ")
            )
        })
        .collect();
    let mut result = CriterionResult::new(
        Criterion::Ac001,
        Verdict::Fail,
        format!("{}{failed_note}", parts.join("; ")),
    );
    for e in evidence {
        result.push(e);
    }
    result
}

/// Healthy-phase requests got an error or no response: AC-001 fails naming them.
fn requests_failed(exchanges: &[Exchange], failed: &[&Exchange]) -> CriterionResult {
    let healthy = exchanges
        .iter()
        .filter(|e| e.phase == Phase::Healthy)
        .count();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for exchange in failed {
        *outcomes.entry(outcome(exchange)).or_default() += 1;
    }
    let outcomes: Vec<String> = outcomes
        .iter()
        .map(|(outcome, n)| format!("{outcome} ×{n}"))
        .collect();
    let mut result = CriterionResult::new(
        Criterion::Ac001,
        Verdict::Fail,
        format!(
            "{} of {healthy} requests failed ({}): the scenario's requests must succeed before their traces can be judged",
            failed.len(),
            outcomes.join(", ")
        ),
    );
    for exchange in failed {
        let mut e = Evidence::detail(format!(
            "{} {} {}: {}",
            case(exchange),
            exchange.method,
            exchange.path,
            outcome(exchange)
        ));
        if let Some(returned) = &exchange.returned {
            e.trace_id = Some(returned.trace_id.to_hex());
        }
        result.push(e);
    }
    result
}

/// `HTTP 404`, or the transport error.
fn outcome(exchange: &Exchange) -> String {
    match (exchange.status, &exchange.error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no response".to_owned(),
    }
}

/// `checkout #12 (uppercase-hex over HTTP/2)`.
fn case(exchange: &Exchange) -> String {
    format!(
        "{} #{} ({} over {})",
        exchange.request,
        exchange.number,
        exchange.incoming.as_str(),
        exchange.http_version.as_str()
    )
}

fn headers_seen(exchange: &Exchange) -> String {
    if exchange.response_headers.is_empty() {
        return "none of traceresponse, server-timing".to_owned();
    }
    exchange
        .response_headers
        .iter()
        .map(|(name, value)| format!("{name}: {value:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sent `traceparent` whose trace-id field (any case) is the returned trace ID.
fn echoed_invalid<'e>(exchange: &'e Exchange, returned_hex: &str) -> Option<&'e str> {
    exchange
        .sent_traceparent
        .iter()
        .find(|sent| {
            sent.split('-')
                .nth(1)
                .is_some_and(|field| field.trim().eq_ignore_ascii_case(returned_hex))
        })
        .map(String::as_str)
}
