//! Times for people: a UTC timestamp to the second, an age ("3m ago"), an offset ("+12.3ms").

use crate::trace::format_ns;

/// Unix nanoseconds as RFC 3339 in UTC to the second (`2026-12-06T19:53:12Z`); `-` for 0 (a
/// trace whose start is unknown) or a time out of range.
pub fn utc_seconds(unix_nano: u64) -> String {
    if unix_nano == 0 {
        return "-".to_owned();
    }
    let secs = i64::try_from(unix_nano / 1_000_000_000).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "-".to_owned())
}

/// How long before `now` something happened, coarsely: `just now`, `42s ago`, `3m ago`,
/// `5h ago`, `2d ago`; `in the future` when a clock is ahead; `-` when unknown (0).
pub fn age(now_unix_nano: u64, then_unix_nano: u64) -> String {
    if then_unix_nano == 0 {
        return "-".to_owned();
    }
    let Some(ago) = now_unix_nano.checked_sub(then_unix_nano) else {
        return "in the future".to_owned();
    };
    let secs = ago / 1_000_000_000;
    match secs {
        0 => "just now".to_owned(),
        1..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// A start offset from the trace's start: `+0`, `+850ns`, `+12.30ms`.
pub fn offset(ns: u64) -> String {
    if ns == 0 {
        "+0".to_owned()
    } else {
        format!("+{}", format_ns(ns))
    }
}

/// The current time in Unix nanoseconds (0 if the clock is before 1970).
pub fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn utc_to_the_second() {
        assert_eq!(utc_seconds(1_700_000_000 * S + 999), "2023-11-14T22:13:20Z");
        assert_eq!(utc_seconds(0), "-");
    }

    #[test]
    fn ages_are_coarse_and_never_negative() {
        let now = 1_700_000_000 * S;
        let cases = [
            (now, "just now"),
            (now - 42 * S, "42s ago"),
            (now - 3 * 60 * S - 5 * S, "3m ago"),
            (now - 5 * 3600 * S, "5h ago"),
            (now - 2 * 86_400 * S, "2d ago"),
            (now + S, "in the future"),
            (0, "-"),
        ];
        for (then, want) in cases {
            assert_eq!(age(now, then), want, "{then}");
        }
    }

    #[test]
    fn offsets_are_signed() {
        assert_eq!(offset(0), "+0");
        assert_eq!(offset(12_300_000), "+12.30ms");
    }
}
