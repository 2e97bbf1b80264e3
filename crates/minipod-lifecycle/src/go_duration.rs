//! Durations as Go's `time.Duration.String` prints them, for the kubelet's
//! messages: `5m0s` in a back-off, `1.234s` in a pull's `Pulled` event.

use std::time::Duration;

/// A whole-second duration as Go's `time.Duration.String` writes it
/// (`10s`, `1m20s`, `5m0s`), for the kubelet's back-off messages.
pub fn go_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    let sub = duration.subsec_millis();
    let secs = if sub == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{}s", format!("{sub:03}").trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

/// A duration as Go prints one truncated to milliseconds (`567ms`,
/// `1.234s`, `1m2.5s`), as the image manager's `Pulled` event does
/// (`time.Since(startTime).Truncate(time.Millisecond)`).
pub fn go_millis(duration: Duration) -> String {
    let truncated = Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
    if truncated < Duration::from_secs(1) {
        format!("{}ms", truncated.as_millis())
    } else {
        go_duration(truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_read_as_the_kubelet_writes_them() {
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn durations_read_as_go_prints_them() {
        assert_eq!(go_millis(Duration::from_micros(567_890)), "567ms");
        assert_eq!(go_millis(Duration::from_micros(1_234_567)), "1.234s");
        assert_eq!(go_millis(Duration::from_millis(62_500)), "1m2.5s");
        assert_eq!(go_millis(Duration::ZERO), "0ms");
    }
}
