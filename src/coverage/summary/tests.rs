#![allow(clippy::unwrap_used)]

use time::macros::date;

use super::{build, trend_point};
use crate::coverage::model::{
    Evidence, RuleCount, RuntimeVerdict, ServiceCoverage, Snapshot, StaticVerdict, TeamCoverage,
    WaiverNote, UNOWNED,
};

/// A service; `runtime` `None` when no traces were given. Propagating follows the formula.
fn service(
    name: &str,
    team: &str,
    static_verdict: StaticVerdict,
    runtime: Option<RuntimeVerdict>,
    rules: &[&str],
) -> ServiceCoverage {
    ServiceCoverage {
        name: name.into(),
        team: team.into(),
        repository: team.into(),
        static_verdict,
        runtime,
        propagating: static_verdict == StaticVerdict::Pass && runtime != Some(RuntimeVerdict::Fail),
        failing_rules: rules.iter().map(ToString::to_string).collect(),
        runtime_reasons: Vec::new(),
        waivers: Vec::new(),
    }
}

fn snapshot(week: &str, services: Vec<ServiceCoverage>) -> Snapshot {
    Snapshot {
        week: week.parse().unwrap(),
        recorded_at: "2026-11-27T09:00:00Z".into(),
        services,
        edges: Vec::new(),
        evidence: Evidence::default(),
        notes: Vec::new(),
    }
}

/// The fixture organisation in 2026-W47 (static only): ledger passes, fraud-check does not
/// exist yet.
fn org_w47() -> Snapshot {
    use StaticVerdict::{NotFound, Pass, Unknown};
    snapshot(
        "2026-W47",
        vec![
            service("accounts", "identity", Pass, None, &[]),
            service("checkout", "payments", Pass, None, &[]),
            service("gateway", "platform", Pass, None, &[]),
            service("ledger", "payments", Pass, None, &[]),
            service("notifications", "identity", Unknown, None, &[]),
            service("pricing", "payments", Pass, None, &[]),
            service("search", "platform", NotFound, None, &[]),
        ],
    )
}

/// The fixture organisation in 2026-W48 with the trace fixture: ledger fails statically,
/// pricing is broken at runtime, fraud-check is new and fails statically.
fn org_w48() -> Snapshot {
    use RuntimeVerdict::{Fail as Broken, Pass as Ok, Unseen};
    use StaticVerdict::{Fail, NotFound, Pass, Unknown};
    snapshot(
        "2026-W48",
        vec![
            service("accounts", "identity", Pass, Some(Ok), &[]),
            service("checkout", "payments", Pass, Some(Ok), &[]),
            service(
                "fraud-check",
                "risk",
                Fail,
                Some(Unseen),
                &["TG101", "TG110"],
            ),
            service("gateway", "platform", Pass, Some(Ok), &[]),
            service("ledger", "payments", Fail, Some(Ok), &["TG110"]),
            service("notifications", "identity", Unknown, Some(Unseen), &[]),
            service("pricing", "payments", Pass, Some(Broken), &[]),
            service("search", "platform", NotFound, Some(Unseen), &[]),
        ],
    )
}

fn team(
    team: &str,
    total: usize,
    propagating: usize,
    coverage: f64,
    previous: Option<f64>,
) -> TeamCoverage {
    TeamCoverage {
        team: team.into(),
        total,
        propagating,
        coverage,
        previous,
    }
}

#[test]
fn the_fixture_organisation_matches_the_hand_count() {
    let (w47, w48) = (org_w47(), org_w48());
    let report = build(&w48, Some(&w47), Vec::new(), date!(2026 - 11 - 27));
    // 8 services; checkout, accounts, gateway propagate (pricing is broken at runtime).
    assert_eq!((report.services_total, report.services_propagating), (8, 3));
    assert!((report.coverage - 0.375).abs() < 1e-12);
    // W47: 5 of 7 (checkout, pricing, ledger, accounts, gateway) = 0.714285… → 0.7143.
    let previous = report.previous.as_ref().unwrap();
    assert_eq!(previous.week.to_string(), "2026-W47");
    assert!((previous.coverage - 0.7143).abs() < 1e-12);
    assert_eq!(
        report.by_team,
        vec![
            team("identity", 2, 1, 0.5, Some(0.5)),
            team("payments", 3, 1, 0.3333, Some(1.0)),
            team("platform", 2, 1, 0.5, Some(0.5)),
            // A team that appears this week has no previous coverage.
            team("risk", 1, 0, 0.0, None),
        ]
    );
    assert_eq!(report.regressions, ["ledger", "pricing"]);
    assert_eq!(report.new_without_propagation, ["fraud-check"]);
    // TG110 fails two services (ledger, fraud-check), TG101 one.
    assert_eq!(
        report.failing_rules,
        vec![
            RuleCount {
                rule: "TG110".into(),
                services: 2
            },
            RuleCount {
                rule: "TG101".into(),
                services: 1
            },
        ]
    );
    assert_eq!(report.services, w48.services);
    // The JSON contract of DESIGN.md.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["previous"],
        serde_json::json!({"week": "2026-W47", "coverage": 0.7143})
    );
    assert_eq!(json["coverage"], serde_json::json!(0.375));
    assert_eq!(json["services"][6]["runtime"], "fail");
    assert_eq!(json["services"][6]["static"], "pass");
}

#[test]
fn the_first_week_ever_has_no_previous_no_regressions_and_no_new_services() {
    let report = build(&org_w48(), None, Vec::new(), date!(2026 - 11 - 27));
    assert_eq!(report.previous, None);
    assert!(report.regressions.is_empty());
    assert!(report.new_without_propagation.is_empty());
    assert!(report.by_team.iter().all(|team| team.previous.is_none()));
    assert_eq!((report.services_total, report.services_propagating), (8, 3));
}

#[test]
fn a_service_gone_from_propagating_to_not_found_is_a_regression() {
    use StaticVerdict::{NotFound, Pass};
    let before = snapshot(
        "2026-W40",
        vec![
            service("gateway", "platform", Pass, None, &[]),
            service("search", "platform", Pass, None, &[]),
            service("retired", "platform", Pass, None, &[]),
        ],
    );
    let now = snapshot(
        "2026-W42",
        vec![
            service("gateway", "platform", Pass, None, &[]),
            service("search", "platform", NotFound, None, &[]),
        ],
    );
    let report = build(&now, Some(&before), Vec::new(), date!(2026 - 10 - 14));
    // "retired" left the catalog (and the denominator): not a regression.
    assert_eq!(report.regressions, ["search"]);
    assert!(report.new_without_propagation.is_empty());
    assert_eq!(
        report.previous.as_ref().unwrap().week.to_string(),
        "2026-W40"
    );
    assert!((report.previous.as_ref().unwrap().coverage - 1.0).abs() < 1e-12);
    assert_eq!(report.by_team, vec![team("platform", 2, 1, 0.5, Some(1.0))]);
}

#[test]
fn coverage_rounds_to_four_decimals_97_of_120() {
    let services = (0..120)
        .map(|n| {
            let verdict = if n < 97 {
                StaticVerdict::Pass
            } else {
                StaticVerdict::Fail
            };
            let owner = if n % 2 == 0 { "even" } else { UNOWNED };
            service(&format!("svc-{n:03}"), owner, verdict, None, &[])
        })
        .collect();
    let report = build(
        &snapshot("2026-W48", services),
        None,
        Vec::new(),
        date!(2026 - 11 - 27),
    );
    assert_eq!(
        (report.services_total, report.services_propagating),
        (120, 97)
    );
    assert!((report.coverage - 0.8083).abs() < 1e-12);
    assert_eq!(
        serde_json::to_value(&report).unwrap()["coverage"],
        serde_json::json!(0.8083)
    );
    // 0..97: 49 even, 48 odd propagate; "(unowned)" sorts before "even".
    assert_eq!(
        report.by_team,
        vec![
            team(UNOWNED, 60, 48, 0.8, None),
            team("even", 60, 49, 0.8167, None),
        ]
    );
}

#[test]
fn failing_rules_count_static_failures_once_per_service_most_first_ties_by_id() {
    use StaticVerdict::{Fail, Pass, Unknown};
    let services = vec![
        service("a", "t", Fail, None, &["TG130", "TG102", "TG102"]),
        service("b", "t", Fail, None, &["TG130"]),
        service("c", "t", Fail, None, &["TG101"]),
        service("d", "t", Fail, None, &["TG102"]),
        // Not static failures: whatever they carry is not counted.
        service("e", "t", Pass, Some(RuntimeVerdict::Fail), &["TG130"]),
        service("f", "t", Unknown, None, &["TG999"]),
    ];
    let report = build(
        &snapshot("2026-W48", services),
        None,
        Vec::new(),
        date!(2026 - 11 - 27),
    );
    let counts: Vec<(&str, usize)> = report
        .failing_rules
        .iter()
        .map(|count| (count.rule.as_str(), count.services))
        .collect();
    assert_eq!(counts, [("TG102", 2), ("TG130", 2), ("TG101", 1)]);
}

#[test]
fn waivers_expiring_within_two_weeks_inclusive_soonest_first() {
    let waiver = |rule: &str, expires: &str| WaiverNote {
        rule: rule.into(),
        reason: "migration in progress".into(),
        expires: expires.into(),
    };
    let mut ledger = service("ledger", "payments", StaticVerdict::Pass, None, &[]);
    ledger.waivers = vec![
        waiver("TG110", "2026-12-09"), // today + 14: listed
        waiver("TG102", "2026-11-24"), // expired yesterday: check reports it (TG290)
        waiver("TG120", "2026-12-10"), // today + 15: not yet
    ];
    let mut gateway = service("gateway", "platform", StaticVerdict::Pass, None, &[]);
    gateway.waivers = vec![
        waiver("TG201", "2026-11-25"), // today: listed
        waiver("TG202", "soon"),       // not a date: skipped
        waiver("TG101", "2026-12-09"), // same day as ledger's: by service then rule
    ];
    let report = build(
        &snapshot("2026-W48", vec![gateway, ledger]),
        None,
        Vec::new(),
        date!(2026 - 11 - 25),
    );
    let listed: Vec<(&str, &str, &str, &str)> = report
        .expiring_waivers
        .iter()
        .map(|entry| {
            (
                entry.service.as_str(),
                entry.team.as_str(),
                entry.waiver.rule.as_str(),
                entry.waiver.expires.as_str(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("gateway", "platform", "TG201", "2026-11-25"),
            ("gateway", "platform", "TG101", "2026-12-09"),
            ("ledger", "payments", "TG110", "2026-12-09"),
        ]
    );
}

#[test]
fn trend_edges_evidence_and_notes_are_carried_through() {
    let mut w48 = org_w48();
    w48.notes = vec!["frontend: seen in traces, not in the catalog".into()];
    w48.evidence.runtime = Some("tracegate store fixtures/coverage/traces".into());
    w48.edges = vec![crate::coverage::model::RuntimeEdge {
        caller: "checkout".into(),
        callee: "pricing".into(),
        paired: 0,
        broken: 3,
    }];
    let trend = vec![trend_point(&org_w47()), trend_point(&w48)];
    let report = build(&w48, Some(&org_w47()), trend.clone(), date!(2026 - 11 - 27));
    assert_eq!(report.trend, trend);
    assert_eq!(report.edges, w48.edges);
    assert_eq!(report.evidence, w48.evidence);
    assert_eq!(report.notes, w48.notes);
    // The trend point of W48 is the headline of its own report.
    assert_eq!((trend[1].total, trend[1].propagating), (8, 3));
    assert!((trend[1].coverage - report.coverage).abs() < 1e-12);
    assert!((trend[1].by_team["payments"] - 0.3333).abs() < 1e-12);
}
