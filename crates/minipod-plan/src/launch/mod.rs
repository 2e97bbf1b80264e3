//! The launch spec of one container: everything its init process needs to
//! turn itself into the container (namespaces to join, root filesystem,
//! mounts, process, user, capabilities). Pure data: the runtime fills it from
//! the plan, the image and the pod's directories, and `minipod-linux` sends it
//! to the container's init as JSON and carries it out.
//!
//! One module per part: `config.rs` (what the init receives), `spec.rs`
//! ([`launch_spec`]: the whole spec from the pod, its process and paths),
//! `capabilities.rs`, `mounts.rs` (with the pod's paths in `paths.rs`),
//! `non_root.rs` (the kubelet's `runAsNonRoot` check), `termination.rs`
//! (the termination message file and how it is read back), `error.rs`.

mod capabilities;
mod config;
mod error;
mod mounts;
mod namespace;
mod non_root;
mod paths;
mod spec;
mod termination;
#[cfg(test)]
mod tests;

pub use capabilities::{ALL_CAPABILITIES, DEFAULT_CAPABILITIES, capabilities};
pub use config::{BindMount, ContainerConfig, Rootfs, User};
pub use error::LaunchError;
pub use mounts::{SubPath, mounts};
pub use namespace::{Namespace, sandbox_namespaces};
pub use non_root::{NonRootError, verify_run_as_non_root};
pub use paths::{ContainerDirs, DEV_SHM, ETC_HOSTNAME, ETC_HOSTS, PodPaths, RESOLV_CONF};
pub use spec::{LaunchSpec, launch_spec};
pub use termination::{
    MAX_LOG_LENGTH, MAX_LOG_LINES, MAX_MESSAGE_LENGTH, TerminationMessage, last_bytes,
    message_text, termination_message,
};
