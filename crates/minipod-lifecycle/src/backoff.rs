//! CrashLoopBackOff: when a container that exited may be started again.
//!
//! Mirrors the kubelet's `doBackOff` (`pkg/kubelet/kuberuntime/kuberuntime_manager.go`)
//! over client-go's `Backoff` (`util/flowcontrol/backoff.go`), without jitter
//! (the kubelet uses none). Spec §4.9.
//!
//! * There is no entry before the first restart, so the **first restart is
//!   immediate**; that restart creates the entry with the initial delay.
//! * Each later restart is gated on the **FinishedAt** of the exit: in backoff
//!   while `now − finishedAt < delay`. When the gate opens, the restart doubles
//!   the delay (capped at the max) and remembers when it happened (`Next`).
//! * An exit more than `2 × max` after that last step (the container ran about
//!   ten minutes) expires the entry: the restart is immediate again and the
//!   delay starts over from the initial value (`hasExpired`).
//!
//! No clock: every time is a [`Timestamp`] supplied by the caller.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::time::Timestamp;

/// The kubelet's default initial delay (`backOffPeriod`).
pub const DEFAULT_INITIAL: Duration = Duration::from_secs(10);
/// The kubelet's default cap (`MaxContainerBackOff`).
pub const DEFAULT_MAX: Duration = Duration::from_secs(300);

/// The delays of a [`CrashLoop`]: `initial`, doubled on each restart, capped
/// at `max` (`crashLoopBackOff.maxContainerRestartPeriod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for BackoffConfig {
    /// 10 s doubling to 300 s, as the kubelet by default.
    fn default() -> Self {
        Self {
            initial: DEFAULT_INITIAL,
            max: DEFAULT_MAX,
        }
    }
}

/// client-go's `backoffEntry`: the current delay and when it was last stepped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    delay: Duration,
    at: Timestamp,
}

/// What is known about one container key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Entry {
    /// FinishedAt of the last exit, if it exited.
    finished_at: Option<Timestamp>,
    /// The backoff entry; none before the first restart.
    step: Option<Step>,
}

/// The CrashLoopBackOff state of the containers of a node (or a pod), keyed
/// as the kubelet keys them (pod + container name + spec hash: the caller
/// builds the key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashLoop {
    config: BackoffConfig,
    entries: BTreeMap<String, Entry>,
}

impl CrashLoop {
    /// An empty state with the given delays.
    pub fn new(config: BackoffConfig) -> Self {
        Self {
            config,
            entries: BTreeMap::new(),
        }
    }

    /// The delays in use.
    pub fn config(&self) -> BackoffConfig {
        self.config
    }

    /// The container `key` exited at `finished_at` (its status's FinishedAt).
    pub fn record_exit(&mut self, key: &str, finished_at: Timestamp) {
        self.entries.entry(key.to_owned()).or_default().finished_at = Some(finished_at);
    }

    /// The current delay of `key` (client-go `Get`): the wait, counted from
    /// FinishedAt, that its recorded exit faces (or that its next exit will
    /// face, while it runs). Zero before its first restart (the first restart
    /// is immediate) and when the recorded exit came more than `2 × max`
    /// after the last restart (the entry expired).
    pub fn delay(&self, key: &str) -> Duration {
        match self.entries.get(key) {
            Some(Entry {
                finished_at,
                step: Some(step),
            }) if !finished_at.is_some_and(|f| self.expired(f, *step)) => step.delay,
            _ => Duration::ZERO,
        }
    }

    /// Whether `key` may be started at `now` (client-go `IsInBackOffSince`
    /// against the last FinishedAt): `Err(remaining)` while
    /// `now − finishedAt < delay`. Does not change the state.
    pub fn ready_to_restart(&self, key: &str, now: Timestamp) -> Result<(), Duration> {
        let Some(finished_at) = self.entries.get(key).and_then(|e| e.finished_at) else {
            return Ok(());
        };
        let delay = i64::try_from(self.delay(key).as_nanos()).unwrap_or(i64::MAX);
        let remaining = delay.saturating_sub(now.nanos_since(finished_at));
        if remaining > 0 {
            Err(Duration::from_nanos(remaining.unsigned_abs()))
        } else {
            Ok(())
        }
    }

    /// The kubelet's gate at start time (`doBackOff`): [`Self::ready_to_restart`],
    /// and if the container may start, take the backoff step (client-go
    /// `Next`): the entry is created (or, if expired, reset) with the initial
    /// delay, else its delay doubles up to the max; `now` is remembered as
    /// the step's time and the recorded exit is consumed. A container with
    /// no recorded exit (its first start) passes without a step, as the
    /// kubelet only consults the backoff for a container that exited.
    pub fn try_restart(&mut self, key: &str, now: Timestamp) -> Result<(), Duration> {
        self.ready_to_restart(key, now)?;
        let Some(entry) = self.entries.get(key).copied() else {
            return Ok(());
        };
        let Some(finished_at) = entry.finished_at else {
            return Ok(());
        };
        let delay = match entry.step {
            Some(step) if !self.expired(finished_at, step) => {
                step.delay.saturating_mul(2).min(self.config.max)
            }
            _ => self.config.initial.min(self.config.max),
        };
        self.entries.insert(
            key.to_owned(),
            Entry {
                finished_at: None,
                step: Some(Step { delay, at: now }),
            },
        );
        Ok(())
    }

    /// Drops everything known about `key` (the container is gone for good).
    pub fn forget(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// client-go `hasExpired`: the exit came more than `2 × max` after the
    /// last step.
    fn expired(&self, finished_at: Timestamp, step: Step) -> bool {
        let window = i64::try_from(self.config.max.as_nanos())
            .unwrap_or(i64::MAX)
            .saturating_mul(2);
        finished_at.nanos_since(step.at) > window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(1_700_000_000 + seconds)
    }

    const KEY: &str = "default/web/app/abc123";

    /// A container that crashes `run` seconds after each start and is
    /// restarted as soon as the gate opens: the waits between exit and
    /// restart, in order.
    fn crash_loop(config: BackoffConfig, run: i64, restarts: usize) -> Vec<u64> {
        let mut crash = CrashLoop::new(config);
        let mut now = t(0);
        let mut waits = Vec::new();
        assert_eq!(crash.try_restart(KEY, now), Ok(()), "first start");
        for _ in 0..restarts {
            now = now.plus_seconds(run);
            crash.record_exit(KEY, now);
            let exited = now;
            while let Err(remaining) = crash.try_restart(KEY, now) {
                now = now.plus_nanos(i64::try_from(remaining.as_nanos()).unwrap());
            }
            waits.push(u64::try_from(now.nanos_since(exited) / 1_000_000_000).unwrap());
        }
        waits
    }

    #[test]
    fn the_first_restart_is_immediate() {
        let mut crash = CrashLoop::default();
        crash.record_exit(KEY, t(5));
        assert_eq!(crash.delay(KEY), Duration::ZERO);
        assert_eq!(crash.ready_to_restart(KEY, t(5)), Ok(()));
        assert_eq!(crash.try_restart(KEY, t(5)), Ok(()));
        assert_eq!(crash.delay(KEY), Duration::from_secs(10));
    }

    #[test]
    fn a_first_start_takes_no_step() {
        let mut crash = CrashLoop::default();
        assert_eq!(crash.ready_to_restart("nobody", t(0)), Ok(()));
        assert_eq!(crash.try_restart("nobody", t(0)), Ok(()));
        assert_eq!(crash.delay("nobody"), Duration::ZERO);
    }

    #[test]
    fn delays_double_from_10s_up_to_300s() {
        assert_eq!(
            crash_loop(BackoffConfig::default(), 1, 9),
            vec![0, 10, 20, 40, 80, 160, 300, 300, 300]
        );
    }

    #[test]
    fn the_gate_counts_from_finished_at() {
        let mut crash = CrashLoop::default();
        crash.record_exit(KEY, t(0));
        crash.try_restart(KEY, t(0)).unwrap(); // entry: 10 s
        crash.record_exit(KEY, t(3));
        let cases = [
            (3, Err(Duration::from_secs(10))),
            (4, Err(Duration::from_secs(9))),
            (12, Err(Duration::from_secs(1))),
            (13, Ok(())),
            (100, Ok(())),
        ];
        for (now, want) in cases {
            assert_eq!(crash.ready_to_restart(KEY, t(now)), want, "now = {now}");
        }
        // A clock behind FinishedAt keeps the container in backoff.
        assert_eq!(
            crash.ready_to_restart(KEY, t(1)),
            Err(Duration::from_secs(12))
        );
    }

    #[test]
    fn a_refused_restart_does_not_step() {
        let mut crash = CrashLoop::default();
        crash.record_exit(KEY, t(0));
        crash.try_restart(KEY, t(0)).unwrap();
        crash.record_exit(KEY, t(1));
        assert!(crash.try_restart(KEY, t(2)).is_err());
        assert!(crash.try_restart(KEY, t(5)).is_err());
        assert_eq!(crash.delay(KEY), Duration::from_secs(10));
        assert_eq!(crash.try_restart(KEY, t(11)), Ok(()));
        assert_eq!(
            crash.delay(KEY),
            Duration::from_secs(20),
            "for the next exit"
        );
        assert_eq!(
            crash.ready_to_restart(KEY, t(11)),
            Ok(()),
            "running: no gate"
        );
    }

    #[test]
    fn a_long_run_resets_the_backoff() {
        let cases = [
            // (seconds from the last restart to the exit, wait, next delay)
            ("just under 2 × max: still backing off", 600, 40, 80),
            ("more than 2 × max: immediate, back to 10 s", 601, 0, 10),
            ("ten minutes and more", 3600, 0, 10),
        ];
        for (name, run, want_wait, want_next) in cases {
            let mut crash = CrashLoop::default();
            crash.record_exit(KEY, t(0));
            crash.try_restart(KEY, t(0)).unwrap(); // 10
            crash.record_exit(KEY, t(1));
            crash.try_restart(KEY, t(11)).unwrap(); // 20
            crash.record_exit(KEY, t(12));
            crash.try_restart(KEY, t(32)).unwrap(); // 40
            crash.record_exit(KEY, t(32 + run));
            assert_eq!(crash.delay(KEY), Duration::from_secs(want_wait), "{name}");
            let after = t(32 + run + i64::try_from(want_wait).unwrap());
            assert_eq!(crash.try_restart(KEY, after), Ok(()), "{name}");
            crash.record_exit(KEY, after);
            assert_eq!(crash.delay(KEY), Duration::from_secs(want_next), "{name}");
        }
    }

    #[test]
    fn custom_initial_and_max() {
        let cases = [
            (
                "reduced decay: 1 s to 60 s",
                BackoffConfig {
                    initial: Duration::from_secs(1),
                    max: Duration::from_secs(60),
                },
                vec![0, 1, 2, 4, 8, 16, 32, 60, 60],
            ),
            (
                "max below the default initial",
                BackoffConfig {
                    initial: Duration::from_secs(10),
                    max: Duration::from_secs(25),
                },
                vec![0, 10, 20, 25, 25, 25, 25, 25, 25],
            ),
            (
                "initial above max is capped",
                BackoffConfig {
                    initial: Duration::from_secs(30),
                    max: Duration::from_secs(15),
                },
                vec![0, 15, 15, 15, 15, 15, 15, 15, 15],
            ),
        ];
        for (name, config, want) in cases {
            assert_eq!(crash_loop(config, 1, 9), want, "{name}");
        }
    }

    #[test]
    fn containers_back_off_independently() {
        let mut crash = CrashLoop::default();
        for key in ["a", "b"] {
            crash.record_exit(key, t(0));
            crash.try_restart(key, t(0)).unwrap();
        }
        crash.record_exit("a", t(1));
        assert!(crash.ready_to_restart("a", t(2)).is_err());
        assert_eq!(crash.ready_to_restart("b", t(2)), Ok(()));
        crash.forget("a");
        assert_eq!(crash.ready_to_restart("a", t(2)), Ok(()));
    }
}
