//! The node's network settings and the network a pod gets from them: the
//! conf dir's configuration when there is one, else minipod's default chain
//! on the node pod CIDR.

use std::path::{Path, PathBuf};

use crate::cidr::{Ipv4Net, choose_pod_cidr, default_candidates};
use crate::config::{DEFAULT_BIN_DIRS, DEFAULT_CONF_DIR, NetworkConfig, load_from_dir};
use crate::default_net::DefaultNetwork;
use crate::error::ConfigError;

/// Node settings (the daemon's and `minipod run`'s configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeNetworkSettings {
    /// containerd's `conf_dir`.
    pub conf_dir: PathBuf,
    /// containerd's `bin_dirs`, searched in order.
    pub bin_dirs: Vec<PathBuf>,
    /// The default network's range; `None` chooses one
    /// (`docs/decisions/0017-pod-cidr.md`).
    pub pod_cidr: Option<Ipv4Net>,
    /// The default network's bridge (`minipod0`).
    pub bridge: String,
    /// Whether the default network turns the host-wide
    /// `net.ipv4.ip_forward` on (if it is off), as the bridge plugin's
    /// `isGateway` does: pods then reach, through NAT, whatever the host
    /// reaches. Off: pods reach the host and each other only.
    pub ip_forward: bool,
}

impl Default for NodeNetworkSettings {
    fn default() -> Self {
        NodeNetworkSettings {
            conf_dir: PathBuf::from(DEFAULT_CONF_DIR),
            bin_dirs: DEFAULT_BIN_DIRS.iter().map(PathBuf::from).collect(),
            pod_cidr: None,
            bridge: crate::default_net::DEFAULT_BRIDGE.to_owned(),
            ip_forward: true,
        }
    }
}

/// The pod network of a node, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum PodNetwork {
    /// A file of the conf dir, used as it is.
    Configured(NetworkConfig),
    /// minipod's default chain.
    Default(DefaultNetwork),
}

impl PodNetwork {
    /// The chain to run.
    pub fn config(&self) -> NetworkConfig {
        match self {
            PodNetwork::Configured(config) => config.clone(),
            PodNetwork::Default(default) => default.config(),
        }
    }
}

/// The network pods get: the conf dir's first file, else the default chain
/// on the configured pod CIDR, else on the first candidate that overlaps
/// none of the host's `routes` (`/proc/net/route`, parsed by
/// [`crate::cidr::parse_proc_net_route`]).
pub fn pod_network(
    settings: &NodeNetworkSettings,
    state_dir: &Path,
    routes: &[Ipv4Net],
) -> Result<PodNetwork, ConfigError> {
    if let Some(config) = load_from_dir(&settings.conf_dir)? {
        return Ok(PodNetwork::Configured(config));
    }
    let cidr = match settings.pod_cidr {
        Some(cidr) => cidr,
        None => choose_pod_cidr(routes, &default_candidates()).ok_or_else(|| {
            ConfigError::NoPodCidr {
                candidates: crate::cidr::CANDIDATES.join(", "),
            }
        })?,
    };
    let mut default = DefaultNetwork::new(cidr, state_dir);
    default.bridge.clone_from(&settings.bridge);
    Ok(PodNetwork::Default(default))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn settings(conf_dir: &Path) -> NodeNetworkSettings {
        NodeNetworkSettings {
            conf_dir: conf_dir.to_owned(),
            ..NodeNetworkSettings::default()
        }
    }

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("cidr")
    }

    #[test]
    fn defaults_are_containerds() {
        let s = NodeNetworkSettings::default();
        assert_eq!(s.conf_dir, Path::new("/etc/cni/net.d"));
        assert_eq!(
            s.bin_dirs,
            [Path::new("/opt/cni/bin"), Path::new("/usr/lib/cni")]
        );
    }

    #[test]
    fn an_empty_conf_dir_gives_the_default_chain_on_a_free_range() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = Path::new("/var/lib/minipod");
        let got = pod_network(&settings(dir.path()), state, &[net("10.88.0.0/16")]).expect("ok");
        let PodNetwork::Default(default) = got else {
            panic!("the default chain expected: {got:?}")
        };
        assert_eq!(default.pod_cidr, net("10.87.0.0/16"));
        assert_eq!(default.ipam_data_dir, state.join("cni/networks"));
        // A configured range wins, even one the host routes (the operator
        // said so).
        let mut s = settings(dir.path());
        s.pod_cidr = Some(net("10.88.0.0/16"));
        let got = pod_network(&s, state, &[net("10.88.0.0/16")]).expect("ok");
        assert!(matches!(got, PodNetwork::Default(d) if d.pod_cidr == net("10.88.0.0/16")));
    }

    #[test]
    fn no_free_range_is_an_error_asking_for_the_setting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = pod_network(&settings(dir.path()), Path::new("/s"), &[net("10.0.0.0/8")])
            .expect_err("no range");
        assert!(e.to_string().contains("10.88.0.0/16"), "{e}");
    }

    #[test]
    fn a_conf_file_is_used_as_it_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("10-mine.conflist"),
            r#"{"cniVersion":"1.0.0","name":"mine","plugins":[{"type":"ptp","ipMasq":true}]}"#,
        )
        .expect("write");
        let got = pod_network(&settings(dir.path()), Path::new("/s"), &[]).expect("ok");
        let config = got.config();
        assert_eq!(config.name, "mine");
        assert_eq!(config.plugins[0].conf["ipMasq"], true);
        // A broken file is an error, not a silent fall-back to the default.
        fs::write(dir.path().join("00-broken.conf"), "{").expect("write");
        assert!(pod_network(&settings(dir.path()), Path::new("/s"), &[]).is_err());
    }
}
