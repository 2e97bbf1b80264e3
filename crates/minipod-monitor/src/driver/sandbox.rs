//! Creating the pod's sandbox when the machine asks for it, and telling it
//! how that went.

use minipod_lifecycle::machine::{Input, PodEvent};
use minipod_spec::error_chain;

use super::Driver;

impl Driver<'_> {
    /// Creates the pod (directories, cgroup, volumes, namespaces, network)
    /// and answers the machine. On the loop's thread, as the kubelet's pod
    /// worker does it within one sync: a stop waits for the outcome, and
    /// the pod created meanwhile is removed with the rest. A failure leaves
    /// nothing behind (`create_pod` undoes its steps) and is retried when
    /// the machine says; a refusal (the kubelet's admission) ends the loop.
    pub(super) fn create_sandbox(&mut self) {
        let runtime = &self.access.runtime;
        match runtime.create_pod(&self.pod, self.plan) {
            Ok(running) => {
                self.observer.pod_created(&running);
                // The kubelet records these when it forms the sandbox's DNS
                // configuration (`dns.go`, `GetPodDNS`), once per sandbox.
                for warning in running.dns_events() {
                    let event = PodEvent {
                        event_type: "Warning",
                        reason: warning.reason,
                        message: warning.message.clone(),
                        container: None,
                        field_path: None,
                    };
                    self.observer.event(std::time::SystemTime::now(), &event);
                }
                let addresses = running.addresses(&self.node.host_ips);
                *self.access.pod.write().unwrap_or_else(|p| p.into_inner()) = Some(running);
                self.queue.push_back(Input::SandboxCreated { addresses });
            }
            Err(error) => match error.kubelet_reason() {
                Some(reason) => {
                    // The event's text: where the error becomes a string.
                    let error = error_chain(&error);
                    // The event says it; the log only for debugging.
                    tracing::debug!("creating the pod sandbox: {error}");
                    self.queue.push_back(Input::SandboxFailed { reason, error });
                }
                None => self.refused = Some(error),
            },
        }
    }
}
