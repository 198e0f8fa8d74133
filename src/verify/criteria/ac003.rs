//! AC-003: Trace data capture.
//!
//! Every span of the healthy phase's traces carries the required fields of DESIGN.md: trace
//! and span ID (spans with malformed IDs are reported by assembly), service name, operation
//! name, start and end timestamps (hence a duration), a status; SERVER spans carry the HTTP
//! response code (`http.response.status_code` or the older `http.status_code`). Parent span
//! IDs are judged by AC-002 (one root, no orphans).

use std::collections::BTreeMap;

use super::select::healthy_traces;
use super::structure::http_status;
use super::Evaluation;
use crate::trace::{ProblemKind, Span, SpanKind};
use crate::verify::model::{Criterion, CriterionResult, Evidence, Verdict};

/// The fields a span can lack.
const NO_SERVICE: &str = "no service.name";
const NO_NAME: &str = "no operation name";
const NO_TIMESTAMPS: &str = "no start or end timestamp";
const ENDS_BEFORE_START: &str = "ends before it starts";
const NO_HTTP_STATUS: &str = "SERVER span without http.response.status_code or http.status_code";
const INVALID_ID: &str = "malformed span or parent span ID (left out of the trace)";

/// The required fields `span` lacks.
pub fn missing_fields(span: &Span) -> impl Iterator<Item = &'static str> {
    let timestamps = if span.start_unix_nano == 0 || span.end_unix_nano == 0 {
        Some(NO_TIMESTAMPS)
    } else if span.end_unix_nano < span.start_unix_nano {
        Some(ENDS_BEFORE_START)
    } else {
        None
    };
    [
        span.service.is_none().then_some(NO_SERVICE),
        span.name.trim().is_empty().then_some(NO_NAME),
        timestamps,
        (span.kind == SpanKind::Server && http_status(span).is_none()).then_some(NO_HTTP_STATUS),
    ]
    .into_iter()
    .flatten()
}

/// Judge AC-003.
pub fn judge(evaluation: &Evaluation<'_>) -> CriterionResult {
    let (judged, _) = healthy_traces(evaluation);
    // (service, field) → (spans, first evidence)
    let mut lacking: BTreeMap<(String, &'static str), (usize, Evidence)> = BTreeMap::new();
    let mut spans = 0usize;
    let mut bad_spans = 0usize;
    for trace in judged.iter().filter_map(|j| j.trace) {
        spans += trace.spans.len();
        for span in &trace.spans {
            let mut bad = false;
            for field in missing_fields(span) {
                bad = true;
                let entry = lacking
                    .entry((span.service_label().to_owned(), field))
                    .or_insert_with(|| {
                        (
                            0,
                            Evidence::trace(
                                trace.trace_id,
                                format!(
                                    "{} {} {:?}: {field}",
                                    span.service_label(),
                                    span.kind.as_str().to_ascii_uppercase(),
                                    span.name
                                ),
                            )
                            .with_span(span.span_id)
                            .with_service(span.service_label()),
                        )
                    });
                entry.0 += 1;
            }
            bad_spans += usize::from(bad);
        }
        for problem in &trace.problems {
            if problem.kind == ProblemKind::InvalidId {
                bad_spans += 1;
                let entry = lacking
                    .entry(("(unknown)".to_owned(), INVALID_ID))
                    .or_insert_with(|| {
                        (0, Evidence::trace(trace.trace_id, problem.detail.clone()))
                    });
                entry.0 += 1;
            }
        }
    }
    if spans == 0 {
        return CriterionResult::new(
            Criterion::Ac003,
            Verdict::Skip,
            "no span of the healthy phase's traces was read: nothing to judge",
        );
    }
    if lacking.is_empty() {
        return CriterionResult::new(
            Criterion::Ac003,
            Verdict::Pass,
            format!(
                "{spans} spans carry every required field; every SERVER span has its HTTP status"
            ),
        );
    }
    let parts: Vec<String> = lacking
        .iter()
        .take(5)
        .map(|((service, field), (count, _))| format!("{service}: {field} ({count} spans)"))
        .collect();
    let more = if lacking.len() > 5 {
        format!("; {} more kinds", lacking.len() - 5)
    } else {
        String::new()
    };
    let mut result = CriterionResult::new(
        Criterion::Ac003,
        Verdict::Fail,
        format!(
            "{bad_spans} of {spans} spans lack required fields: {}{more}",
            parts.join("; ")
        ),
    );
    for (_, (count, mut evidence)) in lacking {
        if count > 1 {
            evidence
                .detail
                .push_str(&format!(" (and {} more spans)", count - 1));
        }
        result.push(evidence);
    }
    result
}
