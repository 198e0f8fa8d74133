//! The history: one snapshot per ISO week in an SQLite file (rusqlite, bundled SQLite, WAL).
//! Re-recording a week replaces it in one transaction; the schema is versioned and migrated
//! forward; a corrupt, locked or newer database is a one-line error.

use std::path::Path;

use super::model::{Snapshot, TrendPoint};
use super::{CoverageError, IsoWeek};

/// The default database file, relative to the current directory.
pub const DEFAULT_DB: &str = ".tracegate/coverage.db";

/// An open history database.
pub struct History {
    _private: (),
}

impl History {
    /// Open (creating it and its directory when absent) and migrate `path`.
    pub fn open(path: &Path) -> Result<History, CoverageError> {
        Err(CoverageError::History(format!(
            "{}: history not built yet",
            path.display()
        )))
    }

    /// Record `snapshot`, replacing any earlier snapshot of its week, in one transaction.
    pub fn record(&mut self, snapshot: &Snapshot) -> Result<(), CoverageError> {
        let _ = snapshot;
        Err(CoverageError::History("not built yet".into()))
    }

    /// The snapshot of `week`, when recorded.
    pub fn load(&self, week: IsoWeek) -> Result<Option<Snapshot>, CoverageError> {
        let _ = week;
        Ok(None)
    }

    /// The most recent snapshot of a week before `week`.
    pub fn previous(&self, week: IsoWeek) -> Result<Option<Snapshot>, CoverageError> {
        let _ = week;
        Ok(None)
    }

    /// The recorded weeks among the `weeks` weeks ending with `until`, oldest first.
    pub fn trend(&self, until: IsoWeek, weeks: usize) -> Result<Vec<TrendPoint>, CoverageError> {
        let _ = (until, weeks);
        Ok(Vec::new())
    }

    /// Every recorded week, oldest first.
    pub fn weeks(&self) -> Result<Vec<IsoWeek>, CoverageError> {
        Ok(Vec::new())
    }

    /// Keep the `keep` most recent weeks; returns how many weeks were deleted.
    pub fn retain(&mut self, keep: usize) -> Result<usize, CoverageError> {
        let _ = keep;
        Ok(0)
    }
}
