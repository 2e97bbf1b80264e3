//! The pod's and the node's IP addresses, as the status
//! (`status.podIP(s)`, `status.hostIP(s)`) and the downward API show them.
//!
//! The rules, and where they come from:
//! * the node's addresses (`hostIPs`) are the node's InternalIPs, one per
//!   IP family, the primary family first (`GetNodeHostIPs` in
//!   `pkg/util/node/node.go`); `hostIP` is the first.
//! * the pod's addresses (`podIPs`) are the sandbox's, ordered by the
//!   node's family preference: the first address of the primary family,
//!   then the first of the other family, any others dropped (the kubelet's
//!   `sortPodIPs` in `pkg/kubelet/kubelet_pods.go`); `podIP` is the first.
//! * a `hostNetwork` pod's addresses are the node's: "HostNetwork Pods
//!   inherit the node IPs as PodIPs" (`generateAPIPodStatus`, same file):
//!   [`host_network_sandbox_ips`].

use std::net::IpAddr;

/// The addresses a pod shows, already in the order Kubernetes shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodAddresses {
    /// `status.hostIPs`: the node's addresses, primary family first.
    pub host_ips: Vec<IpAddr>,
    /// `status.podIPs`: the sandbox's addresses (empty while the sandbox
    /// has none).
    pub pod_ips: Vec<IpAddr>,
}

impl PodAddresses {
    /// The addresses of a pod whose sandbox has `sandbox_ips`, on a node
    /// with `host_ips` (primary family first).
    pub fn new(host_ips: &[IpAddr], sandbox_ips: &[IpAddr]) -> PodAddresses {
        PodAddresses {
            host_ips: host_ips.to_vec(),
            pod_ips: by_family_preference(sandbox_ips, host_ips.first()),
        }
    }

    /// `status.hostIP`.
    pub fn host_ip(&self) -> Option<IpAddr> {
        self.host_ips.first().copied()
    }

    /// `status.podIP`.
    pub fn pod_ip(&self) -> Option<IpAddr> {
        self.pod_ips.first().copied()
    }
}

/// The sandbox addresses of a `hostNetwork` pod on a node with `host_ips`:
/// the node's own (`podIP` is `hostIPs[0]`, then the other family's).
pub fn host_network_sandbox_ips(host_ips: &[IpAddr]) -> Vec<IpAddr> {
    host_ips.to_vec()
}

/// The first address of `primary`'s family, then the first of the other
/// family. Without a node address, IPv4 is the primary family, as a
/// single-stack IPv4 cluster's.
fn by_family_preference(ips: &[IpAddr], primary: Option<&IpAddr>) -> Vec<IpAddr> {
    let primary_is_v4 = primary.is_none_or(IpAddr::is_ipv4);
    let first_of = |v4: bool| ips.iter().find(|ip| ip.is_ipv4() == v4).copied();
    [first_of(primary_is_v4), first_of(!primary_is_v4)]
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_network_pod_shows_the_nodes_addresses() {
        let host_ips: Vec<IpAddr> =
            vec!["192.0.2.7".parse().unwrap(), "2001:db8::7".parse().unwrap()];
        let sandbox = host_network_sandbox_ips(&host_ips);
        let shown = PodAddresses::new(&host_ips, &sandbox);
        assert_eq!(shown.pod_ips, host_ips);
        assert_eq!(shown.pod_ip(), shown.host_ip());
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().expect("ip")).collect()
    }

    #[test]
    fn pod_ips_follow_the_nodes_family_and_keep_one_per_family() {
        let cases: [(&[&str], &[&str], &[&str]); 6] = [
            // (node, sandbox, podIPs)
            (&["192.0.2.2"], &["10.88.0.5"], &["10.88.0.5"]),
            (
                &["192.0.2.2"],
                &["fd00::5", "10.88.0.5"],
                &["10.88.0.5", "fd00::5"],
            ),
            (
                &["2001:db8::2"],
                &["10.88.0.5", "fd00::5"],
                &["fd00::5", "10.88.0.5"],
            ),
            (
                &["192.0.2.2"],
                &["10.88.0.5", "10.88.0.6", "fd00::5", "fd00::6"],
                &["10.88.0.5", "fd00::5"],
            ),
            (&[], &["fd00::5", "10.88.0.5"], &["10.88.0.5", "fd00::5"]),
            (&["192.0.2.2"], &[], &[]),
        ];
        for (node, sandbox, want) in cases {
            let addresses = PodAddresses::new(&ips(node), &ips(sandbox));
            assert_eq!(
                addresses.pod_ips,
                ips(want),
                "node {node:?}, sandbox {sandbox:?}"
            );
            assert_eq!(addresses.host_ips, ips(node));
        }
    }

    #[test]
    fn the_single_ips_are_the_first_of_each_list() {
        let addresses = PodAddresses::new(
            &ips(&["192.0.2.2", "2001:db8::2"]),
            &ips(&["fd00::5", "10.88.0.5"]),
        );
        assert_eq!(addresses.host_ip(), Some(ips(&["192.0.2.2"])[0]));
        assert_eq!(addresses.pod_ip(), Some(ips(&["10.88.0.5"])[0]));
        assert_eq!(PodAddresses::default().pod_ip(), None);
        assert_eq!(PodAddresses::default().host_ip(), None);
    }
}
