//! The pod's status as the machine reports it (§4.8): the records'
//! container statuses, the phase, the conditions, the node's fields.

use std::net::IpAddr;

use minipod_plan::addresses::PodAddresses;

use super::deadline::{DEADLINE_EXCEEDED_MESSAGE, DEADLINE_EXCEEDED_REASON};
use super::pod_machine::PodMachine;
use crate::conditions::pod_conditions;
use crate::phase::{PhaseContext, keep_terminal, pod_phase};
use crate::status::{PodIp, PodPhase, PodStatus};
use crate::time::Timestamp;

impl PodMachine {
    /// Recomputes the status; true if it changed.
    pub(super) fn refresh_status(&mut self, now: Timestamp) -> bool {
        let has_init = !self.spec.init_containers.is_empty();
        let inits = self.spec.init_containers.len();
        let mut status = PodStatus {
            start_time: self.status.start_time,
            qos_class: self.status.qos_class.clone(),
            host_ip: self.status.host_ip.clone(),
            host_ips: self.status.host_ips.clone(),
            pod_ip: self.status.pod_ip.clone(),
            pod_ips: self.status.pod_ips.clone(),
            init_container_statuses: self.records[..inits]
                .iter()
                .map(|r| r.status(has_init))
                .collect(),
            container_statuses: self.records[inits..]
                .iter()
                .map(|r| r.status(has_init))
                .collect(),
            ..PodStatus::default()
        };
        let context = PhaseContext {
            pod_is_terminal: self.finished,
            pod_has_initialized: self.initialized,
        };
        let mut phase = keep_terminal(self.status.phase, pod_phase(&self.spec, &status, context));
        // A pod whose containers all stopped for good is over: if its
        // statuses still say Pending or Running (stopped while an init
        // container waited to restart), it Failed (`generateAPIPodStatus`).
        if self.finished && !phase.is_terminal() {
            phase = PodPhase::Failed;
        }
        // The active deadline overrides the phase (`generateAPIPodStatus`).
        if self.deadline_exceeded {
            phase = PodPhase::Failed;
            status.reason = Some(DEADLINE_EXCEEDED_REASON.to_owned());
            status.message = Some(DEADLINE_EXCEEDED_MESSAGE.to_owned());
        }
        status.phase = Some(phase);
        // The sandbox goes with the pod's end (the monitor removes it).
        let sandbox_ready = self.has_sandbox() && !self.finished;
        status.conditions = pod_conditions(
            &self.spec,
            &status,
            phase,
            &self.status.conditions,
            sandbox_ready,
            now,
        );
        let changed = status != self.status;
        self.status = status;
        changed
    }

    /// Sets the addresses (`hostIP(s)`, `podIP(s)`): the kubelet's status
    /// carries the node's from the start (`generateAPIPodStatus`), so the
    /// monitor sets them before the sandbox exists (with no pod IPs), and
    /// the sandbox's once it exists ([`Input::SandboxCreated`](super::Input::SandboxCreated),
    /// before any container starts: `convertStatusToAPIStatus`). An empty
    /// list leaves its field unset. Reported with the next status change.
    pub fn set_addresses(&mut self, addresses: &PodAddresses) {
        let entries = |ips: &[IpAddr]| -> Vec<PodIp> {
            ips.iter().map(|ip| PodIp { ip: ip.to_string() }).collect()
        };
        self.status.host_ip = addresses.host_ip().map(|ip| ip.to_string());
        self.status.host_ips = entries(&addresses.host_ips);
        self.status.pod_ip = addresses.pod_ip().map(|ip| ip.to_string());
        self.status.pod_ips = entries(&addresses.pod_ips);
    }
}
