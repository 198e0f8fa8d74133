//! AC-001: Trace ID generation & preservation.

use super::Evaluation;
use crate::verify::model::{Criterion, CriterionResult, Verdict};

/// Judge AC-001.
pub fn judge(_evaluation: &Evaluation<'_>) -> CriterionResult {
    CriterionResult::new(Criterion::Ac001, Verdict::Skip, "not judged yet")
}
