//! When and how long to wait before sending a batch again: the OTLP/HTTP rules (retry 429, 502,
//! 503 and 504 and transport errors; never other 4xx/5xx), the server's own waiting interval
//! (a `Retry-After` header, or a `google.rpc.RetryInfo` in the `google.rpc.Status` error body),
//! and otherwise exponential backoff with jitter, all within a per-batch time budget (the
//! OpenTelemetry Collector's `retry_on_failure`).

use std::time::Duration;

use prost::Message;
use rand::Rng;

/// First backoff interval (the Collector's `retry_on_failure.initial_interval` default).
pub const DEFAULT_RETRY_INITIAL_INTERVAL: Duration = Duration::from_secs(5);
/// Longest backoff interval (`retry_on_failure.max_interval`).
pub const DEFAULT_RETRY_MAX_INTERVAL: Duration = Duration::from_secs(30);
/// Time budget per batch and destination, first attempt included
/// (`retry_on_failure.max_elapsed_time`).
pub const DEFAULT_RETRY_MAX_ELAPSED_TIME: Duration = Duration::from_secs(300);

/// Growth of the backoff per attempt (the Collector's default multiplier).
pub const BACKOFF_MULTIPLIER: f64 = 1.5;

/// The retry policy of every destination. A server-given waiting interval (`Retry-After`,
/// `RetryInfo`) is used as is instead of the backoff; the batch is dropped as soon as the next
/// wait would end past `max_elapsed_time` (counted from the first attempt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the second attempt when the server names no interval; multiplied by
    /// [`BACKOFF_MULTIPLIER`] per attempt.
    pub initial_interval: Duration,
    /// Upper bound of the backoff (not of a server-given interval).
    pub max_interval: Duration,
    /// Per-batch budget; `None`: no time limit (then only `max_attempts` and the shutdown
    /// deadline end the retries).
    pub max_elapsed_time: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_interval: DEFAULT_RETRY_INITIAL_INTERVAL,
            max_interval: DEFAULT_RETRY_MAX_INTERVAL,
            max_elapsed_time: Some(DEFAULT_RETRY_MAX_ELAPSED_TIME),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `attempt + 1` (`attempt` ≥ 1 attempts made): the initial
    /// interval multiplied by [`BACKOFF_MULTIPLIER`] per attempt, capped at `max_interval`,
    /// with ±50 % jitter (the Collector's multiplier and randomization factor), never above
    /// `max_interval`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(200) as i32;
        let grown = self.initial_interval.as_secs_f64() * BACKOFF_MULTIPLIER.powi(exponent);
        let base = grown.min(self.max_interval.as_secs_f64());
        let factor: f64 = rand::rng().random_range(0.5..=1.5);
        Duration::try_from_secs_f64(base * factor)
            .unwrap_or(self.max_interval)
            .min(self.max_interval)
    }
}

impl RetryPolicy {
    /// Whether waiting `wait` more, `elapsed` after a batch's first attempt, stays within
    /// `max_elapsed_time` (any wait does when there is no limit; never overflows).
    pub fn allows(&self, elapsed: Duration, wait: Duration) -> bool {
        self.max_elapsed_time
            .is_none_or(|budget| elapsed.saturating_add(wait) <= budget)
    }
}

/// The statuses OTLP/HTTP says to retry; every other 4xx and 5xx must not be.
pub fn retryable(status: http::StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// The server's waiting interval: the `Retry-After` header (delay-seconds or an HTTP-date),
/// else a `google.rpc.RetryInfo` detail in a protobuf `google.rpc.Status` body. `None` when
/// neither is present or readable (then the backoff applies).
pub fn server_delay(
    headers: &http::HeaderMap,
    body: &[u8],
    now: std::time::SystemTime,
) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, now))
        .or_else(|| {
            let json = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("json"));
            (!json).then(|| retry_info(body)).flatten()
        })
}

/// `Retry-After: 120` or `Retry-After: Sun, 06 Dec 2026 05:00:00 GMT` (IMF-fixdate; a date in
/// the past means "now").
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_imf_fixdate(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7); the obsolete forms are not read.
fn parse_imf_fixdate(value: &str) -> Option<std::time::SystemTime> {
    let rest = value.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let day: u32 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let clock: Vec<u64> = time
        .split(':')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    let [hour, minute, second] = clock.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *hour > 23 || *minute > 59 || *second > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = u64::try_from(days).ok()? * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The `type_url` of a `google.rpc.RetryInfo` detail.
pub const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// `google.rpc.Status` (the OTLP/HTTP error body).
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    /// The gRPC status code (OTLP does not require it).
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// A developer-facing message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Typed details, such as a `RetryInfo`.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<RpcAny>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
pub struct RpcAny {
    /// `type.googleapis.com/<full message name>`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
pub struct RetryInfo {
    /// How long to wait before retrying.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds (0 ≤ nanos < 10⁹ for a positive duration).
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// The `RetryInfo.retry_delay` of a protobuf `google.rpc.Status` body; `None` when the body
/// is not one, has no `RetryInfo`, or its delay is negative.
pub fn retry_info(body: &[u8]) -> Option<Duration> {
    let status = RpcStatus::decode(body).ok()?;
    let detail = status
        .details
        .iter()
        .find(|d| d.type_url == RETRY_INFO_TYPE)?;
    let delay = RetryInfo::decode(detail.value.as_slice())
        .ok()?
        .retry_delay?;
    let seconds = u64::try_from(delay.seconds).ok()?;
    let nanos = u32::try_from(delay.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)?;
    Some(Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past: retry now"
        );
        for bad in ["", "-1", "soon", "Sun, 06 Nov 1994 08:49:47 CET", "1.5"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
        let leap = parse_imf_fixdate("Tue, 29 Feb 2028 00:00:00 GMT").unwrap();
        assert_eq!(
            leap.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_835_395_200
        );
    }

    #[test]
    fn retry_info_in_a_status_body() {
        let info = RetryInfo {
            retry_delay: Some(ProtoDuration {
                seconds: 1,
                nanos: 500_000_000,
            }),
        };
        let status = RpcStatus {
            code: 14,
            message: "overloaded".to_owned(),
            details: vec![
                RpcAny {
                    type_url: "type.googleapis.com/google.rpc.DebugInfo".to_owned(),
                    value: vec![1, 2, 3],
                },
                RpcAny {
                    type_url: RETRY_INFO_TYPE.to_owned(),
                    value: info.encode_to_vec(),
                },
            ],
        };
        let body = status.encode_to_vec();
        assert_eq!(retry_info(&body), Some(Duration::from_millis(1_500)));
        let headers = http::HeaderMap::new();
        assert_eq!(
            server_delay(&headers, &body, SystemTime::now()),
            Some(Duration::from_millis(1_500))
        );
        let mut with_header = http::HeaderMap::new();
        with_header.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("3"),
        );
        assert_eq!(
            server_delay(&with_header, &body, SystemTime::now()),
            Some(Duration::from_secs(3)),
            "the header wins"
        );
        assert_eq!(retry_info(b"not protobuf at all \xff\xff"), None);
        assert_eq!(retry_info(&[]), None);
    }

    #[test]
    fn backoff_grows_by_half_with_jitter_and_stays_under_the_cap() {
        let policy = RetryPolicy {
            initial_interval: Duration::from_millis(100),
            max_interval: Duration::from_millis(350),
            max_elapsed_time: None,
        };
        for _ in 0..200 {
            let first = policy.backoff(1);
            assert!((50..=150).contains(&first.as_millis()), "{first:?}");
            let second = policy.backoff(2);
            assert!((75..=225).contains(&second.as_millis()), "{second:?}");
            let third = policy.backoff(3);
            assert!((112..=338).contains(&third.as_millis()), "{third:?}");
            assert!(policy.backoff(30) <= Duration::from_millis(350));
        }
    }

    #[test]
    fn extreme_server_delays_and_intervals_do_not_overflow() {
        let huge = parse_retry_after(&u64::MAX.to_string(), SystemTime::now()).unwrap();
        let policy = RetryPolicy::default();
        assert!(!policy.allows(Duration::from_secs(1), huge));
        assert!(policy.allows(Duration::from_secs(1), Duration::from_secs(299)));
        assert!(!policy.allows(Duration::from_secs(1), Duration::from_secs(300)));
        let unlimited = RetryPolicy {
            max_elapsed_time: None,
            ..policy
        };
        assert!(unlimited.allows(Duration::MAX, huge));
        let status = RpcStatus {
            code: 8,
            message: String::new(),
            details: vec![RpcAny {
                type_url: RETRY_INFO_TYPE.to_owned(),
                value: RetryInfo {
                    retry_delay: Some(ProtoDuration {
                        seconds: i64::MAX,
                        nanos: 999_999_999,
                    }),
                }
                .encode_to_vec(),
            }],
        };
        assert!(retry_info(&status.encode_to_vec()).is_some());
        let wide = RetryPolicy {
            initial_interval: Duration::from_millis(u64::MAX),
            max_interval: Duration::from_millis(u64::MAX),
            max_elapsed_time: None,
        };
        assert!(wide.backoff(40) <= wide.max_interval);
    }

    #[test]
    fn only_the_otlp_retryable_statuses() {
        for code in [429, 502, 503, 504] {
            assert!(
                retryable(http::StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 408, 413, 500, 501] {
            assert!(
                !retryable(http::StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }
}
