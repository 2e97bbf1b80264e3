//! Does a pod fit the node? The kubelet's resource and host port
//! admission, as pure functions.
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
//!
//! After the resources the same check asks whether the pod's host ports
//! are free ([`crate::host_ports`]); [`admit_pod`] runs both in the
//! kubelet's order and reports the first failure, as it does.

use minipod_spec::model::PodSpec;

use crate::capacity::CpuAndMemory;
use crate::host_ports::{HostPortClaim, NODE_PORTS, NODE_PORTS_REASON, fits_host_ports};
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
    /// [`OUT_OF_CPU`], [`OUT_OF_MEMORY`], [`NODE_PORTS`] or
    /// [`crate::sysctl::SYSCTL_FORBIDDEN`].
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

/// The host port half of the kubelet's admission ([`crate::host_ports`]):
/// whether a pod claiming `wanted` may start next to pods holding `held`.
pub fn admit_host_ports(held: &[HostPortClaim], wanted: &[HostPortClaim]) -> Admission {
    if fits_host_ports(held, wanted) {
        Admission::Admit
    } else {
        Admission::Reject(Rejection {
            reason: NODE_PORTS,
            message: format!("Predicate {NODE_PORTS} failed: {NODE_PORTS_REASON}"),
        })
    }
}

/// What the kubelet counts of a pod already admitted, or of a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodClaims {
    /// Its effective requests ([`pod_requests`]).
    pub requests: CpuAndMemory,
    /// Its host ports ([`crate::host_ports::host_port_claims`]).
    pub host_ports: Vec<HostPortClaim>,
}

impl PodClaims {
    /// The claims of a (defaulted) pod spec.
    pub fn of(spec: &PodSpec) -> Self {
        PodClaims {
            requests: pod_requests(spec),
            host_ports: crate::host_ports::host_port_claims(spec),
        }
    }
}

/// The kubelet's whole admission of `pod` next to the pods `admitted`
/// and not terminated: resources first, then host ports; only the first
/// failure is reported (`AdmissionCheck`, then `reasons[0]` in
/// `predicateAdmitHandler.Admit`).
pub fn admit_pod(allocatable: CpuAndMemory, admitted: &[PodClaims], pod: &PodClaims) -> Admission {
    let requests: Vec<CpuAndMemory> = admitted.iter().map(|p| p.requests).collect();
    if let rejected @ Admission::Reject(_) = admit(allocatable, &requests, pod.requests) {
        return rejected;
    }
    let held: Vec<HostPortClaim> = admitted
        .iter()
        .flat_map(|p| p.host_ports.iter().cloned())
        .collect();
    admit_host_ports(&held, &pod.host_ports)
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

    #[test]
    fn resources_are_checked_before_host_ports() {
        let web = pod_spec(
            "containers: [{name: a, image: i, ports: [{containerPort: 80, hostPort: 8080}], resources: {requests: {cpu: '1'}}}]",
        );
        let running = [PodClaims::of(&web)];
        // The same pod again: its port is taken and 1 CPU is still free.
        assert_eq!(
            admit_pod(NODE, &running, &PodClaims::of(&web)),
            reject(
                "NodePorts",
                "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
            )
        );
        // A bigger one: both fail, and the kubelet reports the CPU.
        let big = pod_spec(
            "containers: [{name: a, image: i, ports: [{containerPort: 80, hostPort: 8080}], resources: {requests: {cpu: '2'}}}]",
        );
        assert_eq!(
            admit_pod(NODE, &running, &PodClaims::of(&big)),
            reject(
                OUT_OF_CPU,
                "Node didn't have enough resource: cpu, requested: 2000, used: 1000, capacity: 2000"
            )
        );
        // Another port fits.
        let other = pod_spec(
            "containers: [{name: a, image: i, ports: [{containerPort: 80, hostPort: 8081}]}]",
        );
        assert_eq!(
            admit_pod(NODE, &running, &PodClaims::of(&other)),
            Admission::Admit
        );
    }

    #[test]
    fn a_second_pod_on_the_same_host_port_is_refused_as_the_kubelet_refuses_it() {
        let first = pod_spec(
            "containers: [{name: a, image: i, ports: [{containerPort: 80, hostPort: 8080}]}]",
        );
        let second = pod_spec(
            "containers: [{name: b, image: i, ports: [{containerPort: 8080, hostPort: 8080, hostIP: 127.0.0.1}]}]",
        );
        let held = PodClaims::of(&first).host_ports;
        let Admission::Reject(rejection) =
            admit_host_ports(&held, &PodClaims::of(&second).host_ports)
        else {
            panic!("admitted");
        };
        assert_eq!(rejection.reason, "NodePorts");
        assert_eq!(
            rejection.status_message(),
            "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
        );
        // On UDP the port is free.
        let udp = pod_spec(
            "containers: [{name: b, image: i, ports: [{containerPort: 53, hostPort: 8080, protocol: UDP}]}]",
        );
        assert_eq!(
            admit_host_ports(&held, &PodClaims::of(&udp).host_ports),
            Admission::Admit
        );
    }
}
