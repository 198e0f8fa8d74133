//! The coverage catalog: `coverage ingest` of `check --format json` shards gives the same
//! catalog (so the same numbers) as one scan over every repository; the history shards of the
//! fixture organisation, counted by hand.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tracegate::check::model::Severity;
use tracegate::check::RuleSet;
use tracegate::coverage::catalog::{self, CatalogOptions};
use tracegate::coverage::model::{Catalog, StaticVerdict};
use tracegate::coverage::{snapshot, IsoWeek};

const REPOSITORIES: [&str; 4] = ["payments", "identity", "edge", "risk"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/coverage")
}

fn options() -> CatalogOptions {
    CatalogOptions {
        rules: RuleSet::builtin(),
        fail_on: Severity::Error,
        today: time::macros::date!(2026 - 11 - 29),
    }
}

/// Everything but where the catalog was read from and where teams came from (a shard does
/// not say).
fn comparable(mut catalog: Catalog) -> Catalog {
    catalog.sources.clear();
    for s in &mut catalog.services {
        s.owner_source = None;
    }
    catalog
}

fn counts(catalog: &Catalog) -> (usize, usize) {
    let week: IsoWeek = "2026-W48".parse().unwrap();
    let snap = snapshot::build(week, catalog.clone(), None, String::new());
    (
        snap.services.len(),
        snap.services.iter().filter(|s| s.propagating).count(),
    )
}

#[test]
fn ingesting_the_shards_of_a_ci_matrix_gives_the_same_catalog_as_one_scan() {
    let out = tempfile::tempdir().unwrap();
    let mut shards = Vec::new();
    for repo in REPOSITORIES {
        // One CI job per repository, as docs/coverage.md shows it.
        let shard = out.path().join(format!("{repo}.json"));
        let status = Command::cargo_bin("tracegate")
            .unwrap()
            .arg("check")
            .arg(fixtures().join("org").join(repo))
            .args(["--format", "json", "--today", "2026-11-29", "--output"])
            .arg(&shard)
            .output()
            .unwrap()
            .status;
        assert!(matches!(status.code(), Some(0 | 1)), "{repo}: {status}");
        shards.push(shard);
    }
    let paths: Vec<PathBuf> = REPOSITORIES
        .iter()
        .map(|r| fixtures().join("org").join(r))
        .collect();
    let scanned = catalog::scan(&paths, &options(), &mut |_| {}).unwrap();
    let ingested = catalog::ingest(&shards).unwrap();
    assert_eq!(ingested.sources.len(), 4);
    assert_eq!(counts(&scanned), (8, 4));
    assert_eq!(counts(&ingested), counts(&scanned));
    assert_eq!(comparable(ingested), comparable(scanned));
}

/// (services, passing statically, services by verdict) of one week's shards.
fn week(name: &str) -> (usize, Vec<String>, Vec<(String, StaticVerdict)>) {
    let dir = fixtures().join("shards").join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let catalog = catalog::ingest(&files).unwrap();
    let passing = catalog
        .services
        .iter()
        .filter(|s| s.verdict == StaticVerdict::Pass)
        .map(|s| s.name.clone())
        .collect();
    let all = catalog
        .services
        .iter()
        .map(|s| (s.name.clone(), s.verdict))
        .collect();
    (catalog.services.len(), passing, all)
}

#[test]
fn the_history_shards_counted_by_hand() {
    // W45: accounts fails (a B3 propagator), fraud-check does not exist yet: 4 of 7.
    let (total, passing, all) = week("2026-W45");
    assert_eq!(total, 7);
    assert_eq!(passing, ["checkout", "gateway", "ledger", "pricing"]);
    assert!(all.contains(&("accounts".into(), StaticVerdict::Fail)));
    assert!(all.contains(&("search".into(), StaticVerdict::NotFound)));
    assert!(all.contains(&("notifications".into(), StaticVerdict::Unknown)));
    // W46 and W47: accounts fixed: 5 of 7; ledger still passes.
    for name in ["2026-W46", "2026-W47"] {
        let (total, passing, _) = week(name);
        assert_eq!(total, 7, "{name}");
        assert_eq!(
            passing,
            ["accounts", "checkout", "gateway", "ledger", "pricing"],
            "{name}"
        );
    }
}
