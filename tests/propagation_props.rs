//! Property tests of the W3C core: formatting then parsing gives back the same value, and no
//! input (arbitrary bytes, strings, header maps, metadata maps) makes the parsers panic.
#![cfg(feature = "propagation")]
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use tracegate::propagation::{
    extract, extract_metadata, Decision, GenerateReason, SpanId, TraceFlags, TraceId, TraceParent,
    TraceParentError, TraceState, MAX_MEMBERS,
};

fn trace_id() -> impl Strategy<Value = TraceId> {
    any::<u128>().prop_filter_map("all-zero trace id", |v| {
        TraceId::from_bytes(v.to_be_bytes())
    })
}

fn span_id() -> impl Strategy<Value = SpanId> {
    any::<u64>().prop_filter_map("all-zero span id", |v| SpanId::from_bytes(v.to_be_bytes()))
}

fn traceparent() -> impl Strategy<Value = TraceParent> {
    (trace_id(), span_id(), any::<u8>()).prop_map(|(trace_id, parent_id, flags)| TraceParent {
        trace_id,
        parent_id,
        flags: TraceFlags::new(flags),
    })
}

/// A valid key: `( lcalpha / DIGIT ) 0*255 ( keychar )`, `@` anywhere after the first
/// character; short keys from a small alphabet, so that duplicates are frequent.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9][a-z0-9_*/@-]{0,24}",
        "[a-z0-9][a-z0-9_*/-]{0,12}@[a-z][a-z0-9_*/-]{0,13}",
        "[ab0][ab@]{0,2}",
    ]
}

/// A valid value: printable ASCII but `,` and `=`, not ending in a space.
fn value() -> impl Strategy<Value = String> {
    "[ !-+\\--<>-~]{0,24}[!-+\\--<>-~]"
}

/// Up to 32 members with distinct keys, in order.
fn members() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((key(), value()), 0..=MAX_MEMBERS).prop_map(|pairs| {
        let mut seen = std::collections::HashSet::new();
        pairs
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect()
    })
}

fn join(members: &[(String, String)]) -> String {
    members
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Header names an attacker or a confused client might send, plus arbitrary valid names.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("traceparent".to_owned()),
        Just("TraceParent".to_owned()),
        Just("tracestate".to_owned()),
        Just("TRACESTATE".to_owned()),
        Just("trace-parent".to_owned()),
        "[a-zA-Z0-9-]{1,16}",
    ]
}

/// Header values: near-valid traceparents and tracestates, and arbitrary bytes.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        traceparent().prop_map(|tp| tp.to_header_value().into_bytes()),
        (traceparent(), any::<u8>(), 0usize..60).prop_map(|(tp, byte, at)| {
            let mut value = tp.to_header_value().into_bytes();
            value[at % 55] = byte;
            value
        }),
        members().prop_map(|m| join(&m).into_bytes()),
        prop::collection::vec(any::<u8>(), 0..120),
    ]
}

fn header_map(pairs: &[(String, Vec<u8>)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// parse(format(x)) == x, with the flags masked to the known bits.
    #[test]
    fn traceparent_round_trips(tp in traceparent()) {
        let header = tp.to_header_value();
        prop_assert_eq!(header.len(), 55);
        let parsed = TraceParent::parse(&header).unwrap();
        prop_assert_eq!(parsed.trace_id, tp.trace_id);
        prop_assert_eq!(parsed.parent_id, tp.parent_id);
        prop_assert_eq!(parsed.flags.bits(), tp.flags.bits() & TraceFlags::KNOWN_MASK);
        let masked = TraceParent { flags: TraceFlags::new(tp.flags.outgoing()), ..tp };
        prop_assert_eq!(TraceParent::parse(&masked.to_header_value()).unwrap(), masked);
    }

    /// A higher version (01..=fe) with anything after a '-' carries the same fields.
    #[test]
    fn higher_versions_parse_their_first_fields(
        tp in traceparent(),
        version in 1u8..=0xfe,
        suffix in "(-[ -~]{0,40})?",
    ) {
        let header = format!("{version:02x}{}{suffix}", &tp.to_header_value()[2..]);
        let parsed = TraceParent::parse(&header).unwrap();
        prop_assert_eq!(parsed.trace_id, tp.trace_id);
        prop_assert_eq!(parsed.parent_id, tp.parent_id);
        prop_assert!(parsed.to_header_value().starts_with("00-"));
    }

    /// Any uppercase hex digit makes a valid traceparent invalid.
    #[test]
    fn uppercase_is_rejected(tp in traceparent(), pick in any::<prop::sample::Index>()) {
        let header = tp.to_header_value();
        let letters: Vec<usize> = header
            .char_indices()
            .filter(|(_, c)| c.is_ascii_lowercase())
            .map(|(i, _)| i)
            .collect();
        prop_assume!(!letters.is_empty());
        let at = letters[pick.index(letters.len())];
        let upper: String = header
            .char_indices()
            .map(|(i, c)| if i == at { c.to_ascii_uppercase() } else { c })
            .collect();
        prop_assert!(TraceParent::parse(&upper).is_err(), "{} accepted", upper);
    }

    /// parse(format(x)) == x for valid tracestates, whether sent as one header or split over
    /// several with optional whitespace and empty members.
    #[test]
    fn tracestate_round_trips(members in members(), split in any::<prop::sample::Index>()) {
        let header = join(&members);
        let state = TraceState::parse(&header).unwrap();
        prop_assert_eq!(state.len(), members.len());
        let listed: Vec<(String, String)> =
            state.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        prop_assert_eq!(&listed, &members);
        prop_assert_eq!(state.to_header_value(), header.clone());
        prop_assert_eq!(TraceState::parse(&state.to_header_value()).unwrap(), state.clone());

        let parts: Vec<String> = members.iter().map(|(k, v)| format!(" \t{k}={v}\t ,")).collect();
        let at = if parts.is_empty() { 0 } else { split.index(parts.len() + 1) };
        let (first, second) = parts.split_at(at);
        let headers = [first.concat(), format!(",,{}", second.concat())];
        let joined = TraceState::parse_all(headers.iter().map(|h| h.as_bytes())).unwrap();
        prop_assert_eq!(joined, state);
    }

    /// Any list of valid members, duplicates and more than 32 included, parses to its first
    /// entry per key, at most 32 of them, in order (the model: a linear first-wins pass).
    #[test]
    fn tracestate_keeps_first_entries_up_to_32(
        pairs in prop::collection::vec((key(), value()), 0..80),
        split in any::<prop::sample::Index>(),
    ) {
        let mut seen = std::collections::HashSet::new();
        let expected: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .take(MAX_MEMBERS)
            .cloned()
            .collect();
        let at = split.index(pairs.len() + 1);
        let headers = [join(&pairs[..at]), join(&pairs[at..])];
        let state = TraceState::parse_all(headers.iter().map(|h| h.as_bytes())).unwrap();
        let listed: Vec<(String, String)> =
            state.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        prop_assert_eq!(&listed, &expected);
        prop_assert_eq!(state.to_header_value(), join(&expected));
    }

    /// Updating a member moves it left; the list never exceeds 32 members.
    #[test]
    fn insert_keeps_invariants(members in members(), k in key(), v in value()) {
        let mut state = TraceState::parse(&join(&members)).unwrap();
        state.insert(&k, &v).unwrap();
        prop_assert_eq!(state.iter().next(), Some((k.as_str(), v.as_str())));
        prop_assert!(state.len() <= MAX_MEMBERS);
        prop_assert_eq!(state.iter().filter(|(key, _)| *key == k).count(), 1);
        prop_assert_eq!(TraceState::parse(&state.to_header_value()).unwrap(), state);
    }

    #[test]
    fn traceparent_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = TraceParent::parse_bytes(&bytes);
    }

    #[test]
    fn traceparent_str_never_panics(s in "\\PC{0,80}") {
        let _ = TraceParent::parse(&s);
    }

    #[test]
    fn tracestate_never_panics(values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 0..5)) {
        if let Ok(state) = TraceState::parse_all(values.iter().map(Vec::as_slice)) {
            prop_assert!(state.len() <= MAX_MEMBERS);
            prop_assert_eq!(TraceState::parse(&state.to_header_value()).unwrap(), state);
        }
    }

    #[test]
    fn tracestate_str_never_panics(s in "[ -~\\t]{0,200}") {
        let _ = TraceState::parse(&s);
    }

    /// extract() on arbitrary header maps never panics, preserves exactly when there is one
    /// valid traceparent, and always yields an injectable context.
    #[test]
    fn extract_never_panics(pairs in prop::collection::vec((header_name(), header_value()), 0..8)) {
        let headers = header_map(&pairs);
        let incoming = extract(&headers);
        let parents: Vec<&HeaderValue> = headers.get_all("traceparent").iter().collect();
        match &incoming.decision {
            Decision::Preserved => {
                prop_assert_eq!(parents.len(), 1);
                let tp = TraceParent::parse_bytes(parents[0].as_bytes()).unwrap();
                prop_assert_eq!(incoming.context.trace_id, tp.trace_id);
                prop_assert_eq!(incoming.context.parent_span_id, Some(tp.parent_id));
            }
            Decision::Generated(GenerateReason::Absent) => prop_assert!(parents.is_empty()),
            Decision::Generated(GenerateReason::Invalid(TraceParentError::Multiple)) => {
                prop_assert!(parents.len() > 1)
            }
            Decision::Generated(GenerateReason::Invalid(_)) => {
                prop_assert_eq!(parents.len(), 1);
                prop_assert!(incoming.context.state.is_empty());
            }
        }
        let mut out = HeaderMap::new();
        incoming.context.child().inject(&mut out);
        prop_assert_eq!(out.get_all("traceparent").iter().count(), 1);
        let sent = TraceParent::parse_bytes(out["traceparent"].as_bytes()).unwrap();
        prop_assert_eq!(sent.trace_id, incoming.context.trace_id);
    }

    #[test]
    fn extract_metadata_never_panics(map in prop::collection::hash_map(header_name(), "\\PC{0,80}", 0..4)) {
        let map: HashMap<String, String> = map;
        let incoming = extract_metadata(&map);
        if incoming.is_preserved() {
            prop_assert!(map.contains_key("traceparent"));
        }
    }
}
