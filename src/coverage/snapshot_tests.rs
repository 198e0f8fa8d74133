//! `snapshot::build`, counted by hand.

use std::collections::BTreeMap;

use super::*;
use crate::coverage::model::{
    CatalogService, OwnerSource, RuntimeEdge, ServiceRuntime, WaiverNote,
};

fn entry(name: &str, team: Option<&str>, verdict: StaticVerdict) -> CatalogService {
    CatalogService {
        name: name.into(),
        team: team.map(Into::into),
        owner_source: team.map(|_| OwnerSource::Codeowners),
        repository: "org".into(),
        path: Some(format!("services/{name}")),
        verdict,
        failing_rules: if verdict == StaticVerdict::Fail {
            vec!["TG102".into()]
        } else {
            Vec::new()
        },
        waivers: Vec::new(),
    }
}

/// Five services: two pass, one fails, one unknown, one declared and not found (unowned).
fn catalog() -> Catalog {
    let mut checkout = entry("checkout", Some("payments"), StaticVerdict::Pass);
    checkout.waivers.push(WaiverNote {
        rule: "TG104".into(),
        reason: "batch exporter rollout".into(),
        expires: "2026-12-08".into(),
    });
    Catalog {
        // Deliberately not sorted: the snapshot sorts by name.
        services: vec![
            entry("pricing", Some("payments"), StaticVerdict::Pass),
            checkout,
            entry("ledger", Some("payments"), StaticVerdict::Fail),
            entry("notifications", Some("identity"), StaticVerdict::Unknown),
            entry("search", None, StaticVerdict::NotFound),
        ],
        sources: vec!["org".into()],
        notes: vec!["a catalog note".into()],
    }
}

fn runtime_of(verdict: RuntimeVerdict, spans: u64, reasons: &[&str]) -> ServiceRuntime {
    ServiceRuntime {
        verdict,
        reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
        spans,
    }
}

fn week() -> IsoWeek {
    "2026-W48".parse().expect("valid week")
}

fn names_propagating(snapshot: &Snapshot) -> Vec<&str> {
    snapshot
        .services
        .iter()
        .filter(|s| s.propagating)
        .map(|s| s.name.as_str())
        .collect()
}

#[test]
fn without_traces_the_static_verdict_decides_and_runtime_is_null() {
    let snapshot = build(week(), catalog(), None, "2026-11-29T08:00:00Z".into());
    let names: Vec<&str> = snapshot.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["checkout", "ledger", "notifications", "pricing", "search"]
    );
    // Hand count: checkout and pricing pass; ledger fails; unknown and not_found never count.
    assert_eq!(names_propagating(&snapshot), ["checkout", "pricing"]);
    assert!(snapshot.services.iter().all(|s| s.runtime.is_none()));
    assert!(snapshot.edges.is_empty());
    assert_eq!(snapshot.evidence.catalog, ["org"]);
    assert_eq!(snapshot.evidence.runtime, None);
    assert_eq!(snapshot.notes, ["a catalog note"]);
    assert_eq!(snapshot.recorded_at, "2026-11-29T08:00:00Z");
    assert_eq!(snapshot.week, week());
    let search = &snapshot.services[4];
    assert_eq!(search.team, UNOWNED);
    assert_eq!(search.static_verdict, StaticVerdict::NotFound);
    let ledger = &snapshot.services[1];
    assert_eq!(ledger.failing_rules, ["TG102"]);
    assert_eq!(snapshot.services[0].waivers.len(), 1);
}

#[test]
fn runtime_breaks_a_passing_service_and_unseen_leaves_it_alone() {
    let mut services = BTreeMap::new();
    services.insert(
        "checkout".to_owned(),
        runtime_of(RuntimeVerdict::Pass, 40, &[]),
    );
    services.insert(
        "pricing".to_owned(),
        runtime_of(
            RuntimeVerdict::Fail,
            20,
            &["starts new traces while checkout calls it: 20 of 20 calls"],
        ),
    );
    // Propagating at runtime does not rescue a static failure.
    services.insert(
        "ledger".to_owned(),
        runtime_of(RuntimeVerdict::Pass, 10, &[]),
    );
    // Not in the catalog: noted, not counted.
    services.insert(
        "shadow".to_owned(),
        runtime_of(RuntimeVerdict::Pass, 1, &[]),
    );
    let runtime = RuntimeFindings {
        services,
        edges: vec![RuntimeEdge {
            caller: "checkout".into(),
            callee: "pricing".into(),
            paired: 0,
            broken: 20,
        }],
        traces: 12,
        spans: 71,
        source: "tracegate store fixtures/coverage/traces".into(),
        sampled: false,
    };
    let snapshot = build(week(), catalog(), Some(runtime), "t".into());
    assert_eq!(names_propagating(&snapshot), ["checkout"]);
    let runtime: Vec<(&str, Option<RuntimeVerdict>)> = snapshot
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.runtime))
        .collect();
    assert_eq!(
        runtime,
        [
            ("checkout", Some(RuntimeVerdict::Pass)),
            ("ledger", Some(RuntimeVerdict::Pass)),
            ("notifications", Some(RuntimeVerdict::Unseen)),
            ("pricing", Some(RuntimeVerdict::Fail)),
            ("search", Some(RuntimeVerdict::Unseen)),
        ]
    );
    assert_eq!(
        snapshot.services[3].runtime_reasons,
        ["starts new traces while checkout calls it: 20 of 20 calls"]
    );
    assert!(snapshot.services[0].runtime_reasons.is_empty());
    assert_eq!(snapshot.edges.len(), 1);
    assert_eq!(
        snapshot.evidence.runtime.as_deref(),
        Some("tracegate store fixtures/coverage/traces")
    );
    assert_eq!(
        (snapshot.evidence.traces, snapshot.evidence.spans),
        (12, 71)
    );
    assert_eq!(
        snapshot.notes,
        [
            "a catalog note",
            "service `shadow` is in the traces (1 span) but not in the catalog: not counted"
        ]
    );
}

#[test]
fn the_formula_table() {
    use RuntimeVerdict as R;
    use StaticVerdict as S;
    let cases = [
        (S::Pass, None, true, "passes, no traces given"),
        (S::Pass, Some(R::Pass), true, "passes and propagates"),
        (S::Pass, Some(R::Unseen), true, "unseen does not break"),
        (S::Pass, Some(R::Fail), false, "broken at runtime"),
        (S::Fail, Some(R::Pass), false, "static failure stands"),
        (S::Unknown, None, false, "unknown never propagates"),
        (
            S::Unknown,
            Some(R::Pass),
            false,
            "unknown never propagates, even seen",
        ),
        (
            S::NotFound,
            Some(R::Pass),
            false,
            "not found never propagates",
        ),
    ];
    for (static_verdict, runtime, expected, reason) in cases {
        assert_eq!(propagating(static_verdict, runtime), expected, "{reason}");
    }
}
