//! Points in time as the Kubernetes API writes them (`metav1.Time`).
//!
//! A [`Timestamp`] is nanoseconds since the Unix epoch (UTC). It is written as
//! RFC 3339 with whole seconds and `Z` (`2024-05-01T12:00:00Z`), as
//! `metav1.Time` marshals, or with all nine fraction digits
//! ([`Timestamp::write_rfc3339_nanos`], the kubelet's `RFC3339NanoFixed` for
//! CRI log lines). It reads RFC 3339 as Go's `time.Parse` does: `T` (or `t`),
//! seconds up to 59, a fraction of one to nine digits, `Z` or `±HH:MM`.
//! No clock here: the caller supplies every "now".
//! The calendar arithmetic is the proleptic Gregorian one (Howard Hinnant's
//! `days_from_civil` / `civil_from_days`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z (years 1677 to 2262).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A malformed RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {text:?}: {why}")]
pub struct TimestampError {
    pub text: String,
    pub why: &'static str,
}

impl Timestamp {
    /// From nanoseconds since the Unix epoch.
    pub const fn from_unix_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// From whole seconds since the Unix epoch.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds.saturating_mul(NANOS_PER_SECOND))
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded towards the past).
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SECOND)
    }

    /// This time moved by `nanos` (negative: earlier).
    pub const fn plus_nanos(self, nanos: i64) -> Self {
        Self(self.0.saturating_add(nanos))
    }

    /// This time moved by `seconds` (negative: earlier).
    pub const fn plus_seconds(self, seconds: i64) -> Self {
        self.plus_nanos(seconds.saturating_mul(NANOS_PER_SECOND))
    }

    /// This time moved later by `duration`.
    pub fn plus(self, duration: std::time::Duration) -> Self {
        self.plus_nanos(i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX))
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> std::time::Duration {
        std::time::Duration::from_nanos(u64::try_from(self.nanos_since(earlier)).unwrap_or(0))
    }

    /// Nanoseconds from `earlier` to `self` (negative if `earlier` is later),
    /// like Go's `t.Sub(earlier)`.
    pub const fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let fail = |why| TimestampError {
            text: text.to_owned(),
            why,
        };
        let b = text.as_bytes();
        if b.len() < 20 {
            return Err(fail("too short"));
        }
        let num = |from: usize, to: usize| -> Result<i64, TimestampError> {
            let digits = &b[from..to];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(fail("expected digits"));
            }
            Ok(digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
            return Err(fail("expected YYYY-MM-DDTHH:MM:SS"));
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(fail("expected YYYY-MM-DDTHH:MM:SS"));
        }
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(fail("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(fail("no such time of day"));
        }
        let mut rest = 19;
        let mut fraction_nanos = 0;
        if b[rest] == b'.' {
            let start = rest + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start || end - start > 9 {
                return Err(fail("a fraction of a second has one to nine digits"));
            }
            let mut scale = NANOS_PER_SECOND;
            for d in &b[start..end] {
                scale /= 10;
                fraction_nanos += i64::from(d - b'0') * scale;
            }
            rest = end;
        }
        let offset_seconds = match &b[rest..] {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let (h, m) = (num(rest + 1, rest + 3)?, num(rest + 4, rest + 6)?);
                if h > 23 || m > 59 {
                    return Err(fail("no such offset"));
                }
                let offset = h * 3600 + m * 60;
                if *sign == b'-' { -offset } else { offset }
            }
            _ => return Err(fail("expected Z or ±HH:MM after the time")),
        };
        let seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY
            + hour * 3600
            + minute * 60
            + second
            - offset_seconds;
        seconds
            .checked_mul(NANOS_PER_SECOND)
            .and_then(|nanos| nanos.checked_add(fraction_nanos))
            .map(Self)
            .ok_or_else(|| fail("outside the years 1677 to 2262"))
    }
}

/// A time's calendar fields in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1 to 12.
    pub month: i64,
    /// 1 to 31.
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    /// 0 is Sunday, as Go's `time.Weekday`.
    pub weekday: i64,
}

impl Timestamp {
    /// The calendar fields of this time, in UTC.
    pub fn civil(self) -> Civil {
        let seconds = self.unix_seconds();
        let (days, in_day) = (
            seconds.div_euclid(SECONDS_PER_DAY),
            seconds.rem_euclid(SECONDS_PER_DAY),
        );
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: in_day / 3600,
            minute: in_day % 3600 / 60,
            second: in_day % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7),
        }
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` in UTC, always nine fraction
    /// digits, so that every timestamp has the same width and text order is
    /// time order (the kubelet's `RFC3339NanoFixed`, used in CRI log lines).
    pub fn write_rfc3339_nanos(self, out: &mut impl fmt::Write) -> fmt::Result {
        let fraction = self.0.rem_euclid(NANOS_PER_SECOND);
        let Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
            ..
        } = self.civil();
        write!(
            out,
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{fraction:09}Z"
        )
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with whole seconds, as `metav1.Time` marshals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.unix_seconds();
        let (days, in_day) = (
            seconds.div_euclid(SECONDS_PER_DAY),
            seconds.rem_euclid(SECONDS_PER_DAY),
        );
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            in_day / 3600,
            in_day % 3600 / 60,
            in_day % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn the_epoch_is_zero() {
        assert_eq!(ts("1970-01-01T00:00:00Z"), Timestamp::from_unix_nanos(0));
        assert_eq!(
            Timestamp::from_unix_nanos(0).to_string(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn known_dates_match_their_unix_seconds() {
        assert_eq!(ts("2000-02-29T12:34:56Z").unix_seconds(), 951_827_696);
        assert_eq!(ts("2024-05-01T00:00:00Z").unix_seconds(), 1_714_521_600);
        assert_eq!(ts("1969-12-31T23:59:59Z").unix_seconds(), -1);
    }

    #[test]
    fn fractions_are_kept_but_written_as_whole_seconds() {
        let t = ts("2024-05-01T00:00:00.5Z");
        assert_eq!(
            t.unix_nanos(),
            1_714_521_600 * NANOS_PER_SECOND + 500_000_000
        );
        assert_eq!(t.to_string(), "2024-05-01T00:00:00Z");
        assert_eq!(
            ts("2024-05-01T00:00:00.123456789Z").unix_nanos() % NANOS_PER_SECOND,
            123_456_789
        );
    }

    #[test]
    fn offsets_convert_to_utc() {
        assert_eq!(ts("2024-05-01T02:00:00+02:00"), ts("2024-05-01T00:00:00Z"));
        assert_eq!(ts("2024-04-30T22:30:00-01:30"), ts("2024-05-01T00:00:00Z"));
    }

    #[test]
    fn malformed_timestamps_are_rejected_with_the_text() {
        for bad in [
            "2024-05-01",
            "2024-05-01T00:00:00",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T00:00:00.Z",
            "2024-05-01T00:00:00+0200",
            "2024/05/01T00:00:00Z",
            "9999-01-01T00:00:00Z",
            "2024-05-01 00:00:00Z",
            "2024-05-01T00:00:60Z",
            "2024-05-01T00:00:00.1234567890Z",
        ] {
            let err = Timestamp::parse_rfc3339(bad).unwrap_err();
            assert_eq!(err.text, bad);
        }
    }

    #[test]
    fn nanosecond_form_has_a_fixed_width() {
        let mut out = String::new();
        ts("2016-10-06T00:17:09.669794202Z")
            .write_rfc3339_nanos(&mut out)
            .unwrap();
        assert_eq!(out, "2016-10-06T00:17:09.669794202Z");
        out.clear();
        Timestamp::from_unix_nanos(-1)
            .write_rfc3339_nanos(&mut out)
            .unwrap();
        assert_eq!(out, "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn serde_uses_rfc3339_strings() {
        let t = ts("2024-05-01T10:20:30Z");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2024-05-01T10:20:30Z\""
        );
        assert_eq!(
            serde_json::from_str::<Timestamp>("\"2024-05-01T10:20:30Z\"").unwrap(),
            t
        );
    }

    proptest! {
        #[test]
        fn whole_seconds_round_trip(seconds in -9_223_372_036i64..9_223_372_036) {
            let t = Timestamp::from_unix_seconds(seconds);
            prop_assert_eq!(ts(&t.to_string()), t);
        }
    }
}
