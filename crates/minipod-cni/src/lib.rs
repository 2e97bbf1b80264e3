//! # minipod-cni: a pod's network namespace set up and torn down with CNI
//!
//! minipod is a CNI *runtime* in the sense of the CNI specification
//! (<https://github.com/containernetworking/cni/blob/main/SPEC.md>): it finds a
//! network configuration, executes the plugins it names with the
//! specification's environment and JSON, and keeps each attachment's result so
//! that the attachment can be torn down later, even by another process.
//!
//! * [`config`]: the network configuration, found as containerd finds it (the
//!   first file of the conf dir by name), validated; plugin binaries in the
//!   bin dirs.
//! * [`default_net`]: minipod's own chain when the conf dir holds nothing
//!   (bridge + host-local + portmap, loopback apart, as containerd does).
//! * [`cidr`]: the node pod CIDR, chosen to overlap nothing the host routes
//!   (`docs/decisions/0017-pod-cidr.md`).
//! * [`result`]: the plugins' result and error JSON.
//! * [`exec`]: running one plugin: the [`exec::PluginExec`] trait and the real
//!   executor (a timeout that kills the plugin's process group).
//! * [`attachment`]: one pod's attachment to one network, and its host ports.
//! * [`invoke`]: `ADD`/`CHECK`/`DEL` along the chain (`prevResult`
//!   threading, `runtimeConfig`), `STATUS`/`GC` where the plugins support CNI
//!   1.1.
//! * [`node`]: the node's settings and the network a pod gets from them.
//! * [`cache`]: the results of `ADD`, kept under the state directory as libcni
//!   keeps them.
//! * [`ipam`]: the native default network's addresses, handed out with
//!   host-local's semantics in a directory of the state directory.
//! * [`nat`]: the native default network's masquerade and host ports, in
//!   minipod's own nftables table, applied with the system's `nft`.
//! * [`naming`]: the host end of a pod's veth, named from the pod's uid.
//!
//! Every decision is a pure function tested beside its code; only
//! [`exec::CommandExec`] (which also runs `nft` for [`nat`]), [`cache`] and
//! [`ipam::store`] touch the system, and only through `std` and
//! `minipod-linux` (no `unsafe`, no libc: kernel calls belong to
//! `minipod-linux`).

#![forbid(unsafe_code)]

pub mod attachment;
pub mod cache;
pub mod cidr;
pub mod config;
pub mod default_net;
pub mod error;
pub mod exec;
pub mod invoke;
pub mod ipam;
pub mod naming;
pub mod nat;
pub mod node;
pub mod result;
pub mod version;

pub use attachment::{Attachment, PortMapping};
pub use cache::{CachedAttachment, ResultCache};
pub use cidr::{Ipv4Net, choose_pod_cidr};
pub use config::{NetworkConfig, PluginConfig};
pub use error::{CniError, ConfigError};
pub use exec::{CommandExec, PluginExec};
pub use invoke::Cni;
pub use ipam::{Ipam, IpamError, Lease};
pub use naming::{HOST_LINK_PREFIX, host_link_name, is_host_link_name};
pub use node::{NodeNetworkSettings, PodNetwork, pod_network};
pub use result::CniResult;
