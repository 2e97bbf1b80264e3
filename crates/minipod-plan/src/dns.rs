//! A pod's DNS resolver configuration, decided as the kubelet decides it
//! (`pkg/kubelet/network/dns/dns.go`, `GetPodDNS`), and the
//! `/etc/resolv.conf` text the runtime writes from it, as containerd writes
//! it (`parseDNSOptions` in its CRI plugin: `search`, then `nameserver`
//! lines, then `options`).
//!
//! The base is the node's resolver file (the kubelet's `--resolv-conf`):
//! its `nameserver` lines accumulate, the last `search` line wins (a
//! trailing dot dropped, a lone `.` skipped), and `options` accumulate with
//! a later option replacing an earlier one of the same name
//! (`parseResolvConf`, `appendOptions`). Then, by `dnsPolicy`:
//!
//! * `ClusterFirst` (`ClusterFirstWithHostNet` for a `hostNetwork` pod): the
//!   cluster DNS servers, the cluster search domains, `ndots:5`. A node
//!   without cluster DNS (minipod's) falls back to `Default` with the
//!   warning event `MissingClusterDNS`.
//! * `ClusterFirst` on a `hostNetwork` pod, and `Default`: the node's file.
//!   A node whose `--resolv-conf` is empty gets `nameserver 127.0.0.1`
//!   (`::1` for an IPv6 node IP) and `search .`.
//! * `None`: nothing but `dnsConfig`.
//!
//! `dnsConfig` is then appended (`appendDNSConfig`): nameservers and
//! searches without duplicates, options merged with the pod's winning. At
//! last the kubelet's limits cut what is too much, with a `DNSConfigForming`
//! warning (`formDNSConfigFitsLimits`): 3 nameservers, 32 search domains,
//! no search domain over 253 characters, 2048 characters in the search line.
//!
//! The kubelet keeps options in a Go map, so its order is random; minipod
//! keeps the order in which each option name first appeared.

use std::net::IpAddr;

use minipod_spec::enums::DnsPolicy;
use minipod_spec::model::Pod;

/// Most nameservers the kubelet keeps (`MaxDNSNameservers`, glibc's `MAXNS`).
pub const MAX_NAMESERVERS: usize = 3;
/// Most search domains the kubelet keeps (`MaxDNSSearchPathsExpanded`).
pub const MAX_SEARCH_PATHS: usize = 32;
/// Most characters of the search line (`MaxDNSSearchListCharsExpanded`).
pub const MAX_SEARCH_LINE_CHARS: usize = 2048;
/// A longer search domain makes some resolvers (glibc 2.28) abort, so the
/// kubelet drops it (`DNS1123SubdomainMaxLength`).
pub const MAX_SEARCH_DOMAIN_CHARS: usize = 253;

/// Event reason when `ClusterFirst` falls back to the node's resolver.
pub const MISSING_CLUSTER_DNS: &str = "MissingClusterDNS";
/// Event reason when the kubelet's limits cut nameservers or searches.
pub const DNS_CONFIG_FORMING: &str = "DNSConfigForming";

/// The kubelet's default resolver file (`--resolv-conf`).
pub const DEFAULT_RESOLV_CONF: &str = "/etc/resolv.conf";
/// The file systemd-resolved writes with the real upstream servers. The
/// `/etc/resolv.conf` of such a host names only the stub `127.0.0.53`,
/// which a pod in its own network namespace cannot reach.
pub const SYSTEMD_RESOLVED_RESOLV_CONF: &str = "/run/systemd/resolve/resolv.conf";

/// What the node knows about DNS (the kubelet's `--cluster-dns`,
/// `--cluster-domain`, `--resolv-conf`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeDns {
    /// The cluster DNS servers; none on a minipod node.
    pub cluster_dns: Vec<String>,
    /// The cluster domain (`cluster.local` on most clusters); empty when
    /// the node has none.
    pub cluster_domain: String,
    /// The text of the node's resolver file, or `None` when the node's
    /// `--resolv-conf` is set to the empty string (DNS lookups disabled).
    pub host_resolv_conf: Option<String>,
    /// The node's IPs: with `host_resolv_conf: None`, one loopback
    /// nameserver per address family.
    pub node_ips: Vec<IpAddr>,
}

/// A warning event about the pod, as the kubelet records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsEvent {
    /// [`MISSING_CLUSTER_DNS`] or [`DNS_CONFIG_FORMING`].
    pub reason: &'static str,
    pub message: String,
}

/// The pod's resolver configuration (the CRI's `DNSConfig`) and the warning
/// events deciding it produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodDns {
    pub nameservers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
    pub events: Vec<DnsEvent>,
}

impl PodDns {
    /// The pod's `/etc/resolv.conf`, as containerd writes it.
    pub fn resolv_conf(&self) -> String {
        let mut out = String::new();
        if !self.searches.is_empty() {
            out.push_str(&format!("search {}\n", self.searches.join(" ")));
        }
        for server in &self.nameservers {
            out.push_str(&format!("nameserver {server}\n"));
        }
        if !self.options.is_empty() {
            out.push_str(&format!("options {}\n", self.options.join(" ")));
        }
        out
    }
}

/// Which resolver file the node hands to its pods: the one configured, or
/// else, on a host where systemd-resolved is active, its upstream file
/// instead of `/etc/resolv.conf` (kubeadm sets the kubelet's `resolvConf`
/// so: `cmd/kubeadm/app/componentconfigs/kubelet.go`, `Default`).
pub fn node_resolver_file(configured: Option<&str>, systemd_resolved_active: bool) -> &str {
    match configured {
        Some(path) => path,
        None if systemd_resolved_active => SYSTEMD_RESOLVED_RESOLV_CONF,
        None => DEFAULT_RESOLV_CONF,
    }
}

/// How the pod's base configuration is chosen (`getPodDNSType`).
enum DnsType {
    Cluster,
    Host,
    None,
}

fn dns_type(pod: &Pod) -> DnsType {
    let host_network = pod.spec.host_network == Some(true);
    match &pod.spec.dns_policy {
        Some(DnsPolicy::None) => DnsType::None,
        Some(DnsPolicy::Default) => DnsType::Host,
        Some(DnsPolicy::ClusterFirst) if host_network => DnsType::Host,
        // ClusterFirst, ClusterFirstWithHostNet; and, as the kubelet does,
        // anything the API server would have refused.
        _ => DnsType::Cluster,
    }
}

/// The node's resolver file cannot be used: the kubelet then fails the
/// pod's sandbox (`parseResolvConf` returns an error, and `GetPodDNS` with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolvConfError {
    /// A `nameserver` line without an address (the kubelet: "nameserver
    /// list is empty").
    #[error("the node's resolver file: line {line}: nameserver list is empty")]
    EmptyNameserver { line: usize },
}

/// The pod's DNS configuration on `node` (`GetPodDNS`). `pod` is the
/// defaulted pod: its name, namespace and uid name it in the events.
pub fn pod_dns(pod: &Pod, node: &NodeDns) -> Result<PodDns, ResolvConfError> {
    let mut dns = match &node.host_resolv_conf {
        Some(text) => parse_resolv_conf(text)?,
        None => PodDns::default(),
    };
    match dns_type(pod) {
        DnsType::None => dns = PodDns::default(),
        DnsType::Cluster if !node.cluster_dns.is_empty() => {
            dns.nameservers = node.cluster_dns.clone();
            dns.searches = cluster_searches(pod, &node.cluster_domain, dns.searches);
            dns.options = vec!["ndots:5".to_owned()];
        }
        DnsType::Cluster => {
            dns.events.push(missing_cluster_dns(pod));
            host_fallback(&mut dns, node);
        }
        DnsType::Host => host_fallback(&mut dns, node),
    }
    if let Some(config) = &pod.spec.dns_config {
        dns.nameservers.extend(config.nameservers.iter().cloned());
        omit_duplicates(&mut dns.nameservers);
        dns.searches.extend(config.searches.iter().cloned());
        omit_duplicates(&mut dns.searches);
        for option in &config.options {
            let name = option.name.as_deref().unwrap_or_default();
            set_option(&mut dns.options, name, option.value.as_deref());
        }
    }
    fit_limits(&mut dns);
    Ok(dns)
}

/// The kubelet's event for `ClusterFirst` without cluster DNS; the pod is
/// named as `format.Pod` names it, `name_namespace(uid)`.
fn missing_cluster_dns(pod: &Pod) -> DnsEvent {
    let meta = &pod.metadata;
    let described = format!(
        "{}_{}({})",
        meta.name.as_deref().unwrap_or_default(),
        meta.namespace.as_deref().unwrap_or_default(),
        meta.uid.as_deref().unwrap_or_default()
    );
    DnsEvent {
        reason: MISSING_CLUSTER_DNS,
        message: format!(
            "pod: {described:?}. kubelet does not have ClusterDNS IP configured and cannot create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy."
        ),
    }
}

/// `Default`: the node's file as parsed; with no file at all, loopback.
fn host_fallback(dns: &mut PodDns, node: &NodeDns) {
    if node.host_resolv_conf.is_some() {
        return;
    }
    for ip in &node.node_ips {
        let loopback = if ip.is_ipv6() { "::1" } else { "127.0.0.1" };
        dns.nameservers.push(loopback.to_owned());
    }
    if dns.nameservers.is_empty() {
        dns.nameservers.push("127.0.0.1".to_owned());
    }
    dns.searches = vec![".".to_owned()];
}

/// `generateSearchesForDNSClusterFirst`: the pod's namespace's service
/// domain, the services' domain and the cluster domain, then the node's.
fn cluster_searches(pod: &Pod, cluster_domain: &str, host: Vec<String>) -> Vec<String> {
    if cluster_domain.is_empty() {
        return host;
    }
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let mut searches = vec![
        format!("{namespace}.svc.{cluster_domain}"),
        format!("svc.{cluster_domain}"),
        cluster_domain.to_owned(),
    ];
    searches.extend(host);
    omit_duplicates(&mut searches);
    searches
}

/// `parseResolvConf`.
fn parse_resolv_conf(text: &str) -> Result<PodDns, ResolvConfError> {
    let mut dns = PodDns::default();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["nameserver", server, ..] => dns.nameservers.push((*server).to_owned()),
            ["nameserver"] => {
                return Err(ResolvConfError::EmptyNameserver { line: index + 1 });
            }
            ["search", domains @ ..] => {
                dns.searches = domains
                    .iter()
                    .filter(|d| **d != ".")
                    .map(|d| d.strip_suffix('.').unwrap_or(d).to_owned())
                    .collect();
            }
            ["options", options @ ..] => {
                for option in options {
                    let (name, value) = match option.split_once(':') {
                        Some((name, value)) => (name, Some(value)),
                        None => (*option, None),
                    };
                    set_option(&mut dns.options, name, value);
                }
            }
            _ => {}
        }
    }
    Ok(dns)
}

/// Sets `name[:value]`, replacing an option of the same name in place
/// (`appendOptions`, `mergeDNSOptions`); an empty value is written as the
/// bare name, as `mergeDNSOptions` writes it.
fn set_option(options: &mut Vec<String>, name: &str, value: Option<&str>) {
    let text = match value.filter(|v| !v.is_empty()) {
        Some(value) => format!("{name}:{value}"),
        None => name.to_owned(),
    };
    let same_name = |option: &String| option.split(':').next() == Some(name);
    match options.iter_mut().find(|o| same_name(o)) {
        Some(existing) => *existing = text,
        None => options.push(text),
    }
}

/// `omitDuplicates`: the first of each, in order.
fn omit_duplicates(items: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    items.retain(|item| seen.insert(item.clone()));
}

/// `formDNSConfigFitsLimits`.
fn fit_limits(dns: &mut PodDns) {
    if dns.nameservers.len() > MAX_NAMESERVERS {
        dns.nameservers.truncate(MAX_NAMESERVERS);
        dns.events.push(DnsEvent {
            reason: DNS_CONFIG_FORMING,
            message: format!(
                "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: {}",
                dns.nameservers.join(" ")
            ),
        });
    }
    let mut exceeded = false;
    if dns.searches.len() > MAX_SEARCH_PATHS {
        dns.searches.truncate(MAX_SEARCH_PATHS);
        exceeded = true;
    }
    let before = dns.searches.len();
    dns.searches.retain(|s| s.len() <= MAX_SEARCH_DOMAIN_CHARS);
    exceeded |= dns.searches.len() != before;
    // The line is cut from its end, whole domains at a time.
    let mut line_len = dns.searches.join(" ").len();
    if line_len > MAX_SEARCH_LINE_CHARS {
        while line_len > MAX_SEARCH_LINE_CHARS {
            let Some(last) = dns.searches.pop() else {
                break;
            };
            line_len = line_len.saturating_sub(last.len() + 1);
        }
        exceeded = true;
    }
    if exceeded {
        dns.events.push(DnsEvent {
            reason: DNS_CONFIG_FORMING,
            message: format!(
                "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: {}",
                dns.searches.join(" ")
            ),
        });
    }
}

#[cfg(test)]
mod tests;
