//! AC-005: Config-only export.

use super::Evaluation;
use crate::verify::model::{Criterion, CriterionResult, Verdict};

/// Judge AC-005.
pub fn judge(_evaluation: &Evaluation<'_>) -> CriterionResult {
    CriterionResult::new(Criterion::Ac005, Verdict::Skip, "not judged yet")
}
