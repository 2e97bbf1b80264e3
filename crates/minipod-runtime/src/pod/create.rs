//! Creating a pod: directories, files, cgroup, volumes, `/dev/shm`,
//! sandbox (the steps are listed in [`super`]).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use minipod_linux::cgroup::PodCgroup;
use minipod_linux::mounts;
use minipod_linux::private_fs::private_dir;
use minipod_linux::sandbox::Sandbox;
use minipod_plan::Plan;
use minipod_plan::addresses;
use minipod_plan::launch::{self, PodPaths};
use minipod_plan::process;
use minipod_plan::{dns, sandbox_files};
use minipod_spec::AdmittedPod;

use super::error::{PodError, io_error};
use super::host_network;
use super::running::RunningPod;
use super::runtime::PodRuntime;
use super::sysctls;

/// containerd's size for a sandbox's `/dev/shm` (`defaultShmSize`, 64 MiB).
pub const SHM_SIZE: u64 = 64 << 20;

impl PodRuntime {
    /// Creates the pod: directories, files, cgroup, volumes, `/dev/shm`,
    /// sandbox (see the module documentation). On failure, everything made
    /// so far is removed again.
    pub fn create_pod(&self, pod: &AdmittedPod, plan: &Plan) -> Result<RunningPod, PodError> {
        let uid = pod.uid();
        // The uid names directories and a cgroup: it must be a plain name.
        minipod_linux::cgroup::layout::check_uid(uid)?;
        // Refused before anything is made, as the kubelet's admission does.
        crate::apparmor::admit(pod, &crate::apparmor::Host)?;
        let run_dir = self.node.run_dir.join("pods").join(uid);
        let state_dir = self.node.state_dir.join("pods").join(uid);
        if run_dir.exists() || state_dir.exists() {
            return Err(PodError::Exists { uid: uid.into() });
        }
        let mut running = RunningPod {
            pod: pod.clone(),
            plan: plan.clone(),
            paths: PodPaths {
                hosts: run_dir.join("etc-hosts"),
                hostname: run_dir.join("etc-hostname"),
                resolv_conf: run_dir.join("resolv.conf"),
                shm: run_dir.join("shm"),
                ..PodPaths::default()
            },
            run_dir,
            state_dir,
            sandbox: None,
            pod_ips: Vec::new(),
            network: None,
            dns_events: Vec::new(),
            tmpfs: Vec::new(),
            cgroup: None,
            containers: BTreeMap::new(),
        };
        match self.build_pod(&mut running) {
            Ok(()) => Ok(running),
            Err(e) => {
                if let Err(undo) = running.teardown() {
                    tracing::warn!(
                        "undoing a failed pod create: {}",
                        minipod_spec::error_chain(&undo)
                    );
                }
                Err(e)
            }
        }
    }

    fn build_pod(&self, running: &mut RunningPod) -> Result<(), PodError> {
        let pod = running.pod.clone();
        // Step 1: directories, root-only (0700 whatever the umask, and an
        // existing node directory made so): they hold the containers'
        // upper directories and root filesystems, where an image's setuid
        // binaries would otherwise be reachable by any local user.
        for dir in [
            &self.node.state_dir,
            &self.node.run_dir,
            &running.run_dir,
            &running.state_dir,
        ] {
            private_dir(dir).map_err(io_error(dir))?;
        }
        // Step 2: the pod's /etc files but `hosts`, which needs the pod's
        // IP (step 7). A node without a resolver file gets an empty base;
        // the DNS warnings are kept for the monitor to record as events.
        let host_resolv = fs::read_to_string(&self.node.host_resolv_conf).unwrap_or_default();
        let node_dns = dns::NodeDns {
            host_resolv_conf: Some(host_resolv),
            ..dns::NodeDns::default()
        };
        let node_hostname = host_network::node_hostname();
        write_pod_file(
            &running.paths.hostname,
            &sandbox_files::hostname_file(&pod, &node_hostname),
        )?;
        let pod_dns = dns::pod_dns(pod.pod(), &node_dns)?;
        write_pod_file(&running.paths.resolv_conf, &pod_dns.resolv_conf())?;
        running.dns_events = pod_dns.events;
        // Step 3: the pod cgroup.
        running.cgroup = Some(PodCgroup::create(
            &self.cgroups,
            running.plan.qos_class,
            pod.uid(),
            &running.plan.pod_cgroup,
        )?);
        // Step 4: volumes.
        for volume in &pod.pod().spec.volumes {
            let dir = self.make_volume(running, volume)?;
            running.paths.volumes.insert(volume.name.clone(), dir);
        }
        // Step 5: /dev/shm, one per pod, shared by its containers.
        let shm = running.paths.shm.clone();
        fs::create_dir(&shm).map_err(io_error(&shm))?;
        mounts::mount_tmpfs(&shm, Some(SHM_SIZE), 0o1777, true).map_err(io_error(&shm))?;
        running.tmpfs.push(shm);
        // Step 6: the sandbox.
        // Only the namespaces the plan gives the pod: a `hostNetwork`
        // pod's containers stay in the node's network and UTS namespaces.
        let mut sandbox = Sandbox::create_with_namespaces(
            &self.node.init_program,
            &running.run_dir.join("sandbox"),
            &process::sandbox_hostname(&pod, &node_hostname),
            &launch::sandbox_namespaces(&pod),
        )?;
        // `shareProcessNamespace: true`: one PID namespace for the whole pod,
        // whose pid 1 is a pause process.
        if pod.pod().spec.share_process_namespace == Some(true) {
            sandbox.share_pid_namespace(&self.node.init_program)?;
        }
        running.paths.namespaces = sandbox.namespace_paths();
        running.sandbox = Some(sandbox);
        // `securityContext.sysctls`, admitted by the node's allowlist:
        // written in the pod's own namespaces, before the network.
        sysctls::write(&pod, &running.paths.namespaces)?;
        // Step 7: the network, then the hosts file with the pod's IPs. A
        // `hostNetwork` pod has the node's network and shows the node's
        // IPs and hosts file (`host_network`); on a node without a pod
        // network the namespace holds only `lo`, and the pod's one
        // address is the loopback address.
        running.pod_ips = match pod.uses_host_network() {
            true => addresses::host_network_sandbox_ips(&self.node.host_ips),
            false => vec![std::net::Ipv4Addr::LOCALHOST.into()],
        };
        if let Some(network) = self.network.as_ref().filter(|_| !pod.uses_host_network()) {
            let netns = running
                .network_namespace_path()
                .map(ToOwned::to_owned)
                .ok_or(PodError::NoNetworkNamespace)?;
            let (attachment, ips) = network.attach(&pod, &netns)?;
            running.network = Some(attachment);
            running.pod_ips = ips;
        }
        let node_hosts = match pod.uses_host_network() {
            true => host_network::node_hosts_text(Path::new(host_network::NODE_HOSTS))?,
            false => String::new(),
        };
        let pod_ips: Vec<String> = running.pod_ips.iter().map(ToString::to_string).collect();
        let hosts_source = sandbox_files::HostsSource::for_pod(&pod, &pod_ips, "", &node_hosts);
        write_pod_file(
            &running.paths.hosts,
            &sandbox_files::hosts_file(&pod, hosts_source),
        )?;
        Ok(())
    }
}

/// One of the pod's `/etc` files, world-readable as the kubelet's are.
fn write_pod_file(path: &std::path::Path, text: &str) -> Result<(), PodError> {
    fs::write(path, text).map_err(io_error(path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(io_error(path))
}
