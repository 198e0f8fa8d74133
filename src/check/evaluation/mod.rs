//! Stage 3 of the check engine: the [`rules`] over each service ([`assess`]) and over the
//! repository.

pub(crate) mod assess;
pub(crate) mod evaluate;
pub mod rules;
pub mod security;
