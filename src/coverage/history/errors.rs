//! One-line errors naming the database file: SQLite's error codes said in words, and a check
//! of the file's header before SQLite opens it (a file that is not SQLite at all, or one
//! truncated in the middle of a page, is refused before anything is written to it).

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::ErrorCode;

use crate::coverage::CoverageError;

/// How long a write waits for another process's write transaction before giving up.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const RESTORE: &str = "restore it from a backup or move it away to start a new history";

/// `path: action: what went wrong`, on one line; `waited` is the busy timeout a locked
/// database was waited for.
pub(super) fn sqlite(
    path: &Path,
    action: &str,
    err: rusqlite::Error,
    waited: Duration,
) -> CoverageError {
    let detail = match &err {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        other => other.to_string(),
    };
    let what = match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => format!(
            "locked by another process (waited {} ms); try again when it has finished",
            waited.as_millis()
        ),
        Some(ErrorCode::NotADatabase) => "not an SQLite database".to_string(),
        Some(ErrorCode::DatabaseCorrupt) => format!("corrupt database ({detail}); {RESTORE}"),
        Some(ErrorCode::ReadOnly) => format!("cannot write to it ({detail})"),
        Some(ErrorCode::CannotOpen) => format!("cannot open it ({detail})"),
        Some(ErrorCode::DiskFull) => "the disk is full".to_string(),
        Some(ErrorCode::SystemIoFailure) => format!("input/output error ({detail})"),
        _ => detail,
    };
    one_line(format!("{}: {action}: {what}", path.display()))
}

/// A problem with the stored data itself (a value no tracegate writes).
pub(super) fn data(path: &Path, what: &str) -> CoverageError {
    one_line(format!("{}: {what}; {RESTORE}", path.display()))
}

fn one_line(message: String) -> CoverageError {
    CoverageError::History(message.replace(['\n', '\r'], " "))
}

/// Refuse, before SQLite opens it, a `path` that exists and is not a usable SQLite file: a
/// directory, a file that does not start with the SQLite header, or one whose size says it
/// was truncated (not a whole number of pages, or fewer pages than its header counts while no
/// write-ahead log holds the rest). An absent or empty file is a new history.
pub(super) fn check_file(path: &Path) -> Result<(), CoverageError> {
    let refuse = |why: String| Err(one_line(format!("{}: {why}", path.display())));
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
        Err(err) => return refuse(format!("cannot read it: {err}")),
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(err) => return refuse(format!("cannot read it: {err}")),
    };
    if meta.is_dir() {
        return refuse("is a directory, not a history database file".to_string());
    }
    let len = meta.len();
    if len == 0 {
        return Ok(());
    }
    let mut header = [0u8; 100];
    if file.read_exact(&mut header).is_err() || &header[..16] != SQLITE_MAGIC {
        return refuse("not an SQLite database (it does not start with the SQLite header)".into());
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        size => u64::from(size),
    };
    if page_size < 512 || !page_size.is_power_of_two() {
        return refuse(format!(
            "corrupt database (page size {page_size} in its header); {RESTORE}"
        ));
    }
    if len % page_size != 0 {
        return refuse(format!(
            "corrupt database (truncated in the middle of a page: {len} bytes, pages of \
             {page_size}); {RESTORE}"
        ));
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let (pages, change_counter, valid_for) = (be32(28), be32(24), be32(92));
    // The header's page count is trusted by SQLite only when written by the same change.
    let counted = u64::from(pages) * page_size;
    if valid_for == change_counter && pages > 0 && len < counted && wal_is_empty(path) {
        return refuse(format!(
            "corrupt database (truncated: {len} bytes, its header counts {pages} pages of \
             {page_size}); {RESTORE}"
        ));
    }
    Ok(())
}

/// Whether `path`'s write-ahead log is absent or empty (then the file alone is the database).
fn wal_is_empty(path: &Path) -> bool {
    let mut wal = PathBuf::from(path.as_os_str());
    wal.as_mut_os_string().push("-wal");
    std::fs::metadata(&wal).map_or(true, |meta| meta.len() == 0)
}
