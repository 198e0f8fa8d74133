//! The history: one snapshot per ISO week in an SQLite file (rusqlite, bundled SQLite, WAL).
//! Re-recording a week replaces it in one transaction; the schema is versioned and migrated
//! forward; a corrupt, locked or newer database is a one-line error.
//!
//! Layout (schema version 1, see `schema.rs`): a `snapshot` row per week (recorded_at, the
//! runtime edges, evidence and notes as JSON) and a `service` row per service of that week
//! (team, repository, static and runtime verdicts, propagating, failing rules, waivers,
//! runtime reasons), so [`History::trend`] is one aggregate query.
//!
//! Durability: every write is one SQLite transaction in WAL mode with `synchronous = FULL`. A
//! process killed in the middle of [`History::record`] leaves an uncommitted tail in the
//! write-ahead log, which the next open discards: the week being written is absent (or, when
//! it replaced an earlier recording of that week, that recording is intact), and every other
//! week is untouched (`tests/coverage_history_kill.rs` kills a writer with SIGKILL).

mod errors;
mod rows;
mod schema;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::model::{Snapshot, TrendPoint};
use super::{CoverageError, IsoWeek};
use rows::RowError;

/// The default database file, relative to the current directory.
pub const DEFAULT_DB: &str = ".tracegate/coverage.db";

/// The schema version this tracegate writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: usize = schema::MIGRATIONS.len();

/// An open history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
    busy: Duration,
}

impl History {
    /// Open (creating it and its directory when absent) and migrate `path`.
    ///
    /// Refused with a one-line error naming the file: a file that is not an SQLite database,
    /// a corrupt or truncated one, an SQLite database of another application, one written by
    /// a newer tracegate (left untouched), a directory that cannot be created. A write that
    /// finds the database locked by another process waits 2 s, then fails.
    pub fn open(path: &Path) -> Result<History, CoverageError> {
        History::open_with(path, errors::BUSY_TIMEOUT, schema::MIGRATIONS)
    }

    fn open_with(
        path: &Path,
        busy: Duration,
        migrations: &[schema::Migration],
    ) -> Result<History, CoverageError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                CoverageError::History(format!(
                    "{}: cannot create its directory {}: {err}",
                    path.display(),
                    dir.display()
                ))
            })?;
        }
        errors::check_file(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)
            .map_err(|err| errors::sqlite(path, "opening", err, busy))?;
        conn.busy_timeout(busy)
            .map_err(|err| errors::sqlite(path, "opening", err, busy))?;
        schema::migrate(&mut conn, path, busy, migrations)?;
        // Each commit reaches the disk before `record` returns (WAL: one fsync per commit).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|err| errors::sqlite(path, "opening", err, busy))?;
        Ok(History {
            conn,
            path: path.to_path_buf(),
            busy,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record `snapshot`, replacing any earlier snapshot of its week, in one transaction.
    pub fn record(&mut self, snapshot: &Snapshot) -> Result<(), CoverageError> {
        self.record_with_hook(snapshot, &mut |_| {})
    }

    /// [`History::record`], calling `progress(rows written)` after each service row while the
    /// transaction is open (the durability test kills the process from there).
    pub fn record_with_hook(
        &mut self,
        snapshot: &Snapshot,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), CoverageError> {
        let action = format!("recording {}", snapshot.week);
        let (path, busy) = (self.path.as_path(), self.busy);
        let fail = |err: RowError| row_error(path, &action, err, busy);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| fail(RowError::Sql(err)))?;
        rows::replace(&tx, snapshot, progress).map_err(fail)?;
        tx.commit().map_err(|err| fail(RowError::Sql(err)))
    }

    /// The snapshot of `week`, when recorded.
    pub fn load(&self, week: IsoWeek) -> Result<Option<Snapshot>, CoverageError> {
        rows::load(&self.conn, rows::week_key(week))
            .map_err(|err| self.error(&format!("reading {week}"), err))
    }

    /// The most recent snapshot of a week before `week`.
    pub fn previous(&self, week: IsoWeek) -> Result<Option<Snapshot>, CoverageError> {
        let action = format!("reading the week before {week}");
        let Some(key) = rows::previous_key(&self.conn, rows::week_key(week))
            .map_err(|err| self.error(&action, err))?
        else {
            return Ok(None);
        };
        rows::load(&self.conn, key).map_err(|err| self.error(&action, err))
    }

    /// The recorded weeks among the `weeks` weeks ending with `until`, oldest first.
    pub fn trend(&self, until: IsoWeek, weeks: usize) -> Result<Vec<TrendPoint>, CoverageError> {
        if weeks == 0 {
            return Ok(Vec::new());
        }
        // Bounded so the date arithmetic cannot overflow; far beyond any calendar anyway.
        let back = i64::try_from(weeks - 1).unwrap_or(i64::MAX).min(1_000_000);
        let from = until.offset(-back);
        rows::trend(&self.conn, rows::week_key(from), rows::week_key(until))
            .map_err(|err| self.error(&format!("reading the trend up to {until}"), err))
    }

    /// Every recorded week, oldest first.
    pub fn weeks(&self) -> Result<Vec<IsoWeek>, CoverageError> {
        rows::weeks(&self.conn).map_err(|err| self.error("listing the weeks", err))
    }

    /// Keep the `keep` most recent weeks; returns how many weeks were deleted. `keep` 0
    /// deletes every week. The freed pages are given back to the file system.
    pub fn retain(&mut self, keep: usize) -> Result<usize, CoverageError> {
        let action = format!("keeping the {keep} most recent weeks");
        let (path, busy) = (self.path.as_path(), self.busy);
        let fail = |err: RowError| row_error(path, &action, err, busy);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| fail(RowError::Sql(err)))?;
        let deleted = rows::retain(&tx, keep).map_err(fail)?;
        tx.commit().map_err(|err| fail(RowError::Sql(err)))?;
        if deleted > 0 {
            self.conn
                .execute_batch("PRAGMA incremental_vacuum")
                .map_err(|err| fail(RowError::Sql(err)))?;
        }
        Ok(deleted)
    }

    fn error(&self, action: &str, err: RowError) -> CoverageError {
        row_error(&self.path, action, err, self.busy)
    }
}

fn row_error(path: &Path, action: &str, err: RowError, busy: Duration) -> CoverageError {
    match err {
        RowError::Sql(err) => errors::sqlite(path, action, err, busy),
        RowError::Data(what) => errors::data(path, &format!("{action}: {what}")),
    }
}
