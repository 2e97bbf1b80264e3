//! # minipod-node: the node's configuration and what a node assigns
//!
//! What both binaries, the CLI (`minipod run`, the detached `minipod
//! monitor`) and the daemon (`minipodd`), need to know about the node they
//! run pods on, defined once:
//!
//! * [`config`]: the node's settings ([`config::NodeArgs`]), from flags,
//!   else a config file, else the defaults, resolved to a [`config::Node`].
//! * [`duration`]: durations as Go writes them (`1m30s`), for the flags.
//! * [`host`]: the host's capacity as the kubelet reports it.
//! * [`network`]: the pods' network settings (`--pod-network`, the CNI
//!   directories, the default network's pod CIDR and bridge).
//! * [`node_ip`]: the node's own addresses (`--node-ip`, else the
//!   default route's), the pods' `status.hostIP(s)`.
//! * [`pull_secrets`]: a pod's `imagePullSecrets`, resolved among Secrets.
//! * [`assigned`]: the fields the API server assigns on create (uid,
//!   `generateName` suffix).

#![forbid(unsafe_code)]

pub mod assigned;
pub mod config;
pub mod duration;
pub mod host;
pub mod network;
pub mod node_ip;
pub mod pull_secrets;
