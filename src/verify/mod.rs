//! `tracegate verify`: replay synthetic requests through a running platform, read the
//! resulting traces back, and give each acceptance criterion (AC-001…AC-007 of DESIGN.md) a
//! verdict with evidence.
//!
//! The stages, in the order data flows:
//!
//! ```text
//! scenario (YAML) ─▶ replay (HTTP/1.1 + HTTP/2, incoming-context matrix, canaries)
//!                       │  Vec<Exchange>: what was sent, what came back
//!                       ▼
//!                  collect (backend by trace ID, embedded receiver, destinations)
//!                       │  Collected: assembled traces, per-destination counts, raw OTLP
//!                       ▼
//!                  criteria (one module per AC) ─▶ VerifyReport ─▶ report::verify renders
//! ```
//!
//! [`run::verify`] ties the stages together; each stage is usable on its own.

pub mod collect;
pub mod criteria;
pub mod matrix;
pub mod model;
pub mod replay;
pub mod run;
pub mod scenario;

pub use model::*;
pub use scenario::Scenario;
