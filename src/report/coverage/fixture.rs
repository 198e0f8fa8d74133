//! The fixture organisation's report for 2026-W48 (see `fixtures/coverage/org/`), built by
//! hand for the renderer tests: 8 services in 4 teams, 3 propagating with the trace fixture
//! (pricing broken at runtime on checkout → pricing), ledger a static regression, fraud-check
//! new without propagation, search declared but not found, notifications not analysed, a
//! waiver expiring soon, four weeks of trend. The numbers are a hand count:
//!
//! | week | services | propagating | identity | payments | platform | risk |
//! |---|---|---|---|---|---|---|
//! | 2026-W45 | 7 | 4 (accounts failed) | 0/2 | 3/3 | 1/2 | – |
//! | 2026-W46 | 7 | 5 | 1/2 | 3/3 | 1/2 | – |
//! | 2026-W47 | 7 | 5 | 1/2 | 3/3 | 1/2 | – |
//! | 2026-W48 | 8 | 3 (ledger fails, pricing broken, fraud-check new) | 1/2 | 1/3 | 1/2 | 0/1 |
//!
//! Regressions: ledger (static) and pricing (runtime): both propagated in W47.

use std::collections::BTreeMap;

use crate::coverage::model::{
    Evidence, ExpiringWaiver, PreviousWeek, RuleCount, RuntimeEdge, RuntimeVerdict,
    ServiceCoverage, StaticVerdict, TeamCoverage, TrendPoint, WaiverNote,
};
use crate::coverage::{CoverageReport, IsoWeek};

fn week(text: &str) -> IsoWeek {
    text.parse().expect("a fixture week")
}

fn service(
    name: &str,
    team: &str,
    repository: &str,
    static_verdict: StaticVerdict,
    runtime: RuntimeVerdict,
) -> ServiceCoverage {
    ServiceCoverage {
        name: name.into(),
        team: team.into(),
        repository: repository.into(),
        static_verdict,
        runtime: Some(runtime),
        propagating: static_verdict == StaticVerdict::Pass && runtime != RuntimeVerdict::Fail,
        failing_rules: Vec::new(),
        runtime_reasons: Vec::new(),
        waivers: Vec::new(),
    }
}

fn team(name: &str, total: usize, propagating: usize, previous: Option<f64>) -> TeamCoverage {
    TeamCoverage {
        team: name.into(),
        total,
        propagating,
        coverage: crate::coverage::model::ratio(propagating, total),
        previous,
    }
}

fn trend(name: &str, total: usize, propagating: usize, teams: &[(&str, f64)]) -> TrendPoint {
    TrendPoint {
        week: week(name),
        total,
        propagating,
        coverage: crate::coverage::model::ratio(propagating, total),
        by_team: teams
            .iter()
            .map(|(t, v)| ((*t).to_owned(), *v))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// The fixture organisation's W48 report, with the trace fixture's runtime verdicts.
pub(crate) fn report() -> CoverageReport {
    use RuntimeVerdict::{Fail as Broken, Pass as Ok, Unseen};
    use StaticVerdict::{Fail, NotFound, Pass, Unknown};
    let org = "fixtures/coverage/org";
    let waiver = WaiverNote {
        rule: "TG104".into(),
        reason: "batch processor lands with the Q4 platform upgrade".into(),
        expires: "2026-12-04".into(),
    };
    let mut checkout = service("checkout", "payments", "payments", Pass, Ok);
    checkout.waivers = vec![waiver.clone()];
    let mut pricing = service("pricing", "payments", "payments", Pass, Broken);
    pricing.runtime_reasons =
        vec!["starts new traces while checkout calls it: 40 of 40 calls".into()];
    let mut ledger = service("ledger", "payments", "payments", Fail, Ok);
    ledger.failing_rules = vec!["TG102".into()];
    let mut fraud = service("fraud-check", "risk", "risk", Fail, Unseen);
    fraud.failing_rules = vec!["TG101".into(), "TG102".into()];
    let services = vec![
        service("accounts", "identity", "identity", Pass, Ok),
        checkout,
        fraud,
        service("gateway", "platform", "edge", Pass, Ok),
        ledger,
        service("notifications", "identity", "identity", Unknown, Unseen),
        pricing,
        service("search", "platform", "edge", NotFound, Unseen),
    ];
    let edge = |caller: &str, callee: &str, paired: u64, broken: u64| RuntimeEdge {
        caller: caller.into(),
        callee: callee.into(),
        paired,
        broken,
    };
    let steady = [("identity", 0.5), ("payments", 1.0), ("platform", 0.5)];
    CoverageReport {
        week: week("2026-W48"),
        services_total: 8,
        services_propagating: 3,
        coverage: 0.375,
        previous: Some(PreviousWeek {
            week: week("2026-W47"),
            coverage: 0.7143,
        }),
        by_team: vec![
            team("identity", 2, 1, Some(0.5)),
            team("payments", 3, 1, Some(1.0)),
            team("platform", 2, 1, Some(0.5)),
            team("risk", 1, 0, None),
        ],
        regressions: vec!["ledger".into(), "pricing".into()],
        services,
        new_without_propagation: vec!["fraud-check".into()],
        failing_rules: vec![
            RuleCount {
                rule: "TG102".into(),
                services: 2,
            },
            RuleCount {
                rule: "TG101".into(),
                services: 1,
            },
        ],
        expiring_waivers: vec![ExpiringWaiver {
            service: "checkout".into(),
            team: "payments".into(),
            waiver,
        }],
        trend: vec![
            trend(
                "2026-W45",
                7,
                4,
                &[("identity", 0.0), ("payments", 1.0), ("platform", 0.5)],
            ),
            trend("2026-W46", 7, 5, &steady),
            trend("2026-W47", 7, 5, &steady),
            trend(
                "2026-W48",
                8,
                3,
                &[
                    ("identity", 0.5),
                    ("payments", 0.3333),
                    ("platform", 0.5),
                    ("risk", 0.0),
                ],
            ),
        ],
        edges: vec![
            edge("checkout", "ledger", 40, 0),
            edge("checkout", "pricing", 0, 40),
            edge("gateway", "accounts", 30, 0),
            edge("gateway", "checkout", 40, 0),
        ],
        evidence: Evidence {
            catalog: ["edge", "identity", "payments", "risk"]
                .iter()
                .map(|r| format!("{org}/{r}"))
                .collect(),
            runtime: Some("tracegate store fixtures/coverage/traces".into()),
            traces: 70,
            spans: 420,
        },
        notes: vec![
            "service \"shipping\" seen in traces but not in the catalog: not counted".into(),
        ],
    }
}
