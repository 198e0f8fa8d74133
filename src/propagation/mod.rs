//! The propagation reference library: strict W3C Trace Context (Level 2).
//!
//! ```
//! use http::HeaderMap;
//! use tracegate::propagation::{extract, Decision};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("traceparent",
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
//! let incoming = extract(&headers);                 // generate-or-preserve at ingress
//! assert_eq!(incoming.decision, Decision::Preserved);
//! let outgoing = incoming.context.child();          // a client span for a downstream call
//! let mut request = HeaderMap::new();
//! outgoing.inject(&mut request);                    // exactly one traceparent, version 00
//! assert!(request["traceparent"].to_str().unwrap().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//! ```

#[cfg(feature = "client")]
pub mod client;
mod context;
#[cfg(feature = "export")]
pub mod export;
mod ids;
pub mod messaging;
#[cfg(feature = "server")]
pub mod server;
mod span;
mod traceparent;
mod tracestate;

pub use context::{
    extract, extract_metadata, Attempt, Decision, GenerateReason, Incoming, MetadataCarrier,
    TraceContext, SERVER_TIMING, TRACEPARENT, TRACERESPONSE, TRACESTATE,
};
pub use ids::{SpanId, TraceFlags, TraceId};
pub use span::{
    Current, MemorySink, OperationName, Span, SpanKind, SpanRecord, SpanSink, SpanStatus,
    Telemetry, TenantId, MAX_TENANT_LEN,
};
pub use traceparent::{TraceParent, TraceParentError, TRACEPARENT_LEN};
pub use tracestate::{is_valid_key, is_valid_value, TraceState, TraceStateError, MAX_MEMBERS};
