//! Fuzz the `collect --store` log reader (`tracegate::otlp::persist::frame::FrameReader`), the
//! code that reads a file left by a crash, a full disk or a flipped bit:
//! - raw mode (first byte ≥ 0x80): any bytes after the magic; never a panic, and what it
//!   reports adds up (every byte is either before `good_end` or in the tail);
//! - damage mode: up to 8 payloads from the input are framed as the writer frames them, one
//!   byte of the log is changed, and every record whose frame does not hold that byte must still
//!   be read back, in order (only the damaged record is lost).
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use tracegate::otlp::persist::frame::{frame, FrameReader, Version, MAGIC};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode >= 0x80 {
        let mut log = MAGIC.to_vec();
        log.extend_from_slice(rest);
        let total = log.len() as u64;
        let mut reader = FrameReader::new(after_magic(log), Version::V2);
        while let Ok(Some(_)) = reader.next_record() {}
        let summary = reader.summary();
        assert!(summary.good_end <= total);
        assert_eq!(summary.good_end + summary.tail_bytes, total);
        return;
    }
    if rest.len() < 3 {
        return;
    }
    let count = usize::from(mode % 8) + 1;
    let flip_at = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
    let xor = rest[2] | 1;
    let body = &rest[3..];
    let size = body.len() / count;
    let payloads: Vec<&[u8]> = (0..count).map(|i| &body[i * size..(i + 1) * size]).collect();
    let mut log = MAGIC.to_vec();
    let mut spans = Vec::new();
    for payload in &payloads {
        let start = log.len();
        log.extend_from_slice(&frame(payload));
        spans.push(start..log.len());
    }
    let records_end = log.len();
    let at = MAGIC.len() + flip_at % (records_end - MAGIC.len());
    log[at] ^= xor;
    let mut reader = FrameReader::new(after_magic(log), Version::V2);
    let mut read = Vec::new();
    while let Some(record) = reader.next_record().expect("reading from memory cannot fail") {
        read.push(record);
    }
    // every undamaged payload is read back, in order (a damaged one may reveal a record framed
    // inside its payload, so extra records are allowed between them)
    let mut next = read.iter();
    for (payload, span) in payloads.iter().zip(&spans) {
        if span.contains(&at) {
            continue;
        }
        assert!(
            next.any(|r| r.as_slice() == *payload),
            "an undamaged record was lost (damage at byte {at}, record at {span:?})"
        );
    }
});

/// The log as a reader positioned after its magic, as `FrameReader::new` expects.
fn after_magic(log: Vec<u8>) -> Cursor<Vec<u8>> {
    let mut cursor = Cursor::new(log);
    cursor.set_position(MAGIC.len() as u64);
    cursor
}
