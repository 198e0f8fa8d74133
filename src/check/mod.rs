//! Static checks: `tracegate check` decides, per service, whether a repository propagates W3C
//! trace context end to end. See [`model`] for the seam between the engine and the policy.
//!
//! The engine is a pipeline whose stages are folders, in the order data flows (each stage
//! uses the ones before it, never one after):
//!
//! 1. [`inputs`]: walk the tree once in parallel ([`inputs::discover`]) and parse each
//!    interesting file: application [`inputs::manifests`], sources through [`inputs::lang`],
//!    Kubernetes YAML through [`inputs::k8s`];
//! 2. [`assembly`]: turn what was read into services, libraries and workloads;
//! 3. [`evaluation`]: the [`evaluation::rules`] over each service and the repository;
//! 4. [`policy`]: `tracegate.yaml` ([`policy::config`]), waivers, verdicts, owners.
//!
//! [`facts`] is the vocabulary the stages share (what a file says, as data). [`scan()`] runs
//! stages 1–3; [`pipeline::run`] adds the policy.

pub mod assembly;
pub mod error;
pub mod evaluation;
pub mod facts;
pub mod inputs;
pub mod model;
pub mod pipeline;
pub mod policy;
mod scan;

pub use error::CheckError;
pub use evaluation::rules::RuleSet;
pub use scan::{scan, DeclaredService, ScanOptions};
