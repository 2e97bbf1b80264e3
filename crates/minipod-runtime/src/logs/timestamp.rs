//! RFC 3339 timestamps with nanoseconds, as CRI log lines carry them.
//!
//! Written in UTC with all nine fraction digits
//! (`2016-10-06T00:17:09.669794202Z`): the kubelet's own
//! `RFC3339NanoFixed`, which keeps every timestamp the same width so log
//! lines sort by time as text. (containerd writes Go's `RFC3339Nano`, which
//! drops trailing zeros of the fraction; CRI-O writes nine digits.) Read
//! leniently, as the kubelet does: any fraction of up to nine digits or
//! none, `Z` or a numeric offset.
//!
//! The calendar arithmetic is Howard Hinnant's `days_from_civil` and
//! `civil_from_days` (proleptic Gregorian calendar), on signed days since
//! 1970-01-01, so times before the epoch work too.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: i128 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// The length of a formatted timestamp (years 0000 to 9999).
pub const FORMATTED_LEN: usize = "2016-10-06T00:17:09.669794202Z".len();

/// Formats `time` as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, in UTC.
///
/// Years outside 0000..=9999 (which RFC 3339 cannot express) are clamped.
pub fn format(time: SystemTime) -> String {
    let mut out = String::with_capacity(FORMATTED_LEN);
    format_into(time, &mut out);
    out
}

/// [`format`], appending to `out` (no allocation when it has room).
pub fn format_into(time: SystemTime, out: &mut String) {
    use std::fmt::Write;
    let nanos = to_unix_nanos(time).clamp(MIN_NANOS, MAX_NANOS);
    let secs = nanos.div_euclid(NANOS_PER_SEC) as i64;
    let frac = nanos.rem_euclid(NANOS_PER_SEC) as u32;
    let days = secs.div_euclid(SECS_PER_DAY);
    let of_day = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
}

/// Parses an RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS`, an optional
/// fraction of one to nine digits, then `Z` or `±HH:MM`.
pub fn parse(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() < "2006-01-02T15:04:05Z".len()
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut frac: u32 = 0;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let n = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        frac = digits(&after_dot[..n])? * 10u32.pow(9 - n as u32);
        rest = &after_dot[n..];
    }
    let offset_secs: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * SECS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_secs;
    Some(from_unix_nanos(
        i128::from(secs) * NANOS_PER_SEC + i128::from(frac),
    ))
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z, in ns since the epoch.
const MIN_NANOS: i128 = -62_167_219_200 * NANOS_PER_SEC;
const MAX_NANOS: i128 = 253_402_300_800 * NANOS_PER_SEC - 1;

fn to_unix_nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

fn from_unix_nanos(nanos: i128) -> SystemTime {
    let magnitude = Duration::new(
        (nanos.unsigned_abs() / NANOS_PER_SEC as u128) as u64,
        (nanos.unsigned_abs() % NANOS_PER_SEC as u128) as u32,
    );
    if nanos >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// An unsigned decimal of ASCII digits only.
fn digits(field: &[u8]) -> Option<u32> {
    field.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = i64::from((month + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day since 1970-01-01 (Hinnant).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn golden_values() {
        // `date -u -d @1475713029` = Thu Oct  6 00:17:09 UTC 2016
        let cases = [
            (
                at(1_475_713_029, 669_794_202),
                "2016-10-06T00:17:09.669794202Z",
            ),
            (at(0, 0), "1970-01-01T00:00:00.000000000Z"),
            (at(951_782_400, 1), "2000-02-29T00:00:00.000000001Z"),
            (
                at(1_709_251_199, 999_999_999),
                "2024-02-29T23:59:59.999999999Z",
            ),
            (
                UNIX_EPOCH - Duration::from_secs(1),
                "1969-12-31T23:59:59.000000000Z",
            ),
        ];
        for (time, text) in cases {
            assert_eq!(format(time), text);
            assert_eq!(format(time).len(), FORMATTED_LEN);
            assert_eq!(parse(text), Some(time), "{text}");
        }
    }

    #[test]
    fn parses_leniently_like_the_kubelet() {
        let t = at(1_475_713_029, 669_794_200);
        assert_eq!(parse("2016-10-06T00:17:09.6697942Z"), Some(t)); // Go's RFC3339Nano
        assert_eq!(parse("2016-10-06T02:17:09.6697942+02:00"), Some(t)); // a local zone
        assert_eq!(parse("2016-10-05T23:47:09.6697942-00:30"), Some(t));
        assert_eq!(parse("2016-10-06T00:17:09Z"), Some(at(1_475_713_029, 0)));
        assert_eq!(
            parse("2016-10-06t00:17:09.5z"),
            Some(at(1_475_713_029, 500_000_000))
        );
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for bad in [
            "",
            "2016-10-06",
            "2016-10-06 00:17:09Z",
            "2016-13-06T00:17:09Z",
            "2016-02-30T00:17:09Z",
            "2015-02-29T00:17:09Z",
            "2016-10-06T24:00:00Z",
            "2016-10-06T00:17:60Z",
            "2016-10-06T00:17:09.Z",
            "2016-10-06T00:17:09.1234567890Z",
            "2016-10-06T00:17:09",
            "2016-10-06T00:17:09+0200",
            "2016-10-06T00:17:09Zjunk",
            "2016-1a-06T00:17:09Z",
            "+016-10-06T00:17:09Z",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(
            nanos in (MIN_NANOS..=MAX_NANOS),
        ) {
            let time = from_unix_nanos(nanos);
            let text = format(time);
            prop_assert_eq!(text.len(), FORMATTED_LEN);
            prop_assert_eq!(parse(&text), Some(time));
        }

        #[test]
        fn formatted_order_is_time_order(a in 0i128..MAX_NANOS, b in 0i128..MAX_NANOS) {
            let (ta, tb) = (from_unix_nanos(a), from_unix_nanos(b));
            prop_assert_eq!(format(ta).cmp(&format(tb)), a.cmp(&b));
        }
    }
}
