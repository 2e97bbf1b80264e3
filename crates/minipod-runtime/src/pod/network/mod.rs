//! The pod's network: attached to the sandbox's network namespace once the
//! sandbox exists, detached before the namespace is unpinned
//! (`docs/networking.md`).
//!
//! The node's network is read for each pod ([`NodeNetwork::current`]):
//! the first configuration of the CNI conf dir, used as it is through the
//! plugins (`cni`), else minipod's default network on the node's pod CIDR,
//! built natively (`native`, decision 0018). Either way a pod's
//! attachment is what containerd's CRI plugin makes of it: the sandbox's
//! id is the pod's uid (which names everything of the pod on this node),
//! its interface `eth0`, and the pod's app containers' `hostPort`s are
//! its port mappings (`pkg/kubelet/kuberuntime/kuberuntime_sandbox.go`,
//! `generatePodSandboxConfig`).
//!
//! Every attachment is written down under the state directory before it
//! is made (the CNI result cache, the native network's record), so
//! whoever removes the pod later, its monitor or the daemon after the
//! monitor died, tears it down as it was made.

mod cni;
mod native;

pub use cni::CniAttachment;
pub use native::NativeAttachment;

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use minipod_cni::nat::NatError;
use minipod_cni::{Cni, CniError, CommandExec, ConfigError, IpamError, NodeNetworkSettings};
use minipod_cni::{Ipv4Net, PodNetwork, PortMapping};
use minipod_linux::net::NetError;
use minipod_spec::AdmittedPod;
use minipod_spec::model::PodSpec;

/// The interface a pod's network gives it (containerd's `defaultIfName`).
pub const POD_INTERFACE: &str = "eth0";

/// What goes wrong attaching a pod to the node's network or detaching it.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("the node's pod network")]
    Config(#[source] ConfigError),
    /// A file of the network's state (the pod CIDR kept, a record).
    #[error("{}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a pod CIDR", path.display())]
    PodCidrInvalid { path: PathBuf },
    #[error("{}: not a pod network record of minipod's", path.display())]
    BadRecord { path: PathBuf },
    /// A CNI `ADD`: the message says "setup" as containerd's does.
    #[error("failed to setup network for sandbox {sandbox:?}")]
    Setup {
        sandbox: String,
        #[source]
        source: Box<CniError>,
    },
    #[error("failed to destroy network for sandbox {sandbox:?}")]
    Teardown {
        sandbox: String,
        #[source]
        source: Box<CniError>,
    },
    /// A result without an address: the status would have no pod IP.
    #[error("the network of sandbox {sandbox:?} gave it no IP address")]
    NoAddress { sandbox: String },
    #[error("the CNI result cache")]
    Cache(#[source] Box<CniError>),
    #[error("the pod's address")]
    Ipam(#[source] IpamError),
    #[error("the pod's link")]
    Kernel(#[source] NetError),
    #[error("the node's NAT table")]
    Nat(#[source] NatError),
}

/// The node's pod network: its settings, and where its state is. The
/// configuration is read again for each pod ([`NodeNetwork::current`]),
/// as containerd reloads its conf dir: a configuration fixed (or dropped
/// in) while pods wait for their sandbox is used by their next attempt.
#[derive(Debug, Clone)]
pub struct NodeNetwork {
    settings: NodeNetworkSettings,
    state_dir: PathBuf,
    run_dir: PathBuf,
    cni: Cni<CommandExec>,
}

/// A pod attached to the node's network: what its teardown needs.
#[derive(Debug, Clone)]
pub enum PodAttachment {
    Cni(CniAttachment),
    Native(NativeAttachment),
}

impl NodeNetwork {
    /// The node's network for `settings`, its state under `state_dir`
    /// and `run_dir` (reads nothing yet).
    pub fn new(settings: &NodeNetworkSettings, state_dir: &Path, run_dir: &Path) -> NodeNetwork {
        NodeNetwork {
            settings: settings.clone(),
            state_dir: state_dir.to_owned(),
            run_dir: run_dir.to_owned(),
            cni: Cni::new(settings.bin_dirs.clone(), state_dir, CommandExec),
        }
    }

    /// The network pods get now: the conf dir's first configuration, else
    /// the default network. The default network's pod CIDR, when not set,
    /// is chosen once and kept in `<state_dir>/network/pod-cidr`: the
    /// choice skips ranges the host routes, and the default network's own
    /// bridge routes its range once the first pod exists
    /// (`docs/decisions/0017-pod-cidr.md`).
    pub fn current(&self) -> Result<PodNetwork, NetworkError> {
        self.resolve(true)
    }

    /// [`Self::current`], the chosen pod CIDR kept only if `keep`.
    fn resolve(&self, keep: bool) -> Result<PodNetwork, NetworkError> {
        let mut settings = self.settings.clone();
        let cidr_file = self.state_dir.join("network").join("pod-cidr");
        let kept = read_kept_cidr(&cidr_file)?;
        if settings.pod_cidr.is_none() {
            settings.pod_cidr = kept;
        }
        let routes = fs::read_to_string("/proc/net/route")
            .map(|text| minipod_cni::cidr::parse_proc_net_route(&text))
            .unwrap_or_default();
        let network = minipod_cni::pod_network(&settings, &self.state_dir, &routes)
            .map_err(NetworkError::Config)?;
        if let PodNetwork::Default(default) = &network
            && keep
            && kept != Some(default.pod_cidr)
            && self.settings.pod_cidr.is_none()
        {
            keep_cidr(&cidr_file, default.pod_cidr)?;
        }
        Ok(network)
    }

    /// The network pods get, in a line, for `plan` and `describe`.
    pub fn describe(&self) -> Result<String, NetworkError> {
        self.describe_line(true)
    }

    /// [`Self::describe`] without keeping a chosen pod CIDR: `minipod
    /// plan` changes nothing on the node (the choice is the same until
    /// the host's routes change).
    pub fn preview(&self) -> Result<String, NetworkError> {
        self.describe_line(false)
    }

    fn describe_line(&self, keep: bool) -> Result<String, NetworkError> {
        Ok(match self.resolve(keep)? {
            PodNetwork::Configured(config) => format!(
                "CNI network {:?} from {}",
                config.name,
                config
                    .source
                    .as_ref()
                    .map_or_else(|| "?".to_owned(), |p| p.display().to_string())
            ),
            PodNetwork::Default(default) => format!(
                "minipod's default network {:?}: bridge {}, pod CIDR {}, NAT table {}",
                default.name,
                default.bridge,
                default.pod_cidr,
                native::nat_table(&default.bridge)?
            ),
        })
    }

    /// Attaches `pod`'s network namespace (pinned at `netns`) to the
    /// network: its IPs, in the order the network gave them. On failure
    /// nothing of the attachment is left.
    pub(super) fn attach(
        &self,
        pod: &AdmittedPod,
        netns: &Path,
    ) -> Result<(PodAttachment, Vec<IpAddr>), NetworkError> {
        let network = self.current().map_err(|e| match e {
            // In the words of the sandbox's failure, as containerd's are.
            NetworkError::Config(c) => NetworkError::Setup {
                sandbox: pod.uid().to_owned(),
                source: Box::new(CniError::Config(c)),
            },
            other => other,
        })?;
        let ports = port_mappings(&pod.pod().spec);
        match network {
            PodNetwork::Configured(config) => {
                let (attached, ips) = cni::attach(&self.cni, config, pod, netns, ports)?;
                Ok((PodAttachment::Cni(attached), ips))
            }
            PodNetwork::Default(default) => {
                let (attached, ips) = native::attach(
                    &default,
                    self.settings.ip_forward,
                    (&self.state_dir, &self.run_dir),
                    pod.uid(),
                    netns,
                    ports,
                )?;
                Ok((PodAttachment::Native(attached), ips))
            }
        }
    }

    /// Detaches whatever attachment of the pod `uid` is written down, by
    /// whichever network made it: the removal of a pod whose monitor
    /// died. Whether anything was found.
    pub fn detach_orphan(&self, uid: &str) -> Result<bool, NetworkError> {
        let mut found = cni::detach_cached(&self.cni, uid)?;
        if let Some(record) = NativeAttachment::load(&native::record_path(&self.state_dir, uid))? {
            found = true;
            record.detach()?;
        }
        Ok(found)
    }

    /// Detaches the attachments of pods that no longer exist (`live` holds
    /// the uids of those that do): the daemon's clean-up at start, as the
    /// kubelet's runtime garbage-collects sandboxes. The uids of the pods
    /// cleaned up. The default network's NAT table is set up again by the
    /// next pod.
    pub fn collect_garbage(&self, live: &[String]) -> Result<Vec<String>, NetworkError> {
        native::forget_nat_markers(&self.run_dir);
        let mut cleaned = cni::collect_garbage(&self.cni, self.current().ok(), live)?;
        for record in NativeAttachment::load_all(&self.state_dir) {
            if live.iter().any(|uid| uid == record.uid()) {
                continue;
            }
            record.detach()?;
            cleaned.push(record.uid().to_owned());
        }
        Ok(cleaned)
    }
}

impl PodAttachment {
    /// Takes the attachment down. Idempotent: a pod already detached is
    /// not an error.
    pub(super) fn detach(&self) -> Result<(), NetworkError> {
        match self {
            PodAttachment::Cni(attached) => attached.detach(),
            PodAttachment::Native(attached) => attached.detach(),
        }
    }
}

/// The pod's `hostPort`s as the `portMappings` capability carries them:
/// the app containers' ports with a host port, the protocol in lower case
/// (`MakePortMappings`, `toCNIPortMappings`).
pub fn port_mappings(spec: &PodSpec) -> Vec<PortMapping> {
    spec.containers
        .iter()
        .flat_map(|container| &container.ports)
        .filter_map(|port| {
            let host_port = u16::try_from(port.host_port?).ok().filter(|p| *p > 0)?;
            Some(PortMapping {
                host_port,
                container_port: u16::try_from(port.container_port).ok()?,
                protocol: port
                    .protocol
                    .as_ref()
                    .map_or("tcp", |p| p.as_str())
                    .to_lowercase(),
                host_ip: port.host_ip.clone().filter(|ip| !ip.is_empty()),
            })
        })
        .collect()
}

fn read_kept_cidr(path: &Path) -> Result<Option<Ipv4Net>, NetworkError> {
    match fs::read_to_string(path) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| NetworkError::PodCidrInvalid {
                path: path.to_owned(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(NetworkError::File {
            path: path.to_owned(),
            source,
        }),
    }
}

fn keep_cidr(path: &Path, cidr: Ipv4Net) -> Result<(), NetworkError> {
    let io = |source| NetworkError::File {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, format!("{cidr}\n")).map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> PodSpec {
        let pod: minipod_spec::Pod = yaml_serde::from_str(yaml).expect("pod");
        pod.spec
    }

    #[test]
    fn host_ports_of_app_containers_become_port_mappings() {
        let spec = spec(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: i, image: b, ports: [{containerPort: 1, hostPort: 1}]}]\n  containers:\n  - name: a\n    image: b\n    ports:\n    - {containerPort: 80, hostPort: 8080}\n    - {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 127.0.0.1}\n    - {containerPort: 81}\n",
        );
        assert_eq!(
            port_mappings(&spec),
            vec![
                PortMapping {
                    host_port: 8080,
                    container_port: 80,
                    protocol: "tcp".into(),
                    host_ip: None
                },
                PortMapping {
                    host_port: 5353,
                    container_port: 53,
                    protocol: "udp".into(),
                    host_ip: Some("127.0.0.1".into())
                },
            ]
        );
    }

    #[test]
    fn the_chosen_pod_cidr_is_kept_and_reused() {
        let state = tempfile::tempdir().expect("tempdir");
        let conf = tempfile::tempdir().expect("tempdir");
        let settings = NodeNetworkSettings {
            conf_dir: conf.path().to_owned(),
            ..NodeNetworkSettings::default()
        };
        let node = NodeNetwork::new(&settings, state.path(), state.path());
        let first = node.current().expect("resolve");
        let PodNetwork::Default(default) = &first else {
            panic!("the default network expected")
        };
        let kept = fs::read_to_string(state.path().join("network/pod-cidr")).expect("kept");
        assert_eq!(kept.trim(), default.pod_cidr.to_string());
        // A kept choice wins over a new one, even if the host routes it now
        // (our own bridge does once a pod exists).
        fs::write(state.path().join("network/pod-cidr"), "10.201.0.0/16\n").expect("write");
        let again = node.current().expect("resolve");
        assert!(
            matches!(&again, PodNetwork::Default(d) if d.pod_cidr.to_string() == "10.201.0.0/16")
        );
        // A broken file names itself.
        fs::write(state.path().join("network/pod-cidr"), "nonsense").expect("write");
        let e = node.current().expect_err("broken");
        assert!(e.to_string().contains("pod-cidr"), "{e}");
    }
}
