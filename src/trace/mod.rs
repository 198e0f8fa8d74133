//! Trace assembly, shared by `trace show`, `verify` and `coverage`.
//!
//! [`Trace::from_otlp`] turns OTLP `ResourceSpans` into [`Trace`]s: spans with their service,
//! the parent/child tree, and every structural [`Problem`] found (orphans, several roots,
//! duplicate span IDs, a CLIENT root, clock skew, a missing `service.name`) reported as data.
//! [`Trace::service_graph`] and [`Trace::latency`] derive the service dependency graph and the
//! self-time breakdown, [`Trace::critical_path`] the chain of work that decided when the trace
//! ended. Nothing here prints.

mod analysis;
mod assembly;
mod critical_path;
mod listing;
mod model;

pub use analysis::{Edge, LatencyBreakdown, ServiceGraph, ServiceLatency, SpanLatency};
pub use critical_path::PathSection;
pub use listing::{id_prefix, TraceFilter, TraceRow};
pub use model::format_ns;
pub use model::{
    AssemblyOptions, Problem, ProblemKind, Span, SpanEvent, SpanKind, SpanStatus, StatusCode,
    Trace, TraceSummary, Upstream, UNKNOWN_SERVICE,
};

#[cfg(test)]
mod tests;
