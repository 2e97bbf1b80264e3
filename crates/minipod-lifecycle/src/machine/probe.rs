//! One prober worker's bookkeeping, without the probing: when the next probe
//! is due and what the consecutive results add up to.
//!
//! Mirrors the kubelet's `pkg/kubelet/prober/worker.go` (`doProbe`): no
//! probe before `initialDelaySeconds` after the container started, then one
//! every `periodSeconds`; a result only counts once it repeated
//! `successThreshold` (or `failureThreshold`) times in a row; a failed
//! liveness or startup probe puts the worker on hold until the container is
//! replaced. Spec §4.5.

use std::time::Duration;

use minipod_spec::model::{Container, Probe};

use crate::time::Timestamp;

/// The three probes of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    /// As the kubelet names it in events: `Liveness probe failed: ...`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }

    /// The probe of this kind in `container`'s spec.
    pub fn of(self, container: &Container) -> Option<&Probe> {
        match self {
            ProbeKind::Startup => container.startup_probe.as_ref(),
            ProbeKind::Liveness => container.liveness_probe.as_ref(),
            ProbeKind::Readiness => container.readiness_probe.as_ref(),
        }
    }
}

/// What one probe run found (the kubelet's `probe.Result`; an error running
/// the probe counts as a failure, as in `prober.probe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    Success,
    /// The probe failed; the text goes into the `Unhealthy` event.
    Failure(String),
}

/// The result the worker reports (`results.Result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeResult {
    Unknown,
    Success,
    Failure,
}

/// A probe's timing and thresholds, with the API server's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeSettings {
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl ProbeSettings {
    /// From the spec: delay 0 s, period 10 s, timeout 1 s, success 1,
    /// failure 3 when left out (`SetDefaults_Probe`).
    pub fn of(probe: &Probe) -> Self {
        let seconds = |v: Option<i32>, default: u64| {
            Duration::from_secs(v.and_then(|s| u64::try_from(s).ok()).unwrap_or(default))
        };
        let count = |v: Option<i32>, default: u32| {
            v.and_then(|n| u32::try_from(n).ok())
                .unwrap_or(default)
                .max(1)
        };
        Self {
            initial_delay: seconds(probe.initial_delay_seconds, 0),
            period: seconds(probe.period_seconds, 10).max(Duration::from_secs(1)),
            timeout: seconds(probe.timeout_seconds, 1).max(Duration::from_secs(1)),
            success_threshold: count(probe.success_threshold, 1),
            failure_threshold: count(probe.failure_threshold, 3),
        }
    }
}

/// The state of one probe of one container instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeWorker {
    pub kind: ProbeKind,
    pub settings: ProbeSettings,
    /// When the next probe is due.
    pub next_at: Timestamp,
    /// A probe was asked for and has not reported yet.
    pub in_flight: bool,
    pub result: ProbeResult,
    /// The last raw outcome and how many times in a row it came.
    last: Option<bool>,
    run: u32,
    /// A failed liveness/startup probe stops probing until the restart.
    pub on_hold: bool,
}

impl ProbeWorker {
    /// A worker for a container that started at `started_at`. Readiness
    /// starts failed, liveness succeeded, startup unknown (`newWorker`).
    pub fn new(kind: ProbeKind, settings: ProbeSettings, started_at: Timestamp) -> Self {
        Self {
            kind,
            settings,
            next_at: started_at.plus(settings.initial_delay),
            in_flight: false,
            result: match kind {
                ProbeKind::Readiness => ProbeResult::Failure,
                ProbeKind::Liveness => ProbeResult::Success,
                ProbeKind::Startup => ProbeResult::Unknown,
            },
            last: None,
            run: 0,
            on_hold: false,
        }
    }

    /// Whether a probe should run at `now`.
    pub fn due(&self, now: Timestamp) -> bool {
        !self.in_flight && !self.on_hold && now >= self.next_at
    }

    /// A probe starts at `now`: the next one is a period later (periods
    /// missed while one was in flight are skipped, as the kubelet's ticker
    /// drops ticks).
    pub fn begin(&mut self, now: Timestamp) {
        self.in_flight = true;
        while self.next_at <= now {
            self.next_at = self.next_at.plus(self.settings.period);
        }
    }

    /// A probe finished with `success`; returns the new result when the
    /// thresholds make it change.
    pub fn finish(&mut self, success: bool) -> Option<ProbeResult> {
        self.in_flight = false;
        if self.last == Some(success) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(success);
            self.run = 1;
        }
        let threshold = if success {
            self.settings.success_threshold
        } else {
            self.settings.failure_threshold
        };
        if self.run < threshold {
            return None;
        }
        let result = if success {
            ProbeResult::Success
        } else {
            ProbeResult::Failure
        };
        if !success && self.kind != ProbeKind::Readiness {
            // The container is killed; probe it again only when replaced.
            self.on_hold = true;
            self.run = 0;
        }
        (result != self.result).then(|| {
            self.result = result;
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(success: u32, failure: u32) -> ProbeSettings {
        ProbeSettings {
            initial_delay: Duration::from_secs(5),
            period: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            success_threshold: success,
            failure_threshold: failure,
        }
    }

    #[test]
    fn no_probe_before_the_initial_delay_then_one_per_period() {
        let t0 = Timestamp::from_unix_seconds(1000);
        let mut w = ProbeWorker::new(ProbeKind::Liveness, settings(1, 3), t0);
        assert!(!w.due(t0.plus_seconds(4)));
        assert!(w.due(t0.plus_seconds(5)));
        w.begin(t0.plus_seconds(5));
        assert!(!w.due(t0.plus_seconds(6)), "one in flight");
        w.finish(true);
        assert!(!w.due(t0.plus_seconds(6)));
        assert!(w.due(t0.plus_seconds(7)));
    }

    #[test]
    fn a_failure_counts_only_after_failure_threshold_in_a_row() {
        let t0 = Timestamp::from_unix_seconds(0);
        let mut w = ProbeWorker::new(ProbeKind::Liveness, settings(1, 3), t0);
        assert_eq!(w.finish(false), None);
        assert_eq!(w.finish(false), None);
        assert_eq!(w.finish(true), None, "a success breaks the run");
        assert_eq!(w.finish(false), None);
        assert_eq!(w.finish(false), None);
        assert_eq!(w.finish(false), Some(ProbeResult::Failure));
        assert!(w.on_hold, "liveness stops probing once it failed");
    }

    #[test]
    fn readiness_starts_failed_and_needs_success_threshold() {
        let t0 = Timestamp::from_unix_seconds(0);
        let mut w = ProbeWorker::new(ProbeKind::Readiness, settings(2, 1), t0);
        assert_eq!(w.result, ProbeResult::Failure);
        assert_eq!(w.finish(true), None);
        assert_eq!(w.finish(true), Some(ProbeResult::Success));
        assert_eq!(w.finish(false), Some(ProbeResult::Failure));
        assert!(!w.on_hold, "readiness keeps probing");
    }

    #[test]
    fn defaults_are_the_api_servers() {
        let s = ProbeSettings::of(&Probe::default());
        assert_eq!(s.period, Duration::from_secs(10));
        assert_eq!(s.timeout, Duration::from_secs(1));
        assert_eq!((s.success_threshold, s.failure_threshold), (1, 3));
    }
}
