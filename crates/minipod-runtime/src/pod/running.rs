//! A pod that exists on the node: what it is made of, and its teardown.

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use minipod_linux::cgroup::{ContainerCgroup, PodCgroup};
use minipod_linux::mounts;
use minipod_linux::sandbox::Sandbox;
use minipod_plan::Plan;
use minipod_plan::addresses::PodAddresses;
use minipod_plan::launch::{self, Namespace, PodPaths};
use minipod_spec::AdmittedPod;

use super::container_run::ContainerRun;
use super::error::PodError;
use super::network::PodAttachment;

/// A pod that exists on the node. Remove it with [`PodRuntime::remove_pod`](crate::pod::PodRuntime::remove_pod);
/// dropping it also tears it down (best effort, errors only logged).
#[derive(Debug)]
pub struct RunningPod {
    pub(super) pod: AdmittedPod,
    pub(super) plan: Plan,
    pub(super) run_dir: PathBuf,
    pub(super) state_dir: PathBuf,
    pub(super) paths: PodPaths,
    pub(super) sandbox: Option<Sandbox>,
    /// The sandbox's addresses, as its network gave them (CRI's
    /// `PodSandboxStatus.network`); empty before the sandbox exists.
    pub(super) pod_ips: Vec<IpAddr>,
    /// The sandbox's attachment to the node's network, while it has one.
    pub(super) network: Option<PodAttachment>,
    /// The kubelet's warnings about the pod's DNS configuration
    /// (`MissingClusterDNS`, `DNSConfigForming`), to record as events.
    pub(super) dns_events: Vec<minipod_plan::dns::DnsEvent>,
    /// Mounted tmpfs: `/dev/shm` and memory-backed emptyDirs.
    pub(super) tmpfs: Vec<PathBuf>,
    pub(super) cgroup: Option<PodCgroup>,
    /// The current run of each container that has one.
    pub(super) containers: BTreeMap<String, ContainerRun>,
}

impl RunningPod {
    pub fn pod(&self) -> &AdmittedPod {
        &self.pod
    }

    /// Replaces the pod by `updated`, the same pod with what Kubernetes lets
    /// change on a running pod changed (container images above all): the
    /// next start of a container uses it. The sandbox, the volumes and the
    /// cgroups stay as they are: nothing they are made from may change.
    pub fn update(&mut self, updated: AdmittedPod) -> Result<(), PodError> {
        check_update(&self.pod, &updated)?;
        self.pod = updated;
        Ok(())
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn uid(&self) -> &str {
        self.pod.uid()
    }

    /// `<run>/pods/<uid>`: namespace pins, the pod's files, `/dev/shm`.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// `<state>/pods/<uid>`: volumes and container overlays.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The host paths its containers use (namespace pins, files, volumes).
    pub fn paths(&self) -> &PodPaths {
        &self.paths
    }

    pub fn cgroup(&self) -> Option<&PodCgroup> {
        self.cgroup.as_ref()
    }

    /// The sandbox's IP addresses, in the order its network gave them
    /// (the status and the downward API order them by the node's family:
    /// [`minipod_plan::addresses::PodAddresses`]).
    pub fn pod_ips(&self) -> &[IpAddr] {
        &self.pod_ips
    }

    /// The kubelet's warnings about the pod's DNS configuration, made
    /// when its `resolv.conf` was: the events to record about the pod.
    pub fn dns_events(&self) -> &[minipod_plan::dns::DnsEvent] {
        &self.dns_events
    }

    /// What the status and the downward API show as the pod's and the
    /// node's addresses, on a node with `host_ips`.
    pub fn addresses(&self, host_ips: &[IpAddr]) -> PodAddresses {
        PodAddresses::new(host_ips, &self.pod_ips)
    }

    /// The pod's network namespace, pinned by the sandbox (a file to open
    /// and `setns` into): probes connect from inside it.
    pub fn network_namespace_path(&self) -> Option<&Path> {
        self.paths
            .namespaces
            .iter()
            .find(|(kind, _)| *kind == Namespace::Net)
            .map(|(_, path)| path.as_path())
    }

    /// What the current run of container `name` was started with, and its
    /// cgroup: what a command exec'd into it needs (see `crate::exec`).
    pub(crate) fn container_run(
        &self,
        name: &str,
    ) -> Option<(&launch::ContainerConfig, &ContainerCgroup)> {
        self.containers
            .get(name)
            .map(|run| (&run.config, &run.cgroup))
    }

    /// The kubelet's log file of a container's run:
    /// `<logs>/<namespace>_<name>_<uid>/<container>/<restart>.log`.
    pub fn log_path(&self, logs_dir: &Path, container: &str, restart_count: u32) -> PathBuf {
        logs_dir
            .join(format!(
                "{}_{}_{}",
                self.pod.namespace(),
                self.pod.name(),
                self.pod.uid()
            ))
            .join(container)
            .join(format!("{restart_count}.log"))
    }

    /// Takes everything down, in reverse order of creation; idempotent. The
    /// first error is returned after every step was tried.
    pub(super) fn teardown(&mut self) -> Result<(), PodError> {
        let mut first: Option<PodError> = None;
        let mut keep = |result: Result<(), PodError>| {
            if let Err(e) = result {
                tracing::warn!("removing a pod: {}", minipod_spec::error_chain(&e));
                first.get_or_insert(e);
            }
        };
        let mut unmounted = true;
        for (_, run) in std::mem::take(&mut self.containers) {
            if let Err(e) = run.remove() {
                unmounted = false;
                keep(Err(e));
            }
        }
        // The network goes while its namespace is still pinned: the
        // plugins delete the pod's end of the link inside it, and nothing
        // of it is left for the kernel to free later.
        if let Some(network) = self.network.take() {
            keep(network.detach().map_err(PodError::from));
        }
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.remove();
        }
        for dir in std::mem::take(&mut self.tmpfs).into_iter().rev() {
            if let Err(e) = mounts::unmount(&dir) {
                unmounted = false;
                keep(Err(PodError::Io {
                    path: dir,
                    source: e,
                }));
            }
        }
        // Never delete through a mount that is still there.
        if unmounted {
            for dir in [&self.run_dir, &self.state_dir] {
                match fs::remove_dir_all(dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => keep(Err(PodError::Io {
                        path: dir.clone(),
                        source,
                    })),
                }
            }
        }
        if let Some(cgroup) = self.cgroup.take() {
            keep(cgroup.remove().map_err(PodError::from));
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Whether `updated` may replace `pod`: the same uid, the same containers
/// in the same order (what Kubernetes lets change on a running pod are
/// the containers' images). Also checked for a pod whose sandbox does not
/// exist yet.
pub fn check_update(pod: &AdmittedPod, updated: &AdmittedPod) -> Result<(), PodError> {
    if updated.uid() != pod.uid() {
        return Err(PodError::UpdateOtherPod {
            given: updated.uid().to_owned(),
            pod: pod.uid().to_owned(),
        });
    }
    let names = |pod: &AdmittedPod| -> Vec<String> {
        pod.pod()
            .spec
            .all_containers()
            .map(|(_, c)| c.name.clone())
            .collect()
    };
    if names(updated) != names(pod) {
        return Err(PodError::UpdateContainers);
    }
    Ok(())
}

impl Drop for RunningPod {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            tracing::warn!(
                "dropping pod {}: {}",
                self.pod.uid(),
                minipod_spec::error_chain(&e)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use minipod_spec::{ServerAssigned, admit};

    use super::*;

    fn pod(uid: &str, containers: &str) -> AdmittedPod {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec: {{containers: {containers}}}\n"
        );
        let loaded = minipod_spec::load::parse_manifests(yaml.as_bytes(), "pod.yaml").unwrap();
        let assigned = ServerAssigned {
            uid: uid.into(),
            name_suffix: "abcde".into(),
        };
        admit(loaded.into_iter().next().unwrap().pod, &assigned).unwrap()
    }

    #[test]
    fn an_update_is_the_same_pod_with_the_same_containers() {
        let uid = "0b7c2a4e-0000-4000-8000-000000000001";
        let other = "0b7c2a4e-0000-4000-8000-000000000002";
        let current = pod(uid, "[{name: app, image: busybox:1.36}]");
        let new_image = pod(uid, "[{name: app, image: busybox:1.37}]");
        assert!(check_update(&current, &new_image).is_ok());
        let another = pod(other, "[{name: app, image: busybox:1.37}]");
        assert!(matches!(
            check_update(&current, &another),
            Err(PodError::UpdateOtherPod { .. })
        ));
        let renamed = pod(uid, "[{name: web, image: busybox:1.37}]");
        assert!(matches!(
            check_update(&current, &renamed),
            Err(PodError::UpdateContainers)
        ));
    }
}
