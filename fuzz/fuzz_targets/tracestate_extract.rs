//! Fuzz `TraceState::parse_all` and `extract()`: the input is split on `\n` into header
//! lines `name:value`. Never panics; an accepted tracestate round-trips through its header
//! value, has at most 32 members and no duplicated key; extract + inject always emits exactly
//! one valid version-00 traceparent.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tracegate::propagation::{extract, Decision, TraceParent, TraceState};

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();

    // The raw lines as tracestate header values.
    if let Ok(state) = TraceState::parse_all(lines.iter().copied()) {
        let header = state.to_header_value();
        let again = TraceState::parse(&header).expect("canonical tracestate must parse");
        assert_eq!(again, state);
        assert!(state.len() <= 32);
        // Duplicated keys keep their first entry only.
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in state.iter() {
            assert!(!seen.contains(&key), "duplicate key {key:?} kept");
            assert_eq!(state.get(key), Some(value));
            seen.push(key);
        }
    }

    // The lines as `name:value` headers of a request.
    let mut headers = HeaderMap::new();
    for line in &lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(&line[colon + 1..]),
        ) {
            headers.append(name, value);
        }
    }
    let incoming = extract(&headers);
    if incoming.decision != Decision::Preserved {
        assert!(incoming.context.state.is_empty());
    }
    let mut out = HeaderMap::new();
    incoming.context.child().inject(&mut out);
    assert_eq!(out.get_all("traceparent").iter().count(), 1);
    let sent = TraceParent::parse_bytes(out["traceparent"].as_bytes()).expect("valid");
    assert_eq!(sent.trace_id, incoming.context.trace_id);
    if let Some(state) = out.get("tracestate") {
        assert!(TraceState::parse_all([state.as_bytes()]).is_ok());
    }
});
