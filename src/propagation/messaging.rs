//! Asynchronous hops: producer and consumer spans around message metadata (principle 2: the
//! trace ID and the parent span ID travel in the message, not in a payload field).
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Arc;
//! use tracegate::propagation::{messaging, MemorySink, OperationName, Telemetry, TraceContext};
//!
//! let sink = Arc::new(MemorySink::new());
//! let telemetry = Telemetry::new("billing", sink.clone());
//! let current = TraceContext::new_root();
//! let mut metadata = HashMap::new();
//! let producer = messaging::produce(&telemetry, &current, OperationName::fixed("publish invoices"), &mut metadata);
//! producer.end();
//! let (context, consumer) = messaging::consume(&telemetry, &metadata, OperationName::fixed("process invoices"));
//! assert_eq!(context.trace_id, current.trace_id);
//! consumer.end();
//! assert_eq!(sink.spans().len(), 2);
//! ```

use super::context::{extract_metadata, MetadataCarrier, TraceContext};
use super::span::{OperationName, Span, SpanKind, Telemetry};

/// Open a producer span as a child of `current` and write its context into `carrier`. End the
/// returned span once the message is handed to the broker.
pub fn produce<C: MetadataCarrier + ?Sized>(
    telemetry: &Telemetry,
    current: &TraceContext,
    operation: OperationName,
    carrier: &mut C,
) -> Span {
    let context = current.child();
    context.inject_metadata(carrier);
    telemetry.start(&context, SpanKind::Producer, operation)
}

/// Continue the trace from message metadata (or start a new one when it is absent or
/// invalid) and open a consumer span. Returns the consumer span's context, to pass to
/// downstream calls made while processing the message.
pub fn consume<C: MetadataCarrier + ?Sized>(
    telemetry: &Telemetry,
    carrier: &C,
    operation: OperationName,
) -> (TraceContext, Span) {
    let incoming = extract_metadata(carrier);
    let span = telemetry.start(&incoming.context, SpanKind::Consumer, operation);
    (incoming.context, span)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::propagation::MemorySink;

    #[test]
    fn consumer_is_a_child_of_the_producer() {
        let sink = Arc::new(MemorySink::new());
        let telemetry = Telemetry::new("svc", sink.clone());
        let current = TraceContext::new_root();
        let mut message = BTreeMap::new();
        let producer = produce(
            &telemetry,
            &current,
            OperationName::fixed("publish"),
            &mut message,
        )
        .end();
        let (ctx, consumer) = consume(&telemetry, &message, OperationName::fixed("process"));
        let consumer = consumer.end();
        assert_eq!(producer.kind(), SpanKind::Producer);
        assert_eq!(producer.parent_span_id(), Some(current.span_id));
        assert_eq!(consumer.kind(), SpanKind::Consumer);
        assert_eq!(consumer.trace_id(), current.trace_id);
        assert_eq!(consumer.parent_span_id(), Some(producer.span_id()));
        assert_eq!(ctx.span_id, consumer.span_id());
        assert_eq!(
            message.len(),
            1,
            "only traceparent: no payload, no tracestate"
        );
    }
}
