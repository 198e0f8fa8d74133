//! Strict parsing and updating of the W3C `tracestate` header (Trace Context Level 2).
//!
//! Any invalid key or value, a duplicated key, or more than 32 members discards the whole
//! tracestate. Updating a member moves it to the left; adding one beyond 32 drops the right-most.
//!
//! A [`TraceState`] is stored as its canonical header value (members joined by `,`, no empty
//! members, no optional whitespace). A received header that is already canonical is kept as is,
//! without copying, and handing it on downstream is a reference-count increment: the hot path
//! of extract + inject allocates nothing per member.

use std::fmt;

use http::header::{HeaderMap, HeaderValue};

use super::traceparent::trim_ows;

/// The most members a tracestate may hold.
pub const MAX_MEMBERS: usize = 32;

/// The longest key: `simple-key`, or `tenant-id "@" system-id` (241 + 1 + 14).
const MAX_KEY_LEN: usize = 256;
/// The longest `tenant-id` of a multi-tenant key.
const MAX_TENANT_LEN: usize = 241;
/// The longest `system-id` of a multi-tenant key.
const MAX_SYSTEM_LEN: usize = 14;
/// The longest value.
const MAX_VALUE_LEN: usize = 256;

/// An ordered list of vendor key/value members, left-most most recent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceState {
    /// The canonical header value; `None` when there are no members. Only ever holds visible
    /// ASCII and spaces (checked on the way in), so it is always valid UTF-8.
    header: Option<HeaderValue>,
}

/// Why a tracestate (or one member) was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceStateError {
    /// A header value is not visible ASCII.
    NotAscii,
    /// A non-empty member has no `=`.
    MissingEquals {
        /// 0-based index of the member.
        member: usize,
    },
    /// A key does not match the key grammar.
    InvalidKey {
        /// The offending key.
        key: String,
    },
    /// A value does not match the value grammar.
    InvalidValue {
        /// The key whose value is invalid.
        key: String,
    },
    /// The same key appears twice.
    DuplicateKey {
        /// The duplicated key.
        key: String,
    },
    /// More than 32 members.
    TooManyMembers {
        /// How many members were received.
        count: usize,
    },
}

impl fmt::Display for TraceStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAscii => f.write_str("tracestate is not visible ASCII"),
            Self::MissingEquals { member } => write!(f, "member {member} has no '='"),
            Self::InvalidKey { key } => write!(f, "invalid tracestate key {key:?}"),
            Self::InvalidValue { key } => write!(f, "invalid value for tracestate key {key:?}"),
            Self::DuplicateKey { key } => write!(f, "duplicate tracestate key {key:?}"),
            Self::TooManyMembers { count } => {
                write!(
                    f,
                    "tracestate has {count} members, at most {MAX_MEMBERS} allowed"
                )
            }
        }
    }
}

impl std::error::Error for TraceStateError {}

/// What the validating pass learnt about the received header values.
struct Scan {
    /// Number of (non-empty) members.
    count: usize,
    /// Length of the canonical form.
    len: usize,
    /// Exactly one header value, already in canonical form.
    canonical: bool,
}

impl TraceState {
    /// An empty tracestate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse one header value.
    pub fn parse(value: &str) -> Result<Self, TraceStateError> {
        Self::parse_all([value.as_bytes()])
    }

    /// Parse several header values, joined in order as one comma-separated list.
    pub fn parse_all<'a, I>(values: I) -> Result<Self, TraceStateError>
    where
        I: IntoIterator<Item = &'a [u8]>,
        I::IntoIter: Clone,
    {
        let values = values.into_iter();
        let scan = scan(values.clone())?;
        if scan.count == 0 {
            return Ok(Self::new());
        }
        if scan.canonical {
            if let Some(single) = values.clone().next() {
                return Ok(Self::from_canonical(HeaderValue::from_bytes(single).ok()));
            }
        }
        Ok(Self::from_canonical(build(values, scan.len)))
    }

    /// Parse every `tracestate` header of a request, joined in order. A single header that is
    /// already canonical is shared, not copied.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, TraceStateError> {
        let all = headers.get_all(super::context::TRACESTATE);
        let scan = scan(all.iter().map(HeaderValue::as_bytes))?;
        if scan.count == 0 {
            return Ok(Self::new());
        }
        if scan.canonical {
            if let Some(single) = all.iter().next() {
                return Ok(Self::from_canonical(Some(single.clone())));
            }
        }
        Ok(Self::from_canonical(build(
            all.iter().map(HeaderValue::as_bytes),
            scan.len,
        )))
    }

    fn from_canonical(header: Option<HeaderValue>) -> Self {
        TraceState { header }
    }

    /// The canonical header value (`""` when empty).
    fn as_str(&self) -> &str {
        self.header
            .as_ref()
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
    }

    /// The header value to send, `None` when there are no members.
    pub(crate) fn header_value(&self) -> Option<&HeaderValue> {
        self.header.as_ref()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.header.is_none()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Members in order, left-most first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.as_str()
            .split(',')
            .filter_map(|member| member.split_once('='))
    }

    /// Add or update `key`, moving it to the left-most position. When this makes more than
    /// 32 members, the right-most member is dropped.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), TraceStateError> {
        if !is_valid_key(key) {
            return Err(TraceStateError::InvalidKey {
                key: key.to_owned(),
            });
        }
        if !is_valid_value(value) {
            return Err(TraceStateError::InvalidValue {
                key: key.to_owned(),
            });
        }
        let mut out = Vec::with_capacity(key.len() + value.len() + 2 + self.as_str().len());
        push_member(&mut out, key, value);
        for (k, v) in self.iter().filter(|(k, _)| *k != key).take(MAX_MEMBERS - 1) {
            out.push(b',');
            push_member(&mut out, k, v);
        }
        self.header = HeaderValue::try_from(out).ok();
        Ok(())
    }

    /// Remove `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let removed = self.get(key)?.to_owned();
        let mut out = Vec::with_capacity(self.as_str().len());
        for (k, v) in self.iter().filter(|(k, _)| *k != key) {
            if !out.is_empty() {
                out.push(b',');
            }
            push_member(&mut out, k, v);
        }
        self.header = if out.is_empty() {
            None
        } else {
            HeaderValue::try_from(out).ok()
        };
        Some(removed)
    }

    /// The header value: members joined by `,` (empty string when there are none).
    pub fn to_header_value(&self) -> String {
        self.as_str().to_owned()
    }
}

impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn push_member(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value.as_bytes());
}

/// Validate header values as one list; allocates nothing unless the list is invalid.
fn scan<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<Scan, TraceStateError> {
    let mut keys: [&[u8]; MAX_MEMBERS] = [&[]; MAX_MEMBERS];
    let mut scan = Scan {
        count: 0,
        len: 0,
        canonical: true,
    };
    for (n, value) in values.enumerate() {
        if n > 0 {
            scan.canonical = false;
        }
        if !value
            .iter()
            .all(|&b| b == b'\t' || (0x20..=0x7e).contains(&b))
        {
            return Err(TraceStateError::NotAscii);
        }
        for raw in value.split(|&b| b == b',') {
            let member = trim_ows(raw);
            if member.len() != raw.len() || member.is_empty() {
                scan.canonical = false;
            }
            if member.is_empty() {
                continue;
            }
            if scan.count >= MAX_MEMBERS {
                // Already too many: only count the rest, so the error says how many.
                scan.count += 1;
                continue;
            }
            let Some(eq) = member.iter().position(|&b| b == b'=') else {
                return Err(TraceStateError::MissingEquals { member: scan.count });
            };
            let (key, val) = (&member[..eq], &member[eq + 1..]);
            if !valid_key(key) {
                return Err(TraceStateError::InvalidKey { key: lossy(key) });
            }
            if !valid_value(val) {
                return Err(TraceStateError::InvalidValue { key: lossy(key) });
            }
            if keys[..scan.count].contains(&key) {
                return Err(TraceStateError::DuplicateKey { key: lossy(key) });
            }
            keys[scan.count] = key;
            scan.count += 1;
            scan.len += member.len() + 1;
        }
    }
    if scan.count > MAX_MEMBERS {
        return Err(TraceStateError::TooManyMembers { count: scan.count });
    }
    Ok(scan)
}

/// Join the (validated) members of `values` into the canonical form.
fn build<'a>(values: impl Iterator<Item = &'a [u8]>, len: usize) -> Option<HeaderValue> {
    let mut out = Vec::with_capacity(len);
    for value in values {
        for member in value.split(|&b| b == b',').map(trim_ows) {
            if member.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(member);
        }
    }
    HeaderValue::try_from(out).ok()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn is_key_char(c: u8) -> bool {
    matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/')
}

/// `simple-key = (lcalpha / DIGIT) 0*255(keychar)`, or
/// `tenant-id "@" system-id` with `tenant-id = (lcalpha / DIGIT) 0*240(keychar)` and
/// `system-id = lcalpha 0*13(keychar)`.
pub fn is_valid_key(key: &str) -> bool {
    valid_key(key.as_bytes())
}

fn valid_key(bytes: &[u8]) -> bool {
    match bytes.iter().position(|&b| b == b'@') {
        None => valid_key_part(bytes, MAX_KEY_LEN, false),
        Some(at) => {
            valid_key_part(&bytes[..at], MAX_TENANT_LEN, false)
                && valid_key_part(&bytes[at + 1..], MAX_SYSTEM_LEN, true)
        }
    }
}

fn valid_key_part(part: &[u8], max: usize, alpha_first: bool) -> bool {
    let Some((&first, rest)) = part.split_first() else {
        return false;
    };
    let first_ok = if alpha_first {
        first.is_ascii_lowercase()
    } else {
        first.is_ascii_lowercase() || first.is_ascii_digit()
    };
    first_ok && part.len() <= max && rest.iter().all(|&c| is_key_char(c))
}

/// `value = 0*255(chr) nblk-chr`: 1–256 printable ASCII characters except `,` and `=`, not
/// ending in a space.
pub fn is_valid_value(value: &str) -> bool {
    valid_value(value.as_bytes())
}

fn valid_value(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes.len() <= MAX_VALUE_LEN
        && bytes.last() != Some(&b' ')
        && bytes
            .iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Valid: (header values, expected canonical output, reason).
    fn valid_cases() -> Vec<(Vec<String>, String, &'static str)> {
        vec![
            (vec!["foo=1".into()], "foo=1".into(), "single member"),
            (
                vec!["foo=1,bar=2".into()],
                "foo=1,bar=2".into(),
                "two members kept in order",
            ),
            (
                vec!["foo=1".into(), "bar=2".into()],
                "foo=1,bar=2".into(),
                "multiple headers joined in order",
            ),
            (
                vec!["foo=1 , \tbar=2".into()],
                "foo=1,bar=2".into(),
                "optional whitespace around commas",
            ),
            (
                vec!["foo=1,,,bar=2,".into()],
                "foo=1,bar=2".into(),
                "empty members allowed",
            ),
            (vec!["".into()], "".into(), "empty header"),
            (
                vec!["1foo=1".into()],
                "1foo=1".into(),
                "key may start with a digit (Level 2)",
            ),
            (
                vec!["a_-*/z=1".into()],
                "a_-*/z=1".into(),
                "key special characters",
            ),
            (
                vec!["tenant@system=1".into()],
                "tenant@system=1".into(),
                "multi-tenant key",
            ),
            (
                vec![format!("{}=1", "z".repeat(256))],
                format!("{}=1", "z".repeat(256)),
                "256-char key",
            ),
            (
                vec![format!("{}@{}=1", "t".repeat(241), "v".repeat(14))],
                format!("{}@{}=1", "t".repeat(241), "v".repeat(14)),
                "longest multi-tenant key",
            ),
            (
                vec![format!("foo={}", "v".repeat(256))],
                format!("foo={}", "v".repeat(256)),
                "256-char value",
            ),
            (
                vec!["foo= bar".into()],
                "foo= bar".into(),
                "value may start with a space",
            ),
            (
                vec!["foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~".into()],
                "foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~".into(),
                "all punctuation but , and =",
            ),
            (
                vec![(0..32)
                    .map(|i| format!("k{i}=v"))
                    .collect::<Vec<_>>()
                    .join(",")],
                (0..32)
                    .map(|i| format!("k{i}=v"))
                    .collect::<Vec<_>>()
                    .join(","),
                "32 members",
            ),
            (
                vec![
                    "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08"
                        .into(),
                    "bar09=09,bar10=10,bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16"
                        .into(),
                    "bar17=17,bar18=18,bar19=19,bar20=20,bar21=21,bar22=22,bar23=23,bar24=24"
                        .into(),
                    "bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30,bar31=31,bar32=32"
                        .into(),
                ],
                (1..=32)
                    .map(|i| format!("bar{i:02}={i:02}"))
                    .collect::<Vec<_>>()
                    .join(","),
                "32 members split over 4 headers",
            ),
            (
                vec![
                    "foo=1,bar=2".into(),
                    "rojo=1,congo=2".into(),
                    "baz=3".into(),
                ],
                "foo=1,bar=2,rojo=1,congo=2,baz=3".into(),
                "three headers joined in order",
            ),
            (
                vec!["foo=1".into(), "".into()],
                "foo=1".into(),
                "empty header after a member",
            ),
            (
                vec!["".into(), "foo=1".into()],
                "foo=1".into(),
                "empty header before a member",
            ),
            (vec![" , \t,".into()], "".into(), "whitespace-only members"),
            (
                vec!["foo=1 \t , \t bar=2, \t baz=3".into()],
                "foo=1,bar=2,baz=3".into(),
                "spaces and tabs around commas",
            ),
            (
                vec!["\t foo=1 \t".into()],
                "foo=1".into(),
                "leading and trailing OWS of the header",
            ),
            (
                vec![format!("{ALL_KEY_CHARS}={ALL_VALUE_CHARS}")],
                format!("{ALL_KEY_CHARS}={ALL_VALUE_CHARS}"),
                "every allowed key and value character",
            ),
            (
                vec![format!("{ALL_KEY_CHARS}@a-z0-9_-*/={ALL_VALUE_CHARS}")],
                format!("{ALL_KEY_CHARS}@a-z0-9_-*/={ALL_VALUE_CHARS}"),
                "every allowed character in a multi-tenant key",
            ),
            (
                vec!["0@a=1".into()],
                "0@a=1".into(),
                "tenant id may start with a digit",
            ),
        ]
    }

    /// `lcalpha`, `DIGIT` and every other key character, in the W3C suite's order.
    const ALL_KEY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    /// Every value character: 0x20-0x7E except `,` (0x2C) and `=` (0x3D).
    const ALL_VALUE_CHARS: &str =
        " !\"#$%&'()*+-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

    /// Invalid: (header values, reason).
    fn invalid_cases() -> Vec<(Vec<String>, &'static str)> {
        vec![
            (vec!["foo".into()], "member without '='"),
            (vec!["FOO=1".into()], "uppercase key"),
            (vec!["foo.bar=1".into()], "'.' in key"),
            (vec!["foo =1".into()], "space inside key"),
            (vec!["=1".into()], "empty key"),
            (vec!["_foo=1".into()], "key starts with '_'"),
            (vec![format!("{}=1", "z".repeat(257))], "257-char key"),
            (
                vec![format!("{}@v=1", "t".repeat(242))],
                "242-char tenant id",
            ),
            (vec![format!("t@{}=1", "v".repeat(15))], "15-char system id"),
            (vec!["t@1v=1".into()], "system id starts with a digit"),
            (vec!["a@b@c=1".into()], "two '@' in key"),
            (vec!["@sys=1".into()], "empty tenant id"),
            (vec!["foo=".into()], "empty value"),
            (
                vec!["foo=,bar=3".into()],
                "empty value before another member",
            ),
            (vec!["foo=bar=baz".into()], "'=' in value"),
            (vec![format!("foo={}", "v".repeat(257))], "257-char value"),
            (vec!["foo=1,foo=2".into()], "duplicate key"),
            (
                vec!["foo=1".into(), "foo=1".into()],
                "duplicate key across headers",
            ),
            (vec!["foo=\u{e9}".into()], "non-ASCII value"),
            (
                vec![(0..33)
                    .map(|i| format!("k{i}=v"))
                    .collect::<Vec<_>>()
                    .join(",")],
                "33 members",
            ),
            (
                vec![
                    (1..=32)
                        .map(|i| format!("bar{i:02}={i:02}"))
                        .collect::<Vec<_>>()
                        .join(","),
                    "bar33=33".into(),
                ],
                "33 members over two headers",
            ),
            (vec!["foo@=1,bar=2".into()], "empty system id"),
            (vec!["foo@@bar=1,bar=2".into()], "'@@' in key"),
            (
                vec!["foo@bar@baz=1,bar=2".into()],
                "two '@' in a multi-tenant key",
            ),
            (
                vec!["foo=1".into(), "foo=2".into()],
                "duplicate key with another value across headers",
            ),
            (vec!["foo=a\tb".into()], "tab inside a value"),
            (vec!["foo\t=1".into()], "tab inside a key"),
            (
                vec!["foo=1".into(), "bar=\u{7f}".into()],
                "DEL in a value, second header",
            ),
            (
                vec!["foo=1;bar".into(), "k=v".into(), "=".into()],
                "bare '=' member",
            ),
        ]
    }

    #[test]
    fn errors_name_the_problem() {
        let cases: Vec<(&str, TraceStateError)> = vec![
            ("a=1,b", TraceStateError::MissingEquals { member: 1 }),
            ("a=1,B=2", TraceStateError::InvalidKey { key: "B".into() }),
            ("a=1,b=", TraceStateError::InvalidValue { key: "b".into() }),
            (
                "a=1,b=2,a=3",
                TraceStateError::DuplicateKey { key: "a".into() },
            ),
            ("a=\u{e9}", TraceStateError::NotAscii),
        ];
        for (input, expected) in cases {
            assert_eq!(TraceState::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn a_huge_list_is_counted_not_stored() {
        // 20 000 distinct members: rejected after 32 without quadratic duplicate checks.
        let huge = (0..20_000)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            TraceState::parse(&huge),
            Err(TraceStateError::TooManyMembers { count: 20_000 })
        );
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
    }

    #[test]
    fn valid_table() {
        for (headers, expected, reason) in valid_cases() {
            let parsed = TraceState::parse_all(headers.iter().map(|h| h.as_bytes()))
                .unwrap_or_else(|err| panic!("{reason}: rejected: {err}"));
            assert_eq!(parsed.to_header_value(), expected, "{reason}");
        }
    }

    #[test]
    fn invalid_table() {
        for (headers, reason) in invalid_cases() {
            assert!(
                TraceState::parse_all(headers.iter().map(|h| h.as_bytes())).is_err(),
                "{reason}: {headers:?} accepted"
            );
        }
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
}
