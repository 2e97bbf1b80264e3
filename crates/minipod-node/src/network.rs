//! The node's pod network settings: flags over the config file over the
//! defaults (`docs/networking.md`).

use std::path::PathBuf;

use minipod_cni::{Ipv4Net, NodeNetworkSettings};

/// `--pod-network`: what network pods get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PodNetworkMode {
    /// The CNI conf dir's first configuration, else minipod's default
    /// network.
    Auto,
    /// Loopback only: no address the host reaches, no `hostPort`.
    None,
}

/// The network settings given, from flags or the config file.
#[derive(Debug, Clone, Default)]
pub struct NetworkSettingsGiven {
    pub mode: Option<PodNetworkMode>,
    pub cni_conf_dir: Option<PathBuf>,
    pub cni_bin_dirs: Vec<PathBuf>,
    pub pod_cidr: Option<(&'static str, String)>,
    pub pod_bridge: Option<(&'static str, String)>,
    /// `false`: leave the host-wide `net.ipv4.ip_forward` as it is.
    pub ip_forward: Option<bool>,
}

/// A network setting that cannot be used, named by its flag or key.
#[derive(Debug, thiserror::Error)]
pub enum NetworkSettingError {
    #[error("{key}: {why}")]
    PodCidr { key: &'static str, why: String },
    #[error("{key}: {name:?} {why}")]
    Bridge {
        key: &'static str,
        name: String,
        why: &'static str,
    },
}

impl NetworkSettingsGiven {
    /// The settings, `None` for `--pod-network none`.
    pub fn resolve(self) -> Result<Option<NodeNetworkSettings>, NetworkSettingError> {
        if self.mode == Some(PodNetworkMode::None) {
            return Ok(None);
        }
        let mut settings = NodeNetworkSettings::default();
        if let Some(dir) = self.cni_conf_dir {
            settings.conf_dir = dir;
        }
        if !self.cni_bin_dirs.is_empty() {
            settings.bin_dirs = self.cni_bin_dirs;
        }
        if let Some((key, text)) = self.pod_cidr {
            let cidr: Ipv4Net = text
                .parse()
                .map_err(|why| NetworkSettingError::PodCidr { key, why })?;
            settings.pod_cidr = Some(cidr);
        }
        if let Some((key, name)) = self.pod_bridge {
            if let Some(why) = minipod_linux::net::link_name_problem(&name) {
                return Err(NetworkSettingError::Bridge { key, name, why });
            }
            settings.bridge = name;
        }
        if let Some(on) = self.ip_forward {
            settings.ip_forward = on;
        }
        Ok(Some(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_means_no_network_and_the_defaults_are_cnis() {
        let none = NetworkSettingsGiven {
            mode: Some(PodNetworkMode::None),
            ..Default::default()
        };
        assert!(none.resolve().expect("ok").is_none());
        let auto = NetworkSettingsGiven::default().resolve().expect("ok");
        assert_eq!(auto, Some(NodeNetworkSettings::default()));
    }

    #[test]
    fn a_bad_cidr_or_bridge_names_its_flag() {
        let e = NetworkSettingsGiven {
            pod_cidr: Some(("--pod-cidr", "10.88.0.1/16".into())),
            ..Default::default()
        }
        .resolve()
        .expect_err("host bits");
        assert!(e.to_string().starts_with("--pod-cidr: "), "{e}");
        let e = NetworkSettingsGiven {
            pod_bridge: Some(("podBridge", "a-name-far-too-long".into())),
            ..Default::default()
        }
        .resolve()
        .expect_err("too long");
        assert!(e.to_string().starts_with("podBridge: "), "{e}");
        let ok = NetworkSettingsGiven {
            pod_cidr: Some(("--pod-cidr", "10.203.7.0/24".into())),
            pod_bridge: Some(("--pod-bridge", "mpt7".into())),
            cni_bin_dirs: vec!["/x".into()],
            ..Default::default()
        }
        .resolve()
        .expect("ok")
        .expect("a network");
        assert_eq!(ok.bridge, "mpt7");
        assert_eq!(
            ok.pod_cidr.map(|c| c.to_string()).as_deref(),
            Some("10.203.7.0/24")
        );
        assert_eq!(ok.bin_dirs, [PathBuf::from("/x")]);
    }
}
