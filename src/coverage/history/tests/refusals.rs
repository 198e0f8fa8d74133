#![allow(clippy::unwrap_used)]
//! Garbage, truncated, damaged, locked, newer, foreign, unwritable: one-line errors naming the
//! file, and files left untouched; the forward migration.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{error_of, full_snapshot, service, snapshot, week};
use crate::coverage::history::{schema, History};
use crate::coverage::model::StaticVerdict;

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
