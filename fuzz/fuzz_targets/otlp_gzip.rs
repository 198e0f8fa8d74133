//! Fuzz gzip + scan together, as the receiver runs them on a `Content-Encoding: gzip` body:
//! the decompressed size never passes the limit, the budgeted decompressor gives the same bytes
//! as the plain one (or refuses for the budget), and the result goes through the scanner.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::bytes::Bytes;
use tracegate::otlp::budget::InflightBudget;
use tracegate::otlp::decode::{gunzip, gunzip_reserved, DecodeError};
use tracegate::otlp::wire;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let plain = gunzip(data, LIMIT);
    let budget = InflightBudget::new(4 * LIMIT);
    let mut reservation = budget.reservation();
    let reserved = gunzip_reserved(data, LIMIT, &mut reservation);
    match (&plain, &reserved) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(DecodeError::TooLarge(_)), Err(DecodeError::TooLarge(_))) => {}
        (Err(DecodeError::Malformed(_)), Err(DecodeError::Malformed(_))) => {}
        (a, b) => panic!("gunzip and gunzip_reserved disagree: {a:?} / {b:?}"),
    }
    drop(reservation);
    assert_eq!(budget.held(), 0, "a reservation was not given back");
    if let Ok(out) = plain {
        assert!(out.len() <= LIMIT);
        let _ = wire::scan(Bytes::from(out));
    }
});
