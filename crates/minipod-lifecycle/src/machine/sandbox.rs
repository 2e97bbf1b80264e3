//! The pod's sandbox (§4.12): created before any container, and created
//! again after a failure with the kubelet's pod worker back-off.
//!
//! The kubelet's `SyncPod` sets up the pod's volumes, then asks the runtime
//! for a sandbox (`createPodSandbox` in
//! `pkg/kubelet/kuberuntime/kuberuntime_manager.go`); a failure is a
//! Warning event (`FailedMount`, or `FailedCreatePodSandBox` with `Failed
//! to create pod sandbox: <error>`) and a sync error, and the pod worker
//! syncs the pod again after `backOffPeriod` (10 s) with a jitter of up to
//! half of it (`completeWork` in `pkg/kubelet/pod_workers.go`). The pod is
//! never failed for it: it stays Pending, its containers waiting with
//! `ContainerCreating` (`PodInitializing` when it has init containers), as
//! long as it takes, until it is deleted.

use std::time::Duration;

use minipod_plan::addresses::PodAddresses;

use super::action::{Action, PodEvent};
use super::input::SandboxFailure;
use super::pod_machine::{PodMachine, Sandbox, at_earliest};
use crate::time::Timestamp;

/// The kubelet's `workerBackOffPeriodJitterFactor`: a retry comes between
/// one and one and a half periods after the failure (`wait.Jitter`).
const JITTER_FACTOR: f64 = 0.5;

impl PodMachine {
    /// Whether containers may start: the sandbox exists.
    pub fn has_sandbox(&self) -> bool {
        self.sandbox == Sandbox::Ready
    }

    /// Asks for the sandbox when there is none and its retry is due, else
    /// wakes up for the retry.
    pub(super) fn sync_sandbox(
        &mut self,
        now: Timestamp,
        out: &mut Vec<Action>,
        wake: &mut Option<Timestamp>,
    ) {
        if let Sandbox::Missing { failures, retry_at } = self.sandbox {
            match retry_at {
                Some(at) if now < at => at_earliest(wake, at),
                _ => {
                    self.sandbox = Sandbox::Creating { failures };
                    out.push(Action::CreateSandbox);
                }
            }
        }
    }

    /// The sandbox exists: its addresses go into the status (the kubelet's
    /// status carries the sandbox's IPs from then on).
    pub(super) fn sandbox_created(&mut self, addresses: &PodAddresses) {
        if !matches!(self.sandbox, Sandbox::Creating { .. }) {
            return;
        }
        self.sandbox = Sandbox::Ready;
        self.set_addresses(addresses);
    }

    /// The sandbox could not be created: the kubelet's event, then a retry
    /// after the back-off. A pod being deleted gets no event and no retry
    /// (`SyncPod` returns quietly when "Pod was deleted and sandbox failed
    /// to be created").
    pub(super) fn sandbox_failed(
        &mut self,
        now: Timestamp,
        reason: SandboxFailure,
        error: &str,
        out: &mut Vec<Action>,
    ) {
        let Sandbox::Creating { failures } = self.sandbox else {
            return;
        };
        let failures = failures.saturating_add(1);
        let delay = self.sandbox_retry_delay(failures);
        self.sandbox = Sandbox::Missing {
            failures,
            retry_at: Some(now.plus(delay)),
        };
        if self.termination.is_some() {
            return;
        }
        out.push(Action::Event(PodEvent {
            event_type: "Warning",
            reason: reason.reason(),
            message: reason.message(error),
            container: None,
            field_path: None,
        }));
    }

    /// The wait before creation number `failures + 1`: the node's back-off
    /// period (the kubelet's one `backOffPeriod` serves both the pod worker
    /// and CrashLoopBackOff's first delay) plus a jitter of up to half of
    /// it. The jitter spreads the retries of pods that failed together; it
    /// is drawn from the pod and the failure's number so that the machine
    /// stays a pure function of its inputs.
    fn sandbox_retry_delay(&self, failures: u32) -> Duration {
        let period = self.config.backoff.initial;
        let fraction = unit_fraction(&self.pod_label, failures);
        period.mul_f64(1.0 + JITTER_FACTOR * fraction)
    }
}

/// A number in `[0, 1)` spread evenly over `key` and `n` (64-bit FNV-1a,
/// the top 53 bits).
fn unit_fraction(key: &str, n: u32) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes().chain(n.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::unit_fraction;

    #[test]
    fn the_jitter_stays_in_the_unit_interval_and_varies() {
        let values: Vec<f64> = (0..200).map(|n| unit_fraction("p_default(u)", n)).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let low = values.iter().filter(|v| **v < 0.5).count();
        assert!((60..140).contains(&low), "{low} of 200 below one half");
        assert_ne!(unit_fraction("a", 1), unit_fraction("b", 1));
    }
}
