//! The files every container of a pod shares through bind mounts:
//! `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`, written once per pod
//! as the kubelet writes them (`pkg/kubelet/kubelet_pods.go`
//! `managedHostsFileContent`, `pkg/kubelet/network/dns/dns.go`).
//!
//! One difference, because a minipod pod has only loopback networking: where
//! the kubelet maps the hostname to the pod's IP, minipod maps it to
//! `127.0.0.1`, so that a program resolving its own hostname still works.

use minipod_spec::AdmittedPod;
use minipod_spec::enums::DnsPolicy;

use crate::process::pod_hostname;

/// The pod's `/etc/hosts`.
pub fn hosts_file(pod: &AdmittedPod) -> String {
    let mut out = String::from(
        "# Kubernetes-managed hosts file.\n\
         127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         fe00::0\tip6-mcastprefix\n\
         fe00::1\tip6-allnodes\n\
         fe00::2\tip6-allrouters\n",
    );
    out.push_str(&format!("127.0.0.1\t{}\n", pod_hostname(pod)));
    let aliases = &pod.pod().spec.host_aliases;
    if !aliases.is_empty() {
        out.push_str("\n# Entries added by HostAliases.\n");
        for alias in aliases {
            out.push_str(&format!("{}\t{}\n", alias.ip, alias.hostnames.join("\t")));
        }
    }
    out
}

/// The pod's `/etc/hostname`.
pub fn hostname_file(pod: &AdmittedPod) -> String {
    format!("{}\n", pod_hostname(pod))
}

/// Most nameservers a resolver reads (`MAXNS` in resolv.conf(5)); the kubelet
/// keeps the first three too.
const MAX_NAMESERVERS: usize = 3;
/// Most search domains the kubelet keeps (`MaxDNSSearchPaths`).
const MAX_SEARCHES: usize = 32;

/// The pod's `/etc/resolv.conf`, from the host's (`host_resolv_conf`, the
/// text of the node's resolver file) and the pod's `dnsPolicy`/`dnsConfig`.
///
/// `ClusterFirst` needs a cluster DNS service; with none, the kubelet falls
/// back to the node's resolver (policy `Default`), and so does minipod.
/// `None` uses only `dnsConfig`.
pub fn resolv_conf(pod: &AdmittedPod, host_resolv_conf: &str) -> String {
    let spec = &pod.pod().spec;
    let mut nameservers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    let mut options: Vec<(String, Option<String>)> = Vec::new();

    if spec.dns_policy != Some(DnsPolicy::None) {
        for line in host_resolv_conf.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => nameservers.extend(words.next().map(str::to_owned)),
                // The last `search` or `domain` line wins (resolv.conf(5)).
                Some("search") | Some("domain") => searches = words.map(str::to_owned).collect(),
                Some("options") => {
                    for option in words {
                        set_option(&mut options, option);
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(config) = &spec.dns_config {
        nameservers.extend(config.nameservers.iter().cloned());
        searches.extend(config.searches.iter().cloned());
        for option in &config.options {
            let name = option.name.clone().unwrap_or_default();
            let text = match &option.value {
                Some(value) => format!("{name}:{value}"),
                None => name,
            };
            set_option(&mut options, &text);
        }
    }
    dedup_keep_first(&mut nameservers);
    dedup_keep_first(&mut searches);
    nameservers.truncate(MAX_NAMESERVERS);
    searches.truncate(MAX_SEARCHES);

    let mut out = String::new();
    for server in &nameservers {
        out.push_str(&format!("nameserver {server}\n"));
    }
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    if !options.is_empty() {
        let rendered: Vec<String> = options
            .iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name}:{value}"),
                None => name.clone(),
            })
            .collect();
        out.push_str(&format!("options {}\n", rendered.join(" ")));
    }
    out
}

/// Adds `name[:value]`, replacing an earlier option of the same name (the
/// kubelet's `mergeDNSOptions`: the pod's options override the node's).
fn set_option(options: &mut Vec<(String, Option<String>)>, text: &str) {
    let (name, value) = match text.split_once(':') {
        Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
        None => (text.to_owned(), None),
    };
    match options.iter_mut().find(|(n, _)| *n == name) {
        Some(existing) => existing.1 = value,
        None => options.push((name, value)),
    }
}

fn dedup_keep_first(items: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    items.retain(|item| seen.insert(item.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::admitted;

    const HOST: &str = "# generated\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch corp.example\noptions ndots:2 edns0\n";

    fn pod(spec_extra: &str) -> AdmittedPod {
        admitted(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec:\n  containers: [{{name: a, image: b}}]\n{spec_extra}"
        ))
    }

    #[test]
    fn hosts_file_is_the_kubelets_with_the_hostname_on_loopback() {
        assert_eq!(
            hosts_file(&pod("")),
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n127.0.0.1\tweb\n"
        );
    }

    #[test]
    fn host_aliases_are_appended_under_their_own_heading() {
        let hosts = hosts_file(&pod(
            "  hostname: front\n  hostAliases: [{ip: 10.1.2.3, hostnames: [db, db.local]}]\n",
        ));
        assert!(
            hosts.ends_with(
                "127.0.0.1\tfront\n\n# Entries added by HostAliases.\n10.1.2.3\tdb\tdb.local\n"
            ),
            "{hosts}"
        );
    }

    #[test]
    fn hostname_file_holds_the_pod_hostname() {
        assert_eq!(hostname_file(&pod("  hostname: front\n")), "front\n");
    }

    #[test]
    fn cluster_first_without_cluster_dns_uses_the_nodes_resolver() {
        assert_eq!(
            resolv_conf(&pod(""), HOST),
            "nameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch corp.example\noptions ndots:2 edns0\n"
        );
    }

    #[test]
    fn dns_config_is_merged_and_its_options_override() {
        let text = resolv_conf(
            &pod(
                "  dnsConfig:\n    nameservers: [10.0.0.3, 1.1.1.1, 8.8.8.8]\n    searches: [lab.example]\n    options: [{name: ndots, value: \"5\"}, {name: single-request}]\n",
            ),
            HOST,
        );
        assert_eq!(
            text,
            "nameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 1.1.1.1\nsearch corp.example lab.example\noptions ndots:5 edns0 single-request\n"
        );
    }

    #[test]
    fn policy_none_uses_only_dns_config() {
        let text = resolv_conf(
            &pod("  dnsPolicy: None\n  dnsConfig: {nameservers: [9.9.9.9]}\n"),
            HOST,
        );
        assert_eq!(text, "nameserver 9.9.9.9\n");
    }
}
