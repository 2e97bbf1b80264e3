//! One pod's attachment to one network: what the runtime asks CNI for, and
//! what the result cache keeps so the attachment can be torn down later.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A `hostPort`, as the `portMappings` capability carries it
/// (CONVENTIONS.md of the CNI repository, "Port mappings").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    #[serde(rename = "hostPort")]
    pub host_port: u16,
    #[serde(rename = "containerPort")]
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp` (lower case, as containerd passes it).
    pub protocol: String,
    #[serde(rename = "hostIP", default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

/// One pod's attachment to one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `CNI_CONTAINERID`: the pod sandbox's id.
    pub container_id: String,
    /// `CNI_NETNS`: the path of the pod's network namespace.
    pub netns: PathBuf,
    /// `CNI_IFNAME`: `eth0` for the pod network, `lo` for loopback.
    pub if_name: String,
    pub pod_namespace: String,
    pub pod_name: String,
    pub pod_uid: String,
    pub port_mappings: Vec<PortMapping>,
}
