//! The namespaces a pod's containers share.

use minipod_spec::AdmittedPod;
use serde::{Deserialize, Serialize};

/// A namespace the containers of a pod share, made once by its sandbox and
/// joined by each container's init (namespaces(7)). It crosses the fork to
/// the init as its `/proc/<pid>/ns/` name (`net`, `ipc`, `uts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    Net,
    Ipc,
    Uts,
}

impl Namespace {
    /// Every namespace a pod's sandbox makes.
    pub const SHARED_BY_POD: [Namespace; 3] = [Namespace::Net, Namespace::Ipc, Namespace::Uts];

    /// Its name under `/proc/<pid>/ns/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Net => "net",
            Namespace::Ipc => "ipc",
            Namespace::Uts => "uts",
        }
    }
}

/// The namespaces `pod`'s sandbox makes and pins, which its containers
/// join: its own network, IPC and UTS namespaces; with `hostNetwork: true`
/// only IPC, the containers staying in the node's network and UTS
/// namespaces. That is containerd's choice for a pod whose network
/// namespace mode is `NODE` (the kubelet's `namespacesForPod` in
/// `pkg/kubelet/kuberuntime/helpers_linux.go`; containerd's sandbox spec
/// leaves out the network and UTS namespaces and takes the host's
/// hostname). `hostIPC` and `hostPID` are refused by `minipod_spec`.
pub fn sandbox_namespaces(pod: &AdmittedPod) -> Vec<Namespace> {
    if pod.uses_host_network() {
        vec![Namespace::Ipc]
    } else {
        Namespace::SHARED_BY_POD.to_vec()
    }
}

impl std::fmt::Display for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::admitted;

    #[test]
    fn a_pod_gets_its_own_network_ipc_and_uts_namespaces() {
        let pod = admitted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: i}]}",
        );
        assert_eq!(
            sandbox_namespaces(&pod),
            [Namespace::Net, Namespace::Ipc, Namespace::Uts]
        );
    }

    #[test]
    fn a_host_network_pod_keeps_only_its_own_ipc_namespace() {
        let pod = admitted(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: true, containers: [{name: a, image: i}]}",
        );
        assert!(pod.uses_host_network());
        assert_eq!(sandbox_namespaces(&pod), [Namespace::Ipc]);
    }
}
