//! The files every container of a pod shares through bind mounts:
//! `/etc/hosts` and `/etc/hostname`, written once per pod as the kubelet
//! and containerd write them (`pkg/kubelet/kubelet_pods.go`
//! `ensureHostsFile`, `managedHostsFileContent`, `nodeHostsFileContent`).
//! The third, `/etc/resolv.conf`, is decided in [`crate::dns`].
//!
//! A pod with its own network namespace gets a managed file: a header,
//! the localhost lines, one line per pod IP with the pod's hostname (its
//! FQDN first when it has a `subdomain`), and the `hostAliases` under a
//! heading of their own. A `hostNetwork` pod gets the node's `/etc/hosts`
//! under another header, with the aliases after it.

use minipod_spec::AdmittedPod;
use minipod_spec::model::{HostAlias, PodSpec};

use crate::process::{pod_hostname, sandbox_hostname};

/// The first line of a pod's own hosts file (`managedHostsHeader`).
pub const MANAGED_HOSTS_HEADER: &str = "# Kubernetes-managed hosts file.\n";
/// The first line of a `hostNetwork` pod's hosts file
/// (`managedHostsHeaderWithHostNetwork`).
pub const HOST_NETWORK_HOSTS_HEADER: &str = "# Kubernetes-managed hosts file (host network).\n";

/// What the pod's `/etc/hosts` is made from besides the pod itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostsSource<'a> {
    /// The pod has its own network namespace: its IPs (`status.podIPs`)
    /// and the node's cluster domain (empty on a node without one).
    PodNetwork {
        pod_ips: &'a [String],
        cluster_domain: &'a str,
    },
    /// `hostNetwork: true`: the text of the node's `/etc/hosts`.
    HostNetwork { node_hosts: &'a str },
}

impl<'a> HostsSource<'a> {
    /// What `pod`'s hosts file is made from (`ensureHostsFile`'s
    /// `useHostNetwork`): the node's `/etc/hosts` (`node_hosts`) for a
    /// `hostNetwork` pod, else its own IPs and the cluster domain.
    pub fn for_pod(
        pod: &AdmittedPod,
        pod_ips: &'a [String],
        cluster_domain: &'a str,
        node_hosts: &'a str,
    ) -> HostsSource<'a> {
        if pod.uses_host_network() {
            HostsSource::HostNetwork { node_hosts }
        } else {
            HostsSource::PodNetwork {
                pod_ips,
                cluster_domain,
            }
        }
    }
}

/// The pod's `/etc/hosts` (`ensureHostsFile`).
pub fn hosts_file(pod: &AdmittedPod, source: HostsSource<'_>) -> String {
    let spec = &pod.pod().spec;
    match source {
        HostsSource::PodNetwork {
            pod_ips,
            cluster_domain,
        } => managed_hosts_file(
            pod_ips,
            &pod_hostname(pod),
            &host_domain(spec, pod.namespace(), cluster_domain),
            &spec.host_aliases,
        ),
        HostsSource::HostNetwork { node_hosts } => node_hosts_file(node_hosts, &spec.host_aliases),
    }
}

/// The pod's domain (`GeneratePodHostNameAndDomain`): with a `subdomain`,
/// `<subdomain>.<namespace>.svc.<cluster domain>` (ending in `svc.` on a
/// node without a cluster domain, as the kubelet writes it); else none.
pub fn host_domain(spec: &PodSpec, namespace: &str, cluster_domain: &str) -> String {
    match spec.subdomain.as_deref().filter(|s| !s.is_empty()) {
        Some(subdomain) => format!("{subdomain}.{namespace}.svc.{cluster_domain}"),
        None => String::new(),
    }
}

/// `managedHostsFileContent`: the file of a pod with its own network.
pub fn managed_hosts_file(
    pod_ips: &[String],
    hostname: &str,
    host_domain: &str,
    aliases: &[HostAlias],
) -> String {
    let mut out = String::from(MANAGED_HOSTS_HEADER);
    out.push_str(
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         fe00::0\tip6-mcastprefix\n\
         fe00::1\tip6-allnodes\n\
         fe00::2\tip6-allrouters\n",
    );
    for ip in pod_ips {
        if host_domain.is_empty() {
            out.push_str(&format!("{ip}\t{hostname}\n"));
        } else {
            out.push_str(&format!("{ip}\t{hostname}.{host_domain}\t{hostname}\n"));
        }
    }
    out.push_str(&alias_entries(aliases));
    out
}

/// `nodeHostsFileContent`: the file of a `hostNetwork` pod.
pub fn node_hosts_file(node_hosts: &str, aliases: &[HostAlias]) -> String {
    format!(
        "{HOST_NETWORK_HOSTS_HEADER}{node_hosts}{}",
        alias_entries(aliases)
    )
}

/// `hostsEntriesFromHostAliases`: one line per alias, after a blank line
/// and a heading.
fn alias_entries(aliases: &[HostAlias]) -> String {
    if aliases.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n# Entries added by HostAliases.\n");
    for alias in aliases {
        out.push_str(&format!("{}\t{}\n", alias.ip, alias.hostnames.join("\t")));
    }
    out
}

/// The pod's `/etc/hostname`, on a node named `node_hostname`
/// ([`sandbox_hostname`]: the node's for a `hostNetwork` pod).
pub fn hostname_file(pod: &AdmittedPod, node_hostname: &str) -> String {
    format!("{}\n", sandbox_hostname(pod, node_hostname))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::admitted;

    fn pod(spec_extra: &str) -> AdmittedPod {
        admitted(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec:\n  containers: [{{name: a, image: b}}]\n{spec_extra}"
        ))
    }

    const LOCALHOST: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n";

    fn own_network<'a>(pod_ips: &'a [String], cluster_domain: &'a str) -> HostsSource<'a> {
        HostsSource::PodNetwork {
            pod_ips,
            cluster_domain,
        }
    }

    #[test]
    fn hosts_file_is_the_kubelets_with_the_hostname_on_each_pod_ip() {
        let loopback = ["127.0.0.1".to_owned()];
        assert_eq!(
            hosts_file(&pod(""), own_network(&loopback, "")),
            format!("# Kubernetes-managed hosts file.\n{LOCALHOST}127.0.0.1\tweb\n")
        );
        let dual = ["10.88.0.5".to_owned(), "fd00::5".to_owned()];
        assert_eq!(
            hosts_file(&pod(""), own_network(&dual, "cluster.local")),
            format!("# Kubernetes-managed hosts file.\n{LOCALHOST}10.88.0.5\tweb\nfd00::5\tweb\n")
        );
    }

    #[test]
    fn a_subdomain_puts_the_pods_fqdn_before_its_hostname() {
        let ip = ["10.88.0.5".to_owned()];
        let hosts = hosts_file(
            &pod("  hostname: front\n  subdomain: shop\n"),
            own_network(&ip, "cluster.local"),
        );
        assert!(
            hosts.ends_with(&format!(
                "{LOCALHOST}10.88.0.5\tfront.shop.default.svc.cluster.local\tfront\n"
            )),
            "{hosts}"
        );
        // Without a cluster domain the kubelet leaves the name ending in "svc.".
        let hosts = hosts_file(&pod("  subdomain: shop\n"), own_network(&ip, ""));
        assert!(
            hosts.ends_with("10.88.0.5\tweb.shop.default.svc.\tweb\n"),
            "{hosts}"
        );
    }

    #[test]
    fn a_pod_without_ips_gets_only_the_localhost_lines() {
        assert_eq!(
            hosts_file(&pod(""), own_network(&[], "")),
            format!("# Kubernetes-managed hosts file.\n{LOCALHOST}")
        );
    }

    #[test]
    fn a_host_network_pod_gets_the_nodes_file_and_its_aliases() {
        let node = "127.0.0.1\tlocalhost\n192.0.2.7\tnode1\n";
        let aliases = [HostAlias {
            ip: "10.1.2.3".into(),
            hostnames: vec!["db".into()],
        }];
        assert_eq!(
            node_hosts_file(node, &aliases),
            "# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\n192.0.2.7\tnode1\n\n# Entries added by HostAliases.\n10.1.2.3\tdb\n"
        );
        assert_eq!(
            hosts_file(&pod(""), HostsSource::HostNetwork { node_hosts: node }),
            format!("# Kubernetes-managed hosts file (host network).\n{node}")
        );
    }

    #[test]
    fn host_aliases_are_appended_under_their_own_heading() {
        let loopback = ["127.0.0.1".to_owned()];
        let hosts = hosts_file(
            &pod("  hostname: front\n  hostAliases: [{ip: 10.1.2.3, hostnames: [db, db.local]}]\n"),
            own_network(&loopback, ""),
        );
        assert!(
            hosts.ends_with(
                "127.0.0.1\tfront\n\n# Entries added by HostAliases.\n10.1.2.3\tdb\tdb.local\n"
            ),
            "{hosts}"
        );
    }

    #[test]
    fn hostname_file_holds_the_pod_hostname() {
        assert_eq!(
            hostname_file(&pod("  hostname: front\n"), "node1"),
            "front\n"
        );
    }

    #[test]
    fn a_host_network_pod_has_the_nodes_hostname_and_hosts_file() {
        // `spec.hostname` is the API server's to validate; the kubelet
        // does not apply it to a pod in the node's UTS namespace.
        let host_net = pod("  hostNetwork: true\n  hostname: front\n");
        assert_eq!(hostname_file(&host_net, "node1"), "node1\n");
        let ips = ["10.88.0.5".to_owned()];
        let node = "127.0.0.1\tlocalhost\n";
        assert_eq!(
            HostsSource::for_pod(&host_net, &ips, "", node),
            HostsSource::HostNetwork { node_hosts: node }
        );
        assert_eq!(
            HostsSource::for_pod(&pod(""), &ips, "cluster.local", node),
            own_network(&ips, "cluster.local")
        );
    }
}
