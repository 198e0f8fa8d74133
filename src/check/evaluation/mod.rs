//! Stage 3 of the check engine: the [`rules`] over each service ([`assess`] finishes its
//! sources, [`evaluate`] runs its rules, [`matching`] says whether a signal matches a fact,
//! [`security`] checks span data, [`span_data`] reads what an attribute's value is) and over the repository ([`repository`]).

pub(crate) mod assess;
mod config_file;
mod copies;
mod env_reads;
pub(crate) mod evaluate;
mod flags;
pub(crate) mod matching;
mod profiles;
pub(crate) mod repository;
pub mod rules;
pub mod security;
mod sites;
pub(crate) mod span_data;
mod spring_settings;
pub(crate) mod unseen;
