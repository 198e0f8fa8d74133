//! Static checks: `tracegate check` decides, per service, whether a repository propagates W3C
//! trace context end to end. See [`model`] for the seam between the engine and the policy.

pub mod config;
pub mod init;
pub mod model;
pub mod policy;
