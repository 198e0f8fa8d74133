//! One repository's `check` report → catalog entries, and the repositories → one [`Catalog`].
//! [`super::scan`] and [`super::ingest`] both end here, so a CI matrix's shards and one run
//! over every repository give the same catalog.

use std::collections::{BTreeMap, BTreeSet};

use crate::check::model::{CheckReport, DeclarationSource, Severity, Verdict};
use crate::coverage::model::{Catalog, CatalogService, OwnerSource, StaticVerdict};

/// One repository's report, with the label the catalog names it by.
#[derive(Clone, Debug)]
pub struct RepositoryReport {
    /// The repository label (a scanned directory's last component, a shard's file stem).
    pub label: String,
    /// `check`'s report on it.
    pub report: CheckReport,
    /// The lowest severity that failed a service in that run.
    pub fail_on: Severity,
}

/// The catalog entries of one repository: its services, then its declared services no
/// discovery found (`not_found`).
pub fn entries(repo: RepositoryReport) -> Vec<CatalogService> {
    let RepositoryReport {
        label,
        report,
        fail_on,
    } = repo;
    let mut out: Vec<CatalogService> = report
        .services
        .into_iter()
        .map(|s| {
            let failing_rules: BTreeSet<String> = s
                .findings
                .iter()
                .filter(|f| s.verdict == Verdict::Fail && f.severity >= fail_on)
                .map(|f| f.rule.clone())
                .collect();
            CatalogService {
                name: s.name,
                team: s.team,
                owner_source: s.owner_source,
                repository: label.clone(),
                path: Some(s.path),
                verdict: match s.verdict {
                    Verdict::Pass => StaticVerdict::Pass,
                    Verdict::Fail => StaticVerdict::Fail,
                    Verdict::Unknown => StaticVerdict::Unknown,
                },
                failing_rules: failing_rules.into_iter().collect(),
                waivers: s.waived,
            }
        })
        .collect();
    out.extend(report.declared.into_iter().map(|d| CatalogService {
        name: d.name,
        owner_source: d.team.as_ref().map(|_| match d.source {
            DeclarationSource::Backstage => OwnerSource::Backstage,
            DeclarationSource::TracegateYaml => OwnerSource::TracegateYaml,
        }),
        team: d.team,
        repository: label.clone(),
        path: None,
        verdict: StaticVerdict::NotFound,
        failing_rules: Vec::new(),
        waivers: Vec::new(),
    }));
    out
}

/// Merge the repositories' entries into one catalog read from `sources`.
///
/// A declared service found in code in another repository is that service (dropped from
/// `not_found`); one declared twice and found nowhere counts once. A name found in code in
/// several places is counted each time, with a note: runtime verdicts and the history match
/// services by name, so they cannot tell them apart.
pub fn merge(repositories: Vec<RepositoryReport>, sources: Vec<String>) -> Catalog {
    let mut notes = Vec::new();
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    for repo in &repositories {
        *labels.entry(repo.label.clone()).or_default() += 1;
    }
    for (label, count) in labels.iter().filter(|(_, n)| **n > 1) {
        notes.push(format!(
            "{count} inputs are labelled `{label}` (the repository label is the directory's or file's name): their services are listed under the same repository"
        ));
    }

    let all: Vec<CatalogService> = repositories.into_iter().flat_map(entries).collect();
    let (found, declared): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|s| s.verdict != StaticVerdict::NotFound);

    let mut places: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in &found {
        places.entry(&s.name).or_default().push(format!(
            "{}:{}",
            s.repository,
            s.path.as_deref().unwrap_or(".")
        ));
    }
    for (name, at) in places.iter().filter(|(_, at)| at.len() > 1) {
        notes.push(format!(
            "service `{name}` is found {} times ({}): each is counted; runtime verdicts and the history match services by name and cannot tell them apart",
            at.len(),
            at.join(", ")
        ));
    }

    let found_names: BTreeSet<String> = found.iter().map(|s| s.name.clone()).collect();
    let mut declared_once: BTreeSet<String> = BTreeSet::new();
    let mut services = found;
    for entry in declared {
        if found_names.contains(&entry.name) {
            continue;
        }
        if !declared_once.insert(entry.name.clone()) {
            notes.push(format!(
                "service `{}` is declared more than once and found in no code: counted once",
                entry.name
            ));
            continue;
        }
        services.push(entry);
    }
    services.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| a.repository.cmp(&b.repository))
            .then_with(|| a.path.cmp(&b.path))
    });
    Catalog {
        services,
        sources,
        notes,
    }
}
