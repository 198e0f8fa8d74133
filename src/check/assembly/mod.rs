//! Stage 2 of the check engine: what was read becomes services, libraries and workloads.

pub(crate) mod rust_modules;
pub mod work;
