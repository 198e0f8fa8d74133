//! Fuzz `TraceParent::parse_bytes`: never panics, and whatever it accepts formats to a
//! version-00 value that parses back to the same IDs with the known flag bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracegate::propagation::{TraceFlags, TraceParent, TRACEPARENT_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = TraceParent::parse_bytes(data) else {
        return;
    };
    // Accepted input is at least 55 bytes once spaces and tabs are trimmed.
    let trimmed = data
        .iter()
        .filter(|&&b| b != b' ' && b != b'\t')
        .count();
    assert!(trimmed >= TRACEPARENT_LEN);
    let out = parsed.to_header_value();
    assert_eq!(out.len(), TRACEPARENT_LEN);
    assert!(out.starts_with("00-"));
    assert!(out.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-')));
    let again = TraceParent::parse(&out).expect("formatted traceparent must parse");
    assert_eq!(again.trace_id, parsed.trace_id);
    assert_eq!(again.parent_id, parsed.parent_id);
    assert_eq!(again.flags.bits(), parsed.flags.bits() & TraceFlags::KNOWN_MASK);
});
