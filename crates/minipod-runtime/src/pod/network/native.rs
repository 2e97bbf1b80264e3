//! minipod's default network, built natively (decision 0018): the node's
//! bridge, a veth pair per pod with an address from the node's IPAM, NAT
//! and host ports in minipod's nftables table. What the CNI chain
//! `bridge` (`isGateway`, `ipMasq`, `hairpinMode`) + `host-local` +
//! `portmap` does, without a process per plugin.
//!
//! Each pod's attachment is described by a record,
//! `<state>/network/pods/<uid>.json`, written *before* anything is made
//! and removed only once everything is gone: whoever removes the pod (its
//! monitor, the orphan removal after the monitor died, the daemon's
//! clean-up at start) tears it down from the record, step by step, each
//! step idempotent.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use minipod_cni::default_net::{DEFAULT_BRIDGE, DefaultNetwork};
use minipod_cni::nat::{Nft, TableName};
use minipod_cni::{Ipam, PortMapping, host_link_name};
use minipod_linux::net::{self as kernel, Ipv4Interface, LinkSetting, PodLink};
use serde::{Deserialize, Serialize};

use super::{NetworkError, POD_INTERFACE};

const RECORD_KIND: &str = "minipod-pod-network/v1";
/// The most a record may hold: a pod's host ports are few.
const MAX_RECORD_BYTES: u64 = 1 << 20;

/// One pod's attachment to the default network, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NativeAttachment {
    kind: String,
    uid: String,
    bridge: String,
    host_link: String,
    table: String,
    ipam_dir: PathBuf,
    pod_cidr: String,
    /// Set once the address is reserved.
    pod_ip: Option<Ipv4Addr>,
    port_mappings: Vec<PortMapping>,
    /// Where the record is (not in the file).
    #[serde(skip)]
    path: PathBuf,
}

/// The node's NAT table for `bridge`: `minipod` for the default bridge,
/// else `minipod_<bridge>` (other characters than letters, digits and
/// `_` made `_`), so two nodes with bridges of their own (a test's, a
/// lab's) never share one table.
pub(super) fn nat_table(bridge: &str) -> Result<TableName, NetworkError> {
    if bridge == DEFAULT_BRIDGE {
        return Ok(TableName::minipod());
    }
    let name: String = bridge
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    TableName::new(&format!("minipod_{name}")).map_err(NetworkError::Nat)
}

/// Where a pod's record is.
pub(super) fn record_path(state_dir: &Path, uid: &str) -> PathBuf {
    records_dir(state_dir).join(format!("{uid}.json"))
}

fn records_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("network").join("pods")
}

/// The default network's IPAM directory: `<state>/network/<name>`.
pub(super) fn ipam_dir(state_dir: &Path, network: &DefaultNetwork) -> PathBuf {
    state_dir.join("network").join(&network.name)
}

/// The node's side, made once and shared by every pod: the bridge with
/// the gateway address, forwarding on it (and `route_localnet`, for a
/// host port reached on 127.0.0.1), the host-wide switch if the node
/// says so, and the NAT table. The table is set up once per boot: a
/// marker under the run directory (a tmpfs, as the kernel's tables are
/// gone after a reboot too) says it was, so a pod's start pays no `nft`
/// run. The daemon forgets the markers when it starts
/// ([`forget_nat_markers`]), so a table deleted by hand comes back with
/// the next pod after a restart.
fn ensure_node(
    network: &DefaultNetwork,
    ipam: &Ipam,
    ip_forward: bool,
    run_dir: &Path,
) -> Result<(), NetworkError> {
    let bridge = &network.bridge;
    let gateway = Ipv4Interface {
        address: ipam.gateway(),
        prefix_len: network.pod_cidr.prefix,
    };
    kernel::ensure_bridge(bridge, gateway).map_err(NetworkError::Kernel)?;
    for setting in [LinkSetting::Forwarding, LinkSetting::RouteLocalnet] {
        kernel::enable_link_setting(bridge, setting).map_err(NetworkError::Kernel)?;
    }
    if ip_forward {
        kernel::enable_ipv4_forwarding().map_err(NetworkError::Kernel)?;
    }
    let marker = run_dir
        .join("network")
        .join(format!("{bridge}-{}.nat", network.pod_cidr.addr));
    if !marker.exists() {
        let nft = Nft::find().map_err(NetworkError::Nat)?;
        nft.set_up_node(&nat_table(bridge)?, bridge, network.pod_cidr)
            .map_err(NetworkError::Nat)?;
        let io = |source| NetworkError::File {
            path: marker.clone(),
            source,
        };
        fs::create_dir_all(run_dir.join("network")).map_err(io)?;
        fs::write(&marker, "").map_err(io)?;
    }
    Ok(())
}

/// Removes the markers that say the NAT table was set up: the next pod
/// sets it up again (idempotent; the pods' host ports are kept).
pub(super) fn forget_nat_markers(run_dir: &Path) {
    let Ok(entries) = fs::read_dir(run_dir.join("network")) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "nat") {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Attaches the pod `uid` (its network namespace pinned at `netns`) to
/// the default network. On failure, what was made is removed again.
pub(super) fn attach(
    network: &DefaultNetwork,
    ip_forward: bool,
    dirs: (&Path, &Path),
    uid: &str,
    netns: &Path,
    port_mappings: Vec<PortMapping>,
) -> Result<(NativeAttachment, Vec<IpAddr>), NetworkError> {
    let (state_dir, run_dir) = dirs;
    let ipam =
        Ipam::new(ipam_dir(state_dir, network), network.pod_cidr).map_err(NetworkError::Ipam)?;
    ensure_node(network, &ipam, ip_forward, run_dir)?;
    let mut attachment = NativeAttachment {
        kind: RECORD_KIND.to_owned(),
        uid: uid.to_owned(),
        bridge: network.bridge.clone(),
        host_link: host_link_name(uid),
        table: nat_table(&network.bridge)?.to_string(),
        ipam_dir: ipam_dir(state_dir, network),
        pod_cidr: network.pod_cidr.to_string(),
        pod_ip: None,
        port_mappings,
        path: record_path(state_dir, uid),
    };
    // The record first: from here on, whatever happens, the teardown
    // knows what to look for.
    attachment.store()?;
    match attachment.make(&ipam, netns) {
        Ok(ip) => Ok((attachment, vec![IpAddr::V4(ip)])),
        Err(e) => {
            if let Err(undo) = attachment.detach() {
                tracing::warn!(
                    "undoing a failed pod network: {}",
                    minipod_spec::error_chain(&undo)
                );
            }
            Err(e)
        }
    }
}

impl NativeAttachment {
    fn make(&mut self, ipam: &Ipam, netns: &Path) -> Result<Ipv4Addr, NetworkError> {
        let lease = ipam.reserve(&self.uid).map_err(NetworkError::Ipam)?;
        self.pod_ip = Some(lease.address);
        self.store()?;
        kernel::attach_pod(&PodLink {
            netns,
            pod_interface: POD_INTERFACE,
            host_interface: &self.host_link,
            bridge: &self.bridge,
            address: Ipv4Interface {
                address: lease.address,
                prefix_len: lease.prefix_len,
            },
            gateway: lease.gateway,
            hairpin: true,
        })
        .map_err(NetworkError::Kernel)?;
        if !self.port_mappings.is_empty() {
            let nft = Nft::find().map_err(NetworkError::Nat)?;
            nft.add_host_ports(&self.table()?, lease.address, &self.port_mappings)
                .map_err(NetworkError::Nat)?;
        }
        Ok(lease.address)
    }

    fn table(&self) -> Result<TableName, NetworkError> {
        TableName::new(&self.table).map_err(NetworkError::Nat)
    }

    /// Writes the record atomically (a temporary file renamed over it).
    fn store(&self) -> Result<(), NetworkError> {
        let io = |source| NetworkError::File {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            minipod_linux::private_fs::private_dir(dir).map_err(io)?;
        }
        let text = serde_json::to_vec(self).map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = self.path.with_extension("json.tmp");
        let mut file = fs::File::create(&tmp).map_err(io)?;
        file.write_all(&text).map_err(io)?;
        drop(file);
        fs::rename(&tmp, &self.path).map_err(io)
    }

    /// Reads the record at `path`; `None` when there is none.
    pub(super) fn load(path: &Path) -> Result<Option<NativeAttachment>, NetworkError> {
        let io = |source| NetworkError::File {
            path: path.to_owned(),
            source,
        };
        let file = match fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_RECORD_BYTES + 1),
            &mut text,
        )
        .map_err(io)?;
        let bad = || NetworkError::BadRecord {
            path: path.to_owned(),
        };
        if text.len() as u64 > MAX_RECORD_BYTES {
            return Err(bad());
        }
        let mut record: NativeAttachment = serde_json::from_slice(&text).map_err(|_| bad())?;
        if record.kind != RECORD_KIND || record.host_link != host_link_name(&record.uid) {
            return Err(bad());
        }
        record.path = path.to_owned();
        Ok(Some(record))
    }

    /// Every record under `state_dir` (the daemon's clean-up); records
    /// that cannot be read are logged and skipped.
    pub(super) fn load_all(state_dir: &Path) -> Vec<NativeAttachment> {
        let Ok(entries) = fs::read_dir(records_dir(state_dir)) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match NativeAttachment::load(&path) {
                Ok(Some(record)) => found.push(record),
                Ok(None) => {}
                Err(e) => tracing::warn!("pod network: {}", minipod_spec::error_chain(&e)),
            }
        }
        found
    }

    pub(super) fn uid(&self) -> &str {
        &self.uid
    }

    /// Takes the attachment down, from the record: the host ports, the
    /// link (the pod's end goes with the host's), the address; then the
    /// record. Every step is tried and is idempotent; the record stays
    /// if one failed, so the teardown can be tried again.
    pub(super) fn detach(&self) -> Result<(), NetworkError> {
        let mut first = None;
        if let Some(ip) = self.pod_ip
            && !self.port_mappings.is_empty()
        {
            let removed = Nft::find().and_then(|nft| {
                let table = TableName::new(&self.table)?;
                nft.remove_host_ports(&table, ip, &self.port_mappings)
            });
            if let Err(e) = removed {
                first.get_or_insert(NetworkError::Nat(e));
            }
        }
        if let Err(e) = kernel::detach_pod(&self.host_link) {
            first.get_or_insert(NetworkError::Kernel(e));
        }
        let released = self
            .pod_cidr
            .parse()
            .map_err(|_| NetworkError::BadRecord {
                path: self.path.clone(),
            })
            .and_then(|cidr| {
                Ipam::new(self.ipam_dir.clone(), cidr)
                    .and_then(|ipam| ipam.release(&self.uid))
                    .map_err(NetworkError::Ipam)
            });
        if let Err(e) = released {
            first.get_or_insert(e);
        }
        if let Some(e) = first {
            return Err(e);
        }
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetworkError::File {
                path: self.path.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}
