//! # minipod-linux: the only crate that touches the kernel
//!
//! The pure crates decide what to build (`minipod-plan` computes, for
//! example, every cgroup value of a pod); this crate builds it. Each module
//! is a thin layer over one kernel interface, and each step says why it is
//! done, with a link to the kernel documentation it relies on.
//!
//! * [`cgroup`]: the pod cgroup and one cgroup per container, laid out as the
//!   kubelet's cgroupfs driver lays them out, on cgroup v1 and v2.
//! * [`sandbox`]: the pod's network, IPC and UTS namespaces, made by a
//!   short-lived holder process and pinned by bind mounts.
//! * [`container`]: a container started as a real, isolated process —
//!   `clone3` into new PID and mount namespaces and its cgroup, then our own
//!   binary re-executed as its init ([`container::init`]), which joins the
//!   sandbox, builds the root filesystem and `execve`s the workload;
//!   [`container::exec`] runs another command inside a running container
//!   (exec probes and hooks).
//! * [`reexec`]: how the binary becomes one of those helpers.
//! * [`pidfd`]: processes as pidfds, signalled and waited for without pid
//!   reuse races; [`poll`] waits on them and on pipes.
//! * [`detached`]: a process started in its own session, reparented away
//!   from its starter (the daemon's pod monitors).
//! * [`terminal`]: the user's terminal for `minipod exec -t` (raw mode,
//!   size, SIGWINCH).
//! * [`private_fs`]: root-only directories, and opening inside a directory
//!   without following symlinks (the image store, the node's directories);
//!   [`in_root`] resolves a path inside a container's root; [`mounts`]
//!   makes bind mounts and tmpfs there.
//! * [`file_tail`]: the end of a file a container could write, read
//!   without following symlinks or blocking (termination messages).
//! * [`file_meta`] and [`file_lock`]: what layer extraction and the image
//!   store need of files (whiteout device nodes, owners and times without
//!   following symlinks, `flock`).
//! * [`signals`]: signals blocked and taken with `sigwait` (the stop
//!   signals of `minipod run`, monitors and the daemon); [`kill`] signals a
//!   process by pid, for those of which no pidfd is held.
//! * [`net`]: the native default network over route netlink: the node's
//!   bridge, a pod's veth pair, address and default route, IPv4 forwarding.
//! * [`net_namespace`]: a thread entering a pod's network namespace (probes,
//!   the pod's side of [`net`]).
//! * [`pod_sysctl`]: a pod's sysctls, written from a thread inside its
//!   network and IPC namespaces.
//! * Small wrappers: [`fd_flags`] (`O_NONBLOCK`), [`fdpass`] (descriptors
//!   over a unix socket), [`errno`] (error numbers in words), [`uts`] (the
//!   host name), [`interfaces`] (the host's interface addresses).
//!
//! `unsafe` is denied here except in the modules that name it in their own
//! `#![allow(unsafe_code)]`, each block with a `SAFETY:` comment:
//! `cgroup::join` (the async-signal-safe cgroup join between fork and exec),
//! `cgroup::device_filter` (bpf(2), the cgroup v2 device filter),
//! `container::spawn` (clone3 and exec), `container::init` (descriptors,
//! close_range), `container::workload` (prctl, signal dispositions),
//! `container::exec_helper` (descriptors, fork in the single-threaded exec
//! helper, prctl), `container::attach` (the terminal's ioctls),
//! `container::seccomp` (seccomp(2)), `fdpass` (descriptors received over a
//! socket), `in_root` and `mounts` (descriptors from openat2, the new mount
//! API), `private_fs` (the descriptor openat2 returns), `pidfd`
//! (pidfd_open, pidfd_send_signal, waitid), `poll` (poll(2)), `detached`
//! (fork and _exit of the double fork), `terminal` (TIOCGWINSZ) and
//! `sandbox` (the loopback ioctls). Every other crate forbids `unsafe`
//! (`scripts/check-purity.sh`).

#![deny(unsafe_code)]

pub mod cgroup;
pub mod container;
pub mod detached;
pub mod errno;
pub mod fd_flags;
pub mod fdpass;
pub mod file_lock;
pub mod file_meta;
pub mod file_tail;
pub mod in_root;
pub mod interfaces;
pub mod kill;
pub mod mounts;
pub mod net;
pub mod net_namespace;
pub mod pidfd;
pub mod pod_sysctl;
pub mod poll;
pub mod private_fs;
pub mod reexec;
pub mod sandbox;
pub mod signals;
pub mod terminal;
pub mod uts;
