//! Appending to the log, keeping it consistent when a write fails, and compacting it.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::frame::{self, ReadSummary, MAGIC};
use super::{FsyncPolicy, PersistOptions};

/// Where the log's bytes go: the log file, or (in tests) a file that fails like a full disk.
pub trait Sink: Write + Send {
    /// Cut the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Make what was written durable.
    fn sync(&mut self) -> io::Result<()>;
}

impl Sink for File {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)?;
        self.seek(SeekFrom::End(0)).map(drop)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

/// An open log, positioned at its end.
pub struct Log {
    sink: Box<dyn Sink>,
    path: PathBuf,
    dir: PathBuf,
    options: PersistOptions,
    /// Bytes of the log that hold complete records (the file's length when all went well).
    len: u64,
    /// A failed append could not be cut off: do it before the next append.
    needs_cut: bool,
    /// Records written since the last fsync.
    dirty: bool,
    last_sync: Instant,
    /// Compact when the log grows past this.
    compact_at: u64,
}

impl Log {
    /// Open `path` (in `dir`) for appending; call [`Log::finish_load`] once it was read.
    pub(super) fn open(dir: &Path, path: &Path, options: PersistOptions) -> io::Result<Log> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| with_path(path, e))?;
        let len = file.metadata().map_err(|e| with_path(path, e))?.len();
        Ok(Log {
            sink: Box::new(file),
            path: path.to_owned(),
            dir: dir.to_owned(),
            options,
            len,
            needs_cut: false,
            dirty: false,
            last_sync: Instant::now(),
            compact_at: options.max_log_bytes,
        })
    }

    /// After reading the log: cut what follows its last valid record (a torn final record),
    /// and write the magic into an empty log.
    pub fn finish_load(&mut self, summary: &ReadSummary) -> io::Result<()> {
        if self.len <= MAGIC.len() as u64 || summary.good_end < MAGIC.len() as u64 {
            self.sink.set_len(0).map_err(|e| with_path(&self.path, e))?;
            self.len = 0;
            self.append_raw(MAGIC)?;
            return self.sync_now();
        }
        if summary.tail_bytes > 0 && summary.good_end < self.len {
            self.sink
                .set_len(summary.good_end)
                .map_err(|e| with_path(&self.path, e))?;
            self.len = summary.good_end;
        }
        Ok(())
    }

    /// Replace where the bytes go (tests: a sink that fails like a full disk).
    pub fn set_sink(&mut self, sink: Box<dyn Sink>) {
        self.sink = sink;
    }

    /// The log's length in bytes (complete records only).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.len <= MAGIC.len() as u64
    }

    /// Append one batch (an encoded `ExportTraceServiceRequest`) as a record, made durable as
    /// the fsync policy says. On failure, what was written of it is cut off again: the log
    /// holds the record completely or not at all.
    pub fn append(&mut self, payload: &[u8]) -> io::Result<()> {
        let record = frame::frame(payload);
        self.append_raw(&record)?;
        match self.options.fsync {
            FsyncPolicy::Always => self.sync_or_cut(record.len() as u64),
            FsyncPolicy::Batch => {
                self.dirty = true;
                if self.last_sync.elapsed() >= self.options.fsync_interval {
                    // on failure this batch is cut off and refused; the earlier ones stay
                    // dirty and are synced again later
                    self.sync_or_cut(record.len() as u64)?;
                    self.dirty = false;
                }
                Ok(())
            }
            FsyncPolicy::Never => Ok(()),
        }
    }

    /// fsync if records were written since the last one ([`FsyncPolicy::Batch`] calls this on a
    /// timer so an idle log is synced within the interval).
    pub fn sync_if_dirty(&mut self) -> io::Result<()> {
        if self.dirty {
            self.sync_now()?;
        }
        Ok(())
    }

    /// Whether the log grew past the point where it should be compacted.
    pub fn wants_compaction(&self) -> bool {
        self.len > self.compact_at
    }

    /// Rewrite the log with `payloads` only (what the store still holds): written to a
    /// temporary file, synced, renamed over the log, the directory synced. On failure the old
    /// log stays in use.
    pub fn compact(&mut self, payloads: impl Iterator<Item = Vec<u8>>) -> io::Result<()> {
        let tmp = self.dir.join(format!("{}.compact", super::LOG_FILE));
        let written = write_log(&tmp, payloads);
        let len = match written {
            Ok(len) => len,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                // do not try again before the log grew by as much once more
                self.compact_at = self.len.saturating_add(self.options.max_log_bytes / 2);
                return Err(with_path(&tmp, e));
            }
        };
        std::fs::rename(&tmp, &self.path).map_err(|e| with_path(&self.path, e))?;
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| with_path(&self.path, e))?;
        self.sink = Box::new(file);
        self.len = len;
        self.needs_cut = false;
        self.dirty = false;
        self.last_sync = Instant::now();
        // a store that holds more than half the bound would compact at every append
        self.compact_at = self
            .options
            .max_log_bytes
            .max(len.saturating_add(self.options.max_log_bytes / 2));
        Ok(())
    }

    fn append_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.needs_cut {
            self.sink
                .set_len(self.len)
                .map_err(|e| with_path(&self.path, e))?;
            self.needs_cut = false;
        }
        if let Err(e) = self.sink.write_all(bytes).and_then(|()| self.sink.flush()) {
            self.cut_back();
            return Err(with_path(&self.path, e));
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// fsync the record of `record_len` bytes just appended; on failure cut it off.
    fn sync_or_cut(&mut self, record_len: u64) -> io::Result<()> {
        if let Err(e) = self.sink.sync() {
            self.len -= record_len;
            self.cut_back();
            return Err(with_path(&self.path, e));
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    fn sync_now(&mut self) -> io::Result<()> {
        self.sink.sync().map_err(|e| with_path(&self.path, e))?;
        self.dirty = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Cut the file back to its last complete record; if that fails too, before the next
    /// append.
    fn cut_back(&mut self) {
        if self.sink.set_len(self.len).is_err() {
            self.needs_cut = true;
        }
    }
}

/// Write a whole format-2 log to `path` and fsync it; returns its length.
fn write_log(path: &Path, payloads: impl Iterator<Item = Vec<u8>>) -> io::Result<u64> {
    let file = File::create(path)?;
    let mut out = io::BufWriter::with_capacity(1 << 20, file);
    out.write_all(MAGIC)?;
    let mut len = MAGIC.len() as u64;
    for payload in payloads {
        let record = frame::frame(&payload);
        out.write_all(&record)?;
        len += record.len() as u64;
    }
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    Ok(len)
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
