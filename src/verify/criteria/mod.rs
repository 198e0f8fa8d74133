//! One module per acceptance criterion. Each is a pure function of the run's data
//! ([`Evaluation`]) to a [`CriterionResult`]: no I/O, no printing.
//!
//! Shared helpers: [`select`] (which traces are judged), [`structure`] (roots, orphans,
//! attributes of either semantic-convention generation), [`hops`] (naming the hop where a
//! trace breaks), [`patterns`] and [`sensitive`] (AC-007(b)'s search), [`synthetic`]
//! (synthetic runs for the unit tests and the `verify_eval` benchmark).

use super::model::{Collected, Criterion, CriterionResult, ManifestFinding, ReplayRecord};
use super::scenario::Scenario;

pub mod ac001;
pub mod ac002;
pub mod ac003;
pub mod ac004;
pub mod ac005;
pub mod ac006;
pub mod ac007;
pub mod hops;
pub mod patterns;
pub mod redact;
pub mod select;
pub mod sensitive;
pub mod structure;
pub mod synthetic;

/// Everything the criteria judge.
pub struct Evaluation<'a> {
    pub scenario: &'a Scenario,
    pub replay: &'a ReplayRecord,
    pub collected: &'a Collected,
    /// TG2xx findings of `check` on `--manifests DIR`; `None` when no directory was given.
    pub manifest_findings: Option<&'a [ManifestFinding]>,
    /// Destinations configured with `--destination` (AC-005 is partly skipped without them).
    pub destinations_configured: bool,
}

/// Judge the criteria in `only` (all when empty), in order.
pub fn judge(evaluation: &Evaluation<'_>, only: &[Criterion]) -> Vec<CriterionResult> {
    Criterion::ALL
        .into_iter()
        .filter(|c| only.is_empty() || only.contains(c))
        .map(|c| match c {
            Criterion::Ac001 => ac001::judge(evaluation),
            Criterion::Ac002 => ac002::judge(evaluation),
            Criterion::Ac003 => ac003::judge(evaluation),
            Criterion::Ac004 => ac004::judge(evaluation),
            Criterion::Ac005 => ac005::judge(evaluation),
            Criterion::Ac006 => ac006::judge(evaluation),
            Criterion::Ac007 => ac007::judge(evaluation),
        })
        .collect()
}

#[cfg(test)]
mod tests;
