#![allow(clippy::unwrap_used)]
//! The store: round trips, replacement, previous, trend, retention. `refusals`: what is
//! refused and how it is said.

mod refusals;

use super::{History, SCHEMA_VERSION};
use crate::coverage::model::{
    Evidence, RuntimeEdge, RuntimeVerdict, ServiceCoverage, Snapshot, StaticVerdict, WaiverNote,
};
use crate::coverage::summary::trend_point;
use crate::coverage::{CoverageError, IsoWeek};

fn week(text: &str) -> IsoWeek {
    text.parse().unwrap()
}

fn service(name: &str, team: &str, static_verdict: StaticVerdict) -> ServiceCoverage {
    ServiceCoverage {
        name: name.into(),
        team: team.into(),
        repository: format!("{team}-repo"),
        static_verdict,
        runtime: None,
        propagating: static_verdict == StaticVerdict::Pass,
        failing_rules: if static_verdict == StaticVerdict::Fail {
            vec!["TG101".into(), "TG102".into()]
        } else {
            Vec::new()
        },
        runtime_reasons: Vec::new(),
        waivers: Vec::new(),
    }
}

fn snapshot(week_text: &str, services: Vec<ServiceCoverage>) -> Snapshot {
    Snapshot {
        week: week(week_text),
        recorded_at: format!("{week_text} recorded"),
        services,
        edges: Vec::new(),
        evidence: Evidence::default(),
        notes: Vec::new(),
    }
}

/// A snapshot with every field filled in, runtime verdicts of each kind.
fn full_snapshot(week_text: &str) -> Snapshot {
    let mut pricing = service("pricing", "payments", StaticVerdict::Pass);
    pricing.runtime = Some(RuntimeVerdict::Fail);
    pricing.propagating = false;
    pricing.runtime_reasons = vec!["starts new traces while checkout calls it: 4 of 4".into()];
    let mut checkout = service("checkout", "payments", StaticVerdict::Pass);
    checkout.runtime = Some(RuntimeVerdict::Pass);
    checkout.waivers = vec![WaiverNote {
        rule: "TG120".into(),
        reason: "batch job, no caller".into(),
        expires: "2026-12-01".into(),
    }];
    let mut ledger = service("ledger", "payments", StaticVerdict::Fail);
    ledger.runtime = Some(RuntimeVerdict::Pass);
    let mut notifications = service("notifications", "identity", StaticVerdict::Unknown);
    notifications.runtime = Some(RuntimeVerdict::Unseen);
    let mut search = service("search", "platform", StaticVerdict::NotFound);
    search.runtime = Some(RuntimeVerdict::Unseen);
    Snapshot {
        week: week(week_text),
        recorded_at: "2026-11-27T09:00:00Z".into(),
        services: vec![checkout, ledger, notifications, pricing, search],
        edges: vec![RuntimeEdge {
            caller: "checkout".into(),
            callee: "pricing".into(),
            paired: 0,
            broken: 4,
        }],
        evidence: Evidence {
            catalog: vec!["fixtures/coverage/org/payments".into()],
            runtime: Some("tracegate store fixtures/coverage/traces".into()),
            traces: 12,
            spans: 80,
        },
        notes: vec!["frontend: seen in traces, not in the catalog".into()],
    }
}

fn error_of(result: Result<impl Sized, CoverageError>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(CoverageError::History(message)) => {
            assert!(!message.contains('\n'), "one line: {message}");
            message
        }
        Err(other) => panic!("expected a history error, got {other:?}"),
    }
}

#[test]
fn a_recorded_snapshot_loads_back_identical_and_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/coverage.db");
    let mut history = History::open(&path).unwrap();
    let recorded = full_snapshot("2026-W48");
    history.record(&recorded).unwrap();
    assert_eq!(history.load(week("2026-W48")).unwrap(), Some(recorded));
    assert_eq!(history.load(week("2026-W47")).unwrap(), None);
    let mode: String = history
        .conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = history
        .conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(usize::try_from(version).unwrap(), SCHEMA_VERSION);
    drop(history);
    // Reopening an up-to-date history changes nothing.
    let reopened = History::open(&path).unwrap();
    assert_eq!(reopened.weeks().unwrap(), vec![week("2026-W48")]);
}

#[test]
fn recording_a_week_again_replaces_it_entirely() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    history.record(&full_snapshot("2026-W48")).unwrap();
    let smaller = snapshot(
        "2026-W48",
        vec![service("gateway", "platform", StaticVerdict::Pass)],
    );
    history.record(&smaller).unwrap();
    assert_eq!(history.load(week("2026-W48")).unwrap(), Some(smaller));
    let trend = history.trend(week("2026-W48"), 12).unwrap();
    assert_eq!(trend.len(), 1);
    assert_eq!((trend[0].total, trend[0].propagating), (1, 1));
}

#[test]
fn previous_is_the_most_recent_earlier_recorded_week_across_gaps_and_years() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    for text in ["2026-W02", "2025-W52", "2026-W05", "2025-W40"] {
        history.record(&snapshot(text, Vec::new())).unwrap();
    }
    let previous = |text: &str| {
        history
            .previous(week(text))
            .unwrap()
            .map(|s| s.week.to_string())
    };
    assert_eq!(previous("2026-W05").as_deref(), Some("2026-W02"));
    assert_eq!(previous("2026-W04").as_deref(), Some("2026-W02"));
    assert_eq!(previous("2026-W02").as_deref(), Some("2025-W52"));
    assert_eq!(previous("2025-W52").as_deref(), Some("2025-W40"));
    assert_eq!(previous("2025-W40"), None);
    let weeks: Vec<String> = history
        .weeks()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(weeks, ["2025-W40", "2025-W52", "2026-W02", "2026-W05"]);
}

#[test]
fn the_trend_counts_the_recorded_weeks_of_the_window_per_team() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.db")).unwrap();
    let week_a = snapshot(
        "2025-W51",
        vec![
            service("a", "payments", StaticVerdict::Pass),
            service("b", "payments", StaticVerdict::Fail),
            service("c", "identity", StaticVerdict::Unknown),
        ],
    );
    let week_b = snapshot(
        "2026-W01",
        vec![
            service("a", "payments", StaticVerdict::Pass),
            service("b", "payments", StaticVerdict::Pass),
            service("c", "identity", StaticVerdict::Pass),
            service("d", "risk", StaticVerdict::Fail),
        ],
    );
    let empty = snapshot("2026-W02", Vec::new());
    let outside = snapshot("2025-W40", vec![service("a", "x", StaticVerdict::Pass)]);
    let later = snapshot("2026-W03", vec![service("a", "x", StaticVerdict::Pass)]);
    for recorded in [&week_a, &week_b, &empty, &outside, &later] {
        history.record(recorded).unwrap();
    }
    // 2025 has 52 ISO weeks: the 4 weeks ending 2026-W02 are 2025-W51 … 2026-W02.
    let trend = history.trend(week("2026-W02"), 4).unwrap();
    let expected = vec![
        trend_point(&week_a),
        trend_point(&week_b),
        trend_point(&empty),
    ];
    assert_eq!(trend, expected);
    // Hand count: 2026-W01 has 3 of 4 propagating; payments 2/2, identity 1/1, risk 0/1.
    assert_eq!((trend[1].total, trend[1].propagating), (4, 3));
    assert!((trend[1].coverage - 0.75).abs() < 1e-12);
    assert!((trend[0].by_team["payments"] - 0.5).abs() < 1e-12);
    assert!(trend[1].by_team["risk"].abs() < 1e-12);
    assert_eq!((trend[2].total, trend[2].coverage), (0, 0.0));
    assert!(history.trend(week("2026-W02"), 0).unwrap().is_empty());
    assert_eq!(
        history.trend(week("2026-W02"), 1).unwrap(),
        vec![trend_point(&empty)]
    );
    assert_eq!(
        history.trend(week("2026-W03"), usize::MAX).unwrap().len(),
        5
    );
}

#[test]
fn retain_deletes_the_oldest_weeks_and_their_service_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut history = History::open(&path).unwrap();
    for number in 40..45 {
        let text = format!("2026-W{number}");
        history
            .record(&snapshot(
                &text,
                vec![
                    service("a", "t", StaticVerdict::Pass),
                    service("b", "t", StaticVerdict::Fail),
                ],
            ))
            .unwrap();
    }
    assert_eq!(history.retain(10).unwrap(), 0);
    assert_eq!(history.retain(3).unwrap(), 2);
    let weeks: Vec<String> = history
        .weeks()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(weeks, ["2026-W42", "2026-W43", "2026-W44"]);
    let rows: i64 = history
        .conn
        .query_row("SELECT count(*) FROM service", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 6);
    assert_eq!(history.retain(0).unwrap(), 3);
    assert!(history.weeks().unwrap().is_empty());
}
