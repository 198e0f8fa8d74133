//! The on-disk trace store: one append-only log of accepted export batches.
//!
//! `DIR/traces.log` starts with the 8-byte magic `TGTRACE1`, then one record per accepted
//! batch: payload length (u32 LE), CRC-32 of the payload (u32 LE), payload (the accepted spans
//! as a protobuf `ExportTraceServiceRequest`). Each record is written with one `write` before
//! the export is answered, so a killed process loses at most the batch being written. On
//! load, a torn or corrupt tail (short header, short payload, checksum or decode failure) is
//! skipped and truncated away so later appends stay readable.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use prost::bytes::Bytes;

use super::wire::{self, Batch};

/// File name of the log inside the store directory.
pub const LOG_FILE: &str = "traces.log";
const MAGIC: &[u8; 8] = b"TGTRACE1";
const MAX_RECORD: usize = 1 << 30;

/// An open log, positioned at its end.
pub struct Log {
    file: File,
    path: PathBuf,
}

impl Log {
    /// Append one record made by [`record`].
    pub fn append(&mut self, record: &[u8]) -> io::Result<()> {
        self.file
            .write_all(record)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))
    }
}

/// An encoded `ExportTraceServiceRequest` as one log record: header and payload.
pub fn record(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    let mut crc = flate2::Crc::new();
    crc.update(payload);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Open (or create) the log in `dir`: the batches it holds, and how many bytes of a torn
/// tail were skipped.
pub fn open(dir: &Path) -> io::Result<(Log, Vec<Batch>, u64)> {
    not_a_directory(dir)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    let path = dir.join(LOG_FILE);
    let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(with_path)?;
    let mut data = Vec::new();
    file.read_to_end(&mut data).map_err(with_path)?;
    let (batches, good_len) = if data.len() < MAGIC.len() {
        if !MAGIC.starts_with(&data) {
            return Err(not_a_store(&path));
        }
        (Vec::new(), 0)
    } else if &data[..MAGIC.len()] != MAGIC {
        return Err(not_a_store(&path));
    } else {
        read_records(&data)
    };
    let skipped = (data.len() - good_len) as u64;
    if skipped > 0 {
        file.set_len(good_len as u64).map_err(with_path)?;
        file.seek(SeekFrom::End(0)).map_err(with_path)?;
    }
    if good_len == 0 {
        file.write_all(MAGIC).map_err(with_path)?;
    }
    Ok((Log { file, path }, batches, skipped))
}

/// Read the log in `dir` without modifying it (a reader beside a running `collect`): the
/// batches of its valid prefix, and the length of the tail it ignored.
pub fn read(dir: &Path) -> io::Result<(Vec<Batch>, u64)> {
    not_a_directory(dir)?;
    if !dir.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: no such directory", dir.display()),
        ));
    }
    let path = dir.join(LOG_FILE);
    let data = std::fs::read(&path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{}: {e} (is it a tracegate store?)", path.display()),
        )
    })?;
    if data.len() < MAGIC.len() {
        if MAGIC.starts_with(&data) {
            return Ok((Vec::new(), data.len() as u64));
        }
        return Err(not_a_store(&path));
    }
    if &data[..MAGIC.len()] != MAGIC {
        return Err(not_a_store(&path));
    }
    let (batches, good_len) = read_records(&data);
    Ok((batches, (data.len() - good_len) as u64))
}

/// Parse records after the magic; returns them and the length of the valid prefix.
fn read_records(data: &[u8]) -> (Vec<Batch>, usize) {
    let mut batches = Vec::new();
    let mut pos = MAGIC.len();
    while data.len() - pos >= 8 {
        let len =
            u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let sum = u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]]);
        if len > MAX_RECORD || data.len() - pos - 8 < len {
            break;
        }
        let payload = &data[pos + 8..pos + 8 + len];
        let mut crc = flate2::Crc::new();
        crc.update(payload);
        if crc.sum() != sum {
            break;
        }
        let Ok(batch) = wire::scan(Bytes::copy_from_slice(payload)) else {
            break;
        };
        batches.push(batch);
        pos += 8 + len;
    }
    (batches, pos)
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
