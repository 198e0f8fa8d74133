//! The history's schema and its forward migrations.
//!
//! The version is SQLite's `PRAGMA user_version`: the number of migrations applied.
//! [`MIGRATIONS`]`[i]` takes a database from version `i` to `i + 1`, in its own transaction
//! together with the version bump, so a migration interrupted half-way leaves the previous
//! version intact. A database whose version is higher than this tracegate knows was written by
//! a newer tracegate: it is refused before anything is written to it.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::errors;
use crate::coverage::CoverageError;

/// `PRAGMA application_id` of a tracegate history: "TGCV" in ASCII.
pub(super) const APPLICATION_ID: i32 = 0x5447_4356;

/// One forward migration, run inside the transaction that also bumps the version.
pub(super) type Migration = fn(&Transaction<'_>) -> rusqlite::Result<()>;

/// Every migration, oldest first: the schema version this tracegate writes is its length.
pub(super) const MIGRATIONS: &[Migration] = &[create_v1];

/// Version 1: a row per recorded week, a row per service of that week.
///
/// Weeks are keyed by `year * 100 + week number` (`202648` is 2026-W48): integers order
/// across years and stay readable in the `sqlite3` shell. Services are clustered by week
/// (`WITHOUT ROWID`, primary key `(week, ordinal)`), so replacing or aggregating one week reads
/// only that week's pages. Lists are JSON text, `NULL` when empty.
fn create_v1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE snapshot (
             week        INTEGER PRIMARY KEY, -- year * 100 + ISO week number
             recorded_at TEXT NOT NULL,       -- RFC 3339, UTC
             edges       TEXT NOT NULL,       -- JSON [RuntimeEdge]
             evidence    TEXT NOT NULL,       -- JSON Evidence
             notes       TEXT NOT NULL        -- JSON [string]
         );
         CREATE TABLE service (
             week            INTEGER NOT NULL, -- snapshot.week
             ordinal         INTEGER NOT NULL, -- position in the snapshot (sorted by name)
             name            TEXT NOT NULL,
             team            TEXT NOT NULL,
             repository      TEXT NOT NULL,
             static          TEXT NOT NULL,    -- pass | fail | unknown | not_found
             runtime         TEXT,             -- pass | fail | unseen; NULL without traces
             propagating     INTEGER NOT NULL, -- 0 | 1
             failing_rules   TEXT,             -- JSON [rule ID]
             waivers         TEXT,             -- JSON [{rule, reason, expires}]
             runtime_reasons TEXT,             -- JSON [string]
             PRIMARY KEY (week, ordinal)
         ) WITHOUT ROWID;",
    )
}

/// Bring the database at `path` to the newest version `migrations` know, or refuse it: a
/// newer version, or an SQLite file that is not a tracegate history, is an error and the
/// file is left untouched. Also switches a writable history to WAL.
pub(super) fn migrate(
    conn: &mut Connection,
    path: &Path,
    busy: Duration,
    migrations: &[Migration],
) -> Result<(), CoverageError> {
    let fail = |action: &'static str| move |err| errors::sqlite(path, action, err, busy);
    let target = migrations.len();
    let (application_id, version) = ids(conn).map_err(fail("reading the schema version"))?;
    refuse_foreign_or_newer(conn, path, busy, application_id, version, target)?;
    if version == 0 {
        // Only takes effect before the first table exists: lets `retain` give pages back.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(fail("creating the history"))?;
    }
    // Readers never block the writer and a killed writer leaves only an uncommitted WAL tail.
    let _mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(fail("switching to WAL"))?;
    if version == target {
        return Ok(()); // up to date: no write lock taken
    }
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("migrating the schema"))?;
        // Read again under the write lock: another process may have migrated meanwhile.
        let (application_id, version) = ids(&tx).map_err(fail("reading the schema version"))?;
        refuse_foreign_or_newer(&tx, path, busy, application_id, version, target)?;
        let Some(step) = migrations.get(version) else {
            return Ok(()); // dropping `tx` rolls back the empty transaction
        };
        step(&tx).map_err(fail("migrating the schema"))?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(fail("migrating the schema"))?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(version + 1).unwrap_or(i64::MAX),
        )
        .map_err(fail("migrating the schema"))?;
        tx.commit().map_err(fail("migrating the schema"))?;
    }
}

/// `(application_id, user_version)`.
fn ids(conn: &Connection) -> rusqlite::Result<(i32, usize)> {
    let application_id: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    // user_version is a signed 32-bit header field; a negative one is nobody's history.
    Ok((
        application_id,
        usize::try_from(version).unwrap_or(usize::MAX),
    ))
}

fn refuse_foreign_or_newer(
    conn: &Connection,
    path: &Path,
    busy: Duration,
    application_id: i32,
    version: usize,
    target: usize,
) -> Result<(), CoverageError> {
    let refuse = |why: String| CoverageError::History(format!("{}: {why}", path.display()));
    if application_id != 0 && application_id != APPLICATION_ID {
        return Err(refuse(format!(
            "an SQLite database of another application (application_id {application_id:#x}), \
             not a tracegate history; left untouched"
        )));
    }
    if version > target {
        let shown = if version == usize::MAX {
            "an unknown".to_string()
        } else {
            version.to_string()
        };
        return Err(refuse(format!(
            "written by a newer tracegate (history schema version {shown}; this tracegate \
             reads up to {target}); left untouched: upgrade tracegate"
        )));
    }
    if version == 0 && application_id == 0 {
        let table: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(|err| errors::sqlite(path, "reading the schema", err, busy))?;
        if let Some(table) = table {
            return Err(refuse(format!(
                "an SQLite database that is not a tracegate history (it has a table \
                 {table:?}); left untouched"
            )));
        }
    }
    Ok(())
}
