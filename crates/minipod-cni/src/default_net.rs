//! minipod's own network when the conf dir holds no configuration, and the
//! loopback network that every pod gets first.
//!
//! The chain is the one the kubelet's kubenet wrote for itself (a bridge that
//! is the pods' gateway, hairpin on, host-local IPAM on the node's pod CIDR
//! with a default route), plus `ipMasq` so pods reach what the host reaches,
//! and `portmap` for `hostPort` (its `portMappings` capability, SPEC.md
//! "Deriving runtimeConfig"). `lo` is a network of its own attached before
//! the pod's network, as containerd's CRI plugin does (go-cni's
//! `WithLoNetwork`), so a configuration dropped in by the user needs no
//! loopback entry.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::cidr::Ipv4Net;
use crate::config::{NetworkConfig, PluginConfig};
use crate::version::Version;

/// The default network's name (host-local's reservations live under
/// `<dataDir>/<name>/`).
pub const DEFAULT_NETWORK_NAME: &str = "minipod";
/// The default bridge.
pub const DEFAULT_BRIDGE: &str = "minipod0";
/// The loopback network's name (containerd calls its own `cni-loopback`).
pub const LOOPBACK_NETWORK_NAME: &str = "minipod-loopback";

/// What the default chain is made from: node settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DefaultNetwork {
    pub name: String,
    pub bridge: String,
    pub pod_cidr: Ipv4Net,
    /// host-local's `dataDir`: under minipod's state directory, so that
    /// minipod's reservations are its own (host-local's default is the
    /// host-wide `/var/lib/cni/networks`).
    pub ipam_data_dir: PathBuf,
}

impl DefaultNetwork {
    /// The defaults for a node whose state directory is `state_dir`.
    pub fn new(pod_cidr: Ipv4Net, state_dir: &Path) -> DefaultNetwork {
        DefaultNetwork {
            name: DEFAULT_NETWORK_NAME.to_owned(),
            bridge: DEFAULT_BRIDGE.to_owned(),
            pod_cidr,
            ipam_data_dir: state_dir.join("cni").join("networks"),
        }
    }

    /// The chain as a `.conflist` document (what `docs/networking.md` shows
    /// and what a user can copy into the conf dir to change it).
    pub fn conflist(&self) -> Value {
        json!({
            "cniVersion": Version::V1_0.to_string(),
            "name": self.name,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": true,
                    "ipMasq": true,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{ "subnet": self.pod_cidr.to_string() }]],
                        "routes": [{ "dst": "0.0.0.0/0" }],
                        "dataDir": self.ipam_data_dir.to_string_lossy(),
                    },
                },
                { "type": "portmap", "capabilities": { "portMappings": true } },
            ],
        })
    }

    /// The chain as a validated configuration.
    pub fn config(&self) -> NetworkConfig {
        let plugins = match self.conflist()["plugins"].clone() {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|item| match item {
                    Value::Object(conf) => Some(PluginConfig {
                        plugin_type: conf["type"].as_str().unwrap_or_default().to_owned(),
                        conf,
                    }),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        NetworkConfig {
            name: self.name.clone(),
            cni_version: Version::V1_0.to_string(),
            version: Version::V1_0,
            disable_check: false,
            disable_gc: false,
            plugins,
            source: None,
        }
    }
}

/// The loopback network, attached as `lo` before the pod's network.
pub fn loopback_network() -> NetworkConfig {
    let conf = match json!({ "type": "loopback" }) {
        Value::Object(conf) => conf,
        _ => unreachable!("a JSON object literal"),
    };
    NetworkConfig {
        name: LOOPBACK_NETWORK_NAME.to_owned(),
        cni_version: Version::V1_0.to_string(),
        version: Version::V1_0,
        disable_check: false,
        disable_gc: false,
        plugins: vec![PluginConfig {
            plugin_type: "loopback".to_owned(),
            conf,
        }],
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_list;

    #[test]
    fn the_default_chain_is_bridge_host_local_portmap() {
        let net = DefaultNetwork::new(
            "10.88.0.0/16".parse().expect("cidr"),
            Path::new("/var/lib/minipod"),
        );
        let doc = net.conflist();
        assert_eq!(
            doc,
            json!({
                "cniVersion": "1.0.0",
                "name": "minipod",
                "plugins": [
                    {"type": "bridge", "bridge": "minipod0", "isGateway": true, "ipMasq": true,
                     "hairpinMode": true,
                     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]],
                              "routes": [{"dst": "0.0.0.0/0"}],
                              "dataDir": "/var/lib/minipod/cni/networks"}},
                    {"type": "portmap", "capabilities": {"portMappings": true}}
                ]
            })
        );
        // The document passes the same validation as a user's file, and
        // gives the same configuration.
        let parsed = parse_list(doc, Path::new("default")).expect("valid");
        assert_eq!(parsed, net.config());
        assert!(net.config().plugins[1].has_capability("portMappings"));
    }

    #[test]
    fn loopback_is_a_network_of_its_own() {
        let lo = loopback_network();
        assert_eq!(lo.plugins.len(), 1);
        assert_eq!(lo.plugins[0].plugin_type, "loopback");
        assert_eq!(lo.name, "minipod-loopback");
    }
}
