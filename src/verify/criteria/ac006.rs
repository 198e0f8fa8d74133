//! AC-006: Platform visualization.

use super::Evaluation;
use crate::verify::model::{Criterion, CriterionResult, Verdict};

/// Judge AC-006.
pub fn judge(_evaluation: &Evaluation<'_>) -> CriterionResult {
    CriterionResult::new(Criterion::Ac006, Verdict::Skip, "not judged yet")
}
