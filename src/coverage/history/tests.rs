#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{schema, History, SCHEMA_VERSION};
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

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coverage.db");
    let garbage = b"week,coverage\n2026-W48,0.8\n".repeat(200);
    std::fs::write(&path, &garbage).unwrap();
    let message = error_of(History::open(&path));
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("not an SQLite database"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

/// A closed history of three weeks with enough rows to span many pages.
fn three_weeks(path: &Path) {
    let mut history = History::open(path).unwrap();
    for text in ["2026-W46", "2026-W47", "2026-W48"] {
        let services = (0..300)
            .map(|n| service(&format!("service-{n:04}"), "team", StaticVerdict::Fail))
            .collect();
        history.record(&snapshot(text, services)).unwrap();
    }
}

#[test]
fn a_database_truncated_mid_page_or_at_a_page_boundary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coverage.db");
    three_weeks(&path);
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() > 8 * 4096,
        "the fixture spans pages: {}",
        bytes.len()
    );
    std::fs::write(&path, &bytes[..bytes.len() / 2 + 100]).unwrap();
    let message = error_of(History::open(&path));
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("truncated in the middle of a page"),
        "{message}"
    );
    std::fs::write(&path, &bytes[..4096 * 4]).unwrap();
    let message = error_of(History::open(&path));
    assert!(message.contains("truncated: 16384 bytes"), "{message}");
}

#[test]
fn a_database_with_a_garbage_page_gives_a_corrupt_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coverage.db");
    three_weeks(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    let pages = bytes.len() / 4096;
    // Overwrite every page but the first (the schema) with a pattern.
    for page in 1..pages {
        for (n, byte) in bytes[page * 4096..(page + 1) * 4096].iter_mut().enumerate() {
            *byte = u8::try_from(n % 251).unwrap();
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let history = History::open(&path).unwrap();
    let message = error_of(history.trend(week("2026-W48"), 12));
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("corrupt database"), "{message}");
}

#[test]
fn a_directory_that_cannot_be_created_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let path = file.join("sub/coverage.db");
    let message = error_of(History::open(&path));
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("cannot create its directory"), "{message}");
    let message = error_of(History::open(dir.path()));
    assert!(message.contains("is a directory"), "{message}");
}

/// procfs refuses new files to everyone, root included: an unwritable directory anywhere.
#[cfg(target_os = "linux")]
#[test]
fn a_database_in_an_unwritable_directory_is_named() {
    let path = Path::new("/proc/self/coverage.db");
    let message = error_of(History::open(path));
    assert!(message.starts_with("/proc/self/coverage.db: "), "{message}");
    assert!(message.contains("cannot open it"), "{message}");
}

#[test]
fn a_database_locked_by_another_writer_fails_after_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coverage.db");
    History::open(&path)
        .unwrap()
        .record(&snapshot(
            "2026-W47",
            vec![service("a", "t", StaticVerdict::Pass)],
        ))
        .unwrap();
    let other = Connection::open(&path).unwrap();
    other
        .execute_batch("BEGIN IMMEDIATE; DELETE FROM service;")
        .unwrap();
    // Reading and opening an up-to-date history do not wait for the writer (WAL).
    let mut history =
        History::open_with(&path, Duration::from_millis(300), schema::MIGRATIONS).unwrap();
    assert_eq!(
        history
            .load(week("2026-W47"))
            .unwrap()
            .unwrap()
            .services
            .len(),
        1
    );
    let started = Instant::now();
    let message = error_of(history.record(&snapshot("2026-W48", Vec::new())));
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("recording 2026-W48"), "{message}");
    assert!(
        message.contains("locked by another process (waited 300 ms)"),
        "{message}"
    );
    other.execute_batch("ROLLBACK").unwrap();
    history.record(&snapshot("2026-W48", Vec::new())).unwrap();
}

#[test]
fn a_new_history_locked_while_being_created_fails_after_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coverage.db");
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let opened = History::open_with(&path, Duration::from_millis(200), schema::MIGRATIONS);
    let message = error_of(opened);
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("locked by another process (waited 200 ms)"),
        "{message}"
    );
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);
    History::open(&path).unwrap();
}

#[test]
fn a_database_from_a_newer_tracegate_is_refused_and_not_modified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coverage.db");
    three_weeks(&path);
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 7).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let message = error_of(History::open(&path));
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(
        message
            .contains("newer tracegate (history schema version 7; this tracegate reads up to 1)"),
        "{message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn an_sqlite_database_of_something_else_is_refused_and_not_modified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY)")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let message = error_of(History::open(&path));
    assert!(message.contains("not a tracegate history"), "{message}");
    assert!(message.contains("\"users\""), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "application_id", 42).unwrap();
    }
    let message = error_of(History::open(&path));
    assert!(
        message.contains("another application (application_id 0x2a)"),
        "{message}"
    );
}

/// A version 2 this tracegate does not have: a column for a hypothetical service tier.
fn add_tier_v2(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE service ADD COLUMN tier TEXT NOT NULL DEFAULT 'standard';")
}

#[test]
fn a_version_1_database_migrates_forward_keeping_its_weeks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coverage.db");
    let recorded = full_snapshot("2026-W47");
    History::open(&path).unwrap().record(&recorded).unwrap();
    let v2: &[schema::Migration] = &[schema::MIGRATIONS[0], add_tier_v2];
    let mut history = History::open_with(&path, Duration::from_secs(2), v2).unwrap();
    let (version, tiers): (i64, i64) = history
        .conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM service WHERE tier = 'standard')",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!((version, tiers), (2, 5));
    assert_eq!(history.load(week("2026-W47")).unwrap(), Some(recorded));
    history.record(&full_snapshot("2026-W48")).unwrap();
    drop(history);
    // This tracegate (version 1) now refuses the migrated file.
    let message = error_of(History::open(&path));
    assert!(message.contains("history schema version 2"), "{message}");
}

#[test]
fn a_stored_value_no_tracegate_writes_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coverage.db");
    let mut history = History::open(&path).unwrap();
    history.record(&full_snapshot("2026-W48")).unwrap();
    history
        .conn
        .execute(
            "UPDATE service SET static = 'maybe' WHERE name = 'ledger'",
            [],
        )
        .unwrap();
    let message = error_of(history.load(week("2026-W48")));
    assert!(
        message.contains(
            "reading 2026-W48: 2026-W48, service \"ledger\": unknown static verdict \"maybe\""
        ),
        "{message}"
    );
}
