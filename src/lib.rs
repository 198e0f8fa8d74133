//! tracegate — make W3C trace-context propagation an enforceable, measurable capability.
//!
//! The crate is a library first; the `tracegate` binary is a thin layer over it.
//!
//! * [`propagation`] — the propagation reference library (feature `propagation` and up):
//!   strict W3C `traceparent`/`tracestate`, generate-or-preserve at ingress, spans, export.
//!   A Rust service depends on it with `default-features = false, features = ["propagation"]`
//!   (or `"reference"` for the server layer, client and exporter) and compiles none of the
//!   CLI's dependencies.
//! * `check`, `otlp`, `report`, … — the CLI's capabilities (feature `cli`, on by default).

#[cfg(feature = "propagation")]
pub mod propagation;

#[cfg(feature = "cli")]
pub mod demo;

#[cfg(feature = "cli")]
pub mod exit;

#[cfg(feature = "cli")]
pub mod conformance;

#[cfg(feature = "cli")]
pub mod check;

#[cfg(feature = "cli")]
pub mod coverage;

#[cfg(feature = "cli")]
pub mod otlp;
#[cfg(feature = "cli")]
pub mod report;
#[cfg(feature = "cli")]
pub mod trace;
#[cfg(feature = "cli")]
pub mod verify;
