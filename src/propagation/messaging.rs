//! Asynchronous hops: producer and consumer spans around message metadata (principle 2: the
//! trace ID and the parent span ID travel in the message metadata, not in a payload field).
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Arc;
//! use tracegate::propagation::{messaging, Current, MemorySink, OperationName, Telemetry, TraceContext};
//!
//! let sink = Arc::new(MemorySink::new());
//! let telemetry = Telemetry::new("billing", sink.clone());
//! let current = Current::new(telemetry.clone(), TraceContext::new_root(), None);
//! let mut metadata = HashMap::new();
//! messaging::produce(&current, OperationName::fixed("publish invoices"), &mut metadata).end();
//! // ... on the consumer side:
//! let (consumer, span) = messaging::consume(&telemetry, &metadata, None, OperationName::fixed("process invoices"));
//! assert_eq!(consumer.context.trace_id, current.context.trace_id);
//! span.end();
//! assert_eq!(sink.spans().len(), 2);
//! ```

use super::context::{extract_metadata, MetadataCarrier};
use super::span::{Current, OperationName, Span, SpanKind, Telemetry, TenantId};

/// Open a producer span as a child of `current` and write its context into `carrier`. End the
/// returned span once the message is handed to the broker.
pub fn produce<C: MetadataCarrier + ?Sized>(
    current: &Current,
    operation: OperationName,
    carrier: &mut C,
) -> Span {
    let (context, span) = current.child_span(SpanKind::Producer, operation);
    context.inject_metadata(carrier);
    span
}

/// Continue the trace from message metadata (or start a new one when it is absent or
/// invalid) and open a consumer span. Returns the consumer's [`Current`], for calls made while
/// processing the message, and the span to end when processing is done.
pub fn consume<C: MetadataCarrier + ?Sized>(
    telemetry: &Telemetry,
    carrier: &C,
    tenant: Option<TenantId>,
    operation: OperationName,
) -> (Current, Span) {
    let incoming = extract_metadata(carrier);
    let mut span = telemetry.start(&incoming.context, SpanKind::Consumer, operation);
    span.set_tenant(tenant.clone());
    (
        Current::new(telemetry.clone(), incoming.context, tenant),
        span,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::propagation::{MemorySink, TraceContext};

    #[test]
    fn consumer_is_a_child_of_the_producer() {
        let sink = Arc::new(MemorySink::new());
        let telemetry = Telemetry::new("svc", sink.clone());
        let current = Current::new(
            telemetry.clone(),
            TraceContext::new_root(),
            TenantId::new("acme"),
        );
        let mut message = BTreeMap::new();
        let producer = produce(&current, OperationName::fixed("publish"), &mut message).end();
        let (consumer_current, consumer) = consume(
            &telemetry,
            &message,
            TenantId::new("acme"),
            OperationName::fixed("process"),
        );
        let consumer = consumer.end();
        assert_eq!(producer.kind(), SpanKind::Producer);
        assert_eq!(producer.parent_span_id(), Some(current.context.span_id));
        assert_eq!(producer.tenant().map(TenantId::as_str), Some("acme"));
        assert_eq!(consumer.kind(), SpanKind::Consumer);
        assert_eq!(consumer.trace_id(), current.context.trace_id);
        assert_eq!(consumer.parent_span_id(), Some(producer.span_id()));
        assert_eq!(consumer_current.context.span_id, consumer.span_id());
        assert_eq!(
            message.len(),
            1,
            "only traceparent: no payload, no tracestate"
        );
    }
}
