//! Where a `tcpSocket` or `httpGet` check connects from, and to which host:
//! the kubelet's rule, with minipod's one exception for a pod without a
//! network.
//!
//! The kubelet dials from its own network namespace, the node's, to
//! `httpGet.host` / `tcpSocket.host` when given, else to the pod's
//! `status.podIP` (`pkg/kubelet/prober/prober.go`, `runProbe`: `host :=
//! p.HTTPGet.Host; if host == "" { host = status.PodIP }`). minipod does
//! the same for a pod with an address other than loopback, and for a
//! `hostNetwork` pod, whose pod IPs are the node's. A pod without a network
//! (its only address `127.0.0.1`: the sandbox before its network is
//! attached, or a rootless pod) cannot be reached from the node, so its
//! checks are made from inside its network namespace, to `127.0.0.1` or
//! the host given.

use std::net::IpAddr;

use super::dial::DEFAULT_HOST;

/// The network namespace a check's connection is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialFrom {
    /// The node's (the monitor's own), as the kubelet dials.
    Node,
    /// The pod's own network namespace: a pod without a network.
    Pod,
}

/// Where one check connects: from where, and the host (an address or a
/// name the node resolves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialTarget {
    pub from: DialFrom,
    pub host: String,
}

/// The target of a check whose probe names `given_host` (`None` or empty:
/// none), on a pod whose sandbox has `pod_ips` (`RunningPod::pod_ips`) and
/// that uses the node's network when `host_network`.
pub fn dial_target(given_host: Option<&str>, pod_ips: &[IpAddr], host_network: bool) -> DialTarget {
    let given = given_host.filter(|h| !h.is_empty()).map(str::to_owned);
    let pod_ip = pod_ips.iter().find(|ip| !ip.is_loopback());
    match (pod_ip, host_network) {
        (Some(ip), _) => DialTarget {
            from: DialFrom::Node,
            host: given.unwrap_or_else(|| ip.to_string()),
        },
        // The node's network, whose only address is loopback (a node
        // without another): the pod IP is still the node's.
        (None, true) => DialTarget {
            from: DialFrom::Node,
            host: given.unwrap_or_else(|| {
                pod_ips
                    .first()
                    .map_or_else(|| DEFAULT_HOST.to_owned(), IpAddr::to_string)
            }),
        },
        (None, false) => DialTarget {
            from: DialFrom::Pod,
            host: given.unwrap_or_else(|| DEFAULT_HOST.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    /// A case: its name, the probe's host, the pod's IPs, `hostNetwork`,
    /// and where the check goes.
    type Case = (
        &'static str,
        Option<&'static str>,
        &'static [&'static str],
        bool,
        DialTarget,
    );

    fn target(from: DialFrom, host: &str) -> DialTarget {
        DialTarget {
            from,
            host: host.to_owned(),
        }
    }

    #[test]
    fn the_kubelets_rule_and_the_exception_for_a_pod_without_a_network() {
        let cases: &[Case] = &[
            (
                "a pod IP: dialled from the node",
                None,
                &["10.88.0.5"],
                false,
                target(DialFrom::Node, "10.88.0.5"),
            ),
            (
                "the first pod IP of two families",
                None,
                &["fd00::5", "10.88.0.5"],
                false,
                target(DialFrom::Node, "fd00::5"),
            ),
            (
                "a host given is dialled as given, from the node",
                Some("192.0.2.9"),
                &["10.88.0.5"],
                false,
                target(DialFrom::Node, "192.0.2.9"),
            ),
            (
                "a name given is resolved by the node",
                Some("localhost"),
                &["10.88.0.5"],
                false,
                target(DialFrom::Node, "localhost"),
            ),
            (
                "an empty host is no host",
                Some(""),
                &["10.88.0.5"],
                false,
                target(DialFrom::Node, "10.88.0.5"),
            ),
            (
                "a pod without a network: loopback, inside it",
                None,
                &["127.0.0.1"],
                false,
                target(DialFrom::Pod, "127.0.0.1"),
            ),
            (
                "a pod without a network: a host given, inside it",
                Some("127.0.0.2"),
                &["127.0.0.1"],
                false,
                target(DialFrom::Pod, "127.0.0.2"),
            ),
            (
                "a pod with no address yet: inside it",
                None,
                &[],
                false,
                target(DialFrom::Pod, "127.0.0.1"),
            ),
            (
                "hostNetwork: the node's IP, from the node",
                None,
                &["192.0.2.7"],
                true,
                target(DialFrom::Node, "192.0.2.7"),
            ),
            (
                "hostNetwork on a node whose IP is loopback",
                None,
                &["127.0.0.1"],
                true,
                target(DialFrom::Node, "127.0.0.1"),
            ),
            (
                "hostNetwork on a node without an IP",
                None,
                &[],
                true,
                target(DialFrom::Node, "127.0.0.1"),
            ),
            (
                "hostNetwork, a host given",
                Some("127.0.0.1"),
                &["192.0.2.7"],
                true,
                target(DialFrom::Node, "127.0.0.1"),
            ),
        ];
        for (name, given, pod_ips, host_network, expected) in cases {
            assert_eq!(
                &dial_target(*given, &ips(pod_ips), *host_network),
                expected,
                "{name}"
            );
        }
    }
}
