//! Starting one run of a container: its image, launch spec, overlay,
//! subPath pins, cgroup and process.

use std::fs;
use std::os::fd::OwnedFd;

use minipod_linux::cgroup::ContainerCgroup;
use minipod_linux::container::{self, Container, StartError, Stdio, Step, StepFailure};
use minipod_linux::mounts;
use minipod_plan::launch::{self, ContainerDirs};
use minipod_plan::process;

use minipod_spec::error_chain;

use super::container_run::{ContainerRun, unmount_all};
use super::error::{ContainerError, NotStartedReason};
use super::running::RunningPod;
use super::runtime::PodRuntime;

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
    /// Where its termination message is read from when it ends
    /// ([`crate::termination_message::read`]).
    pub termination_message: Option<launch::TerminationMessage>,
}

impl PodRuntime {
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
        let config_error =
            |m: String| ContainerError::new(NotStartedReason::CreateContainerConfigError, m);
        let create_error =
            |m: String| ContainerError::new(NotStartedReason::CreateContainerError, m);
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

        // The downward API's addresses are the status's at this start
        // (the kubelet's `makeEnvironmentVariables` takes the sandbox's).
        let addresses = running.addresses(&self.node.host_ips);
        let node_hostname = minipod_linux::uts::host_name().unwrap_or_default();
        let runtime_fields = process::RuntimeFields {
            node_name: &self.node.node_name,
            node_hostname: &node_hostname,
            addresses: &addresses,
        };
        let process = process::resolve_process(&pod, container, &image.defaults, runtime_fields)
            .map_err(|e| config_error(error_chain(&e)))?;
        launch::verify_run_as_non_root(&pod, name, &process)
            .map_err(|e| config_error(e.to_string()))?;

        if let Some(previous) = running.containers.remove(name) {
            previous
                .remove()
                .map_err(|e| create_error(error_chain(&e)))?;
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
            termination_log: dir.join("termination-log"),
        };
        let spec = launch::launch_spec(&pod, name, &process, &image.layers, &running.paths, &dirs)
            .map_err(|e| config_error(error_chain(&e)))?;
        let mut config = spec.config;
        config.seccomp = crate::seccomp::container_profile(
            &pod,
            container,
            &config.capabilities,
            &self.node.seccomp_profile_root,
            self.node.seccomp_default,
        )
        .map_err(|e| create_error(error_chain(&e)))?;
        config.apparmor_profile =
            crate::apparmor::container_profile(&pod, container, &crate::apparmor::Host)
                .map_err(|e| create_error(error_chain(&e)))?;
        let _ = fs::remove_dir_all(&dir);
        for d in [&dirs.upper, &dirs.work, &dirs.rootfs] {
            fs::create_dir_all(d).map_err(|e| create_error(format!("{}: {e}", d.display())))?;
        }
        if spec.termination_message.is_some() {
            crate::termination_message::create_file(&dirs.termination_log).map_err(|e| {
                let _ = fs::remove_dir_all(&dir);
                create_error(format!(
                    "create the termination message file {}: {e}",
                    dirs.termination_log.display()
                ))
            })?;
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
            .map_err(|e| create_error(error_chain(&e)))
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
                    termination_message: spec.termination_message,
                })
            }
            Err(e) => {
                if let Err(undo) = run.remove() {
                    tracing::warn!(
                        "cleaning up after a failed start of {name}: {}",
                        error_chain(&undo)
                    );
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
        let create_error =
            |m: String| ContainerError::new(NotStartedReason::CreateContainerError, m);
        let join = run
            .cgroup
            .open_join()
            .map_err(|e| create_error(error_chain(&e)))?;
        // std's pipes are close-on-exec (pipe2(O_CLOEXEC)).
        let pipe = || {
            std::io::pipe()
                .map(|(r, w)| (OwnedFd::from(r), OwnedFd::from(w)))
                .map_err(|e| create_error(format!("pipe: {e}")))
        };
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
                reason: NotStartedReason::StartError,
                message: start_message(&failure),
                failure: Some(failure),
            }),
        }
    }
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
