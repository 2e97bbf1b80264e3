//! Between the runtime's types (std time, exit reasons) and the lifecycle's
//! (Kubernetes status fields).

use std::time::{SystemTime, UNIX_EPOCH};

use minipod_lifecycle::Timestamp;
use minipod_lifecycle::status::ContainerStateTerminated;
use minipod_runtime::exit::Terminated;

/// A wall-clock time as the lifecycle counts it.
pub(crate) fn timestamp(at: SystemTime) -> Timestamp {
    let nanos = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_nanos()).unwrap_or(i64::MAX),
    };
    Timestamp::from_unix_nanos(nanos)
}

/// The time to wait from `now` until `at` (zero if past).
pub(crate) fn until(now: Timestamp, at: Timestamp) -> std::time::Duration {
    at.since(now)
}

/// How a container ended, as its status shows it.
pub(crate) fn terminated(t: &Terminated, container_id: &str) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: t.exit_code,
        signal: t.signal.unwrap_or(0),
        reason: Some(t.reason.as_str().to_owned()),
        message: t.message.clone(),
        started_at: t.started_at.map(timestamp),
        finished_at: Some(timestamp(t.finished_at)),
        container_id: Some(container_id.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_convert_to_nanoseconds_since_the_epoch() {
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(timestamp(at).unix_nanos(), 1_700_000_000_000_000_005);
    }
}
