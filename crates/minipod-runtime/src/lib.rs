//! # minipod-runtime: a planned pod made real, and removed again
//!
//! The layer the pod supervisor drives. It decides nothing about *when* to
//! start or stop a container, only *how*:
//!
//! * [`pod`]: create a pod (its directories, `/etc/hosts` and friends, the
//!   sandbox, `/dev/shm`, volumes, the pod cgroup), start a container in it
//!   from its image and launch spec, remove a container, remove the pod.
//! * [`logs`]: container output to CRI-format log files in the kubelet's layout.
//! * [`exit`]: how a container ended, as Kubernetes reports it
//!   (`Completed`, `Error`, `OOMKilled`, exit code).
//! * [`termination_message`]: a run's termination message file, made
//!   before it starts and read back (or its log's tail) when it ends.
//! * [`exec`]: a command run inside a running container (exec probes and
//!   hooks), with the container's user, env and capabilities.
//! * [`probe`]: `tcpSocket` and `httpGet` checks from inside the pod's
//!   network namespace.
//! * [`error_text`]: an error and its causes as one line, for where it
//!   becomes a Kubernetes event or status message.
//! * [`orphan`]: what is left of a pod whose monitor died, found from its
//!   uid and removed ([`pod::PodRuntime::remove_orphaned`]).
//!
//! Kernel work is delegated to `minipod-linux`; launch specs are computed,
//! purely, by `minipod-plan`.

#![forbid(unsafe_code)]

pub mod apparmor;
pub mod exec;
pub mod exit;
pub mod image;
pub mod logs;
pub mod orphan;
pub mod pod;
pub mod probe;
pub mod seccomp;
pub mod termination_message;
