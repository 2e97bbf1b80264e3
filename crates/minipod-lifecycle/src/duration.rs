//! kubectl's short ages: `5s`, `2m30s`, `10m`, `3h5m`, `2d3h`, `3y45d`.
//!
//! Mirrors `HumanDuration` of `k8s.io/apimachinery/pkg/util/duration`: about
//! two or three significant figures, a second unit shown only while the first
//! is small. Used by kubectl's AGE column and the `(… ago)` of RESTARTS.

const SECOND: i64 = 1_000_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// The short human form of a duration of `nanos` nanoseconds.
///
/// Up to one second in the future reads `0s` (clock skew between machines);
/// further in the future reads `<invalid>`.
pub fn human_duration(nanos: i64) -> String {
    // Go's int(d.Seconds()) truncates towards zero, as does `/` here.
    let seconds = nanos / SECOND;
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = nanos / MINUTE;
    if minutes < 10 {
        return with_rest(minutes, "m", seconds % 60, "s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = nanos / HOUR;
    if hours < 8 {
        return with_rest(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_rest(days, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return with_rest(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

/// `3h5m`, or `3h` when the second unit is zero.
fn with_rest(value: i64, unit: &str, rest: i64, rest_unit: &str) -> String {
    if rest == 0 {
        format!("{value}{unit}")
    } else {
        format!("{value}{unit}{rest}{rest_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * HOUR;
    const YEAR: i64 = 365 * DAY;

    #[test]
    fn human_duration_matches_apimachinery() {
        let cases: &[(i64, &str)] = &[
            (-2 * SECOND, "<invalid>"),
            (-2 * SECOND + 1, "0s"),
            (-SECOND, "0s"),
            (-1, "0s"),
            (0, "0s"),
            (SECOND - 1, "0s"),
            (5 * SECOND, "5s"),
            (59 * SECOND, "59s"),
            (60 * SECOND, "60s"),
            (119 * SECOND, "119s"),
            (2 * MINUTE, "2m"),
            (2 * MINUTE + 30 * SECOND, "2m30s"),
            (5 * MINUTE + 30 * SECOND, "5m30s"),
            (9 * MINUTE + 59 * SECOND, "9m59s"),
            (10 * MINUTE, "10m"),
            (10 * MINUTE + 59 * SECOND, "10m"),
            (179 * MINUTE, "179m"),
            (3 * HOUR, "3h"),
            (3 * HOUR + 5 * MINUTE, "3h5m"),
            (7 * HOUR + 59 * MINUTE, "7h59m"),
            (8 * HOUR, "8h"),
            (47 * HOUR + 59 * MINUTE, "47h"),
            (48 * HOUR, "2d"),
            (2 * DAY + 3 * HOUR, "2d3h"),
            (7 * DAY + 23 * HOUR, "7d23h"),
            (8 * DAY, "8d"),
            (5 * DAY, "5d"),
            (10 * DAY, "10d"),
            (729 * DAY, "729d"),
            (2 * YEAR, "2y"),
            (3 * YEAR + 45 * DAY, "3y45d"),
            (7 * YEAR + 364 * DAY, "7y364d"),
            (8 * YEAR, "8y"),
            (100 * YEAR + 3 * DAY, "100y"),
        ];
        for &(nanos, want) in cases {
            assert_eq!(human_duration(nanos), want, "{nanos} ns");
        }
    }
}
