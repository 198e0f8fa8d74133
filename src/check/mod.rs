//! Static checks: `tracegate check` decides, per service, whether a repository propagates W3C
//! trace context end to end. See [`model`] for the seam between the engine and the policy.
//!
//! The engine: [`discover`] walks the tree once in parallel and parses each interesting file
//! (application [`manifests`], sources through [`lang`] grouped by language, Kubernetes YAML
//! through [`k8s`]); `scan` assembles services and evaluates the [`rules`].

mod assess;
pub mod config;
pub mod discover;
pub mod error;
mod evaluate;
pub mod facts;
pub mod init;
pub mod k8s;
pub mod lang;
pub mod manifests;
pub mod model;
pub mod names;
pub mod owners;
pub mod pipeline;
pub mod policy;
pub mod prefilter;
pub mod rules;
mod rust_modules;
mod scan;
pub mod security;

pub use error::CheckError;
pub use rules::RuleSet;
pub use scan::{scan, DeclaredService, ScanOptions};
