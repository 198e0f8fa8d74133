//! AC-003: Trace data capture.

use super::Evaluation;
use crate::verify::model::{Criterion, CriterionResult, Verdict};

/// Judge AC-003.
pub fn judge(_evaluation: &Evaluation<'_>) -> CriterionResult {
    CriterionResult::new(Criterion::Ac003, Verdict::Skip, "not judged yet")
}
