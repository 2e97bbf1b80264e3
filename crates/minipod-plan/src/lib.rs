//! # minipod-plan: from an admitted pod to what will be built
//!
//! The second stage of minipod's one-way flow
//! (manifest → spec → **plan** → sandbox and containers → processes → status).
//! Pure functions, no I/O: given an [`AdmittedPod`](minipod_spec::AdmittedPod)
//! and the node's memory ([`NodeFacts`]), [`plan()`] decides
//!
//! * each container's role and the start order ([`roles`]);
//! * the effective pod requests and limits, exactly ([`resources`]);
//! * the QoS class ([`qos`]);
//! * the pod cgroup and each container's cgroup, for cgroup v1 and v2
//!   ([`cgroup`], with the unit conversions in [`cpu`]);
//! * which devices a container may open: its device cgroup ([`devices`]);
//! * each container's `oom_score_adj` ([`oom`]);
//!
//! and, beside the plan, whether the pod fits the node at all: the node's
//! allocatable ([`capacity`]) and the kubelet's resource admission
//! ([`admission`]);
//!
//! and what a node decides about the pod's network from its spec: the
//! pod's resolver configuration by `dnsPolicy` ([`dns`]), its `/etc/hosts`
//! ([`sandbox_files`]) and whether its host ports are free ([`host_ports`]);
//!
//! and [`render_text`] explains all of it to a student. Every rule follows
//! Kubernetes (`docs/kubernetes-semantics.md` §1–3 names the sources);
//! each module's tests replay the Kubernetes unit-test cases.
//!
//! The module functions take a `PodSpec` so they can be tested on raw
//! specs, as Kubernetes tests them; [`plan()`] takes an admitted pod, whose
//! requests have been defaulted from its limits.

#![forbid(unsafe_code)]

pub mod addresses;
pub mod admission;
pub mod apparmor;
pub mod capacity;
pub mod cgroup;
pub mod cpu;
pub mod devices;
pub mod dns;
pub mod host_ports;
pub mod launch;
pub mod oom;
pub mod plan;
pub mod process;
pub mod qos;
pub mod resources;
pub mod roles;
pub mod sandbox_files;
pub mod seccomp;
pub mod sysctl;
pub mod text;

pub use plan::{ContainerPlan, Effective, Explanation, NodeFacts, Plan, plan};
pub use qos::QosClass;
pub use roles::Role;
pub use text::{NetworkFacts, NodePodNetwork, render_network, render_text};

#[cfg(test)]
pub(crate) mod test_support {
    use minipod_spec::model::PodSpec;
    use minipod_spec::{AdmittedPod, Pod, ServerAssigned, admit};

    /// Removes the common leading indentation, so tests can indent YAML.
    pub fn dedent(text: &str) -> String {
        let indent = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        text.lines()
            .map(|l| l.get(indent..).unwrap_or("").trim_end())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A raw (not defaulted) pod spec from YAML.
    pub fn pod_spec(yaml: &str) -> PodSpec {
        yaml_serde::from_str(&dedent(yaml)).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
    }

    /// An admitted pod from a whole manifest.
    pub fn admitted(yaml: &str) -> AdmittedPod {
        let pod: Pod =
            yaml_serde::from_str(&dedent(yaml)).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let assigned = ServerAssigned {
            uid: "00000000-0000-4000-8000-000000000000".into(),
            name_suffix: "b7x2k".into(),
        };
        admit(pod, &assigned).unwrap_or_else(|e| panic!("{e}"))
    }
}
