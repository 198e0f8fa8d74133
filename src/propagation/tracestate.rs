//! Strict parsing and updating of the W3C `tracestate` header (Trace Context Level 2).
//!
//! Any invalid key or value, a duplicated key, or more than 32 members discards the whole
//! tracestate. Updating a member moves it to the left; adding one beyond 32 drops the right-most.

use std::fmt;

use super::traceparent::trim_ows;

/// The most members a tracestate may hold.
pub const MAX_MEMBERS: usize = 32;

/// An ordered list of vendor key/value members, left-most most recent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceState {
    members: Vec<(String, String)>,
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
    {
        let mut members: Vec<(String, String)> = Vec::new();
        let mut index = 0usize;
        for value in values {
            if !value
                .iter()
                .all(|&b| b == b'\t' || (0x20..=0x7e).contains(&b))
            {
                return Err(TraceStateError::NotAscii);
            }
            for raw in value.split(|&b| b == b',') {
                let member = trim_ows(raw);
                if member.is_empty() {
                    continue;
                }
                let position = index;
                index += 1;
                let Some(eq) = member.iter().position(|&b| b == b'=') else {
                    return Err(TraceStateError::MissingEquals { member: position });
                };
                let key = ascii(&member[..eq]);
                let val = ascii(&member[eq + 1..]);
                if !is_valid_key(&key) {
                    return Err(TraceStateError::InvalidKey { key });
                }
                if !is_valid_value(&val) {
                    return Err(TraceStateError::InvalidValue { key });
                }
                if members.iter().any(|(k, _)| *k == key) {
                    return Err(TraceStateError::DuplicateKey { key });
                }
                members.push((key, val));
            }
        }
        if members.len() > MAX_MEMBERS {
            return Err(TraceStateError::TooManyMembers {
                count: members.len(),
            });
        }
        Ok(TraceState { members })
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Members in order, left-most first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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
        self.members.retain(|(k, _)| k != key);
        self.members.insert(0, (key.to_owned(), value.to_owned()));
        self.members.truncate(MAX_MEMBERS);
        Ok(())
    }

    /// Remove `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let index = self.members.iter().position(|(k, _)| k == key)?;
        Some(self.members.remove(index).1)
    }

    /// The header value: members joined by `,` (empty string when there are none).
    pub fn to_header_value(&self) -> String {
        let mut out = String::with_capacity(
            self.members
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum(),
        );
        for (i, (key, value)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
        out
    }
}

impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

fn ascii(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn is_key_char(c: u8) -> bool {
    matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/')
}

/// `simple-key = (lcalpha / DIGIT) 0*255(keychar)`, or
/// `tenant-id "@" system-id` with `tenant-id = (lcalpha / DIGIT) 0*240(keychar)` and
/// `system-id = lcalpha 0*13(keychar)`.
pub fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    match bytes.iter().position(|&b| b == b'@') {
        None => valid_key_part(bytes, 256, false),
        Some(at) => {
            valid_key_part(&bytes[..at], 241, false) && valid_key_part(&bytes[at + 1..], 14, true)
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
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 256
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
        ]
    }

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
        ]
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
