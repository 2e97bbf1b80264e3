//! The pod sandbox: the network, IPC and UTS namespaces every container of
//! the pod shares, plus the pod's `/dev/shm`.
//!
//! The namespaces are created by a short-lived holder process (our binary,
//! re-executed by `spawn_init` with `CLONE_NEWNET | CLONE_NEWIPC |
//! CLONE_NEWUTS`), which sets the hostname and brings loopback up. A
//! `hostNetwork` pod's sandbox makes only the IPC namespace
//! ([`minipod_plan::launch::sandbox_namespaces`]): its containers stay in
//! the node's network and UTS namespaces, and the holder then touches
//! neither the hostname nor a link (they are the node's). The parent
//! then *pins* each namespace by bind-mounting `/proc/<holder>/ns/<kind>`
//! onto a file in the pod's run directory (as `ip netns add` does), and lets
//! the holder exit. A pinned namespace lives until it is unmounted, so the pod
//! outlives any process, the monitor's included (namespaces(7), "The
//! /proc/[pid]/ns/ directory").

#![allow(unsafe_code)] // the SIOCGIFFLAGS/SIOCSIFFLAGS ioctls: each block says why

use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::unistd::pipe2;

use crate::container::spawn::{CgroupEntry, ChildFds, spawn_init};
use crate::pidfd::PidFd;
pub use minipod_plan::launch::Namespace;

/// `argv[1]` of a pod sandbox's holder (see [`crate::reexec`]).
pub const SANDBOX_HELPER: &str = "__minipod-sandbox";
/// `argv[1]` of the pause process of a pod that shares one PID namespace.
pub const PAUSE_HELPER: &str = "__minipod-pause";

#[derive(Debug)]
pub struct Sandbox {
    dir: PathBuf,
    /// The namespaces it made and pinned, in [`Namespace::SHARED_BY_POD`]'s order.
    namespaces: Vec<Namespace>,
    /// With `shareProcessNamespace: true`: the pod's pause process.
    pause: Option<Pause>,
}

/// The pid 1 of a pod's shared PID namespace. A PID namespace cannot be
/// pinned like the others: once its init exits, no process can enter it
/// again (pid_namespaces(7)). So a pause process stays alive as that init,
/// reaping the orphans of every container, as the kubelet's pause container
/// does.
#[derive(Debug)]
struct Pause {
    pidfd: PidFd,
    pid_namespace: OwnedFd,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}")]
    Sys {
        what: String,
        #[source]
        source: nix::errno::Errno,
    },
    #[error("sandbox holder: {0}")]
    Holder(String),
}

impl Sandbox {
    /// Creates the network, IPC and UTS namespaces and pins them under
    /// `dir` (made here; removed by [`Sandbox::remove`] or on drop).
    /// `program` is our own binary, which serves as the holder
    /// ([`SANDBOX_HELPER`]).
    pub fn create(program: &Path, dir: &Path, hostname: &str) -> Result<Sandbox, SandboxError> {
        Sandbox::create_with_namespaces(program, dir, hostname, &Namespace::SHARED_BY_POD)
    }

    /// As [`Sandbox::create`], making only the `namespaces` named (the
    /// plan's [`minipod_plan::launch::sandbox_namespaces`]): `hostname` is
    /// set only in a new UTS namespace, loopback brought up only in a new
    /// network namespace, so a sandbox left in the node's namespaces
    /// changes nothing of the node.
    pub fn create_with_namespaces(
        program: &Path,
        dir: &Path,
        hostname: &str,
        namespaces: &[Namespace],
    ) -> Result<Sandbox, SandboxError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SandboxError::Io { path, source }
        };
        fs::create_dir_all(dir.join("ns")).map_err(io(dir))?;
        let sandbox = Sandbox {
            dir: dir.to_owned(),
            namespaces: Namespace::SHARED_BY_POD
                .into_iter()
                .filter(|kind| namespaces.contains(kind))
                .collect(),
            pause: None,
        };
        // From here on, dropping `sandbox` on an error undoes what was made.
        if sandbox.namespaces.is_empty() {
            return Ok(sandbox);
        }
        for &kind in &sandbox.namespaces {
            let pin = sandbox.pin(kind);
            fs::File::create(&pin).map_err(io(&pin))?;
        }
        let pipe = || {
            pipe2(OFlag::O_CLOEXEC).map_err(|source| SandboxError::Sys {
                what: "pipe".into(),
                source,
            })
        };
        let (stdin_r, stdin_w) = pipe()?;
        let (out_r, out_w) = pipe()?;
        let (cfg_r, cfg_w) = pipe()?;
        let (rep_r, rep_w) = pipe()?;
        drop(cfg_w);
        // Only the namespaces the pod shares: the holder needs no PID or
        // mount namespace of its own.
        let flags = sandbox
            .namespaces
            .iter()
            .map(|kind| match kind {
                Namespace::Net => libc::CLONE_NEWNET,
                Namespace::Ipc => libc::CLONE_NEWIPC,
                Namespace::Uts => libc::CLONE_NEWUTS,
            })
            .fold(0, |all, flag| all | flag) as u64;
        let kinds: Vec<&str> = sandbox.namespaces.iter().map(|k| k.as_str()).collect();
        let kinds = kinds.join(",");
        let holder = spawn_init(
            program,
            &["minipod-sandbox", SANDBOX_HELPER, &kinds, hostname],
            &ChildFds {
                stdin: &stdin_r,
                stdout: &out_w,
                stderr: &out_w,
                config: &cfg_r,
                report: &rep_w,
                extra: &[],
            },
            flags,
            CgroupEntry::None,
        )
        .map_err(|source| SandboxError::Io {
            path: "clone3".into(),
            source,
        })?;
        drop((stdin_r, out_w, cfg_r, rep_w, rep_r));
        // One line: "ready", or what went wrong. (Not to EOF: the holder
        // keeps its stdout open while it waits for us.)
        let mut ready = String::new();
        let _ = std::io::BufRead::read_line(
            &mut std::io::BufReader::new(fs::File::from(out_r)),
            &mut ready,
        );
        let result = if ready.trim() != "ready" {
            Err(SandboxError::Holder(ready.trim().to_owned()))
        } else {
            sandbox.namespaces.iter().try_for_each(|&kind| {
                let source = format!("/proc/{}/ns/{kind}", holder.pid);
                mount(
                    Some(source.as_str()),
                    &sandbox.pin(kind),
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(|source| SandboxError::Sys {
                    what: format!("pin {kind} namespace"),
                    source,
                })
            })
        };
        drop(stdin_w);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(holder.pid), None);
        result?;
        Ok(sandbox)
    }

    /// Gives the pod one PID namespace for all its containers
    /// (`shareProcessNamespace: true`): starts the pause process that is its
    /// pid 1. Containers join it through [`Sandbox::pid_namespace`].
    pub fn share_pid_namespace(&mut self, program: &Path) -> Result<(), SandboxError> {
        let pipe = || {
            pipe2(OFlag::O_CLOEXEC).map_err(|source| SandboxError::Sys {
                what: "pipe".into(),
                source,
            })
        };
        let (out_r, out_w) = pipe()?;
        let (cfg_r, cfg_w) = pipe()?;
        let (rep_r, rep_w) = pipe()?;
        drop((cfg_w, rep_r));
        let devnull: OwnedFd = fs::File::open("/dev/null")
            .map_err(|source| SandboxError::Io {
                path: "/dev/null".into(),
                source,
            })?
            .into();
        let namespaces = (libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u64;
        let pause = spawn_init(
            program,
            &["minipod-pause", PAUSE_HELPER],
            &ChildFds {
                stdin: &devnull,
                stdout: &out_w,
                stderr: &out_w,
                config: &cfg_r,
                report: &rep_w,
                extra: &[],
            },
            namespaces,
            CgroupEntry::None,
        )
        .map_err(|source| SandboxError::Io {
            path: "clone3".into(),
            source,
        })?;
        drop((out_w, cfg_r, rep_w));
        let mut ready = String::new();
        let _ = std::io::BufRead::read_line(
            &mut std::io::BufReader::new(fs::File::from(out_r)),
            &mut ready,
        );
        let ns_path = format!("/proc/{}/ns/pid", pause.pid);
        match (ready.trim(), fs::File::open(&ns_path)) {
            ("ready", Ok(pid_namespace)) => {
                self.pause = Some(Pause {
                    pidfd: pause.pidfd,
                    pid_namespace: pid_namespace.into(),
                });
                Ok(())
            }
            (said, _) => {
                stop_pause(&pause.pidfd);
                Err(SandboxError::Holder(format!(
                    "the pause process did not start: {said:?}"
                )))
            }
        }
    }

    /// The pod's shared PID namespace, if it has one.
    pub fn pid_namespace(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.pause.as_ref().map(|p| p.pid_namespace.as_fd())
    }

    fn pin(&self, kind: Namespace) -> PathBuf {
        self.dir.join("ns").join(kind.as_str())
    }

    /// The pinned namespace files, for containers to join: only those
    /// the sandbox made (a container stays in the node's others).
    pub fn namespace_paths(&self) -> Vec<(Namespace, PathBuf)> {
        self.namespaces.iter().map(|&k| (k, self.pin(k))).collect()
    }

    /// The pod's run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Unpins the namespaces (the kernel frees them once no container uses
    /// them) and removes the pod's run directory.
    pub fn remove(self) {
        drop(self);
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // The pause process first: when the init of a PID namespace exits,
        // the kernel kills every process left in it.
        if let Some(pause) = self.pause.take() {
            stop_pause(&pause.pidfd);
        }
        for &kind in &self.namespaces {
            let _ = umount2(&self.pin(kind), MntFlags::MNT_DETACH);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The holder's side: runs in the new namespaces, prepares them, says
/// "ready", and waits for the parent to close its stdin.
pub fn holder_main() -> ! {
    // argv: [name, SANDBOX_HELPER, "net,ipc,uts" (those made), hostname]
    let kinds = std::env::args().nth(2).unwrap_or_default();
    let hostname = std::env::args().nth(3).unwrap_or_default();
    let made = |kind: Namespace| kinds.split(',').any(|k| k == kind.as_str());
    // The hostname and `lo` only of namespaces of our own: in the node's,
    // they are the node's.
    let result = Ok(())
        .and_then(|()| match made(Namespace::Uts) {
            true => nix::unistd::sethostname(&hostname).map_err(|e| format!("sethostname: {e}")),
            false => Ok(()),
        })
        .and_then(|()| match made(Namespace::Net) {
            true => loopback_up().map_err(|e| format!("loopback up: {e}")),
            false => Ok(()),
        });
    let mut out = std::io::stdout();
    match result {
        Ok(()) => {
            let _ = writeln!(out, "ready");
        }
        Err(e) => {
            let _ = writeln!(out, "{e}");
            std::process::exit(1);
        }
    }
    let _ = out.flush();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    std::process::exit(0);
}

/// SIGKILLs a pause process through its pidfd and reaps it.
fn stop_pause(pidfd: &PidFd) {
    let _ = pidfd.send_signal(nix::sys::signal::Signal::SIGKILL);
    let _ = pidfd.wait();
}

/// The pause process: pid 1 of a pod's shared PID namespace. It says
/// "ready", then reaps whatever is orphaned to it until it is killed.
///
/// SIGCHLD is blocked and taken with `sigwait`: a blocked signal is queued
/// even for a namespace's pid 1, which would otherwise drop signals whose
/// disposition is the default (pid_namespaces(7)).
pub fn pause_main() -> ! {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    // Out of the monitor's process group and session, as the containers: a
    // signal to the monitor's group must not reach the pod.
    let _ = nix::unistd::setsid();
    let mut sigchld = SigSet::empty();
    sigchld.add(Signal::SIGCHLD);
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&sigchld), None);
    let _ = writeln!(std::io::stdout(), "ready");
    let _ = std::io::stdout().flush();
    loop {
        let _ = sigchld.wait();
        // Reap every child that has exited; stop at the first "none yet".
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
    }
}

nix::ioctl_read_bad!(get_flags, libc::SIOCGIFFLAGS, libc::ifreq);
nix::ioctl_write_ptr_bad!(set_flags, libc::SIOCSIFFLAGS, libc::ifreq);

/// `ip link set lo up`: a new network namespace has loopback down (netdevice(7)).
fn loopback_up() -> nix::Result<()> {
    let socket: OwnedFd = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    use std::os::fd::AsRawFd;
    // SAFETY: SIOCGIFFLAGS fills ifr_flags of a valid ifreq naming "lo".
    unsafe { get_flags(socket.as_raw_fd(), &mut request) }?;
    // SAFETY: ifr_ifru is a union; after SIOCGIFFLAGS its flags member is the valid one.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the ifreq we just filled.
    unsafe { set_flags(socket.as_raw_fd(), &request) }?;
    Ok(())
}
