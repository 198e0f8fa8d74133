//! Stage 3 of the check engine: the [`rules`] over each service ([`assess`] finishes its
//! sources, [`evaluate`] runs its rules, [`matching`] says whether a signal matches a fact,
//! [`security`] checks span data) and over the repository ([`repository`]).

pub(crate) mod assess;
mod copies;
pub(crate) mod evaluate;
pub(crate) mod matching;
pub(crate) mod repository;
pub mod rules;
pub mod security;
pub(crate) mod unseen;
