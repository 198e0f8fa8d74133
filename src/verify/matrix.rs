//! The incoming-context matrix: for each [`IncomingCase`], the `traceparent`/`tracestate`
//! values a request is sent with (fresh random IDs per request) and the trace ID the target
//! must preserve. The invalid kinds follow the W3C Trace Context specification (Level 2,
//! §3.2): uppercase hex, version `ff`, an all-zero trace ID, a field of the wrong length, data
//! after a version-00 value, and two `traceparent` headers.

use crate::propagation::{SpanId, TraceId};

use super::model::IncomingCase;

/// The trace-context headers of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingContext {
    /// The cell of the matrix.
    pub case: IncomingCase,
    /// The `traceparent` values, each sent as its own header (none, one, or two for
    /// [`IncomingCase::TwoHeaders`]).
    pub traceparent: Vec<String>,
    /// The `tracestate` value, when one is sent.
    pub tracestate: Option<String>,
    /// The trace ID the target must keep (valid cases only); for the others the target must
    /// answer with a fresh one.
    pub preserved: Option<TraceId>,
}

/// Fresh header values for `case`.
pub fn incoming(case: IncomingCase) -> IncomingContext {
    let trace = TraceId::random().to_hex();
    let span = SpanId::random().to_hex();
    let valid = format!("00-{trace}-{span}-01");
    let (traceparent, tracestate, preserved) = match case {
        IncomingCase::Absent => (vec![], None, None),
        IncomingCase::Valid => (vec![valid], None, TraceId::from_hex(&trace)),
        IncomingCase::ValidWithTracestate => {
            let state = format!("tracegate={},vendor=verify", &span[..8]);
            (vec![valid], Some(state), TraceId::from_hex(&trace))
        }
        IncomingCase::UppercaseHex => {
            let upper = format!("00-{}-{}-01", with_a_letter(&trace), with_a_letter(&span))
                .to_ascii_uppercase();
            (vec![upper], None, None)
        }
        IncomingCase::VersionFf => (vec![format!("ff-{trace}-{span}-01")], None, None),
        IncomingCase::ZeroTraceId => (vec![format!("00-{}-{span}-01", "0".repeat(32))], None, None),
        IncomingCase::WrongLength => {
            // A 31-character trace ID: accepted by lenient parsers that split on `-`.
            (vec![format!("00-{}-{span}-01", &trace[1..])], None, None)
        }
        IncomingCase::TrailingData => (vec![format!("{valid}-00")], None, None),
        IncomingCase::TwoHeaders => {
            let second = format!(
                "00-{}-{}-01",
                TraceId::random().to_hex(),
                SpanId::random().to_hex()
            );
            (vec![valid, second], None, None)
        }
    };
    IncomingContext {
        case,
        traceparent,
        tracestate,
        preserved,
    }
}

/// Make sure a hex string has a letter `a`–`f`, so that upper-casing changes it.
fn with_a_letter(hex: &str) -> String {
    if hex.bytes().any(|b| b.is_ascii_lowercase()) {
        hex.to_owned()
    } else {
        format!("a{}", &hex[1..])
    }
}

/// The 32-hex trace IDs written in sent `traceparent` values, lowercased (for invalid cases:
/// the IDs a target must NOT answer with, since the context had to be replaced).
pub fn embedded_trace_ids(traceparent: &[String]) -> Vec<String> {
    traceparent
        .iter()
        .filter_map(|value| {
            let field = value.split('-').nth(1)?;
            (field.len() == 32 && field.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| field.to_ascii_lowercase())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::*;
    use crate::propagation::{extract, Decision, GenerateReason, TraceParentError};

    fn headers(context: &IncomingContext) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in &context.traceparent {
            map.append(
                "traceparent",
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        if let Some(state) = &context.tracestate {
            map.insert(
                "tracestate",
                HeaderValue::from_str(state).expect("header value"),
            );
        }
        map
    }

    #[test]
    fn every_case_is_judged_by_the_strict_parser_as_it_claims() {
        // (case, the reason the strict parser must give, None for a preserved context)
        let table: [(IncomingCase, Option<GenerateReason>); 9] = [
            (IncomingCase::Absent, Some(GenerateReason::Absent)),
            (IncomingCase::Valid, None),
            (IncomingCase::ValidWithTracestate, None),
            (
                IncomingCase::UppercaseHex,
                Some(GenerateReason::Invalid(TraceParentError::InvalidTraceId)),
            ),
            (
                IncomingCase::VersionFf,
                Some(GenerateReason::Invalid(TraceParentError::ForbiddenVersion)),
            ),
            (
                IncomingCase::ZeroTraceId,
                Some(GenerateReason::Invalid(TraceParentError::ZeroTraceId)),
            ),
            (
                IncomingCase::WrongLength,
                Some(GenerateReason::Invalid(TraceParentError::WrongLength {
                    len: 54,
                })),
            ),
            (
                IncomingCase::TrailingData,
                Some(GenerateReason::Invalid(TraceParentError::WrongLength {
                    len: 58,
                })),
            ),
            (
                IncomingCase::TwoHeaders,
                Some(GenerateReason::Invalid(TraceParentError::Multiple)),
            ),
        ];
        assert_eq!(table.len(), IncomingCase::ALL.len());
        for (case, reason) in table {
            for _ in 0..50 {
                let context = incoming(case);
                assert_eq!(context.case, case);
                let decided = extract(&headers(&context));
                match &reason {
                    None => {
                        assert_eq!(decided.decision, Decision::Preserved, "{case:?}");
                        assert!(case.is_valid());
                        assert_eq!(Some(decided.context.trace_id), context.preserved);
                        assert_eq!(
                            decided.context.state.is_empty(),
                            context.tracestate.is_none(),
                            "{case:?}: tracestate kept"
                        );
                    }
                    Some(reason) => {
                        assert_eq!(
                            decided.decision,
                            Decision::Generated(reason.clone()),
                            "{case:?}: {:?}",
                            context.traceparent
                        );
                        assert!(!case.is_valid());
                        assert_eq!(context.preserved, None, "{case:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn two_headers_are_two_valid_values_each_accepted_alone() {
        let context = incoming(IncomingCase::TwoHeaders);
        assert_eq!(context.traceparent.len(), 2);
        assert_ne!(context.traceparent[0], context.traceparent[1]);
        for value in &context.traceparent {
            assert!(
                crate::propagation::TraceParent::parse(value).is_ok(),
                "{value}"
            );
        }
    }

    #[test]
    fn ids_are_fresh_per_request() {
        let a = incoming(IncomingCase::Valid);
        let b = incoming(IncomingCase::Valid);
        assert_ne!(a.preserved, b.preserved);
        assert_ne!(a.traceparent, b.traceparent);
    }

    #[test]
    fn embedded_trace_ids_are_read_from_valid_and_invalid_values() {
        let upper = incoming(IncomingCase::UppercaseHex);
        let ids = embedded_trace_ids(&upper.traceparent);
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0], upper.traceparent[0][3..35].to_ascii_lowercase());
        assert_eq!(
            embedded_trace_ids(&incoming(IncomingCase::TwoHeaders).traceparent).len(),
            2
        );
        assert!(embedded_trace_ids(&incoming(IncomingCase::WrongLength).traceparent).is_empty());
        assert!(embedded_trace_ids(&[]).is_empty());
    }
}
