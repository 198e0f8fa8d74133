//! The catalog of the fixture organisation, counted by hand, and the merge rules.

use std::path::{Path, PathBuf};

use super::merge::{merge, RepositoryReport};
use super::*;
use crate::check::model::{
    CheckReport, DeclarationSource, DeclaredNotFound, Language, ServiceReport, Summary, Verdict,
};
use crate::coverage::model::{OwnerSource, StaticVerdict, WaiverNote};

fn org() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/coverage/org")
}

/// The week of the fixture: 2026-W48 ends on Sunday 2026-11-29.
pub(super) fn options() -> CatalogOptions {
    CatalogOptions {
        rules: RuleSet::builtin(),
        fail_on: Severity::Error,
        today: time::macros::date!(2026 - 11 - 29),
    }
}

/// Name, repository, team, owner source, verdict.
type Row<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<OwnerSource>,
    StaticVerdict,
);

fn repositories() -> Vec<PathBuf> {
    ["payments", "identity", "edge", "risk"]
        .iter()
        .map(|r| org().join(r))
        .collect()
}

#[test]
fn the_fixture_organisation_has_eight_services_with_their_verdicts_and_teams() {
    let mut seen = Vec::new();
    let catalog = scan(&repositories(), &options(), &mut |p| seen.push(p)).expect("scans");
    let rows: Vec<Row> = catalog
        .services
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.repository.as_str(),
                s.team.as_deref(),
                s.owner_source,
                s.verdict,
            )
        })
        .collect();
    use OwnerSource::{Backstage, Codeowners, TracegateYaml};
    use StaticVerdict::{Fail, NotFound, Pass, Unknown};
    assert_eq!(
        rows,
        [
            (
                "accounts",
                "identity",
                Some("identity"),
                Some(TracegateYaml),
                Pass
            ),
            (
                "checkout",
                "payments",
                Some("payments"),
                Some(Codeowners),
                Pass
            ),
            ("fraud-check", "risk", Some("risk"), Some(Codeowners), Fail),
            ("gateway", "edge", Some("platform"), Some(Backstage), Pass),
            (
                "ledger",
                "payments",
                Some("payments"),
                Some(Codeowners),
                Fail
            ),
            (
                "notifications",
                "identity",
                Some("identity"),
                Some(TracegateYaml),
                Unknown
            ),
            (
                "pricing",
                "payments",
                Some("payments"),
                Some(Codeowners),
                Pass
            ),
            (
                "search",
                "edge",
                Some("platform"),
                Some(Backstage),
                NotFound
            ),
        ]
    );
    // Hand count: 4 of 8 pass statically (checkout, pricing, accounts, gateway).
    let passing = catalog
        .services
        .iter()
        .filter(|s| s.verdict == Pass)
        .count();
    assert_eq!((passing, catalog.services.len()), (4, 8));

    let by_name = |name: &str| {
        catalog
            .services
            .iter()
            .find(|s| s.name == name)
            .expect("listed")
    };
    assert_eq!(by_name("ledger").failing_rules, ["TG101"]);
    assert_eq!(by_name("fraud-check").failing_rules, ["TG104"]);
    assert!(by_name("checkout").failing_rules.is_empty());
    // The live waiver, expiring within two weeks of 2026-11-29.
    assert_eq!(
        by_name("checkout").waivers,
        [WaiverNote {
            rule: "TG105".into(),
            reason: "moving to the batch span processor with the exporter upgrade, PAY-1432".into(),
            expires: "2026-12-08".into(),
        }]
    );
    assert_eq!(by_name("search").path, None);
    assert_eq!(by_name("gateway").path.as_deref(), Some("."));
    assert_eq!(by_name("pricing").path.as_deref(), Some("services/pricing"));
    assert!(catalog.notes.is_empty(), "{:?}", catalog.notes);
    assert_eq!(catalog.sources.len(), 4);
    // Progress: one event per path, in order.
    let indices: Vec<(usize, usize)> = seen
        .iter()
        .map(|CatalogProgress::Scanning { index, total, .. }| (*index, *total))
        .collect();
    assert_eq!(indices, [(0, 4), (1, 4), (2, 4), (3, 4)]);
}

#[test]
fn after_the_waiver_expires_checkout_fails() {
    let late = CatalogOptions {
        today: time::macros::date!(2026 - 12 - 09),
        ..options()
    };
    let catalog = scan(&[org().join("payments")], &late, &mut |_| {}).expect("scans");
    let checkout = &catalog.services[0];
    assert_eq!(checkout.name, "checkout");
    assert_eq!(checkout.verdict, StaticVerdict::Fail);
    assert_eq!(checkout.failing_rules, ["TG105"]);
    assert!(checkout.waivers.is_empty());
}

#[test]
fn a_path_without_services_is_an_error_naming_it() {
    let empty = tempfile::tempdir().expect("tempdir");
    let err = scan(&[empty.path().to_path_buf()], &options(), &mut |_| {})
        .expect_err("nothing to count")
        .to_string();
    assert!(
        err.starts_with(&format!("{}: no service found", empty.path().display())),
        "{err}"
    );
    let err = scan(&[], &options(), &mut |_| {}).expect_err("no path");
    assert!(err.to_string().contains("no path to scan"), "{err}");
}

#[test]
fn malformed_owner_files_stop_the_scan_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let svc = dir.path().join("svc");
    std::fs::create_dir_all(&svc).expect("mkdir");
    std::fs::write(svc.join("go.mod"), "module example.com/svc\n\ngo 1.22\n").expect("write");
    std::fs::write(svc.join("main.go"), "package main\n\nfunc main() {}\n").expect("write");
    std::fs::write(
        dir.path().join("CODEOWNERS"),
        "* @acme/x\n[Section] @acme/y\n",
    )
    .expect("write");
    let err = scan(&[dir.path().to_path_buf()], &options(), &mut |_| {})
        .expect_err("malformed")
        .to_string();
    assert!(
        err.starts_with(&format!("{}:2: ", dir.path().join("CODEOWNERS").display())),
        "{err}"
    );
}

#[test]
fn repository_labels_are_the_last_component() {
    assert_eq!(label_of_dir(Path::new("org/payments")), "payments");
    assert_eq!(label_of_dir(Path::new("org/payments/")), "payments");
    let here = label_of_dir(Path::new("."));
    assert_eq!(
        here,
        std::env::current_dir()
            .expect("cwd")
            .file_name()
            .expect("named")
            .to_string_lossy()
    );
}

fn service(name: &str, path: &str, verdict: Verdict) -> ServiceReport {
    ServiceReport {
        name: name.into(),
        path: path.into(),
        team: None,
        owner_source: None,
        language: Language::Go,
        verdict,
        findings: Vec::new(),
        waived: Vec::new(),
        not_evaluated: Vec::new(),
    }
}

fn repo(label: &str, services: Vec<ServiceReport>, declared: &[&str]) -> RepositoryReport {
    RepositoryReport {
        label: label.into(),
        report: CheckReport {
            tool: "tracegate".into(),
            version: "0".into(),
            services,
            repository_findings: Vec::new(),
            infrastructure: Vec::new(),
            declared: declared
                .iter()
                .map(|name| DeclaredNotFound {
                    name: (*name).into(),
                    team: Some("platform".into()),
                    source: DeclarationSource::Backstage,
                    file: "catalog-info.yaml".into(),
                })
                .collect(),
            summary: Summary::default(),
        },
        fail_on: Severity::Error,
    }
}

#[test]
fn declared_services_found_elsewhere_are_those_services() {
    let catalog = merge(
        vec![
            repo(
                "edge",
                vec![service("gateway", ".", Verdict::Pass)],
                &["search", "web"],
            ),
            repo("search", vec![service("search", ".", Verdict::Fail)], &[]),
            repo("docs", vec![service("site", ".", Verdict::Pass)], &["web"]),
        ],
        vec![],
    );
    let rows: Vec<(&str, &str, StaticVerdict)> = catalog
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.repository.as_str(), s.verdict))
        .collect();
    assert_eq!(
        rows,
        [
            ("gateway", "edge", StaticVerdict::Pass),
            ("search", "search", StaticVerdict::Fail),
            ("site", "docs", StaticVerdict::Pass),
            ("web", "edge", StaticVerdict::NotFound),
        ]
    );
    assert_eq!(
        catalog.notes,
        ["service `web` is declared more than once and found in no code: counted once"]
    );
    let web = &catalog.services[3];
    assert_eq!(
        (web.team.as_deref(), web.owner_source),
        (Some("platform"), Some(OwnerSource::Backstage))
    );
}

#[test]
fn a_name_found_twice_is_counted_twice_and_noted() {
    let catalog = merge(
        vec![
            repo(
                "a",
                vec![service("api", "services/api", Verdict::Pass)],
                &[],
            ),
            repo("b", vec![service("api", ".", Verdict::Fail)], &[]),
            repo("b", vec![service("worker", ".", Verdict::Pass)], &[]),
        ],
        vec![],
    );
    assert_eq!(catalog.services.len(), 3);
    assert_eq!(
        catalog.notes,
        [
            "2 inputs are labelled `b` (the repository label is the directory's or file's name): their services are listed under the same repository",
            "service `api` is found 2 times (a:services/api, b:.): each is counted; runtime verdicts and the history match services by name and cannot tell them apart",
        ]
    );
}
