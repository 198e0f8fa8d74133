//! Catalog + runtime findings → one week's [`Snapshot`]. The formula (docs/coverage.md): a
//! service is propagating when its static verdict is `pass` and its runtime verdict is not
//! `fail`; `unknown` and `not_found` services count in the denominator and never propagate.

use std::collections::BTreeSet;

use super::model::{
    Catalog, Evidence, RuntimeFindings, RuntimeVerdict, ServiceCoverage, Snapshot, StaticVerdict,
    UNOWNED,
};
use super::IsoWeek;

/// Combine `catalog` and, when traces were given, `runtime` into the snapshot of `week`,
/// stamped `recorded_at` (RFC 3339).
pub fn build(
    week: IsoWeek,
    catalog: Catalog,
    runtime: Option<RuntimeFindings>,
    recorded_at: String,
) -> Snapshot {
    let mut notes = catalog.notes;
    let catalogued: BTreeSet<&str> = catalog.services.iter().map(|s| s.name.as_str()).collect();
    if let Some(found) = &runtime {
        for (name, seen) in &found.services {
            if !catalogued.contains(name.as_str()) {
                notes.push(format!(
                    "service `{name}` is in the traces ({} span{}) but not in the catalog: not counted",
                    seen.spans,
                    if seen.spans == 1 { "" } else { "s" }
                ));
            }
        }
    }

    let mut services: Vec<ServiceCoverage> = catalog
        .services
        .into_iter()
        .map(|entry| {
            let seen = runtime.as_ref().map(|r| r.services.get(&entry.name));
            let runtime_verdict = seen.map(|s| s.map_or(RuntimeVerdict::Unseen, |s| s.verdict));
            let runtime_reasons = seen
                .flatten()
                .filter(|s| s.verdict == RuntimeVerdict::Fail)
                .map(|s| s.reasons.clone())
                .unwrap_or_default();
            ServiceCoverage {
                propagating: propagating(entry.verdict, runtime_verdict),
                team: entry.team.unwrap_or_else(|| UNOWNED.to_owned()),
                repository: entry.repository,
                static_verdict: entry.verdict,
                runtime: runtime_verdict,
                failing_rules: entry.failing_rules,
                runtime_reasons,
                waivers: entry.waivers,
                name: entry.name,
            }
        })
        .collect();
    services.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| a.repository.cmp(&b.repository))
    });

    let (edges, evidence) = match runtime {
        Some(found) => (
            found.edges,
            Evidence {
                catalog: catalog.sources,
                runtime: Some(found.source),
                traces: found.traces,
                spans: found.spans,
            },
        ),
        None => (
            Vec::new(),
            Evidence {
                catalog: catalog.sources,
                ..Evidence::default()
            },
        ),
    };
    Snapshot {
        week,
        recorded_at,
        services,
        edges,
        evidence,
        notes,
    }
}

/// The formula: passes statically and is not broken at runtime (unseen, or no traces given,
/// leaves the static verdict alone).
pub fn propagating(static_verdict: StaticVerdict, runtime: Option<RuntimeVerdict>) -> bool {
    static_verdict == StaticVerdict::Pass && runtime != Some(RuntimeVerdict::Fail)
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
