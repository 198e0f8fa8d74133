//! Reading a file once and turning its bytes into text: a per-thread buffer reused from file
//! to file (no size lookup, no allocation per file), the size limit, UTF-16 with a byte-order
//! mark, binary content, and stray invalid bytes.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use super::MAX_FILE_BYTES;

/// A walk thread's read buffer: its capacity is kept from one file to the next.
#[derive(Default)]
pub(super) struct ReadBuf {
    /// Zero-initialised storage; `len` bytes of it hold the last file read.
    storage: Vec<u8>,
    len: usize,
}

/// Read calls ask for at least this much room (most source files fit in one read).
const MIN_ROOM: usize = 64 * 1024;

impl ReadBuf {
    /// Read the file at `path`: `Ok(None)` with its bytes in [`ReadBuf::bytes`], or
    /// `Ok(Some(size))` when it is over [`MAX_FILE_BYTES`] (only the limit and a byte more are
    /// read; a file that grows while read is refused the same way).
    pub(super) fn read(&mut self, path: &Path) -> std::io::Result<Option<u64>> {
        self.len = 0;
        let mut file = std::fs::File::open(path)?;
        let limit = MAX_FILE_BYTES as usize + 1;
        loop {
            if self.len == self.storage.len() {
                let grown = (self.storage.len() * 2).clamp(MIN_ROOM, limit);
                if grown <= self.storage.len() {
                    break;
                }
                self.storage.resize(grown, 0);
            }
            let room = self.storage.len().min(limit);
            match file.read(&mut self.storage[self.len..room]) {
                Ok(0) => break,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            if self.len >= limit {
                break;
            }
        }
        if self.len > MAX_FILE_BYTES as usize {
            let read = self.len as u64;
            self.len = 0;
            let size = file.metadata().map_or(read, |m| m.len().max(read));
            return Ok(Some(size));
        }
        Ok(None)
    }

    /// The bytes of the last file read.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.storage[..self.len]
    }
}

/// A file's bytes as they are searched: UTF-16 with a byte-order mark decoded to UTF-8, other
/// bytes as they are (not validated: the pre-filter's needles are ASCII, and invalid bytes
/// become U+FFFD only when the file is decoded for parsing, which moves no ASCII byte).
/// A NUL byte does not make a source file binary: appended to a file, it must not hide the
/// file's code from the gate. Each NUL becomes a space (parsers would read it as the end of
/// the input, or refuse the file), which keeps every other byte, line and column in place.
pub(super) fn source_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    match utf16_text(bytes) {
        Some(text) => Cow::Owned(text.replace('\0', " ").into_bytes()),
        None if bytes.contains(&0) => Cow::Owned(
            bytes
                .iter()
                .map(|b| if *b == 0 { b' ' } else { *b })
                .collect(),
        ),
        None => Cow::Borrowed(bytes),
    }
}

/// A file's text. A stray Latin-1 byte (say in a comment) must not hide the whole file's code:
/// invalid bytes become U+FFFD and the rest is analysed (the walk and the deferred parse
/// decode the same way, so the pre-filter never changes a finding).
pub(super) fn decode(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// A file's text, or why it has none: UTF-16 with a byte-order mark (what PowerShell's
/// `pip freeze > requirements.txt` writes) is decoded; other bytes with a NUL are binary.
pub(super) fn text_of(bytes: Vec<u8>) -> Result<String, &'static str> {
    match utf16_text(&bytes) {
        Some(text) => Ok(text),
        None if bytes.contains(&0) => Err("binary content"),
        None => Ok(decode(bytes)),
    }
}

/// UTF-16 text with a byte-order mark, decoded; `None` for anything else.
fn utf16_text(bytes: &[u8]) -> Option<String> {
    let units = |big_endian: bool, body: &[u8]| -> String {
        let units = body.chunks_exact(2).map(|p| {
            if big_endian {
                u16::from_be_bytes([p[0], p[1]])
            } else {
                u16::from_le_bytes([p[0], p[1]])
            }
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    };
    match bytes {
        [0xFF, 0xFE, body @ ..] if body.len() % 2 == 0 => Some(units(false, body)),
        [0xFE, 0xFF, body @ ..] if body.len() % 2 == 0 => Some(units(true, body)),
        _ => None,
    }
}

/// A file's bytes in a buffer of their own, or its size when over `limit` bytes (only the
/// limit and a byte more are read).
pub(super) fn read_up_to(path: &Path, limit: u64) -> std::io::Result<Result<Vec<u8>, u64>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    (&file)
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read > limit {
        return Ok(Err(file.metadata().map_or(read, |m| m.len().max(read))));
    }
    Ok(Ok(bytes))
}

/// A file's bytes, or its size when over [`MAX_FILE_BYTES`] (for files read once, outside
/// the walk).
pub(super) fn read_limited(path: &Path) -> std::io::Result<Result<Vec<u8>, u64>> {
    let mut buf = ReadBuf::default();
    Ok(match buf.read(path)? {
        Some(size) => Err(size),
        None => {
            buf.storage.truncate(buf.len);
            Ok(buf.storage)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_with_a_byte_order_mark_is_text() {
        let mut le = vec![0xFF, 0xFE];
        le.extend("pytest==8.0\r\n".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(text_of(le.clone()).unwrap(), "pytest==8.0\r\n");
        assert_eq!(&*source_bytes(&le), b"pytest==8.0\r\n");
        let mut be = vec![0xFE, 0xFF];
        be.extend("flask".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(text_of(be).unwrap(), "flask");
        assert_eq!(text_of(b"ab\0c".to_vec()), Err("binary content"));
        assert_eq!(&*source_bytes(b"ab\0c\n\0"), b"ab c\n ");
        assert_eq!(text_of(b"caf\xe9".to_vec()).unwrap(), "caf\u{fffd}");
        assert_eq!(&*source_bytes(b"caf\xe9"), b"caf\xe9");
    }

    #[test]
    fn the_buffer_is_reused_and_the_limit_holds() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.go");
        let large = dir.path().join("large.go");
        let limit = MAX_FILE_BYTES as usize;
        std::fs::write(&small, "package main\n").unwrap();
        // Larger than the first read's room, at the limit, and over it.
        let mut buf = ReadBuf::default();
        for len in [MIN_ROOM * 3 + 7, limit] {
            std::fs::write(&large, vec![b'x'; len]).unwrap();
            assert_eq!(buf.read(&large).unwrap(), None);
            assert_eq!(buf.bytes().len(), len);
            assert_eq!(buf.read(&small).unwrap(), None);
            assert_eq!(buf.bytes(), b"package main\n");
        }
        std::fs::write(&large, vec![b'x'; limit + 10]).unwrap();
        assert_eq!(buf.read(&large).unwrap(), Some(limit as u64 + 10));
        assert_eq!(buf.bytes(), b"");
        assert_eq!(read_limited(&large).unwrap(), Err(limit as u64 + 10));
        assert_eq!(
            read_limited(&small).unwrap(),
            Ok(b"package main\n".to_vec())
        );
        assert!(buf.read(&dir.path().join("missing.go")).is_err());
    }
}
