//! Strict parsing and formatting of the W3C `traceparent` header (Trace Context Level 2).
//!
//! Stricter than most SDKs: exact lengths, lowercase hex only, version `ff` rejected, version
//! `00` with anything after the flags rejected, higher versions accepted only when character 55
//! is absent or `-`. Outgoing headers are always version `00` with unknown flag bits zeroed.

use std::fmt;

use super::ids::{decode_lower_hex, encode_hex, lower_hex_value, SpanId, TraceFlags, TraceId};

/// Length of a version-00 `traceparent` value.
pub const TRACEPARENT_LEN: usize = 55;

/// A parsed `traceparent`: the caller's trace ID, its span ID (`parent-id`) and flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// The trace this request belongs to.
    pub trace_id: TraceId,
    /// The caller's span ID (`parent-id`).
    pub parent_id: SpanId,
    /// The flags byte as received; [`TraceFlags::outgoing`] is what goes downstream.
    pub flags: TraceFlags,
}

/// Why a `traceparent` value was rejected. Each variant's message is the reason shown to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceParentError {
    /// The header value was empty after trimming.
    Empty,
    /// More than one `traceparent` header was received.
    Multiple,
    /// The header value is not visible ASCII.
    NotAscii,
    /// The version is not two lowercase hex characters.
    InvalidVersion,
    /// Version `ff` is forbidden.
    ForbiddenVersion,
    /// A version-00 value is not exactly 55 characters.
    WrongLength {
        /// The length received.
        len: usize,
    },
    /// A higher-version value is shorter than 55 characters.
    TooShort {
        /// The length received.
        len: usize,
    },
    /// A `-` is missing at the given 0-based position.
    MissingDelimiter {
        /// Expected position of the delimiter.
        at: usize,
    },
    /// The trace-id is not 32 lowercase hex characters.
    InvalidTraceId,
    /// The trace-id is all zeros.
    ZeroTraceId,
    /// The parent-id is not 16 lowercase hex characters.
    InvalidParentId,
    /// The parent-id is all zeros.
    ZeroParentId,
    /// The flags are not 2 lowercase hex characters.
    InvalidFlags,
    /// A higher-version value continues after the flags with something other than `-`.
    InvalidSuffix,
}

impl fmt::Display for TraceParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("traceparent is empty"),
            Self::Multiple => f.write_str("more than one traceparent header"),
            Self::NotAscii => f.write_str("traceparent is not visible ASCII"),
            Self::InvalidVersion => f.write_str("version is not 2 lowercase hex characters"),
            Self::ForbiddenVersion => f.write_str("version ff is forbidden"),
            Self::WrongLength { len } => {
                write!(f, "version 00 must be exactly 55 characters, got {len}")
            }
            Self::TooShort { len } => {
                write!(f, "traceparent must be at least 55 characters, got {len}")
            }
            Self::MissingDelimiter { at } => write!(f, "expected '-' at position {at}"),
            Self::InvalidTraceId => f.write_str("trace-id is not 32 lowercase hex characters"),
            Self::ZeroTraceId => f.write_str("trace-id is all zeros"),
            Self::InvalidParentId => f.write_str("parent-id is not 16 lowercase hex characters"),
            Self::ZeroParentId => f.write_str("parent-id is all zeros"),
            Self::InvalidFlags => f.write_str("trace-flags is not 2 lowercase hex characters"),
            Self::InvalidSuffix => {
                f.write_str("data after trace-flags must start with '-' (higher versions only)")
            }
        }
    }
}

impl std::error::Error for TraceParentError {}

impl TraceParent {
    /// Parse one `traceparent` header value. Leading and trailing spaces and tabs are trimmed.
    pub fn parse(value: &str) -> Result<Self, TraceParentError> {
        Self::parse_bytes(value.as_bytes())
    }

    /// Parse from raw header bytes (as received, possibly not UTF-8).
    pub fn parse_bytes(value: &[u8]) -> Result<Self, TraceParentError> {
        let value = trim_ows(value);
        if value.is_empty() {
            return Err(TraceParentError::Empty);
        }
        if value.len() < 2 {
            return Err(TraceParentError::TooShort { len: value.len() });
        }
        let version = (lower_hex_value(value[0]), lower_hex_value(value[1]));
        let (Some(v_hi), Some(v_lo)) = version else {
            return Err(TraceParentError::InvalidVersion);
        };
        let version = (v_hi << 4) | v_lo;
        if version == 0xff {
            return Err(TraceParentError::ForbiddenVersion);
        }
        if version == 0 {
            if value.len() != TRACEPARENT_LEN {
                return Err(TraceParentError::WrongLength { len: value.len() });
            }
        } else {
            if value.len() < TRACEPARENT_LEN {
                return Err(TraceParentError::TooShort { len: value.len() });
            }
            if value.len() > TRACEPARENT_LEN && value[TRACEPARENT_LEN] != b'-' {
                return Err(TraceParentError::InvalidSuffix);
            }
        }
        for at in [2, 35, 52] {
            if value[at] != b'-' {
                return Err(TraceParentError::MissingDelimiter { at });
            }
        }
        let mut trace = [0u8; 16];
        decode_lower_hex(&value[3..35], &mut trace).ok_or(TraceParentError::InvalidTraceId)?;
        let trace_id = TraceId::from_bytes(trace).ok_or(TraceParentError::ZeroTraceId)?;
        let mut parent = [0u8; 8];
        decode_lower_hex(&value[36..52], &mut parent).ok_or(TraceParentError::InvalidParentId)?;
        let parent_id = SpanId::from_bytes(parent).ok_or(TraceParentError::ZeroParentId)?;
        let mut flags = [0u8; 1];
        decode_lower_hex(&value[53..55], &mut flags).ok_or(TraceParentError::InvalidFlags)?;
        Ok(TraceParent {
            trace_id,
            parent_id,
            flags: TraceFlags::new(flags[0]),
        })
    }

    /// The version-00 header value, with unknown flag bits zeroed.
    pub fn to_header_value(&self) -> String {
        let bytes = format_traceparent(self.trace_id, self.parent_id, self.flags);
        bytes.iter().map(|&b| char::from(b)).collect()
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = format_traceparent(self.trace_id, self.parent_id, self.flags);
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

/// Format `00-<trace-id>-<span-id>-<flags>` into a stack buffer (known flag bits only).
pub(crate) fn format_traceparent(
    trace_id: TraceId,
    span_id: SpanId,
    flags: TraceFlags,
) -> [u8; TRACEPARENT_LEN] {
    let mut out = [b'-'; TRACEPARENT_LEN];
    out[0] = b'0';
    out[1] = b'0';
    encode_hex(&trace_id.to_bytes(), &mut out[3..35]);
    encode_hex(&span_id.to_bytes(), &mut out[36..52]);
    encode_hex(&[flags.outgoing()], &mut out[53..55]);
    out
}

/// Trim leading and trailing spaces and tabs (HTTP optional whitespace).
pub(crate) fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";

    /// Valid inputs: (input, expected flags byte as received, reason it is valid).
    const VALID: &[(&str, u8, &str)] = &[
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            0x01,
            "canonical sampled",
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            0x00,
            "not sampled still propagates",
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
            0x03,
            "sampled + random",
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff",
            0xff,
            "unknown flag bits accepted",
        ),
        (
            "  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\t",
            0x01,
            "OWS trimmed",
        ),
        (
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            0x01,
            "higher version, exact length",
        ),
        (
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like",
            0x01,
            "higher version, '-' then anything",
        ),
        (
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09",
            0x09,
            "version 01",
        ),
        (
            "fe-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            0x01,
            "version fe is the highest allowed",
        ),
        (
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            0x01,
            "suite: leading space",
        ),
        (
            "\t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            0x01,
            "suite: leading tab",
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
            0x01,
            "suite: trailing space",
        ),
        (
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            0x01,
            "higher version, empty field after flags",
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
            0x02,
            "random without sampled still propagates",
        ),
    ];

    /// Invalid inputs: (input, expected error, reason it is invalid). Sections are those of
    /// `spec/20-http_request_header_format.md` ("traceparent Header Field Values", "Versioning
    /// of traceparent"); "suite:" cases come from the W3C test suite (`test/test.py`).
    const INVALID: &[(&str, TraceParentError, &str)] = &[
        ("", TraceParentError::Empty, "empty header"),
        ("   \t ", TraceParentError::Empty, "only whitespace"),
        ("0", TraceParentError::TooShort { len: 1 }, "one character"),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceParentError::ForbiddenVersion, "version ff forbidden"),
        ("0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceParentError::InvalidVersion, "version not hex"),
        ("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceParentError::InvalidVersion, "version uppercase"),
        ("CC-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceParentError::InvalidVersion, "higher version uppercase"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.", TraceParentError::WrongLength { len: 56 }, "version 00 with trailing '.'"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", TraceParentError::WrongLength { len: 56 }, "version 00 with trailing '-'"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", TraceParentError::WrongLength { len: 61 }, "version 00 with extra field"),
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", TraceParentError::WrongLength { len: 54 }, "31-character trace-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01", TraceParentError::WrongLength { len: 56 }, "33-character trace-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01", TraceParentError::WrongLength { len: 54 }, "15-character parent-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", TraceParentError::WrongLength { len: 54 }, "1-character flags"),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", TraceParentError::TooShort { len: 54 }, "higher version shorter than 55"),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what-the-future-will-be-like", TraceParentError::InvalidSuffix, "higher version, '.' after flags"),
        ("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceParentError::MissingDelimiter { at: 2 }, "wrong delimiter after version"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", TraceParentError::MissingDelimiter { at: 35 }, "wrong delimiter after trace-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01", TraceParentError::MissingDelimiter { at: 52 }, "wrong delimiter after parent-id"),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", TraceParentError::InvalidTraceId, "uppercase trace-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", TraceParentError::InvalidTraceId, "non-hex trace-id"),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", TraceParentError::ZeroTraceId, "all-zero trace-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", TraceParentError::InvalidParentId, "uppercase parent-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", TraceParentError::InvalidParentId, "non-hex parent-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", TraceParentError::ZeroParentId, "all-zero parent-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A", TraceParentError::InvalidFlags, "uppercase flags"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", TraceParentError::InvalidFlags, "non-hex flags"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é", TraceParentError::InvalidFlags, "non-ASCII flags (2 bytes)"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01,00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceParentError::WrongLength { len: 111 }, "two values folded into one header"),
        // From the W3C test suite (test/test.py), each must restart the trace.
        (".0-12345678901234567890123456789012-1234567890123456-01", TraceParentError::InvalidVersion, "suite: '.' as first version character"),
        ("0.-12345678901234567890123456789012-1234567890123456-01", TraceParentError::InvalidVersion, "suite: '.' as second version character"),
        ("000-12345678901234567890123456789012-1234567890123456-01", TraceParentError::WrongLength { len: 56 }, "suite: 3-character version"),
        ("0000-12345678901234567890123456789012-1234567890123456-01", TraceParentError::WrongLength { len: 57 }, "suite: 4-character version"),
        ("0-12345678901234567890123456789012-1234567890123456-01", TraceParentError::InvalidVersion, "suite: 1-character version ('-' is not hex)"),
        ("00-.2345678901234567890123456789012-1234567890123456-01", TraceParentError::InvalidTraceId, "suite: '.' leading the trace-id"),
        ("00-1234567890123456789012345678901.-1234567890123456-01", TraceParentError::InvalidTraceId, "suite: '.' ending the trace-id"),
        ("00-12345678901234567890123456789012-.234567890123456-01", TraceParentError::InvalidParentId, "suite: '.' leading the parent-id"),
        ("00-12345678901234567890123456789012-123456789012345.-01", TraceParentError::InvalidParentId, "suite: '.' ending the parent-id"),
        ("00-12345678901234567890123456789012-12345678901234567-01", TraceParentError::WrongLength { len: 56 }, "suite: 17-character parent-id"),
        ("00-12345678901234567890123456789012-1234567890123456-.0", TraceParentError::InvalidFlags, "suite: '.' leading the flags"),
        ("00-12345678901234567890123456789012-1234567890123456-0.", TraceParentError::InvalidFlags, "suite: '.' ending the flags"),
        ("00-12345678901234567890123456789012-1234567890123456-001", TraceParentError::WrongLength { len: 56 }, "suite: 3-character flags"),
        ("cc-123456789012345678901234567890123-1234567890123456-01", TraceParentError::InvalidSuffix, "higher version, 33-character trace-id shifts the fields"),
        ("cc-12345678901234567890123456789012-1234567890123456-01\x0bx", TraceParentError::InvalidSuffix, "higher version, control character after flags"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r", TraceParentError::WrongLength { len: 56 }, "CR is not optional whitespace"),
        // Versioning of traceparent: a higher version is parsed with the version-00 fields,
        // which keep their own rules (future versions are additive).
        ("cc_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceParentError::MissingDelimiter { at: 2 }, "versioning: the version prefix is not 2 hex characters followed by a dash"),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7.01", TraceParentError::MissingDelimiter { at: 52 }, "versioning: parent-id MUST be followed by a dash"),
        ("cc-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", TraceParentError::InvalidTraceId, "versioning: a higher version's trace-id is still HEXDIGLC"),
        ("cc-00000000000000000000000000000000-00f067aa0ba902b7-01", TraceParentError::ZeroTraceId, "versioning: a higher version's all-zero trace-id is still forbidden"),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", TraceParentError::ZeroParentId, "versioning: a higher version's all-zero parent-id is still forbidden"),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g-x", TraceParentError::InvalidFlags, "versioning: a higher version's flags are still 2 hex characters"),
        ("\u{a0}00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceParentError::InvalidVersion, "no-break space is not optional whitespace"),
    ];

    #[test]
    fn valid_table() {
        for (input, flags, reason) in VALID {
            let parsed = TraceParent::parse(input)
                .unwrap_or_else(|err| panic!("{reason}: {input:?} rejected: {err}"));
            assert_eq!(parsed.trace_id.to_hex(), TRACE, "{reason}");
            assert_eq!(parsed.parent_id.to_hex(), PARENT, "{reason}");
            assert_eq!(parsed.flags.bits(), *flags, "{reason}");
        }
    }

    #[test]
    fn invalid_table() {
        for (input, expected, reason) in INVALID {
            assert_eq!(
                TraceParent::parse(input),
                Err(*expected),
                "{reason}: {input:?}"
            );
        }
    }

    #[test]
    fn outgoing_is_version_00_with_known_flags_only() {
        let parsed =
            TraceParent::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-future")
                .unwrap();
        assert_eq!(
            parsed.to_header_value(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"
        );
        assert_eq!(parsed.to_string(), parsed.to_header_value());
    }

    #[test]
    fn non_utf8_bytes_are_rejected_not_panicking() {
        let mut bytes = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec();
        bytes[10] = 0xff;
        assert_eq!(
            TraceParent::parse_bytes(&bytes),
            Err(TraceParentError::InvalidTraceId)
        );
    }
}
