//! AC-002: Span creation & hierarchy.

use super::Evaluation;
use crate::verify::model::{Criterion, CriterionResult, Verdict};

/// Judge AC-002.
pub fn judge(_evaluation: &Evaluation<'_>) -> CriterionResult {
    CriterionResult::new(Criterion::Ac002, Verdict::Skip, "not judged yet")
}
