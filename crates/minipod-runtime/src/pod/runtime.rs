//! The node's pod runtime: what it is made of, and the removals.

use minipod_image::Store;
use minipod_linux::cgroup::CgroupRoot;

use super::error::PodError;
use super::network::NodeNetwork;
use super::node::NodeConfig;
use super::running::RunningPod;

/// The node's pod runtime.
#[derive(Debug)]
pub struct PodRuntime {
    pub(super) node: NodeConfig,
    pub(super) cgroups: CgroupRoot,
    pub(super) images: Store,
    pub(super) puller: minipod_registry::Puller,
    /// The pods' network; `None`: loopback only.
    pub(super) network: Option<NodeNetwork>,
}

impl PodRuntime {
    /// A runtime for `node`: detects the host's cgroups (creates nothing).
    pub fn new(node: NodeConfig) -> Result<PodRuntime, PodError> {
        let cgroups = CgroupRoot::detect(&node.cgroup_root)?;
        let network = node
            .network
            .as_ref()
            .map(|settings| NodeNetwork::new(settings, &node.state_dir, &node.run_dir));
        let images = Store::new(node.image_root.clone());
        let puller = minipod_registry::Puller::new(
            images.clone(),
            minipod_registry::PullOptions {
                insecure_registries: node.insecure_registries.clone(),
                progress_timeout: node.image_pull_progress_timeout,
                ..minipod_registry::PullOptions::default()
            },
        );
        Ok(PodRuntime {
            node,
            cgroups,
            images,
            puller,
            network,
        })
    }

    pub fn node(&self) -> &NodeConfig {
        &self.node
    }

    pub fn cgroup_root(&self) -> &CgroupRoot {
        &self.cgroups
    }

    /// The pods' network (`None`: loopback only).
    pub fn network(&self) -> Option<&NodeNetwork> {
        self.network.as_ref()
    }

    /// Removes the current run of container `name` after it exited: its
    /// cgroup (any process left in it is SIGKILLed) and its overlay
    /// directories. Removing a container with no run succeeds.
    pub fn remove_container(&self, running: &mut RunningPod, name: &str) -> Result<(), PodError> {
        match running.containers.remove(name) {
            Some(run) => run.remove(),
            None => Ok(()),
        }
    }

    /// Removes the pod: SIGKILLs whatever still runs in its containers'
    /// cgroups, removes those, unpins the namespaces, unmounts `/dev/shm`
    /// and memory-backed emptyDirs, removes the pod's directories and its
    /// cgroup. hostPath volumes are never touched.
    pub fn remove_pod(&self, mut running: RunningPod) -> Result<(), PodError> {
        running.teardown()
    }
}
