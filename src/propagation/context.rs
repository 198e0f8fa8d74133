//! The ingress decision (generate or preserve), span contexts, and injection into HTTP headers
//! and asynchronous message metadata.

use std::collections::{BTreeMap, HashMap};

use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::ids::{SpanId, TraceFlags, TraceId};
use super::traceparent::{format_traceparent, TraceParent, TraceParentError};
use super::tracestate::TraceState;

/// `traceparent` header name.
pub const TRACEPARENT: &str = "traceparent";
/// `tracestate` header name.
pub const TRACESTATE: &str = "tracestate";
/// `traceresponse` response header name.
pub const TRACERESPONSE: &str = "traceresponse";
/// `server-timing` response header name.
pub const SERVER_TIMING: &str = "server-timing";

/// The context of one span: its trace, its own ID, its parent, flags and vendor state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace ID, identical on every span of the trace.
    pub trace_id: TraceId,
    /// This span's ID.
    pub span_id: SpanId,
    /// The parent span's ID; `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// Flags as received (unknown bits are zeroed only when written out).
    pub flags: TraceFlags,
    /// Vendor state carried along with the trace.
    pub state: TraceState,
}

/// Why ingress started a new trace instead of continuing the caller's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenerateReason {
    /// No `traceparent` was received.
    Absent,
    /// The received `traceparent` was invalid (or there was more than one).
    Invalid(TraceParentError),
}

/// Whether ingress preserved the caller's trace or generated a new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A valid `traceparent` was received: its trace ID is kept unchanged.
    Preserved,
    /// A new trace was started, for the given reason.
    Generated(GenerateReason),
}

/// The result of [`extract`]: the server span's context and how it was decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// The context of the server span this request opens (a new span ID; parented to the
    /// caller's span when preserved, a root when generated).
    pub context: TraceContext,
    /// Whether the caller's trace was preserved, or why a new one was generated.
    pub decision: Decision,
    /// Why the received `tracestate` was discarded, if it was invalid.
    pub tracestate_error: Option<super::tracestate::TraceStateError>,
}

impl Incoming {
    /// Whether the caller's trace ID was preserved.
    pub fn is_preserved(&self) -> bool {
        self.decision == Decision::Preserved
    }
}

/// A retry attempt: its own span under the same trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The attempt's client span context.
    pub context: TraceContext,
    /// 0 for the first attempt, n for the n-th resend.
    pub number: u32,
}

impl Attempt {
    /// The OpenTelemetry `http.request.resend_count` attribute: `None` on the first attempt.
    pub fn resend_count(&self) -> Option<u32> {
        (self.number > 0).then_some(self.number)
    }
}

impl TraceContext {
    /// A new root context: a fresh random trace ID, flags `sampled | random`.
    pub fn new_root() -> Self {
        TraceContext {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            parent_span_id: None,
            flags: TraceFlags::SAMPLED.with(TraceFlags::RANDOM),
            state: TraceState::new(),
        }
    }

    /// A server span continuing a received `traceparent` (and its valid `tracestate`).
    pub fn continue_from(parent: &TraceParent, state: TraceState) -> Self {
        TraceContext {
            trace_id: parent.trace_id,
            span_id: SpanId::random(),
            parent_span_id: Some(parent.parent_id),
            flags: parent.flags,
            state,
        }
    }

    /// A child span: same trace, flags and state; a new span ID; parented to this span.
    pub fn child(&self) -> Self {
        TraceContext {
            trace_id: self.trace_id,
            span_id: SpanId::random(),
            parent_span_id: Some(self.span_id),
            flags: self.flags,
            state: self.state.clone(),
        }
    }

    /// The span for retry attempt `number` (0 = first try): a new child span each attempt,
    /// same trace ID.
    pub fn retry_attempt(&self, number: u32) -> Attempt {
        Attempt {
            context: self.child(),
            number,
        }
    }

    /// The `traceparent` value naming this span as the parent (version 00, known flags only).
    pub fn traceparent(&self) -> String {
        format_traceparent(self.trace_id, self.span_id, self.flags)
            .iter()
            .map(|&b| char::from(b))
            .collect()
    }

    fn traceparent_header(&self) -> HeaderValue {
        let bytes = format_traceparent(self.trace_id, self.span_id, self.flags);
        // 55 bytes of `[0-9a-f-]`: always a valid header value.
        HeaderValue::from_bytes(&bytes).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Write `traceparent` (and `tracestate` when non-empty) into outgoing request headers,
    /// replacing any present, so that exactly one of each is sent.
    pub fn inject(&self, headers: &mut HeaderMap) {
        headers.insert(
            const { HeaderName::from_static(TRACEPARENT) },
            self.traceparent_header(),
        );
        match self.state.header_value() {
            // Shares the received (or rebuilt) canonical value: no copy.
            Some(value) => {
                headers.insert(const { HeaderName::from_static(TRACESTATE) }, value.clone());
            }
            None => {
                headers.remove(TRACESTATE);
            }
        }
    }

    /// Write the response headers that return the trace ID to the client:
    /// `traceresponse: 00-<trace-id>-<span-id>-<flags>` and
    /// `server-timing: trace;desc=00-<trace-id>-<span-id>-<flags>` (appended to any existing
    /// `server-timing` entries).
    pub fn set_response_headers(&self, headers: &mut HeaderMap) {
        let value = self.traceparent_header();
        let timing = format!("trace;desc={}", self.traceparent());
        headers.insert(const { HeaderName::from_static(TRACERESPONSE) }, value);
        if let Ok(timing) = HeaderValue::from_str(&timing) {
            headers.append(const { HeaderName::from_static(SERVER_TIMING) }, timing);
        }
    }

    /// Write the context into asynchronous message metadata (a string map), so a consumer
    /// continues the trace with [`extract_metadata`].
    pub fn inject_metadata<C: MetadataCarrier + ?Sized>(&self, carrier: &mut C) {
        carrier.set(TRACEPARENT, self.traceparent());
        if self.state.is_empty() {
            carrier.remove(TRACESTATE);
        } else {
            carrier.set(TRACESTATE, self.state.to_header_value());
        }
    }
}

/// Ingress decision from HTTP request headers: preserve a valid `traceparent` (exactly one
/// header), otherwise generate a new trace. `tracestate` is kept only alongside a preserved
/// `traceparent`, and only when valid as a whole.
pub fn extract(headers: &HeaderMap) -> Incoming {
    let mut parents = headers.get_all(TRACEPARENT).iter();
    let parsed = match (parents.next(), parents.next()) {
        (None, _) => Err(GenerateReason::Absent),
        (Some(_), Some(_)) => Err(GenerateReason::Invalid(TraceParentError::Multiple)),
        (Some(value), None) => {
            TraceParent::parse_bytes(value.as_bytes()).map_err(GenerateReason::Invalid)
        }
    };
    decide(parsed, || TraceState::from_headers(headers))
}

/// Ingress decision from asynchronous message metadata written by
/// [`TraceContext::inject_metadata`] (or any producer using the same keys).
pub fn extract_metadata<C: MetadataCarrier + ?Sized>(carrier: &C) -> Incoming {
    let parsed = match carrier.get(TRACEPARENT) {
        None => Err(GenerateReason::Absent),
        Some(value) => TraceParent::parse(value).map_err(GenerateReason::Invalid),
    };
    decide(parsed, || match carrier.get(TRACESTATE) {
        Some(value) => TraceState::parse(value),
        None => Ok(TraceState::new()),
    })
}

fn decide(
    parsed: Result<TraceParent, GenerateReason>,
    state: impl FnOnce() -> Result<TraceState, super::tracestate::TraceStateError>,
) -> Incoming {
    match parsed {
        Ok(parent) => {
            let (state, tracestate_error) = match state() {
                Ok(state) => (state, None),
                Err(err) => (TraceState::new(), Some(err)),
            };
            Incoming {
                context: TraceContext::continue_from(&parent, state),
                decision: Decision::Preserved,
                tracestate_error,
            }
        }
        Err(reason) => Incoming {
            context: TraceContext::new_root(),
            decision: Decision::Generated(reason),
            tracestate_error: None,
        },
    }
}

/// A string map that carries trace context across an asynchronous hop (message headers,
/// queue attributes, job metadata).
pub trait MetadataCarrier {
    /// The value stored under `key`.
    fn get(&self, key: &str) -> Option<&str>;
    /// Store `value` under `key`, replacing any previous value.
    fn set(&mut self, key: &str, value: String);
    /// Remove `key`.
    fn remove(&mut self, key: &str);
}

impl MetadataCarrier for HashMap<String, String> {
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key).map(String::as_str)
    }
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }
    fn remove(&mut self, key: &str) {
        HashMap::remove(self, key);
    }
}

impl MetadataCarrier for BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<&str> {
        BTreeMap::get(self, key).map(String::as_str)
    }
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }
    fn remove(&mut self, key: &str) {
        BTreeMap::remove(self, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn valid_traceparent_is_preserved_with_a_new_span() {
        let incoming = extract(&headers(&[
            ("TraceParent", PARENT),
            ("tracestate", "foo=1"),
        ]));
        assert!(incoming.is_preserved());
        let ctx = &incoming.context;
        assert_eq!(ctx.trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ctx.parent_span_id.unwrap().to_hex(), "00f067aa0ba902b7");
        assert_ne!(ctx.span_id.to_hex(), "00f067aa0ba902b7");
        assert_eq!(ctx.state.get("foo"), Some("1"));
    }

    /// (headers, expected reason for generating, why)
    type GenerateCase = (
        Vec<(&'static str, &'static str)>,
        GenerateReason,
        &'static str,
    );

    #[test]
    fn generate_table() {
        let cases: Vec<GenerateCase> = vec![
            (vec![], GenerateReason::Absent, "no traceparent"),
            (
                vec![("trace-parent", PARENT)],
                GenerateReason::Absent,
                "trace-parent is not traceparent",
            ),
            (
                vec![("trace.parent", PARENT)],
                GenerateReason::Absent,
                "trace.parent is not traceparent",
            ),
            (
                vec![("traceparent", PARENT), ("traceparent", PARENT)],
                GenerateReason::Invalid(TraceParentError::Multiple),
                "two traceparent headers",
            ),
            (
                vec![(
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.",
                )],
                GenerateReason::Invalid(TraceParentError::WrongLength { len: 56 }),
                "trailing data",
            ),
        ];
        for (pairs, reason, why) in cases {
            let incoming = extract(&headers(&pairs));
            assert_eq!(incoming.decision, Decision::Generated(reason), "{why}");
            assert!(incoming.context.parent_span_id.is_none(), "{why}");
            assert!(
                incoming.context.flags.is_random(),
                "{why}: generated IDs set random"
            );
            assert!(
                incoming.context.state.is_empty(),
                "{why}: tracestate dropped on restart"
            );
        }
    }

    #[test]
    fn invalid_tracestate_is_discarded_but_trace_preserved() {
        let incoming = extract(&headers(&[
            ("traceparent", PARENT),
            ("tracestate", "FOO=1"),
        ]));
        assert!(incoming.is_preserved());
        assert!(incoming.context.state.is_empty());
        assert!(incoming.tracestate_error.is_some());
    }

    #[test]
    fn inject_writes_exactly_one_header_with_known_flags() {
        let incoming = extract(&headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff",
        )]));
        let child = incoming.context.child();
        let mut out = headers(&[("traceparent", "stale"), ("traceparent", "stale2")]);
        child.inject(&mut out);
        let values: Vec<_> = out.get_all(TRACEPARENT).iter().collect();
        assert_eq!(values.len(), 1);
        let sent = TraceParent::parse_bytes(values[0].as_bytes()).unwrap();
        assert_eq!(sent.trace_id, child.trace_id);
        assert_eq!(sent.parent_id, child.span_id);
        assert_eq!(sent.flags.bits(), 0x03, "unknown bits zeroed");
        assert!(out.get(TRACESTATE).is_none());
    }

    #[test]
    fn retry_attempts_get_new_spans_in_the_same_trace() {
        let root = TraceContext::new_root();
        let first = root.retry_attempt(0);
        let second = root.retry_attempt(1);
        assert_eq!(first.context.trace_id, second.context.trace_id);
        assert_ne!(first.context.span_id, second.context.span_id);
        assert_eq!(first.context.parent_span_id, Some(root.span_id));
        assert_eq!(first.resend_count(), None);
        assert_eq!(second.resend_count(), Some(1));
    }

    #[test]
    fn response_headers_carry_trace_and_span() {
        let ctx = TraceContext::new_root();
        let mut out = HeaderMap::new();
        ctx.set_response_headers(&mut out);
        let expected = ctx.traceparent();
        assert_eq!(out.get(TRACERESPONSE).unwrap(), expected.as_str());
        assert_eq!(
            out.get(SERVER_TIMING).unwrap(),
            format!("trace;desc={expected}").as_str()
        );
    }

    #[test]
    fn metadata_round_trip_continues_the_trace() {
        let mut producer = TraceContext::new_root().child();
        producer.state.insert("vendor", "x").unwrap();
        let mut message: HashMap<String, String> = HashMap::new();
        producer.inject_metadata(&mut message);
        let consumer = extract_metadata(&message);
        assert!(consumer.is_preserved());
        assert_eq!(consumer.context.trace_id, producer.trace_id);
        assert_eq!(consumer.context.parent_span_id, Some(producer.span_id));
        assert_eq!(consumer.context.state.get("vendor"), Some("x"));
        let empty: BTreeMap<String, String> = BTreeMap::new();
        assert_eq!(
            extract_metadata(&empty).decision,
            Decision::Generated(GenerateReason::Absent)
        );
    }
}
