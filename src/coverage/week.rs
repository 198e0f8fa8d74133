//! ISO 8601 weeks (`2026-W48`): the key of the history.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Weekday};

use super::CoverageError;

/// One ISO week: a year and a week number (1..=52 or 53).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    year: i32,
    week: u8,
}

impl IsoWeek {
    /// The week `date` falls in.
    pub fn of(date: Date) -> IsoWeek {
        let (year, week, _) = date.to_iso_week_date();
        IsoWeek { year, week }
    }

    /// The current week (UTC).
    pub fn current() -> IsoWeek {
        IsoWeek::of(time::OffsetDateTime::now_utc().date())
    }

    /// The ISO year (may differ from the calendar year around 1 January).
    pub fn year(self) -> i32 {
        self.year
    }

    /// The week number, 1-based.
    pub fn week(self) -> u8 {
        self.week
    }

    /// Its Monday.
    pub fn monday(self) -> Date {
        // Valid by construction: `parse` and `of` only build existing weeks.
        Date::from_iso_week_date(self.year, self.week, Weekday::Monday).unwrap_or(Date::MIN)
    }

    /// Its Sunday.
    pub fn sunday(self) -> Date {
        Date::from_iso_week_date(self.year, self.week, Weekday::Sunday).unwrap_or(Date::MAX)
    }

    /// The week `weeks` weeks later (earlier when negative).
    pub fn offset(self, weeks: i64) -> IsoWeek {
        let date = self
            .monday()
            .checked_add(time::Duration::weeks(weeks))
            .unwrap_or(if weeks < 0 { Date::MIN } else { Date::MAX });
        IsoWeek::of(date)
    }

    /// The week before.
    pub fn previous(self) -> IsoWeek {
        self.offset(-1)
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = CoverageError;

    /// `YYYY-Www` (`2026-W48`, `2026-W05`); also accepts lower-case `w`. A week 53 is valid
    /// only in years that have one.
    fn from_str(text: &str) -> Result<IsoWeek, CoverageError> {
        let bad = |why: &str| {
            CoverageError::Week(format!(
                "week {text:?}: {why} (expected an ISO week such as 2026-W48)"
            ))
        };
        let (year, week) = text
            .split_once(['W', 'w'])
            .and_then(|(y, w)| Some((y.strip_suffix('-')?, w)))
            .ok_or_else(|| bad("not of the form YYYY-Www"))?;
        if year.len() != 4
            || week.len() != 2
            || !(year.bytes().chain(week.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(bad("not of the form YYYY-Www"));
        }
        let year: i32 = year.parse().map_err(|_| bad("bad year"))?;
        let week: u8 = week.parse().map_err(|_| bad("bad week number"))?;
        if week == 0 || Date::from_iso_week_date(year, week, Weekday::Monday).is_err() {
            return Err(bad(&format!("{year} has no week {week}")));
        }
        Ok(IsoWeek { year, week })
    }
}

impl Serialize for IsoWeek {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoWeek {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<IsoWeek, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    #[test]
    fn parses_and_prints_iso_weeks() {
        // (input, expected display or None for an error, reason)
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("2026-W48", Some("2026-W48"), "the form the issue uses"),
            ("2026-w05", Some("2026-W05"), "lower-case w accepted"),
            ("2020-W53", Some("2020-W53"), "2020 has 53 ISO weeks"),
            (
                "2026-W53",
                Some("2026-W53"),
                "2026 starts on a Thursday: 53 weeks",
            ),
            ("2027-W53", None, "2027 has only 52"),
            ("2026-W00", None, "weeks start at 1"),
            ("2026-W5", None, "two digits required"),
            ("2026W48", None, "the dash is required"),
            ("26-W48", None, "four-digit year"),
            ("2026-48", None, "no W"),
            ("", None, "empty"),
            ("2026-W4８", None, "non-ASCII digit"),
        ];
        for (input, want, why) in cases {
            let got = input.parse::<IsoWeek>().map(|w| w.to_string()).ok();
            assert_eq!(got.as_deref(), *want, "{input:?}: {why}");
        }
    }

    #[test]
    fn weeks_around_new_year_follow_iso() {
        // 2026-01-01 is a Thursday: week 1 of 2026, and 2026 has 53 weeks, so 2027-01-01
        // (a Friday) still belongs to 2026-W53.
        assert_eq!(IsoWeek::of(date!(2026 - 01 - 01)).to_string(), "2026-W01");
        assert_eq!(IsoWeek::of(date!(2027 - 01 - 01)).to_string(), "2026-W53");
        assert_eq!(IsoWeek::of(date!(2027 - 01 - 04)).to_string(), "2027-W01");
    }

    #[test]
    fn offset_crosses_years() {
        let w: IsoWeek = "2026-W01".parse().unwrap();
        assert_eq!(w.previous().to_string(), "2025-W52");
        assert_eq!(
            "2027-W01"
                .parse::<IsoWeek>()
                .unwrap()
                .previous()
                .to_string(),
            "2026-W53"
        );
        assert_eq!(w.offset(-52).to_string(), "2025-W01");
        let w48: IsoWeek = "2026-W48".parse().unwrap();
        assert_eq!(w48.monday(), date!(2026 - 11 - 23));
        assert_eq!(w48.sunday(), date!(2026 - 11 - 29));
    }
}
