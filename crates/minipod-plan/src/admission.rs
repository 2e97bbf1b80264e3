//! Does a pod fit the node? The kubelet's resource admission, as a pure
//! function.
//!
//! Before it starts anything of a new pod, the kubelet runs its
//! `predicateAdmitHandler` (`pkg/kubelet/lifecycle/predicate.go`), which
//! asks the scheduler's own fit check
//! (`pkg/scheduler/framework/plugins/noderesources/fit.go`, `fitsRequest`)
//! whether the pod's requests fit next to the pods already admitted:
//!
//! * a pod's requests are its effective requests
//!   ([`crate::resources::effective_resources`]: the init containers' peak
//!   rule, sidecars, overhead);
//! * *used* is the sum of the requests of the admitted pods that are not
//!   terminated;
//! * per resource, CPU first then memory, a pod that requests more than
//!   `allocatable - used` does not fit; **a request of zero always fits**
//!   (`podRequest.MilliCPU > 0 && ...`), even on a full node;
//! * only the first failing resource is reported: reason `OutOfcpu` or
//!   `OutOfmemory`, message `Node didn't have enough resource: cpu,
//!   requested: R, used: U, capacity: C` (millicores for CPU, bytes for
//!   memory; *capacity* is the allocatable).
//!
//! The kubelet then rejects the pod (`rejectPod` in `pkg/kubelet/kubelet.go`):
//! a Warning event with that reason and message, and the status phase
//! `Failed`, the same reason, and the message prefixed with
//! `Pod was rejected: `. Nothing of the pod is started.

use minipod_spec::model::PodSpec;

use crate::capacity::CpuAndMemory;
use crate::resources::{CPU, MEMORY, effective_resources, to_integer};

/// `status.reason` and event reason of a pod rejected for CPU (kubelet `lifecycle.OutOfCPU`).
pub const OUT_OF_CPU: &str = "OutOfcpu";
/// `status.reason` and event reason of a pod rejected for memory (kubelet `lifecycle.OutOfMemory`).
pub const OUT_OF_MEMORY: &str = "OutOfmemory";

/// The kubelet's verdict on a new pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Admit,
    Reject(Rejection),
}

/// Why a pod was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// [`OUT_OF_CPU`] or [`OUT_OF_MEMORY`].
    pub reason: &'static str,
    /// The event's message: `Node didn't have enough resource: ...`.
    pub message: String,
}

impl Rejection {
    /// The pod's `status.message`: the event's, prefixed as `rejectPod` does.
    pub fn status_message(&self) -> String {
        format!("Pod was rejected: {}", self.message)
    }
}

/// What the admission counts of a pod: its effective CPU (millicores) and
/// memory (bytes) requests, zero where it names none.
pub fn pod_requests(spec: &PodSpec) -> CpuAndMemory {
    let requests = effective_resources(spec).requests;
    let of = |name: &str| requests.get(name).map_or(0, |q| to_integer(name, q));
    CpuAndMemory {
        cpu_millis: of(CPU),
        memory_bytes: of(MEMORY),
    }
}

/// Whether a pod requesting `pod` fits a node with `allocatable` next to the
/// pods already admitted there (their requests in `admitted`).
pub fn admit(allocatable: CpuAndMemory, admitted: &[CpuAndMemory], pod: CpuAndMemory) -> Admission {
    let used = admitted
        .iter()
        .fold(CpuAndMemory::default(), |sum, p| sum.saturating_add(*p));
    let checks = [
        (
            CPU,
            OUT_OF_CPU,
            pod.cpu_millis,
            used.cpu_millis,
            allocatable.cpu_millis,
        ),
        (
            MEMORY,
            OUT_OF_MEMORY,
            pod.memory_bytes,
            used.memory_bytes,
            allocatable.memory_bytes,
        ),
    ];
    for (resource, reason, requested, used, capacity) in checks {
        // i128: `capacity - used` cannot overflow, whatever was admitted.
        if requested > 0 && i128::from(requested) > i128::from(capacity) - i128::from(used) {
            return Admission::Reject(Rejection {
                reason,
                message: format!(
                    "Node didn't have enough resource: {resource}, requested: {requested}, used: {used}, capacity: {capacity}"
                ),
            });
        }
    }
    Admission::Admit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::pod_spec;

    const MI: i64 = 1024 * 1024;
    const GI: i64 = 1024 * MI;

    fn amounts(cpu_millis: i64, memory_bytes: i64) -> CpuAndMemory {
        CpuAndMemory {
            cpu_millis,
            memory_bytes,
        }
    }

    /// A 2-CPU, 4Gi node.
    const NODE: CpuAndMemory = CpuAndMemory {
        cpu_millis: 2000,
        memory_bytes: 4 * GI,
    };

    fn reject(reason: &'static str, message: &str) -> Admission {
        Admission::Reject(Rejection {
            reason,
            message: message.to_owned(),
        })
    }

    #[test]
    fn the_kubelet_table() {
        let cases: &[(&str, &[CpuAndMemory], CpuAndMemory, Admission)] = &[
            (
                "fits an empty node",
                &[],
                amounts(1000, GI),
                Admission::Admit,
            ),
            (
                "fits exactly what is free",
                &[amounts(500, GI)],
                amounts(1500, 3 * GI),
                Admission::Admit,
            ),
            (
                "not enough cpu",
                &[amounts(1500, 0)],
                amounts(600, 0),
                reject(
                    OUT_OF_CPU,
                    "Node didn't have enough resource: cpu, requested: 600, used: 1500, capacity: 2000",
                ),
            ),
            (
                "not enough memory",
                &[amounts(0, 3 * GI)],
                amounts(100, 2 * GI),
                reject(
                    OUT_OF_MEMORY,
                    "Node didn't have enough resource: memory, requested: 2147483648, used: 3221225472, capacity: 4294967296",
                ),
            ),
            (
                "cpu is reported first when both are short",
                &[],
                amounts(3000, 8 * GI),
                reject(
                    OUT_OF_CPU,
                    "Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000",
                ),
            ),
            (
                "zero requests fit a full node",
                &[amounts(2000, 4 * GI), amounts(9000, 9 * GI)],
                amounts(0, 0),
                Admission::Admit,
            ),
            (
                "zero cpu with memory that fits a cpu-full node",
                &[amounts(2500, 0)],
                amounts(0, GI),
                Admission::Admit,
            ),
            (
                "8Ei is i64::MAX bytes and never fits",
                &[],
                amounts(0, i64::MAX),
                reject(
                    OUT_OF_MEMORY,
                    &format!(
                        "Node didn't have enough resource: memory, requested: {}, used: 0, capacity: 4294967296",
                        i64::MAX
                    ),
                ),
            ),
            (
                "used beyond i64 does not wrap",
                &[amounts(0, i64::MAX), amounts(0, i64::MAX)],
                amounts(0, 1),
                reject(
                    OUT_OF_MEMORY,
                    &format!(
                        "Node didn't have enough resource: memory, requested: 1, used: {}, capacity: 4294967296",
                        i64::MAX
                    ),
                ),
            ),
        ];
        for (name, admitted, pod, expected) in cases {
            assert_eq!(&admit(NODE, admitted, *pod), expected, "{name}");
        }
    }

    #[test]
    fn the_status_message_is_prefixed_as_reject_pod_does() {
        let Admission::Reject(rejection) = admit(NODE, &[], amounts(2001, 0)) else {
            panic!("admitted");
        };
        assert_eq!(
            rejection.status_message(),
            "Pod was rejected: Node didn't have enough resource: cpu, requested: 2001, used: 0, capacity: 2000"
        );
    }

    #[test]
    fn requests_are_the_effective_ones_with_the_init_peak() {
        // The init container's 3 CPUs exceed the app's 1: the pod needs 3.
        let spec = pod_spec(
            "
            initContainers:
            - {name: setup, image: i, resources: {requests: {cpu: '3', memory: 64Mi}}}
            containers:
            - {name: app, image: i, resources: {requests: {cpu: '1', memory: 128Mi}}}
            ",
        );
        assert_eq!(pod_requests(&spec), amounts(3000, 128 * MI));
        assert_eq!(
            admit(NODE, &[], pod_requests(&spec)),
            reject(
                OUT_OF_CPU,
                "Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000"
            )
        );
    }

    #[test]
    fn sidecars_add_to_the_apps_and_overhead_counts() {
        let spec = pod_spec(
            "
            overhead: {cpu: 250m}
            initContainers:
            - {name: side, image: i, restartPolicy: Always, resources: {requests: {cpu: 500m}}}
            containers:
            - {name: app, image: i, resources: {requests: {cpu: '1'}}}
            ",
        );
        assert_eq!(pod_requests(&spec), amounts(1750, 0));
    }

    #[test]
    fn a_pod_without_requests_requests_zero() {
        let spec = pod_spec("containers: [{name: app, image: i}]");
        assert_eq!(pod_requests(&spec), CpuAndMemory::default());
    }

    #[test]
    fn an_8ei_memory_request_saturates_and_is_rejected() {
        let spec =
            pod_spec("containers: [{name: app, image: i, resources: {requests: {memory: 8Ei}}}]");
        assert_eq!(pod_requests(&spec), amounts(0, i64::MAX));
        let Admission::Reject(rejection) = admit(NODE, &[], pod_requests(&spec)) else {
            panic!("admitted");
        };
        assert_eq!(rejection.reason, "OutOfmemory");
    }
}
