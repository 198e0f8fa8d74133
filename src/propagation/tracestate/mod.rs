//! Strict parsing and updating of the W3C `tracestate` header, following the current Trace
//! Context text (`key = ( lcalpha / DIGIT ) 0*255 ( keychar )`, `@` a `keychar`).
//!
//! A member that does not match the grammar (no `=`, an invalid key or value) makes the list
//! unparsable, and the whole tracestate is discarded. A duplicated key is not a reason to
//! discard: the first (left-most, most recent) entry is kept and later ones are dropped. Beyond
//! 32 distinct members, whole entries are removed from the end. Updating a member moves it to
//! the left; adding one beyond 32 drops the right-most.
//!
//! A [`TraceState`] is stored as its canonical header value (members joined by `,`, no empty
//! members, no optional whitespace, no duplicates). A received header that is already
//! canonical is kept as is, without copying, and handing it on downstream is a reference-count
//! increment: the hot path of extract + inject allocates nothing per member.

use std::fmt;

use http::header::{HeaderMap, HeaderValue};

use super::traceparent::trim_ows;

/// The most members a tracestate may hold.
pub const MAX_MEMBERS: usize = 32;

/// The longest key: one first character and up to 255 `keychar`s.
const MAX_KEY_LEN: usize = 256;
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
}

impl fmt::Display for TraceStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAscii => f.write_str("tracestate is not visible ASCII"),
            Self::MissingEquals { member } => write!(f, "member {member} has no '='"),
            Self::InvalidKey { key } => write!(f, "invalid tracestate key {key:?}"),
            Self::InvalidValue { key } => write!(f, "invalid value for tracestate key {key:?}"),
        }
    }
}

impl std::error::Error for TraceStateError {}

/// What the validating pass learnt about the received header values.
struct Scan {
    /// Number of members kept (distinct keys, at most [`MAX_MEMBERS`]).
    kept: usize,
    /// Length of the canonical form of the kept members, plus one.
    len: usize,
    /// Exactly one header value, already in canonical form, nothing dropped.
    canonical: bool,
}

/// Which members are kept: the first entry of each key, up to [`MAX_MEMBERS`] keys. The
/// validating pass and the building pass make the same decisions with it, on the stack.
struct Kept<'a> {
    keys: [&'a [u8]; MAX_MEMBERS],
    count: usize,
}

impl<'a> Kept<'a> {
    fn new() -> Self {
        Kept {
            keys: [&[]; MAX_MEMBERS],
            count: 0,
        }
    }

    /// Whether a member with `key` is kept: not a later entry of a kept key, and fewer than
    /// 32 kept so far.
    fn admit(&mut self, key: &'a [u8]) -> bool {
        if self.count == MAX_MEMBERS || self.keys[..self.count].contains(&key) {
            return false;
        }
        self.keys[self.count] = key;
        self.count += 1;
        true
    }
}

impl TraceState {
    /// An empty tracestate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse one header value. An invalid member discards the whole value (the error says
    /// which); later entries of a key already seen, and members beyond the 32nd distinct
    /// one, are dropped.
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
        if scan.kept == 0 {
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
        if scan.kept == 0 {
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

/// Validate header values as one list; allocates nothing unless the list is invalid. Every
/// member is validated, also those that will be dropped: a list with an invalid member does
/// not parse.
fn scan<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<Scan, TraceStateError> {
    let mut kept = Kept::new();
    let mut scan = Scan {
        kept: 0,
        len: 0,
        canonical: true,
    };
    let mut index = 0;
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
            let Some((key, val)) = split_member(member) else {
                return Err(TraceStateError::MissingEquals { member: index });
            };
            if !valid_key(key) {
                return Err(TraceStateError::InvalidKey { key: lossy(key) });
            }
            if !valid_value(val) {
                return Err(TraceStateError::InvalidValue { key: lossy(key) });
            }
            index += 1;
            if kept.admit(key) {
                scan.len += member.len() + 1;
            } else {
                scan.canonical = false;
            }
        }
    }
    scan.kept = kept.count;
    Ok(scan)
}

/// Join the kept members of `values` (already validated) into the canonical form.
fn build<'a>(values: impl Iterator<Item = &'a [u8]>, len: usize) -> Option<HeaderValue> {
    let mut kept = Kept::new();
    let mut out = Vec::with_capacity(len);
    for value in values {
        for member in value.split(|&b| b == b',').map(trim_ows) {
            let Some((key, _)) = split_member(member) else {
                continue;
            };
            if !kept.admit(key) {
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

/// Split a non-empty member at its first `=`.
fn split_member(member: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = member.iter().position(|&b| b == b'=')?;
    Some((&member[..eq], &member[eq + 1..]))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"`.
fn is_key_char(c: u8) -> bool {
    matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@')
}

/// `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`: a lowercase letter or a digit, then up to
/// 255 of `a-z 0-9 _ - * / @`. `@` may appear anywhere after the first character, any number
/// of times; there is no separate tenant or system length rule.
pub fn is_valid_key(key: &str) -> bool {
    valid_key(key.as_bytes())
}

fn valid_key(bytes: &[u8]) -> bool {
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    (first.is_ascii_lowercase() || first.is_ascii_digit())
        && bytes.len() <= MAX_KEY_LEN
        && rest.iter().all(|&c| is_key_char(c))
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
mod tests;
