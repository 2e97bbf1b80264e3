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
//! The parsing and the calendar are `minipod_lifecycle::Timestamp`'s (pure,
//! shared with the Pod status); this module converts from and to
//! `SystemTime`, which supports years 1677 to 2262 there.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minipod_lifecycle::Timestamp;

/// The length of a formatted timestamp.
pub const FORMATTED_LEN: usize = "2016-10-06T00:17:09.669794202Z".len();

/// Formats `time` as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, in UTC.
///
/// Times outside the years 1677 to 2262 are clamped.
pub fn format(time: SystemTime) -> String {
    let mut out = String::with_capacity(FORMATTED_LEN);
    format_into(time, &mut out);
    out
}

/// [`format`](fn@format), appending to `out` (no allocation when it has room).
pub fn format_into(time: SystemTime, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = to_timestamp(time).write_rfc3339_nanos(out);
}

/// Parses an RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS`, an optional
/// fraction of one to nine digits, then `Z` or `±HH:MM`.
pub fn parse(text: &str) -> Option<SystemTime> {
    Timestamp::parse_rfc3339(text).ok().map(to_system_time)
}

fn to_timestamp(time: SystemTime) -> Timestamp {
    let nanos = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    };
    Timestamp::from_unix_nanos(nanos)
}

fn to_system_time(time: Timestamp) -> SystemTime {
    let nanos = time.unix_nanos();
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
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
            nanos in (i64::MIN..=i64::MAX),
        ) {
            let time = to_system_time(Timestamp::from_unix_nanos(nanos));
            let text = format(time);
            prop_assert_eq!(text.len(), FORMATTED_LEN);
            prop_assert_eq!(parse(&text), Some(time));
        }

        #[test]
        fn formatted_order_is_time_order(a in 0i64..i64::MAX, b in 0i64..i64::MAX) {
            let (ta, tb) = (to_system_time(Timestamp::from_unix_nanos(a)), to_system_time(Timestamp::from_unix_nanos(b)));
            prop_assert_eq!(format(ta).cmp(&format(tb)), a.cmp(&b));
        }
    }
}
