//! A snapshot compared with the history → the [`CoverageReport`] the renderers consume:
//! headline numbers, per team, regressions, new services without propagation, the most
//! common failing rules, waivers expiring within two weeks, the 12-week trend.
//!
//! Definitions (docs/coverage.md): a **regression** is a service propagating in the previous
//! recorded week and not propagating now (a service that left the catalog is not one: it left
//! the denominator too); a **new service without propagation** is not in the previous
//! snapshot and does not propagate now (none when there is no previous snapshot). Services
//! are identified across weeks by name.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use time::macros::format_description;
use time::{Date, Duration};

use super::model::{
    ratio, CoverageReport, ExpiringWaiver, PreviousWeek, RuleCount, ServiceCoverage, Snapshot,
    StaticVerdict, TeamCoverage, TrendPoint,
};

#[cfg(test)]
mod tests;

/// How far ahead a waiver's expiry is called out.
pub const EXPIRY_WINDOW_DAYS: i64 = 14;

/// Build the report of `snapshot`; `previous` is the most recent earlier snapshot, `trend`
/// the recorded weeks up to this one (oldest first), `today` the date waivers expire against.
pub fn build(
    snapshot: &Snapshot,
    previous: Option<&Snapshot>,
    trend: Vec<TrendPoint>,
    today: Date,
) -> CoverageReport {
    let services = &snapshot.services;
    let services_propagating = count_propagating(services);
    CoverageReport {
        week: snapshot.week,
        services_total: services.len(),
        services_propagating,
        coverage: ratio(services_propagating, services.len()),
        previous: previous.map(|previous| PreviousWeek {
            week: previous.week,
            coverage: ratio(
                count_propagating(&previous.services),
                previous.services.len(),
            ),
        }),
        by_team: by_team(
            services,
            previous.map(|previous| previous.services.as_slice()),
        ),
        regressions: previous.map_or_else(Vec::new, |previous| regressions(services, previous)),
        new_without_propagation: previous.map_or_else(Vec::new, |previous| {
            new_without_propagation(services, previous)
        }),
        failing_rules: failing_rules(services),
        expiring_waivers: expiring_waivers(services, today),
        services: services.clone(),
        trend,
        edges: snapshot.edges.clone(),
        evidence: snapshot.evidence.clone(),
        notes: snapshot.notes.clone(),
    }
}

/// The trend point of one snapshot: the same numbers `History::trend` counts in SQL.
pub fn trend_point(snapshot: &Snapshot) -> TrendPoint {
    let teams = team_counts(&snapshot.services);
    TrendPoint {
        week: snapshot.week,
        total: snapshot.services.len(),
        propagating: count_propagating(&snapshot.services),
        coverage: ratio(
            count_propagating(&snapshot.services),
            snapshot.services.len(),
        ),
        by_team: teams
            .into_iter()
            .map(|(team, (total, propagating))| (team.to_string(), ratio(propagating, total)))
            .collect(),
    }
}

fn count_propagating(services: &[ServiceCoverage]) -> usize {
    services
        .iter()
        .filter(|service| service.propagating)
        .count()
}

/// Team → (services, propagating), sorted by team.
fn team_counts(services: &[ServiceCoverage]) -> BTreeMap<&str, (usize, usize)> {
    let mut teams: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for service in services {
        let counts = teams.entry(service.team.as_str()).or_default();
        counts.0 += 1;
        counts.1 += usize::from(service.propagating);
    }
    teams
}

fn by_team(
    services: &[ServiceCoverage],
    previous: Option<&[ServiceCoverage]>,
) -> Vec<TeamCoverage> {
    let before = previous.map(team_counts).unwrap_or_default();
    team_counts(services)
        .into_iter()
        .map(|(team, (total, propagating))| TeamCoverage {
            team: team.to_string(),
            total,
            propagating,
            coverage: ratio(propagating, total),
            previous: before
                .get(team)
                .map(|&(total, propagating)| ratio(propagating, total)),
        })
        .collect()
}

fn regressions(services: &[ServiceCoverage], previous: &Snapshot) -> Vec<String> {
    let propagated: BTreeSet<&str> = previous
        .services
        .iter()
        .filter(|service| service.propagating)
        .map(|service| service.name.as_str())
        .collect();
    services
        .iter()
        .filter(|service| !service.propagating && propagated.contains(service.name.as_str()))
        .map(|service| service.name.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_string)
        .collect()
}

fn new_without_propagation(services: &[ServiceCoverage], previous: &Snapshot) -> Vec<String> {
    let known: BTreeSet<&str> = previous
        .services
        .iter()
        .map(|service| service.name.as_str())
        .collect();
    services
        .iter()
        .filter(|service| !service.propagating && !known.contains(service.name.as_str()))
        .map(|service| service.name.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Rules failing services statically, by how many services each fails (most first), ties by
/// rule ID. A rule counts once per service.
fn failing_rules(services: &[ServiceCoverage]) -> Vec<RuleCount> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for service in services
        .iter()
        .filter(|service| service.static_verdict == StaticVerdict::Fail)
    {
        let rules: BTreeSet<&str> = service.failing_rules.iter().map(String::as_str).collect();
        for rule in rules {
            *counts.entry(rule).or_default() += 1;
        }
    }
    let mut rules: Vec<RuleCount> = counts
        .into_iter()
        .map(|(rule, services)| RuleCount {
            rule: rule.to_string(),
            services,
        })
        .collect();
    // Stable sort over rules already in ID order: ties stay by rule ID.
    rules.sort_by_key(|count| Reverse(count.services));
    rules
}

/// Waivers whose last day falls between `today` and `today + 14 days`, both inclusive,
/// soonest first (then by service and rule). An expired waiver is not listed: `check`
/// reports it as a finding of its own. An expiry that is not a date is skipped.
fn expiring_waivers(services: &[ServiceCoverage], today: Date) -> Vec<ExpiringWaiver> {
    let last = today
        .checked_add(Duration::days(EXPIRY_WINDOW_DAYS))
        .unwrap_or(Date::MAX);
    let format = format_description!("[year]-[month]-[day]");
    let mut expiring: Vec<(Date, ExpiringWaiver)> = services
        .iter()
        .flat_map(|service| {
            service.waivers.iter().filter_map(move |waiver| {
                let expires = Date::parse(&waiver.expires, format).ok()?;
                (today..=last).contains(&expires).then(|| {
                    let entry = ExpiringWaiver {
                        service: service.name.clone(),
                        team: service.team.clone(),
                        waiver: waiver.clone(),
                    };
                    (expires, entry)
                })
            })
        })
        .collect();
    expiring.sort_by(|(a_date, a), (b_date, b)| {
        (a_date, &a.service, &a.waiver.rule).cmp(&(b_date, &b.service, &b.waiver.rule))
    });
    expiring.into_iter().map(|(_, entry)| entry).collect()
}
