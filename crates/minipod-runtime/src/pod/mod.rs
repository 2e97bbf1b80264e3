//! A pod made real, and removed again.
//!
//! [`PodRuntime::create_pod`] builds, in order (each step undone if a later
//! one fails, so nothing is left half-created):
//! 1. the pod's directories: `<run>/pods/<uid>/` (namespace pins, the pod's
//!    `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`, `/dev/shm`) and
//!    `<state>/pods/<uid>/` (volumes and container overlays: on disk);
//! 2. the pod's files, as the kubelet writes them (`sandbox_files`);
//! 3. the pod cgroup, with the plan's values;
//! 4. the volumes: emptyDir (a directory, or a tmpfs of `sizeLimit` with
//!    `medium: Memory`) and hostPath (with the kubelet's `type` checks);
//! 5. `/dev/shm`: a 64Mi tmpfs, as containerd's;
//! 6. the sandbox: net, ipc and uts namespaces, pinned (ipc only for a
//!    `hostNetwork` pod, which keeps the node's network, hostname and
//!    `/etc/hosts`: `host_network`), and the pod's sysctls written in
//!    its own namespaces (`sysctls`);
//! 7. the pod's network, attached to the sandbox's network namespace
//!    (`network`; not for a `hostNetwork` pod), and the pod's
//!    `/etc/hosts` with its IPs.
//!
//! [`PodRuntime::start_container`] starts one run of a container;
//! [`PodRuntime::remove_container`] and [`PodRuntime::remove_pod`] take it
//! all down again. Nothing here decides *when*: that is the supervisor's job.
//!
//! One module per responsibility: `node` (the node's layout),
//! `runtime` (the runtime and the removals), `create` (a pod),
//! `volume` (its volumes), `start` (a container's run), `running`
//! (a pod on the node and its teardown), `network` (its network
//! attachment), `container_run` (a run as the
//! pod keeps it), `image_policy` (a container's image: pull or not, and
//! the one a start uses), `error` (what goes wrong, in Kubernetes' words).

mod container_run;
mod create;
mod error;
mod host_network;
mod image_policy;
mod network;
mod node;
mod running;
mod runtime;
mod start;
mod sysctls;
mod volume;

pub use create::SHM_SIZE;
pub use error::{ContainerError, NotStartedReason, PodError, VolumeError};
pub use network::{NetworkError, NodeNetwork, POD_INTERFACE, port_mappings};
pub use node::NodeConfig;
pub use running::{RunningPod, check_update};
pub use runtime::PodRuntime;
pub use start::StartedContainer;
pub use volume::EMPTY_DIR_PLUGIN;
