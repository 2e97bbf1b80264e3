//! The "Network" section of a text plan: which network the pod gets, its
//! ports and host ports, and its DNS (the `/etc/resolv.conf` it gets).
//!
//! Everything here is decided from the pod and what the caller says of the
//! node: the node's pod network in a line (the runtime describes it:
//! `NodeNetwork::describe`), or none (`--pod-network none`), and the
//! node's DNS ([`NodeDns`]). `docs/networking.md` explains each part.

use minipod_spec::enums::DnsPolicy;
use minipod_spec::model::{Container, Pod};

use super::layout::{heading, paragraph, table};
use crate::dns::{self, NodeDns};
use crate::host_ports::HostPortClaim;

/// What the node says of its pod network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodePodNetwork {
    /// `--pod-network none`: pods get loopback only.
    LoopbackOnly,
    /// The node's network, in a line ("minipod's default network …",
    /// "CNI network … from FILE").
    Described(String),
    /// The node's network cannot be told (a broken CNI configuration, a
    /// state directory that cannot be read): why.
    Unknown(String),
}

/// The node's side of the network section.
#[derive(Debug, Clone)]
pub struct NetworkFacts {
    pub pod_network: NodePodNetwork,
    pub dns: NodeDns,
}

/// The network section, starting with its heading, ending in a newline.
pub fn render_network(pod: &Pod, node: &NetworkFacts) -> String {
    let mut out = String::new();
    let host_network = pod.spec.host_network == Some(true);
    heading(
        &mut out,
        if host_network {
            "Network: the node's (hostNetwork: true)"
        } else {
            "Network: a network namespace of the pod's own"
        },
    );
    let mut rows = vec![network_row(host_network, &node.pod_network)];
    rows.push(vec!["ports".into(), ports(pod, host_network)]);
    rows.push(vec![
        "host ports".into(),
        host_ports(pod, host_network, &node.pod_network),
    ]);
    table(&mut out, "  ", &rows);
    dns_part(&mut out, pod, &node.dns, host_network);
    out
}

fn network_row(host_network: bool, network: &NodePodNetwork) -> Vec<String> {
    let text = if host_network {
        "none attached: no network or UTS namespace of its own (its IPC namespace is its own); \
         its hostname and /etc/hosts are the node's, its podIPs the node's hostIPs"
            .to_owned()
    } else {
        match network {
            NodePodNetwork::LoopbackOnly => "none (--pod-network none): loopback only; \
                 status.podIP is 127.0.0.1 and nothing outside the pod reaches it"
                .to_owned(),
            NodePodNetwork::Described(line) => {
                format!("{line}; the pod gets lo, and eth0 with an address of it (status.podIP)")
            }
            NodePodNetwork::Unknown(why) => {
                format!("cannot be told ({why}); the pod's sandbox would fail the same way")
            }
        }
    };
    vec!["pod network".into(), text]
}

/// Every container's ports, and where they are reached.
fn ports(pod: &Pod, host_network: bool) -> String {
    let listed: Vec<String> = all_containers(pod)
        .flat_map(|c| {
            c.ports.iter().map(move |p| {
                let protocol = p.protocol.as_ref().map_or("TCP", |p| p.as_str());
                match &p.name {
                    Some(name) => format!("{} {}/{protocol} ({name})", c.name, p.container_port),
                    None => format!("{} {}/{protocol}", c.name, p.container_port),
                }
            })
        })
        .collect();
    if listed.is_empty() {
        return "none declared (a server listens on any port all the same)".into();
    }
    let at = if host_network {
        "on the node's addresses"
    } else {
        "at the pod IP"
    };
    format!("{}: {at}", listed.join(", "))
}

/// The app containers' host ports (the kubelet maps those only) and what
/// becomes of them.
fn host_ports(pod: &Pod, host_network: bool, network: &NodePodNetwork) -> String {
    let mapped: Vec<String> = pod
        .spec
        .containers
        .iter()
        .flat_map(|c| {
            c.ports.iter().filter_map(move |p| {
                let host_port = p.host_port.filter(|port| *port > 0)?;
                let claim = HostPortClaim::new(
                    p.host_ip.as_deref().unwrap_or_default(),
                    p.protocol.as_ref().map(|p| p.as_str()).unwrap_or_default(),
                    host_port,
                );
                let address = match claim.host_ip.contains(':') {
                    true => format!("[{}]", claim.host_ip),
                    false => claim.host_ip.clone(),
                };
                Some(format!(
                    "{} {address}:{host_port} -> {} {}",
                    claim.protocol, c.name, p.container_port
                ))
            })
        })
        .collect();
    if mapped.is_empty() {
        return "none".into();
    }
    let how = if host_network {
        "the containers listen on the node itself"
    } else {
        match network {
            NodePodNetwork::LoopbackOnly => "not mapped: the node has no pod network",
            _ => {
                "DNAT to the pod IP (0.0.0.0: every address of the node, 127.0.0.1 included); \
                 a running pod holding one refuses the pod (NodePorts)"
            }
        }
    };
    format!("{}: {how}", mapped.join(", "))
}

/// The DNS policy in words, then the resolver file the pod gets.
fn dns_part(out: &mut String, pod: &Pod, node: &NodeDns, host_network: bool) {
    let policy = pod
        .spec
        .dns_policy
        .as_ref()
        .unwrap_or(&DnsPolicy::ClusterFirst);
    let cluster = !node.cluster_dns.is_empty();
    let why = match policy {
        DnsPolicy::None => "only the pod's dnsConfig".to_owned(),
        DnsPolicy::Default => "the node's resolver file".to_owned(),
        DnsPolicy::ClusterFirst if host_network => {
            "on hostNetwork, ClusterFirst is the node's resolver file".to_owned()
        }
        // Anything else the API server refuses; the kubelet takes it as
        // ClusterFirst (`getPodDNSType`).
        DnsPolicy::ClusterFirst | DnsPolicy::ClusterFirstWithHostNet | DnsPolicy::Unknown(_)
            if cluster =>
        {
            "the cluster's DNS servers and search domains, ndots:5".to_owned()
        }
        DnsPolicy::ClusterFirst | DnsPolicy::ClusterFirstWithHostNet | DnsPolicy::Unknown(_) => {
            "this node has no cluster DNS, so the node's resolver file, as the kubelet falls \
             back to Default"
                .to_owned()
        }
    };
    let with_config = if pod.spec.dns_config.is_some() && *policy != DnsPolicy::None {
        ", then the pod's dnsConfig"
    } else {
        ""
    };
    let mut text = format!("DNS: dnsPolicy {}: {why}{with_config}.", policy.as_str());
    let resolv = match dns::pod_dns(pod, node) {
        Ok(decided) => {
            for event in &decided.events {
                text.push_str(&format!(" Warning event {}.", event.reason));
            }
            decided.resolv_conf()
        }
        Err(e) => {
            text.push_str(&format!(" Not usable, {e}: the pod's sandbox would fail."));
            String::new()
        }
    };
    out.push('\n');
    paragraph(out, "  ", &text);
    if resolv.is_empty() {
        paragraph(out, "  ", "/etc/resolv.conf: empty");
        return;
    }
    paragraph(out, "  ", "/etc/resolv.conf:");
    for line in resolv.lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
}

fn all_containers(pod: &Pod) -> impl Iterator<Item = &Container> {
    pod.spec
        .init_containers
        .iter()
        .chain(pod.spec.containers.iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        crate::test_support::admitted(yaml).pod().clone()
    }

    /// The text with every run of white space one space (lines wrap).
    fn flat(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn node(network: NodePodNetwork) -> NetworkFacts {
        NetworkFacts {
            pod_network: network,
            dns: NodeDns {
                host_resolv_conf: Some("search lan\nnameserver 192.0.2.53\n".into()),
                ..NodeDns::default()
            },
        }
    }

    const WEB: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: web\n    image: busybox\n    ports:\n    - {name: http, containerPort: 8080}\n    - {containerPort: 53, protocol: UDP, hostPort: 5353, hostIP: 127.0.0.1}\n";

    #[test]
    fn the_default_network_its_ports_and_the_fallback_dns() {
        let text = render_network(
            &pod(WEB),
            &node(NodePodNetwork::Described(
                "minipod's default network \"minipod\": bridge minipod0".into(),
            )),
        );
        let expected = "
Network: a network namespace of the pod's own
  pod network  minipod's default network \"minipod\": bridge minipod0; the pod gets lo, and eth0 with
               an address of it (status.podIP)
  ports        web 8080/TCP (http), web 53/UDP: at the pod IP
  host ports   UDP 127.0.0.1:5353 -> web 53: DNAT to the pod IP (0.0.0.0: every address of the node,
               127.0.0.1 included); a running pod holding one refuses the pod (NodePorts)

  DNS: dnsPolicy ClusterFirst: this node has no cluster DNS, so the node's resolver file, as the
  kubelet falls back to Default. Warning event MissingClusterDNS.
  /etc/resolv.conf:
    search lan
    nameserver 192.0.2.53
";
        assert_eq!(text, expected);
    }

    #[test]
    fn loopback_only_maps_no_host_port() {
        let text = render_network(&pod(WEB), &node(NodePodNetwork::LoopbackOnly));
        assert!(
            text.contains("none (--pod-network none): loopback only"),
            "{text}"
        );
        assert!(
            text.contains("UDP 127.0.0.1:5353 -> web 53: not mapped: the node has no pod network"),
            "{text}"
        );
    }

    #[test]
    fn a_network_that_cannot_be_told_says_why() {
        let why =
            "the CNI configuration /etc/cni/net.d/10-x.conflist: plugins[0].type: is required";
        let text = render_network(&pod(WEB), &node(NodePodNetwork::Unknown(why.into())));
        assert!(
            text.contains("cannot be told (the CNI configuration"),
            "{text}"
        );
        assert!(text.contains("sandbox would fail"), "{text}");
    }

    #[test]
    fn host_network_pods_use_the_nodes_network_and_resolver_file() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: h}\nspec:\n  hostNetwork: true\n  containers:\n  - name: s\n    image: busybox\n    ports:\n    - {containerPort: 8080}\n";
        let text = render_network(&pod(yaml), &node(NodePodNetwork::Described("x".into())));
        assert!(
            text.starts_with("\nNetwork: the node's (hostNetwork: true)\n"),
            "{text}"
        );
        assert!(
            text.contains("s 8080/TCP: on the node's addresses"),
            "{text}"
        );
        // The API server makes every container port a host port.
        assert!(
            text.contains("TCP 0.0.0.0:8080 -> s 8080: the containers listen on the node itself"),
            "{text}"
        );
        assert!(
            text.contains("dnsPolicy ClusterFirst: on hostNetwork, ClusterFirst is the node's"),
            "{text}"
        );
        assert!(!text.contains("MissingClusterDNS"), "{text}");
    }

    #[test]
    fn dns_policy_none_gets_only_its_dns_config() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec:\n  dnsPolicy: None\n  dnsConfig:\n    nameservers: [192.0.2.1]\n    options: [{name: ndots, value: '2'}]\n  containers:\n  - name: c\n    image: busybox\n";
        let text = render_network(&pod(yaml), &node(NodePodNetwork::LoopbackOnly));
        assert!(
            text.contains("  DNS: dnsPolicy None: only the pod's dnsConfig.\n  /etc/resolv.conf:\n    nameserver 192.0.2.1\n    options ndots:2\n"),
            "{text}"
        );
        assert!(text.contains("ports        none declared"), "{text}");
    }

    #[test]
    fn a_broken_node_resolver_file_fails_the_sandbox() {
        let mut facts = node(NodePodNetwork::LoopbackOnly);
        facts.dns.host_resolv_conf = Some("nameserver\n".into());
        let text = render_network(&pod(WEB), &facts);
        assert!(
            flat(&text).contains(
                "Not usable, the node's resolver file: line 1: nameserver list is empty: \
                 the pod's sandbox would fail."
            ),
            "{text}"
        );
        assert!(text.contains("/etc/resolv.conf: empty"), "{text}");
    }
}
