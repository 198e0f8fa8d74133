//! Table tests of the `tracestate` rules, each case with its reason and the section of the
//! Trace Context text (`spec/20-http_request_header_format.md`, "Tracestate Header", and
//! `spec/30-processing-model.md`) it follows.

use super::*;

fn members(range: std::ops::RangeInclusive<usize>) -> String {
    range
        .map(|i| format!("bar{i:02}={i:02}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `lcalpha`, `DIGIT` and every other key character but `@`, in the W3C suite's order.
const ALL_KEY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
/// Every value character: 0x20-0x7E except `,` (0x2C) and `=` (0x3D).
const ALL_VALUE_CHARS: &str =
    " !\"#$%&'()*+-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Accepted: (header values, the canonical header passed on, reason).
fn accepted_cases() -> Vec<(Vec<String>, String, &'static str)> {
    let key_256 = "z".repeat(256);
    let at_key_256 = format!("{}@", "z".repeat(255));
    let long_tenant = format!("{}@v", "t".repeat(242));
    let long_system = format!("t@{}", "v".repeat(15));
    vec![
        // list / list-member (Tracestate Header Field Values, "list").
        (
            vec!["foo=1".into()],
            "foo=1".into(),
            "list: a single member",
        ),
        (
            vec!["foo=1,bar=2".into()],
            "foo=1,bar=2".into(),
            "list: members kept in order",
        ),
        (
            vec!["".into()],
            "".into(),
            "field values: vendors MUST accept empty tracestate headers",
        ),
        (
            vec!["foo=1,,,bar=2,".into()],
            "foo=1,bar=2".into(),
            "field values: empty list members are allowed",
        ),
        (
            vec![" , \t,".into()],
            "".into(),
            "field values: whitespace-only list members are allowed",
        ),
        (
            vec!["foo=1 , \tbar=2".into()],
            "foo=1,bar=2".into(),
            "field values: spaces and tabs surrounding list-members are ignored (OWS)",
        ),
        (
            vec!["foo=1 \t , \t bar=2, \t baz=3".into()],
            "foo=1,bar=2,baz=3".into(),
            "field values: OWS of several characters around commas",
        ),
        (
            vec!["\t foo=1 \t".into()],
            "foo=1".into(),
            "field values: OWS before the first and after the last member",
        ),
        // Several header fields (Tracestate Header Field Values: combined per RFC 7230 3.2.2).
        (
            vec!["foo=1".into(), "bar=2".into()],
            "foo=1,bar=2".into(),
            "field values: multiple header fields MUST be combined in order",
        ),
        (
            vec![
                "foo=1,bar=2".into(),
                "rojo=1,congo=2".into(),
                "baz=3".into(),
            ],
            "foo=1,bar=2,rojo=1,congo=2,baz=3".into(),
            "field values: three header fields combined in order",
        ),
        (
            vec!["foo=1".into(), "".into()],
            "foo=1".into(),
            "field values: an empty header field after a member",
        ),
        (
            vec!["".into(), "foo=1".into()],
            "foo=1".into(),
            "field values: an empty header field before a member",
        ),
        // key = ( lcalpha / DIGIT ) 0*255 ( keychar ), keychar includes "@" (Key).
        (
            vec!["1foo=1".into()],
            "1foo=1".into(),
            "key: MUST begin with a lowercase letter or a digit",
        ),
        (
            vec!["a_-*/z=1".into()],
            "a_-*/z=1".into(),
            "key: '_', '-', '*' and '/' are keychars",
        ),
        (
            vec!["tenant@system=1".into()],
            "tenant@system=1".into(),
            "key: '@' is a keychar",
        ),
        (
            vec!["0@a=1".into()],
            "0@a=1".into(),
            "key: a digit first, then '@'",
        ),
        (
            vec!["foo@=1,bar=2".into()],
            "foo@=1,bar=2".into(),
            "key: '@' may be the last character (no separate system-id part)",
        ),
        (
            vec!["foo@@bar=1,bar=2".into()],
            "foo@@bar=1,bar=2".into(),
            "key: '@' may appear several times in a row",
        ),
        (
            vec!["foo@bar@baz=1,bar=2".into()],
            "foo@bar@baz=1,bar=2".into(),
            "key: '@' may appear any number of times",
        ),
        (
            vec!["t@1v=1".into()],
            "t@1v=1".into(),
            "key: a digit may follow '@' (no system-id rule)",
        ),
        (
            vec![format!("{long_tenant}=1")],
            format!("{long_tenant}=1"),
            "key: 242 characters before '@' (no tenant-id length rule)",
        ),
        (
            vec![format!("{long_system}=1")],
            format!("{long_system}=1"),
            "key: 15 characters after '@' (no system-id length rule)",
        ),
        (
            vec![format!("{key_256}=1")],
            format!("{key_256}=1"),
            "key: 1 + 255 characters is the longest key",
        ),
        (
            vec![format!("{at_key_256}=1")],
            format!("{at_key_256}=1"),
            "key: a 256-character key ending in '@'",
        ),
        (
            vec![format!("{ALL_KEY_CHARS}={ALL_VALUE_CHARS}")],
            format!("{ALL_KEY_CHARS}={ALL_VALUE_CHARS}"),
            "key and value: every allowed character",
        ),
        (
            vec![format!("{ALL_KEY_CHARS}@a-z0-9_-*/={ALL_VALUE_CHARS}")],
            format!("{ALL_KEY_CHARS}@a-z0-9_-*/={ALL_VALUE_CHARS}"),
            "key and value: every allowed character, '@' included",
        ),
        // value = 0*255(chr) nblk-chr (Value).
        (
            vec![format!("foo={}", "v".repeat(256))],
            format!("foo={}", "v".repeat(256)),
            "value: 255 chr + 1 nblk-chr is the longest value",
        ),
        (
            vec!["foo= bar".into()],
            "foo= bar".into(),
            "value: leading spaces MUST be preserved as part of the value",
        ),
        (
            vec!["foo=bar  ".into()],
            "foo=bar".into(),
            "value: trailing spaces are optional whitespace, not part of the value",
        ),
        (
            vec!["foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~".into()],
            "foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~".into(),
            "value: all punctuation but ',' and '='",
        ),
        // Duplicates (Combined Header Value; processing model step 3): not a reason to drop
        // the header; the first (left-most, most recent) occurrence is kept.
        (
            vec!["foo=1,foo=2".into()],
            "foo=1".into(),
            "duplicates: a later entry for a key is dropped, the first kept",
        ),
        (
            vec!["foo=1,foo=1".into()],
            "foo=1".into(),
            "duplicates: an identical repeated entry is dropped",
        ),
        (
            vec!["a=1,b=2,a=3,c=4".into()],
            "a=1,b=2,c=4".into(),
            "duplicates: the members after a duplicate are kept, in order",
        ),
        (
            vec!["foo=1".into(), "foo=1".into()],
            "foo=1".into(),
            "duplicates: across header fields",
        ),
        (
            vec!["foo=1".into(), "foo=2".into()],
            "foo=1".into(),
            "duplicates: across header fields, another value",
        ),
        // At most 32 list-members (list; tracestate Limits: truncate whole entries, from
        // the end).
        (
            vec![members(1..=32)],
            members(1..=32),
            "limit: 32 members are kept",
        ),
        (
            vec![
                members(1..=8),
                members(9..=16),
                members(17..=24),
                members(25..=32),
            ],
            members(1..=32),
            "limit: 32 members split over 4 header fields",
        ),
        (
            vec![members(1..=33)],
            members(1..=32),
            "limit: beyond 32, whole entries are removed from the end",
        ),
        (
            vec![members(1..=32), "bar33=33".into()],
            members(1..=32),
            "limit: the 33rd member in a second header field is removed",
        ),
        (
            vec![format!("bar01=01,{}", members(1..=32))],
            members(1..=32),
            "limit: 33 members of which one is a duplicate make 32 distinct, all kept",
        ),
    ]
}

/// Discarded whole: (header values, reason).
fn discarded_cases() -> Vec<(Vec<String>, &'static str)> {
    vec![
        (vec!["foo".into()], "list-member: no '='"),
        (vec!["FOO=1".into()], "key: uppercase letter"),
        (vec!["foo.bar=1".into()], "key: '.' is not a keychar"),
        (
            vec!["foo =1".into()],
            "key: space inside the member (not OWS)",
        ),
        (
            vec!["foo\t=1".into()],
            "key: tab inside the member (not OWS)",
        ),
        (vec!["=1".into()], "key: empty"),
        (
            vec!["_foo=1".into()],
            "key: MUST begin with a lowercase letter or a digit",
        ),
        (
            vec!["@foo=1,bar=2".into()],
            "key: '@' may not be the first character",
        ),
        (
            vec![format!("{}=1", "z".repeat(257))],
            "key: 257 characters",
        ),
        (
            vec![format!("{}@=1", "z".repeat(256))],
            "key: 257 characters, '@' included",
        ),
        (vec!["foo=".into()], "value: empty (at least one nblk-chr)"),
        (
            vec!["foo=,bar=3".into()],
            "value: empty, before another member",
        ),
        (
            vec!["foo=   ".into()],
            "value: only spaces (trailing spaces are OWS)",
        ),
        (vec!["foo=bar=baz".into()], "value: '=' is not a chr"),
        (
            vec![format!("foo={}", "v".repeat(257))],
            "value: 257 characters",
        ),
        (vec!["foo=a\tb".into()], "value: tab inside a value"),
        (vec!["foo=\u{e9}".into()], "value: not ASCII"),
        (
            vec!["foo=1".into(), "bar=\u{7f}".into()],
            "value: DEL in the second header field",
        ),
        (
            vec!["foo=1;bar".into(), "k=v".into(), "=".into()],
            "list-member: a bare '='",
        ),
        (
            vec!["foo=1,foo".into()],
            "list-member: an invalid member after a duplicated key",
        ),
        (
            vec![format!("{},bar33=", members(1..=32))],
            "list-member: an invalid member beyond the 32nd still makes the list unparsable",
        ),
    ]
}

#[test]
fn accepted_table() {
    for (headers, expected, reason) in accepted_cases() {
        let parsed = TraceState::parse_all(headers.iter().map(|h| h.as_bytes()))
            .unwrap_or_else(|err| panic!("{reason}: rejected: {err}"));
        assert_eq!(parsed.to_header_value(), expected, "{reason}");
        assert_eq!(
            TraceState::parse(&expected).as_ref(),
            Ok(&parsed),
            "{reason}: the canonical form parses to the same list"
        );
    }
}

#[test]
fn discarded_table() {
    for (headers, reason) in discarded_cases() {
        assert!(
            TraceState::parse_all(headers.iter().map(|h| h.as_bytes())).is_err(),
            "{reason}: {headers:?} accepted"
        );
    }
}

#[test]
fn errors_name_the_problem() {
    let cases: Vec<(&str, TraceStateError)> = vec![
        ("a=1,b", TraceStateError::MissingEquals { member: 1 }),
        ("a=1,B=2", TraceStateError::InvalidKey { key: "B".into() }),
        ("a=1,@b=2", TraceStateError::InvalidKey { key: "@b".into() }),
        ("a=1,b=", TraceStateError::InvalidValue { key: "b".into() }),
        ("a=\u{e9}", TraceStateError::NotAscii),
    ];
    for (input, expected) in cases {
        assert_eq!(TraceState::parse(input), Err(expected), "{input:?}");
    }
}

#[test]
fn a_huge_list_keeps_its_first_32_members() {
    // 20 000 distinct members: each is validated, the first 32 kept, with at most 32 key
    // comparisons per member (no quadratic duplicate check).
    let huge = (0..20_000)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    let state = TraceState::parse(&huge).unwrap();
    assert_eq!(state.len(), MAX_MEMBERS);
    assert_eq!(state.iter().next(), Some(("k0", "v")));
    assert_eq!(state.iter().last(), Some(("k31", "v")));
}

#[test]
fn canonical_header_is_shared_and_others_are_rebuilt() {
    let mut headers = HeaderMap::new();
    headers.append("tracestate", HeaderValue::from_static("a=1,b=2"));
    let state = TraceState::from_headers(&headers).unwrap();
    assert_eq!(state.header_value(), headers.get("tracestate"));
    headers.append("tracestate", HeaderValue::from_static(" c=3 ,"));
    let state = TraceState::from_headers(&headers).unwrap();
    assert_eq!(state.to_header_value(), "a=1,b=2,c=3");
    assert_eq!(state.len(), 3);
    assert_eq!(state.get("c"), Some("3"));
    assert!(TraceState::from_headers(&HeaderMap::new())
        .unwrap()
        .is_empty());

    // A single header without OWS but with a duplicate is not shared: it is rebuilt.
    let mut headers = HeaderMap::new();
    headers.append("tracestate", HeaderValue::from_static("a=1,b=2,a=3"));
    let state = TraceState::from_headers(&headers).unwrap();
    assert_eq!(state.to_header_value(), "a=1,b=2");
    assert_eq!(state.get("a"), Some("1"));
}

#[test]
fn trailing_space_is_ows_in_headers_but_invalid_through_the_api() {
    // In a header, "foo=bar " ends in optional whitespace, which is trimmed.
    assert_eq!(
        TraceState::parse("foo=bar ").unwrap().get("foo"),
        Some("bar")
    );
    assert!(!is_valid_value("bar "), "a value may not end in a space");
    assert!(TraceState::new().insert("foo", "bar ").is_err());
}

#[test]
fn api_keys_follow_the_same_grammar() {
    for key in ["foo@", "foo@@bar", "a@b@c", "t@1v", "0", "9@"] {
        assert!(is_valid_key(key), "{key:?} rejected");
    }
    for key in ["@foo", "", "Foo", "foo bar", "foo=", "_a"] {
        assert!(!is_valid_key(key), "{key:?} accepted");
    }
    let mut state = TraceState::new();
    state.insert("vendor@", "1").unwrap();
    assert_eq!(state.to_header_value(), "vendor@=1");
}

#[test]
fn insert_moves_member_left_and_drops_rightmost_beyond_32() {
    let mut state = TraceState::parse("a=1,b=2,c=3").unwrap();
    state.insert("c", "9").unwrap();
    assert_eq!(state.to_header_value(), "c=9,a=1,b=2");
    let header = (0..32)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    let mut full = TraceState::parse(&header).unwrap();
    full.insert("new", "1").unwrap();
    assert_eq!(full.len(), MAX_MEMBERS);
    assert_eq!(full.iter().next(), Some(("new", "1")));
    assert!(full.get("k31").is_none(), "right-most member dropped");
    assert!(full.get("k30").is_some());
    assert!(full.insert("BAD", "1").is_err());
    assert!(full.insert("ok", "").is_err());
    assert_eq!(full.remove("new").as_deref(), Some("1"));
}

#[test]
fn insert_after_a_received_duplicate_leaves_one_entry() {
    // Adding a key/value pair must not leave the key present twice (Mutating the
    // tracestate Field).
    let mut state = TraceState::parse("congo=1,rojo=2,congo=3").unwrap();
    state.insert("congo", "4").unwrap();
    assert_eq!(state.to_header_value(), "congo=4,rojo=2");
}
