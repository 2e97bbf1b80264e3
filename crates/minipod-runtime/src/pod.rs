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
//! 6. the sandbox: net, ipc and uts namespaces, pinned.
//!
//! [`PodRuntime::start_container`] starts one run of a container;
//! [`PodRuntime::remove_container`] and [`PodRuntime::remove_pod`] take it
//! all down again. Nothing here decides *when*: that is the supervisor's job.

use std::collections::BTreeMap;
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use minipod_image::Store;
use minipod_linux::cgroup::{CgroupError, CgroupRoot, ContainerCgroup, PodCgroup};
use minipod_linux::container::{self, Container, StartError, Stdio, Step, StepFailure};
use minipod_linux::mounts;
use minipod_linux::private_fs::private_dir;
use minipod_linux::sandbox::{Sandbox, SandboxError};
use minipod_plan::Plan;
use minipod_plan::launch::{self, ContainerDirs, Namespace, PodPaths};
use minipod_plan::process;
use minipod_plan::sandbox_files;
use minipod_spec::AdmittedPod;
use minipod_spec::enums::{HostPathType, StorageMedium};
use minipod_spec::model::Volume;
use nix::fcntl::OFlag;
use nix::unistd::pipe2;

/// containerd's size for a sandbox's `/dev/shm` (`defaultShmSize`, 64 MiB).
pub const SHM_SIZE: u64 = 64 << 20;
/// The kubelet's directory for emptyDir volumes, under the pod's directory.
pub const EMPTY_DIR_PLUGIN: &str = "kubernetes.io~empty-dir";

/// Where this node keeps things, and what it runs containers with.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Persistent state: volumes and container overlays (`/var/lib/minipod`).
    pub state_dir: PathBuf,
    /// Runtime state: namespace pins, the pod's files, `/dev/shm` (`/run/minipod`).
    pub run_dir: PathBuf,
    /// Container logs, the kubelet's layout (`/var/log/pods`).
    pub logs_dir: PathBuf,
    /// How large a container run's log may grow: the kubelet's
    /// `containerLogMaxSize` and `containerLogMaxFiles` (10Mi, 5).
    pub log_rotation: crate::logs::Rotation,
    /// The cgroup root's name (`minipod`).
    pub cgroup_root: String,
    /// The image store (`/var/lib/minipod/images`).
    pub image_root: PathBuf,
    /// Our own binary: the containers' init and the sandbox holder.
    pub init_program: PathBuf,
    /// `spec.nodeName` as the downward API shows it.
    pub node_name: String,
    /// The node's resolver file, the base of a pod's `/etc/resolv.conf`.
    pub host_resolv_conf: PathBuf,
    /// `pids.max` of each container cgroup (none: unlimited).
    pub pids_limit: Option<i64>,
    /// The node's registry logins, Docker's `config.json` format
    /// (`/var/lib/minipod/config.json`, as the kubelet reads
    /// `/var/lib/kubelet/config.json`); a missing file means none.
    pub registry_auth_file: Option<PathBuf>,
    /// Registries (`host[:port]`) that may be pulled from over plain HTTP,
    /// besides loopback ones.
    pub insecure_registries: Vec<String>,
    /// How long a registry request may go without progress before the pull
    /// fails (`minipod_registry::limits`).
    pub image_pull_progress_timeout: std::time::Duration,
    /// Where `Localhost` seccomp profiles are (the kubelet's
    /// `--seccomp-profile-root`; `/var/lib/minipod/seccomp`).
    pub seccomp_profile_root: PathBuf,
    /// `RuntimeDefault` for containers whose pod says nothing (the
    /// kubelet's `--seccomp-default`; off by default, as there).
    pub seccomp_default: bool,
}

impl NodeConfig {
    /// The default layout, with `init_program` as the helper binary.
    pub fn new(init_program: impl Into<PathBuf>, node_name: &str) -> NodeConfig {
        NodeConfig {
            state_dir: "/var/lib/minipod".into(),
            run_dir: "/run/minipod".into(),
            logs_dir: "/var/log/pods".into(),
            log_rotation: crate::logs::Rotation::default(),
            cgroup_root: minipod_linux::cgroup::DEFAULT_ROOT.into(),
            image_root: "/var/lib/minipod/images".into(),
            init_program: init_program.into(),
            node_name: node_name.into(),
            host_resolv_conf: "/etc/resolv.conf".into(),
            pids_limit: None,
            registry_auth_file: Some("/var/lib/minipod/config.json".into()),
            insecure_registries: Vec::new(),
            image_pull_progress_timeout: minipod_registry::limits::DEFAULT_PROGRESS_TIMEOUT,
            seccomp_profile_root: "/var/lib/minipod/seccomp".into(),
            seccomp_default: false,
        }
    }
}

/// Why a pod could not be created or removed.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error("pod {uid} already exists on this node")]
    Exists { uid: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pod sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error("cgroup: {0}")]
    Cgroup(#[from] CgroupError),
    /// The kubelet's event text for a volume that cannot be set up.
    #[error("MountVolume.SetUp failed for volume {volume:?} : {message}")]
    Volume { volume: String, message: String },
    #[error("no container {0:?} in the pod")]
    NoSuchContainer(String),
    /// An update that is not the same pod with other images.
    #[error("pod update refused: {0}")]
    Update(String),
    /// The kubelet's AppArmor admission refused the pod.
    #[error("{0}")]
    AppArmor(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PodError + '_ {
    move |source| PodError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Why a container did not start, as Kubernetes shows it in
/// `state.waiting.reason` / `message` (or `terminated` for `StartError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct ContainerError {
    pub reason: Reason,
    pub message: String,
    /// For `StartError`: the init step that failed, and its errno.
    pub failure: Option<StepFailure>,
}

/// Kubernetes' reasons for a container that did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The image is not present and the policy forbids pulling.
    ErrImageNeverPull,
    /// The image could not be pulled.
    ErrImagePull,
    /// The image name does not parse.
    InvalidImageName,
    /// The container's configuration cannot be made (env, runAsNonRoot, subPath).
    CreateContainerConfigError,
    /// The runtime could not create the container (cgroup, directories).
    CreateContainerError,
    /// The container's process failed before its workload ran (exit code 128).
    StartError,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl ContainerError {
    pub(crate) fn new(reason: Reason, message: impl Into<String>) -> Self {
        ContainerError {
            reason,
            message: message.into(),
            failure: None,
        }
    }
}

/// The node's pod runtime.
#[derive(Debug)]
pub struct PodRuntime {
    node: NodeConfig,
    cgroups: CgroupRoot,
    pub(crate) images: Store,
    pub(crate) puller: minipod_registry::Puller,
}

/// A pod that exists on the node. Remove it with [`PodRuntime::remove_pod`];
/// dropping it also tears it down (best effort, errors only logged).
#[derive(Debug)]
pub struct RunningPod {
    pod: AdmittedPod,
    plan: Plan,
    run_dir: PathBuf,
    state_dir: PathBuf,
    paths: PodPaths,
    sandbox: Option<Sandbox>,
    /// Mounted tmpfs: `/dev/shm` and memory-backed emptyDirs.
    tmpfs: Vec<PathBuf>,
    cgroup: Option<PodCgroup>,
    /// The current run of each container that has one.
    containers: BTreeMap<String, ContainerRun>,
}

#[derive(Debug)]
struct ContainerRun {
    cgroup: ContainerCgroup,
    dir: PathBuf,
    /// subPath pins under `dir`: unmounted before `dir` is removed.
    pinned: Vec<PathBuf>,
    /// What the container's process was started with: a command exec'd
    /// into it (probes, hooks) gets the same user, env, directory and
    /// capabilities.
    config: launch::ContainerConfig,
}

/// One run of a container, started. The caller owns the process (wait on
/// its pidfd, signal it) and its output (pump it into the log).
#[derive(Debug)]
pub struct StartedContainer {
    pub name: String,
    pub restart_count: u32,
    pub container: Container,
    /// Read ends of the container's stdout and stderr.
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// Its cgroup (read `read_oom_kills` before and after to tell `OOMKilled`).
    pub cgroup: ContainerCgroup,
    /// The signal that stops it (`lifecycle.stopSignal`, the image's, or SIGTERM).
    pub stop_signal: String,
    /// The image's normalised name and id (`sha256:...`).
    pub image: String,
    pub image_id: String,
}

impl PodRuntime {
    /// A runtime for `node`: detects the host's cgroups (creates nothing).
    pub fn new(node: NodeConfig) -> Result<PodRuntime, PodError> {
        let cgroups = CgroupRoot::detect(&node.cgroup_root)?;
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
        })
    }

    pub fn node(&self) -> &NodeConfig {
        &self.node
    }

    pub fn cgroup_root(&self) -> &CgroupRoot {
        &self.cgroups
    }

    /// Creates the pod: directories, files, cgroup, volumes, `/dev/shm`,
    /// sandbox (see the module documentation). On failure, everything made
    /// so far is removed again.
    pub fn create_pod(&self, pod: &AdmittedPod, plan: &Plan) -> Result<RunningPod, PodError> {
        let uid = pod.uid();
        // The uid names directories and a cgroup: it must be a plain name.
        minipod_linux::cgroup::layout::check_uid(uid)?;
        // Refused before anything is made, as the kubelet's admission does.
        crate::apparmor::admit(pod, &crate::apparmor::Host).map_err(PodError::AppArmor)?;
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
            tmpfs: Vec::new(),
            cgroup: None,
            containers: BTreeMap::new(),
        };
        match self.build_pod(&mut running) {
            Ok(()) => Ok(running),
            Err(e) => {
                if let Err(undo) = running.teardown() {
                    tracing::warn!("undoing a failed pod create: {undo}");
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
        // Step 2: the pod's /etc files (a node without a resolver file gets
        // an empty base, as the kubelet's `--resolv-conf=""`).
        let host_resolv = fs::read_to_string(&self.node.host_resolv_conf).unwrap_or_default();
        let files = [
            (&running.paths.hosts, sandbox_files::hosts_file(&pod)),
            (&running.paths.hostname, sandbox_files::hostname_file(&pod)),
            (
                &running.paths.resolv_conf,
                sandbox_files::resolv_conf(&pod, &host_resolv),
            ),
        ];
        for (path, text) in files {
            fs::write(path, text).map_err(io_error(path))?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(io_error(path))?;
        }
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
        let mut sandbox = Sandbox::create(
            &self.node.init_program,
            &running.run_dir.join("sandbox"),
            &process::pod_hostname(&pod),
        )?;
        // `shareProcessNamespace: true`: one PID namespace for the whole pod,
        // whose pid 1 is a pause process.
        if pod.pod().spec.share_process_namespace == Some(true) {
            sandbox.share_pid_namespace(&self.node.init_program)?;
        }
        running.paths.namespaces = sandbox.namespace_paths();
        running.sandbox = Some(sandbox);
        Ok(())
    }

    /// Sets up one volume and returns its host directory (or path).
    fn make_volume(&self, running: &mut RunningPod, volume: &Volume) -> Result<PathBuf, PodError> {
        let failed = |message: String| PodError::Volume {
            volume: volume.name.clone(),
            message,
        };
        if let Some(empty_dir) = &volume.empty_dir {
            let dir = running
                .state_dir
                .join("volumes")
                .join(EMPTY_DIR_PLUGIN)
                .join(&volume.name);
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
            if empty_dir.medium == Some(StorageMedium::Memory) {
                let size = empty_dir
                    .size_limit
                    .as_ref()
                    .and_then(|q| q.checked_value())
                    .and_then(|v| u64::try_from(v).ok())
                    .filter(|v| *v > 0);
                mounts::mount_tmpfs(&dir, size, 0o777, false)
                    .map_err(|e| failed(format!("mount tmpfs on {}: {e}", dir.display())))?;
                running.tmpfs.push(dir.clone());
            }
            // The kubelet makes an emptyDir world-writable (0777), so any
            // container user can write to it.
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).map_err(io_error(&dir))?;
            return Ok(dir);
        }
        if let Some(host_path) = &volume.host_path {
            let path = PathBuf::from(&host_path.path);
            check_host_path(
                &path,
                host_path.path_type.clone().unwrap_or(HostPathType::Unset),
            )
            .map_err(failed)?;
            return Ok(path);
        }
        // Admission refuses every other volume source.
        Err(failed("unsupported volume source".into()))
    }

    /// Starts run `restart_count` of container `name`: its image by
    /// `imagePullPolicy`, its cgroup, a fresh overlay, its launch spec, its
    /// process. Returns once the workload runs. A previous run's cgroup and
    /// directories are removed first.
    pub fn start_container(
        &self,
        running: &mut RunningPod,
        name: &str,
        restart_count: u32,
    ) -> Result<StartedContainer, ContainerError> {
        let config_error = |m: String| ContainerError::new(Reason::CreateContainerConfigError, m);
        let create_error = |m: String| ContainerError::new(Reason::CreateContainerError, m);
        let pod = running.pod.clone();
        let container = pod
            .pod()
            .spec
            .all_containers()
            .map(|(_, c)| c)
            .find(|c| c.name == name)
            .ok_or_else(|| config_error(format!("no container {name:?} in the pod")))?;
        let values = running
            .plan
            .containers
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.cgroup.clone())
            .ok_or_else(|| config_error(format!("no plan for container {name:?}")))?;
        let image = self.image_for(container)?;

        let process =
            process::resolve_process(&pod, container, &image.defaults, &self.node.node_name)
                .map_err(|e| config_error(e.to_string()))?;
        launch::verify_run_as_non_root(&pod, name, &process).map_err(config_error)?;

        if let Some(previous) = running.containers.remove(name) {
            previous.remove().map_err(|e| create_error(e.to_string()))?;
        }
        let dir = running
            .state_dir
            .join("containers")
            .join(name)
            .join(restart_count.to_string());
        let dirs = ContainerDirs {
            upper: dir.join("upper"),
            work: dir.join("work"),
            rootfs: dir.join("rootfs"),
        };
        let spec = launch::launch_spec(&pod, name, &process, &image.layers, &running.paths, &dirs)
            .map_err(|e| config_error(e.to_string()))?;
        let mut config = spec.config;
        config.seccomp = crate::seccomp::container_profile(
            &pod,
            container,
            &config.capabilities,
            &self.node.seccomp_profile_root,
            self.node.seccomp_default,
        )
        .map_err(create_error)?;
        config.apparmor_profile =
            crate::apparmor::container_profile(&pod, container, &crate::apparmor::Host)
                .map_err(create_error)?;
        let _ = fs::remove_dir_all(&dir);
        for d in [&dirs.upper, &dirs.work, &dirs.rootfs] {
            fs::create_dir_all(d).map_err(|e| create_error(format!("{}: {e}", d.display())))?;
        }
        // subPaths: resolved without leaving their volume, then pinned by a
        // bind mount in the host's namespace (the kubelet's
        // `volume-subpaths`), which the container's init mounts in turn.
        let mut pinned = Vec::new();
        let mut pin_result = Ok(());
        for (i, sub) in spec.sub_paths.iter().enumerate() {
            let target = config.mounts[sub.mount_index].target.clone();
            let pin = dir.join("subpaths").join(i.to_string());
            let result = mounts::open_beneath(&sub.volume, &sub.sub_path)
                .and_then(|fd| mounts::bind(&mounts::fd_path(&fd), &pin));
            match result {
                Ok(()) => {
                    config.mounts[sub.mount_index].source = pin.clone();
                    pinned.push(pin);
                }
                Err(e) => {
                    pin_result = Err(config_error(format!(
                        "failed to prepare subPath for volumeMount {target:?} of container {name:?}: {e}"
                    )));
                    break;
                }
            }
        }
        // Its device rules are in place before any process joins it: the
        // default list only, every device when privileged.
        let devices = minipod_plan::devices::container_devices(config.privileged);
        let cgroup = pin_result.and_then(|()| {
            ContainerCgroup::create_with_devices(
                running
                    .cgroup
                    .as_ref()
                    .ok_or_else(|| create_error("the pod is removed".into()))?,
                name,
                &values,
                self.node.pids_limit,
                &devices,
            )
            .map_err(|e| create_error(e.to_string()))
        });
        let cgroup = match cgroup {
            Ok(cgroup) => cgroup,
            Err(e) => {
                if unmount_all(&pinned) {
                    let _ = fs::remove_dir_all(&dir);
                }
                return Err(e);
            }
        };
        let run = ContainerRun {
            cgroup,
            dir,
            pinned,
            config,
        };
        match self.spawn(
            &run,
            &run.config,
            running.sandbox.as_ref().and_then(|s| s.pid_namespace()),
        ) {
            Ok((process_handle, stdout, stderr)) => {
                let cgroup = run.cgroup.clone();
                running.containers.insert(name.to_owned(), run);
                Ok(StartedContainer {
                    name: name.to_owned(),
                    restart_count,
                    container: process_handle,
                    stdout,
                    stderr,
                    cgroup,
                    stop_signal: process.stop_signal,
                    image: image.name,
                    image_id: image.id.to_string(),
                })
            }
            Err(e) => {
                if let Err(undo) = run.remove() {
                    tracing::warn!("cleaning up after a failed start of {name}: {undo}");
                }
                Err(e)
            }
        }
    }

    fn spawn(
        &self,
        run: &ContainerRun,
        config: &launch::ContainerConfig,
        pod_pid_namespace: Option<std::os::fd::BorrowedFd<'_>>,
    ) -> Result<(Container, OwnedFd, OwnedFd), ContainerError> {
        let create_error = |m: String| ContainerError::new(Reason::CreateContainerError, m);
        let join = run
            .cgroup
            .open_join()
            .map_err(|e| create_error(e.to_string()))?;
        let pipe = || pipe2(OFlag::O_CLOEXEC).map_err(|e| create_error(format!("pipe: {e}")));
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let stdin = fs::File::open("/dev/null")
            .map_err(|e| create_error(format!("/dev/null: {e}")))?
            .into();
        let stdio = Stdio {
            stdin,
            stdout: out_w,
            stderr: err_w,
        };
        match container::start_in(
            &self.node.init_program,
            config,
            &stdio,
            &join,
            pod_pid_namespace,
        ) {
            Ok(started) => Ok((started, out_r, err_r)),
            Err(StartError::Spawn(e)) => Err(create_error(format!("starting the container: {e}"))),
            Err(StartError::Failed(failure)) => Err(ContainerError {
                reason: Reason::StartError,
                message: start_message(&failure),
                failure: Some(failure),
            }),
        }
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

/// Unmounts each of `pins`; true if all are gone.
fn unmount_all(pins: &[PathBuf]) -> bool {
    let mut all = true;
    for pin in pins {
        if let Err(e) = mounts::unmount(pin) {
            tracing::warn!("unmount {}: {e}", pin.display());
            all = false;
        }
    }
    all
}

/// The message Kubernetes shows for a `StartError`, in the shape of runc's
/// (`exec: "x": executable file not found in $PATH`).
fn start_message(failure: &StepFailure) -> String {
    if failure.step == Step::FindExecutable || failure.message.starts_with("exec") {
        format!("failed to start container process: {}", failure.message)
    } else {
        format!(
            "failed to start container process: {}: {}",
            failure.step, failure.message
        )
    }
}

/// The kubelet's hostPath `type` checks (`pkg/volume/hostpath`
/// `checkTypeInternal`), with its messages. With no type, a missing path is
/// created as a directory, as containerd does for a bind mount's source.
fn check_host_path(path: &Path, kind: HostPathType) -> Result<(), String> {
    let meta = fs::metadata(path).ok();
    let file_type = meta.as_ref().map(|m| m.file_type());
    let shown = path.display();
    let make_dir = || {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(path)
            .map_err(|e| format!("{shown}: {e}"))
    };
    match kind {
        HostPathType::Unset if meta.is_none() => make_dir(),
        HostPathType::Unset => Ok(()),
        HostPathType::DirectoryOrCreate if meta.is_none() => make_dir(),
        HostPathType::DirectoryOrCreate | HostPathType::Directory => {
            if file_type.is_some_and(|t| t.is_dir()) {
                Ok(())
            } else {
                Err(format!(
                    "hostPath type check failed: {shown} is not a directory"
                ))
            }
        }
        HostPathType::FileOrCreate if meta.is_none() => fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map(drop)
            .map_err(|e| format!("{shown}: {e}")),
        HostPathType::FileOrCreate | HostPathType::File => {
            if file_type.is_some_and(|t| t.is_file()) {
                Ok(())
            } else {
                Err(format!("hostPath type check failed: {shown} is not a file"))
            }
        }
        HostPathType::Socket => match file_type {
            Some(t) if t.is_socket() => Ok(()),
            _ => Err(format!(
                "hostPath type check failed: {shown} is not a socket file"
            )),
        },
        HostPathType::CharDevice => match file_type {
            Some(t) if t.is_char_device() => Ok(()),
            _ => Err(format!(
                "hostPath type check failed: {shown} is not a character device"
            )),
        },
        HostPathType::BlockDevice => match file_type {
            Some(t) if t.is_block_device() => Ok(()),
            _ => Err(format!(
                "hostPath type check failed: {shown} is not a block device"
            )),
        },
        // Validation admits only the known types.
        HostPathType::Unknown(other) => Err(format!("{other} is an invalid volume type")),
    }
}

impl ContainerRun {
    fn remove(self) -> Result<(), PodError> {
        self.cgroup.remove()?;
        // Never delete through a mount that is still there: a pin shows
        // the volume's own files.
        if !unmount_all(&self.pinned) {
            return Err(PodError::Io {
                path: self.dir,
                source: std::io::Error::other("a subPath pin is still mounted"),
            });
        }
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(PodError::Io {
                path: self.dir,
                source,
            }),
        }
    }
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
        if updated.uid() != self.pod.uid() {
            return Err(PodError::Update(format!(
                "uid {} is not the pod's ({})",
                updated.uid(),
                self.pod.uid()
            )));
        }
        let names = |pod: &AdmittedPod| -> Vec<String> {
            pod.pod()
                .spec
                .all_containers()
                .map(|(_, c)| c.name.clone())
                .collect()
        };
        if names(&updated) != names(&self.pod) {
            return Err(PodError::Update(
                "containers may not be added, removed or reordered".into(),
            ));
        }
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
    fn teardown(&mut self) -> Result<(), PodError> {
        let mut first: Option<PodError> = None;
        let mut keep = |result: Result<(), PodError>| {
            if let Err(e) = result {
                tracing::warn!("removing a pod: {e}");
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

impl Drop for RunningPod {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            tracing::warn!("dropping pod {}: {e}", self.pod.uid());
        }
    }
}
