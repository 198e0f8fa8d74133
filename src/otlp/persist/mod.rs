//! The on-disk trace store: one append-only log of accepted export batches, compacted when it
//! grows past a bound.
//!
//! `DIR/traces.log` starts with the 8-byte magic `TGTRACE2`, then one framed record per
//! accepted batch (see [`frame`]: marker, length, header and payload checksums, payload: the
//! accepted spans as a protobuf `ExportTraceServiceRequest`). A record is written with one
//! `write` before the export is answered and made durable according to the [`FsyncPolicy`].
//!
//! * A damaged record in the middle of the log costs only that record: the reader scans to
//!   the next valid frame. The file is not truncated for it (a compaction drops it later).
//! * What follows the last valid record (a torn final record: a write cut short by a crash)
//!   is truncated by a writer ([`open`]) so later appends stay readable; a read-only reader
//!   ([`read`]) skips it.
//! * A failed append (disk full, short write) is cut back off (`set_len` to the length before
//!   it) so no partial record stays mid-file; the batch is refused.
//! * A format-1 log (`TGTRACE1`, earlier tracegate) is read, and rewritten in format 2 by a
//!   writer.
//! * The log is read one record at a time, never whole.

pub mod frame;
mod log;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use prost::bytes::Bytes;

pub use self::frame::ReadSummary;
use self::frame::{FrameReader, Version, MAGIC, MAGIC_V1};
pub use self::log::{Log, Sink};
use super::wire::{self, Batch};

/// File name of the log inside the store directory.
pub const LOG_FILE: &str = "traces.log";

/// When an appended record is made durable (`fsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FsyncPolicy {
    /// Before each export is answered: a 200 survives a power loss.
    #[default]
    Always,
    /// At most every [`PersistOptions::fsync_interval`] (group commit): a 200 survives a
    /// crash of the process at once, a power loss once the next fsync ran.
    Batch,
    /// Never explicitly: the operating system writes back when it decides.
    Never,
}

/// How a persisted store writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersistOptions {
    pub fsync: FsyncPolicy,
    /// Longest time between fsyncs with [`FsyncPolicy::Batch`].
    pub fsync_interval: Duration,
    /// The log is compacted (rewritten with only what memory holds) when it grows past this.
    pub max_log_bytes: u64,
}

impl Default for PersistOptions {
    fn default() -> Self {
        PersistOptions {
            fsync: FsyncPolicy::default(),
            fsync_interval: Duration::from_millis(100),
            max_log_bytes: 1 << 30,
        }
    }
}

/// A log opened for reading, record by record.
pub struct Records {
    reader: Option<FrameReader<File>>,
    version: Version,
    /// Batches whose payload passed its checksum but is not a valid request.
    undecodable: usize,
}

impl Records {
    /// The next batch, `None` at the end.
    pub fn next_batch(&mut self) -> io::Result<Option<Batch>> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        while let Some(payload) = reader.next_record()? {
            match wire::scan(Bytes::from(payload)) {
                Ok(batch) => return Ok(Some(batch)),
                Err(_) => self.undecodable += 1,
            }
        }
        Ok(None)
    }

    /// What the reading found (complete once [`Records::next_batch`] returned `None`).
    pub fn summary(&self) -> ReadSummary {
        let mut summary = self
            .reader
            .as_ref()
            .map(FrameReader::summary)
            .unwrap_or_default();
        summary.damaged_records += self.undecodable;
        summary
    }

    /// Whether the log is in the older format 1.
    pub fn is_v1(&self) -> bool {
        self.version == Version::V1
    }
}

/// Open the log in `dir` for reading (creating nothing): its records, one at a time. A
/// missing or empty log has none.
fn records(path: &Path) -> io::Result<Records> {
    let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Records {
                reader: None,
                version: Version::V2,
                undecodable: 0,
            })
        }
        Err(e) => return Err(with_path(e)),
    };
    let mut magic = Vec::with_capacity(MAGIC.len());
    (&mut file)
        .take(MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .map_err(with_path)?;
    let version = if magic.as_slice() == MAGIC {
        Version::V2
    } else if magic.as_slice() == MAGIC_V1 {
        Version::V1
    } else if MAGIC.starts_with(&magic) {
        // empty, or a magic cut short: nothing stored yet
        return Ok(Records {
            reader: None,
            version: Version::V2,
            undecodable: 0,
        });
    } else {
        return Err(not_a_store(path));
    };
    Ok(Records {
        reader: Some(FrameReader::new(file, version)),
        version,
        undecodable: 0,
    })
}

/// Open (or create) the log in `dir` for appending, and a reader over what it holds. The
/// caller reads every record, then calls [`Log::finish_load`] (which truncates a torn tail).
pub fn open(dir: &Path, options: PersistOptions) -> io::Result<(Log, Records)> {
    not_a_directory(dir)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    let path = dir.join(LOG_FILE);
    let records = records(&path)?;
    let log = Log::open(dir, &path, options)?;
    Ok((log, records))
}

/// Read the log in `dir` without modifying it (a reader beside a running `collect`).
pub fn read(dir: &Path) -> io::Result<Records> {
    not_a_directory(dir)?;
    if !dir.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: no such directory", dir.display()),
        ));
    }
    let path = dir.join(LOG_FILE);
    if !path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{}: no such file (is it a tracegate store?)",
                path.display()
            ),
        ));
    }
    records(&path)
}

/// An error when `dir` exists but is not a directory (a store is a directory).
fn not_a_directory(dir: &Path) -> io::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: not a directory (a store is a directory)",
                dir.display()
            ),
        )),
        _ => Ok(()),
    }
}

fn not_a_store(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{}: not a tracegate trace store (bad magic)",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests;
