//! Are a pod's host ports free? The kubelet's host port admission, as a
//! pure function over the port claims of the pods already running.
//!
//! The kubelet's `predicateAdmitHandler` (`pkg/kubelet/lifecycle/predicate.go`)
//! runs the scheduler's `AdmissionCheck`, which after the resources asks the
//! `NodePorts` plugin (`pkg/scheduler/framework/plugins/nodeports/node_ports.go`,
//! `Fits`) whether the pod's host ports are free:
//!
//! * a pod claims the `hostPort`s of its **app containers** (`getContainerPorts`
//!   reads `spec.containers` only; the CRI's port mappings are made from the
//!   same list), each as `(hostIP, protocol, hostPort)`; a port without a
//!   `hostPort` claims nothing;
//! * an empty `hostIP` is `0.0.0.0` and an empty protocol `TCP`
//!   (`HostPortInfo.sanitize` in `pkg/scheduler/framework/types.go`);
//! * a wanted claim on `0.0.0.0` conflicts with a claim of the same
//!   protocol and port on **any** address; one on another address
//!   conflicts with a claim on that address or on `0.0.0.0`
//!   (`HostPortInfo.CheckConflict`). `::` is an address like any other there;
//! * a conflict rejects the pod with reason `NodePorts` and message
//!   `Predicate NodePorts failed: node(s) didn't have free ports for the
//!   requested pod ports` (`PredicateFailureError.Error`); the kubelet
//!   reports only the first failure, and resources are checked first
//!   ([`crate::admission::admit_pod`]).
//!
//! With `hostNetwork: true` every container port is a host port: the API
//! server sets `hostPort` to `containerPort` when it is unset
//! (`minipod_spec::defaults`), so such a pod's claims come from the same rule.

use minipod_spec::model::PodSpec;

/// `status.reason` and event reason of a pod whose host ports are taken
/// (the plugin's name, `nodeports.Name`).
pub const NODE_PORTS: &str = "NodePorts";
/// The plugin's reason text (`nodeports.ErrReason`).
pub const NODE_PORTS_REASON: &str = "node(s) didn't have free ports for the requested pod ports";
/// The address a claim without `hostIP` binds (`DefaultBindAllHostIP`).
pub const BIND_ALL: &str = "0.0.0.0";

/// One host port a pod holds: `hostIP`, protocol and `hostPort`, sanitized.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPortClaim {
    pub host_ip: String,
    pub protocol: String,
    pub host_port: i32,
}

impl HostPortClaim {
    /// A claim as the scheduler stores it: no address is `0.0.0.0`, no
    /// protocol is `TCP`.
    pub fn new(host_ip: &str, protocol: &str, host_port: i32) -> Self {
        let or = |value: &str, default: &str| {
            if value.is_empty() {
                default.to_owned()
            } else {
                value.to_owned()
            }
        };
        HostPortClaim {
            host_ip: or(host_ip, BIND_ALL),
            protocol: or(protocol, "TCP"),
            host_port,
        }
    }

    /// Whether this wanted claim conflicts with `held` (`CheckConflict`).
    pub fn conflicts_with(&self, held: &HostPortClaim) -> bool {
        if self.host_port <= 0 || self.protocol != held.protocol || self.host_port != held.host_port
        {
            return false;
        }
        self.host_ip == BIND_ALL || held.host_ip == BIND_ALL || self.host_ip == held.host_ip
    }
}

/// The host ports the pod's app containers claim (`getContainerPorts`),
/// in the order of the spec.
pub fn host_port_claims(spec: &PodSpec) -> Vec<HostPortClaim> {
    spec.containers
        .iter()
        .flat_map(|container| &container.ports)
        .filter_map(|port| {
            let host_port = port.host_port.unwrap_or(0);
            (host_port > 0).then(|| {
                HostPortClaim::new(
                    port.host_ip.as_deref().unwrap_or_default(),
                    port.protocol
                        .as_ref()
                        .map(|p| p.as_str())
                        .unwrap_or_default(),
                    host_port,
                )
            })
        })
        .collect()
}

/// Whether a pod claiming `wanted` fits next to pods holding `held` (the
/// claims of every pod admitted and not terminated): `fitsPorts`.
pub fn fits_host_ports(held: &[HostPortClaim], wanted: &[HostPortClaim]) -> bool {
    !wanted
        .iter()
        .any(|claim| held.iter().any(|h| claim.conflicts_with(h)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::pod_spec;

    fn claim(host_ip: &str, protocol: &str, host_port: i32) -> HostPortClaim {
        HostPortClaim::new(host_ip, protocol, host_port)
    }

    /// The cases of the scheduler's `TestNodePorts` and `HostPortInfo`
    /// tests that apply to one node.
    #[test]
    fn the_scheduler_table() {
        let cases: &[(&str, &[HostPortClaim], &[HostPortClaim], bool)] = &[
            ("nothing held", &[], &[claim("", "TCP", 8080)], true),
            ("nothing wanted", &[claim("", "TCP", 8080)], &[], true),
            (
                "same port, other protocol",
                &[claim("127.0.0.1", "UDP", 8080)],
                &[claim("127.0.0.1", "TCP", 8080)],
                true,
            ),
            (
                "same port and address",
                &[claim("127.0.0.1", "TCP", 8080)],
                &[claim("127.0.0.1", "TCP", 8080)],
                false,
            ),
            (
                "same port, other addresses",
                &[claim("127.0.0.1", "TCP", 8080)],
                &[claim("127.0.0.2", "TCP", 8080)],
                true,
            ),
            (
                "wanted on all addresses, held on one",
                &[claim("127.0.0.1", "TCP", 8080)],
                &[claim("0.0.0.0", "TCP", 8080)],
                false,
            ),
            (
                "wanted on one address, held on all",
                &[claim("0.0.0.0", "TCP", 8080)],
                &[claim("10.0.0.1", "TCP", 8080)],
                false,
            ),
            (
                "no address is all addresses",
                &[claim("", "UDP", 53)],
                &[claim("10.0.0.1", "UDP", 53)],
                false,
            ),
            (
                "no protocol is TCP",
                &[claim("127.0.0.1", "", 8080)],
                &[claim("127.0.0.1", "TCP", 8080)],
                false,
            ),
            (
                ":: is an address like any other",
                &[claim("::", "TCP", 8080)],
                &[claim("127.0.0.1", "TCP", 8080)],
                true,
            ),
            (
                "other ports",
                &[claim("", "TCP", 8080), claim("", "UDP", 9090)],
                &[claim("", "TCP", 8081), claim("", "TCP", 9090)],
                true,
            ),
            (
                "one of several conflicts",
                &[claim("127.0.0.1", "TCP", 8080), claim("", "UDP", 9090)],
                &[claim("", "TCP", 8081), claim("", "UDP", 9090)],
                false,
            ),
        ];
        for (name, held, wanted, fits) in cases {
            assert_eq!(fits_host_ports(held, wanted), *fits, "{name}");
        }
    }

    #[test]
    fn claims_are_the_app_containers_host_ports_sanitized() {
        let spec = pod_spec(
            "
            initContainers:
            - {name: side, image: i, restartPolicy: Always, ports: [{containerPort: 70, hostPort: 7070}]}
            containers:
            - name: a
              image: i
              ports:
              - {containerPort: 80, hostPort: 8080}
              - {containerPort: 81}
              - {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 127.0.0.1}
            - {name: b, image: i, ports: [{containerPort: 90, hostPort: 9090, protocol: SCTP}]}
            ",
        );
        assert_eq!(
            host_port_claims(&spec),
            vec![
                claim("0.0.0.0", "TCP", 8080),
                claim("127.0.0.1", "UDP", 5353),
                claim("0.0.0.0", "SCTP", 9090),
            ]
        );
    }

    #[test]
    fn a_host_network_pods_container_ports_are_its_claims() {
        // The API server's defaulting made each containerPort a hostPort,
        // so two hostNetwork pods serving one port conflict.
        let pod = crate::test_support::admitted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: true, containers: [{name: a, image: i, ports: [{containerPort: 8080}, {containerPort: 53, protocol: UDP}]}]}",
        );
        let claims = host_port_claims(&pod.pod().spec);
        assert_eq!(
            claims,
            [claim("0.0.0.0", "TCP", 8080), claim("0.0.0.0", "UDP", 53)]
        );
        assert!(!fits_host_ports(&claims, &claims));
    }
}
