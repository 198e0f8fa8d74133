//! Log records: how one is framed, and a streaming reader that resynchronises after a
//! damaged one.
//!
//! Format 2 (`TGTRACE2`): each record is
//! `marker (4) | payload length (u32 LE) | CRC-32 of marker and length (u32 LE) |
//! CRC-32 of the payload (u32 LE) | payload`. A reader that meets a record whose header or
//! payload does not verify scans forward, byte by byte, to the next marker whose header and
//! payload both verify: only the damaged record is lost.
//!
//! Format 1 (`TGTRACE1`, tracegate before format 2): `length | CRC-32 | payload`, no marker;
//! a damaged record ends what can be read.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

/// Magic of format 2, at the start of the file.
pub const MAGIC: &[u8; 8] = b"TGTRACE2";
/// Magic of format 1 (read, then rewritten as format 2 by a writer).
pub const MAGIC_V1: &[u8; 8] = b"TGTRACE1";
/// Start of every format-2 record. Its first byte does not occur again in it, so a naive scan
/// for it finds every occurrence.
pub const MARKER: [u8; 4] = [0xA7, b'T', b'G', b'R'];
/// Bytes before a format-2 payload.
pub const HEADER: usize = 16;
/// Largest payload a header may announce.
pub const MAX_RECORD: usize = 1 << 30;

/// Which format a log is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// `payload` framed as one format-2 record.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&len.to_le_bytes());
    let header_sum = crc32(&out);
    out.extend_from_slice(&header_sum.to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// What reading a whole log found, besides its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Bytes of damaged records skipped before the last valid record (left in the file).
    pub damaged_bytes: u64,
    /// Damaged regions skipped before the last valid record.
    pub damaged_records: usize,
    /// End of the last valid record (or of the magic): what follows holds no valid record.
    pub good_end: u64,
    /// Bytes after `good_end`: a torn final record (a write cut short), or damage at the end.
    pub tail_bytes: u64,
}

/// Reads records one at a time from a log positioned just after its magic.
pub struct FrameReader<R> {
    src: BufReader<R>,
    version: Version,
    /// Offset of the next unread byte.
    pos: u64,
    /// Where the damaged region being skipped began, if one is.
    damaged_since: Option<u64>,
    summary: ReadSummary,
    done: bool,
}

impl<R: Read + Seek> FrameReader<R> {
    /// A reader over `src`, positioned after the magic of a log in `version`.
    pub fn new(src: R, version: Version) -> FrameReader<R> {
        let start = MAGIC.len() as u64;
        FrameReader {
            src: BufReader::with_capacity(256 * 1024, src),
            version,
            pos: start,
            damaged_since: None,
            summary: ReadSummary {
                good_end: start,
                ..ReadSummary::default()
            },
            done: false,
        }
    }

    /// What was found so far (everything, once [`FrameReader::next_record`] returned `None`).
    pub fn summary(&self) -> ReadSummary {
        self.summary
    }

    /// The next valid record's payload, `None` at the end of the log.
    pub fn next_record(&mut self) -> io::Result<Option<Vec<u8>>> {
        while !self.done {
            let found = match self.version {
                Version::V2 => self.try_v2()?,
                Version::V1 => self.try_v1()?,
            };
            if let Some(payload) = found {
                return Ok(Some(payload));
            }
        }
        Ok(None)
    }

    /// Try to read a format-2 record at `pos`; on damage, move to the next marker.
    fn try_v2(&mut self) -> io::Result<Option<Vec<u8>>> {
        let start = self.pos;
        let mut header = [0u8; HEADER];
        let got = self.read_up_to(&mut header)?;
        if got < HEADER {
            return self.end(start + got as u64);
        }
        let len = le32(&header[4..8]) as usize;
        let verified = header[..4] == MARKER && crc32(&header[..8]) == le32(&header[8..12]);
        if verified && len <= MAX_RECORD {
            let mut payload = Vec::with_capacity(len.min(1 << 20));
            let got = (&mut self.src).take(len as u64).read_to_end(&mut payload)?;
            self.pos += got as u64;
            if got < len {
                // a verified header announcing more than the file holds: a torn final record
                return self.end(self.pos);
            }
            if crc32(&payload) == le32(&header[12..16]) {
                self.good_record(start);
                return Ok(Some(payload));
            }
        }
        self.damaged(start);
        self.resync(start)?;
        Ok(None)
    }

    /// Try to read a format-1 record at `pos`; damage ends the log.
    fn try_v1(&mut self) -> io::Result<Option<Vec<u8>>> {
        let start = self.pos;
        let mut header = [0u8; 8];
        let got = self.read_up_to(&mut header)?;
        if got < header.len() {
            return self.end(start + got as u64);
        }
        let len = le32(&header[..4]) as usize;
        if len <= MAX_RECORD {
            let mut payload = Vec::with_capacity(len.min(1 << 20));
            let got = (&mut self.src).take(len as u64).read_to_end(&mut payload)?;
            self.pos += got as u64;
            if got == len && crc32(&payload) == le32(&header[4..]) {
                self.good_record(start);
                return Ok(Some(payload));
            }
        }
        // format 1 has no marker to resynchronise on: the rest is the tail
        let rest = io::copy(&mut self.src, &mut io::sink())?;
        self.damaged(start);
        self.end(self.pos + rest)
    }

    /// A valid record began at `start` and ends at `pos`.
    fn good_record(&mut self, start: u64) {
        if let Some(since) = self.damaged_since.take() {
            self.summary.damaged_bytes += start - since;
            self.summary.damaged_records += 1;
        }
        self.summary.good_end = self.pos;
    }

    /// The bytes from `start` do not hold a valid record.
    fn damaged(&mut self, start: u64) {
        if self.damaged_since.is_none() {
            self.damaged_since = Some(start);
        }
    }

    /// The log ends at `end`.
    fn end(&mut self, end: u64) -> io::Result<Option<Vec<u8>>> {
        self.done = true;
        self.damaged_since = None;
        self.summary.tail_bytes = end - self.summary.good_end;
        Ok(None)
    }

    /// Move to the next marker after `tried`, the start of the record that just failed (or to
    /// the end). Not after the start of the whole damaged region: a marker inside it that was
    /// already tried would be found again, forever.
    fn resync(&mut self, tried: u64) -> io::Result<()> {
        self.pos = tried + 1;
        self.src.seek(SeekFrom::Start(self.pos))?;
        loop {
            let buf = self.src.fill_buf()?;
            if buf.is_empty() {
                self.done = true;
                self.summary.tail_bytes = self.pos - self.summary.good_end;
                self.damaged_since = None;
                return Ok(());
            }
            match buf.iter().position(|&b| b == MARKER[0]) {
                Some(i) => {
                    self.src.consume(i);
                    self.pos += i as u64;
                    if self.marker_here()? {
                        return Ok(());
                    }
                    // not `consume(1)`: a look across the buffer's end seeks, which empties
                    // the buffer, and consuming from an empty buffer does nothing
                    self.src.seek_relative(1)?;
                    self.pos += 1;
                }
                None => {
                    let n = buf.len();
                    self.src.consume(n);
                    self.pos += n as u64;
                }
            }
        }
    }

    /// Whether the full marker starts at `pos` (the reader stays at `pos`).
    fn marker_here(&mut self) -> io::Result<bool> {
        if self.src.buffer().len() < MARKER.len() {
            // the marker may straddle the buffer's end: look with a seek
            let mut probe = [0u8; 4];
            let got = self.read_up_to(&mut probe)?;
            self.pos -= got as u64;
            self.src.seek(SeekFrom::Start(self.pos))?;
            return Ok(got == MARKER.len() && probe == MARKER);
        }
        Ok(self.src.buffer()[..MARKER.len()] == MARKER)
    }

    /// Read as much of `buf` as the file holds, advancing `pos`.
    fn read_up_to(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.src.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pos += got as u64;
        Ok(got)
    }
}
