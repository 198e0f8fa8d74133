//! The trace ID a response returned: `traceresponse`, `server-timing: trace;desc=…`, or the
//! scenario's own header.

use http::HeaderMap;

use crate::propagation::{TraceId, TraceParent};
use crate::verify::model::ReturnedId;

/// `traceresponse` (W3C Trace Context Level 2).
pub const TRACERESPONSE: &str = "traceresponse";
/// `server-timing`, whose `trace` metric carries the trace context in its `desc`.
pub const SERVER_TIMING: &str = "server-timing";

/// The response headers relevant to tracing, lowercase names, every value (a header that is
/// not visible ASCII is recorded lossily).
pub fn relevant_headers(headers: &HeaderMap, custom: Option<&str>) -> Vec<(String, String)> {
    let mut names = vec![TRACERESPONSE.to_owned(), SERVER_TIMING.to_owned()];
    if let Some(name) = custom {
        let name = name.to_ascii_lowercase();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut out = Vec::new();
    for name in names {
        for value in headers.get_all(name.as_str()) {
            out.push((
                name.clone(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
    }
    out
}

/// The first trace ID found, in this order: `traceresponse`, `server-timing`, then the
/// scenario's header. An invalid value is passed over (the criteria see the raw headers).
pub fn returned_id(headers: &HeaderMap, custom: Option<&str>) -> Option<ReturnedId> {
    let from = |header: &str, parent: TraceParent| ReturnedId {
        trace_id: parent.trace_id,
        span_id: Some(parent.parent_id),
        header: header.to_owned(),
    };
    let mut values = headers.get_all(TRACERESPONSE).iter();
    if let (Some(value), None) = (values.next(), values.next()) {
        if let Ok(parent) = TraceParent::parse_bytes(value.as_bytes()) {
            return Some(from(TRACERESPONSE, parent));
        }
    }
    for value in headers.get_all(SERVER_TIMING) {
        let Ok(text) = value.to_str() else { continue };
        if let Some(parent) = server_timing_trace(text) {
            return Some(from(SERVER_TIMING, parent));
        }
    }
    let name = custom?;
    let value = headers.get(name)?.to_str().ok()?.trim();
    if let Ok(parent) = TraceParent::parse(value) {
        return Some(from(&name.to_ascii_lowercase(), parent));
    }
    TraceId::from_hex(value).map(|trace_id| ReturnedId {
        trace_id,
        span_id: None,
        header: name.to_ascii_lowercase(),
    })
}

/// The trace context in a `server-timing` value's `trace` metric (`trace;desc=00-…` or
/// `trace;desc="00-…"`), among any other metrics.
pub fn server_timing_trace(value: &str) -> Option<TraceParent> {
    split_outside_quotes(value, ',')
        .into_iter()
        .find_map(|metric| {
            let mut parts = split_outside_quotes(metric, ';').into_iter();
            let name = parts.next()?.trim();
            if !name.eq_ignore_ascii_case("trace") {
                return None;
            }
            parts.find_map(|param| {
                let (key, raw) = param.split_once('=')?;
                if !key.trim().eq_ignore_ascii_case("desc") {
                    return None;
                }
                TraceParent::parse(&unquote(raw.trim())).ok()
            })
        })
}

/// Split on `separator` where it is not inside a quoted string.
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A token as is; a quoted string without its quotes and escapes.
fn unquote(text: &str) -> String {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if escaped || c != '\\' {
            out.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers
    }

    #[test]
    fn the_trace_id_is_read_from_each_kind_of_header() {
        let tp = format!("00-{TRACE}-{SPAN}-01");
        // (headers, custom header, expected header it was read from, has a span ID)
        type Case<'a> = (Vec<(&'a str, String)>, Option<&'a str>, &'a str, bool);
        let found: Vec<Case> = vec![
            (
                vec![("traceresponse", tp.clone())],
                None,
                "traceresponse",
                true,
            ),
            (
                vec![("server-timing", format!("trace;desc={tp}"))],
                None,
                "server-timing",
                true,
            ),
            (
                vec![(
                    "server-timing",
                    format!("cache;desc=\"hit, warm\";dur=1, Trace;dur=0;desc=\"{tp}\", db;dur=53"),
                )],
                None,
                "server-timing",
                true,
            ),
            (
                vec![
                    ("server-timing", "db;dur=53".to_owned()),
                    ("server-timing", format!("trace;desc={tp}")),
                ],
                None,
                "server-timing",
                true,
            ),
            (
                vec![("x-trace-id", TRACE.to_owned())],
                Some("X-Trace-Id"),
                "x-trace-id",
                false,
            ),
            (
                vec![("x-trace-id", format!(" {tp} "))],
                Some("x-trace-id"),
                "x-trace-id",
                true,
            ),
            (
                vec![
                    ("traceresponse", "garbage".to_owned()),
                    ("server-timing", format!("trace;desc={tp}")),
                ],
                None,
                "server-timing",
                true,
            ),
        ];
        for (pairs, custom, header, has_span) in found {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let returned = returned_id(&map(&pairs), custom).unwrap_or_else(|| panic!("{pairs:?}"));
            assert_eq!(returned.trace_id.to_hex(), TRACE, "{pairs:?}");
            assert_eq!(returned.header, header, "{pairs:?}");
            assert_eq!(returned.span_id.is_some(), has_span, "{pairs:?}");
        }
    }

    #[test]
    fn invalid_or_missing_ids_are_none() {
        let upper = format!("00-{}-{SPAN}-01", TRACE.to_ascii_uppercase());
        let zero = format!("00-{}-{SPAN}-01", "0".repeat(32));
        let cases: Vec<Vec<(&str, String)>> = vec![
            vec![],
            vec![("traceresponse", upper.clone())],
            vec![("traceresponse", zero.clone())],
            vec![("traceresponse", format!("00-{TRACE}-{SPAN}-01-x"))],
            vec![(
                "server-timing",
                format!("trace;dur=1, db;desc=00-{TRACE}-{SPAN}-01"),
            )],
            vec![("server-timing", format!("traced;desc={TRACE}"))],
            vec![("x-trace-id", TRACE.to_ascii_uppercase())],
            vec![("x-trace-id", "0".repeat(32))],
            vec![("x-trace-id", TRACE[1..].to_owned())],
            // a trace ID in a header the scenario did not name is not looked at
            vec![("x-other", TRACE.to_owned())],
        ];
        for pairs in cases {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            assert_eq!(
                returned_id(&map(&pairs), Some("x-trace-id")),
                None,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn two_traceresponse_headers_are_not_trusted() {
        let a = format!("00-{TRACE}-{SPAN}-01");
        let b = format!("00-{}-{SPAN}-01", "1".repeat(32));
        assert_eq!(
            returned_id(&map(&[("traceresponse", &a), ("traceresponse", &b)]), None),
            None
        );
    }

    #[test]
    fn relevant_headers_keep_every_value_and_only_those_headers() {
        let headers = map(&[
            ("server-timing", "db;dur=5"),
            ("server-timing", "trace;desc=x"),
            ("traceresponse", "y"),
            ("x-trace-id", "z"),
            ("content-type", "text/plain"),
        ]);
        let kept = relevant_headers(&headers, Some("X-Trace-Id"));
        let expected: Vec<(String, String)> = [
            ("traceresponse", "y"),
            ("server-timing", "db;dur=5"),
            ("server-timing", "trace;desc=x"),
            ("x-trace-id", "z"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(kept, expected);
    }
}
