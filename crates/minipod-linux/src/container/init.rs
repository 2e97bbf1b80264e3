//! The container's init: our own binary, re-executed as pid 1 of the
//! container's new PID namespace (see `spawn`). It is single-threaded and
//! freshly exec'd, so ordinary Rust is safe here. It turns itself into the
//! container's process one named step at a time; the first step that fails is
//! reported to the parent as `{step, errno, message}` on fd 4 and the process
//! exits. On success the final `execve` closes fd 4 (close-on-exec), which
//! tells the parent the workload is running.

#![allow(unsafe_code)] // fd ownership, prctl, close_range, signal dispositions: each block says why

use std::convert::Infallible;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, fchmodat, fstat, makedev, mknodat};
use nix::unistd::{chdir, fchdir, pivot_root, setsid, symlinkat};

use crate::in_root::{Create, Symlinks, open_in};
use crate::mounts::{attach, clone_mount, mount_onto, open_dir, set_mount_attributes};

use super::failure::{Failure, step};
use super::protocol::{ContainerConfig, Namespace, Step, StepFailure};
use super::spawn::{CONFIG_FD, REPORT_FD};
use super::workload::{Workload, become_workload};

/// `argv[1]` of a container's init (see [`crate::reexec`]).
pub const CONTAINER_INIT: &str = "__minipod-container-init";

/// Runs the init steps and never returns: it becomes the workload or exits.
pub fn init_main() -> ! {
    let failure = match std::panic::catch_unwind(run) {
        Ok(Err(failure)) => failure,
        Ok(Ok(never)) => match never {},
        Err(_) => StepFailure {
            step: Step::Init,
            errno: None,
            message: "init panicked".into(),
        },
    };
    // SAFETY: fd 4 was placed by the parent for exactly this; we own it now.
    let mut report = unsafe { fs::File::from_raw_fd(REPORT_FD) };
    let _ = report.write_all(&serde_json::to_vec(&failure).unwrap_or_default());
    // The exit code Kubernetes runtimes give a process that never started.
    std::process::exit(128);
}

fn run() -> Result<Infallible, StepFailure> {
    // fd 4 must close when the workload is exec'd: that closing is the
    // "started" signal. Any other inherited fd is closed now.
    step(Step::SetUpFds, set_cloexec(REPORT_FD))?;
    close_fds_from(REPORT_FD + 1);

    let config: ContainerConfig = {
        // SAFETY: fd 3 was placed by the parent; we take ownership once.
        let mut file = unsafe { fs::File::from_raw_fd(CONFIG_FD) };
        let mut text = String::new();
        step(Step::ReadConfig, file.read_to_string(&mut text))?;
        step(Step::ReadConfig, serde_json::from_str(&text))?
    };

    // Compiled first, so a bad profile fails before anything is mounted.
    let seccomp = step(
        Step::LoadSeccompProfile,
        super::seccomp::for_config(&config),
    )?;

    for (kind, path) in &config.join_namespaces {
        let flag = match kind {
            Namespace::Net => CloneFlags::CLONE_NEWNET,
            Namespace::Ipc => CloneFlags::CLONE_NEWIPC,
            Namespace::Uts => CloneFlags::CLONE_NEWUTS,
        };
        let file = step(Step::JoinNamespaces, fs::File::open(path))?;
        step(Step::JoinNamespace(*kind), setns(file, flag))?;
    }

    // Our mounts must never propagate back to the host (mount_namespaces(7)).
    step(
        Step::MakeMountsPrivate,
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        ),
    )?;
    step(Step::MountRootFilesystem, mount_overlay(&config))?;
    // Every mount below is made on a target resolved inside this root, never
    // following a symlink out of it (see `in_root`): the image is untrusted,
    // and until `pivot_root` this process still sees the host's files.
    let root = step(Step::OpenRootFilesystem, open_dir(&config.rootfs.merged))?;
    let root = root.as_fd();
    step(
        Step::MountProc,
        mount_at(
            root,
            "proc",
            "proc",
            "proc",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None,
        ),
    )?;
    step(Step::MountDev, mount_dev(root))?;
    step(
        Step::MountSys,
        mount_at(
            root,
            "sys",
            "sysfs",
            "sysfs",
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None,
        ),
    )?;
    for bind in &config.mounts {
        step(
            Step::MountVolume(bind.target.clone()),
            bind_mount(root, &bind.source, &bind.target, bind.readonly),
        )?;
    }
    if !config.privileged {
        step(Step::MaskPaths, mask_paths(root))?;
    }
    step(Step::PivotRoot, enter_root(root))?;
    if config.rootfs.readonly {
        step(
            Step::MakeRootReadOnly,
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                None::<&str>,
            ),
        )?;
    }

    let (uid, gid, groups) = step(Step::ResolveUser, super::user::resolve(&config.user))?;
    if config.user.run_as_non_root && uid == 0 {
        return Err(StepFailure {
            step: Step::CheckRunAsNonRoot,
            errno: None,
            message: "container has runAsNonRoot and image will run as root".into(),
        });
    }
    step(Step::CreateWorkingDir, ensure_dir(&config.cwd))?;
    let capabilities = if config.privileged {
        super::caps::held_by_this_process(&config.capabilities)
    } else {
        config.capabilities.clone()
    };
    become_workload(
        &Workload {
            uid,
            gid,
            groups: &groups,
            capabilities: &capabilities,
            apparmor_profile: config.apparmor_profile.as_deref(),
            seccomp: &seccomp,
            no_new_privileges: config.no_new_privileges,
            cwd: &config.cwd,
            argv: &config.args,
            env: &config.env,
        },
        || Ok(()),
        // A session of its own, as every container gets one: otherwise it
        // stays in the monitor's process group, and a Ctrl-C on the
        // monitor's terminal (or `kill` of the group) would reach it
        // directly instead of through the pod's ordered termination.
        || step(Step::NewSession, setsid().map(drop)),
    )
}

pub(super) fn set_cloexec(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: fcntl on an fd number; failure is reported through errno.
    Errno::result(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) }).map(drop)
}

pub(super) fn close_fds_from(first: RawFd) {
    // SAFETY: close_range(2) only closes descriptors; none above `first` is in use.
    unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) };
}

fn mount_overlay(config: &ContainerConfig) -> Result<(), Failure> {
    let rootfs = &config.rootfs;
    // overlayfs lists the top-most lower layer first (filesystems/overlayfs.rst).
    let lower: Vec<String> = rootfs
        .lower
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        rootfs.upper.display(),
        rootfs.work.display()
    );
    fs::create_dir_all(&rootfs.merged)?;
    mount(
        Some("overlay"),
        &rootfs.merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )?;
    Ok(())
}

/// Mounts a new `fstype` filesystem on `target`, a directory resolved (and
/// made if missing) inside `root`, and returns a descriptor of the new
/// mount's root.
///
/// That descriptor comes from resolving `target` once more, now through the
/// new mount: the descriptor the mount was made on still names the
/// directory beneath it. Nothing can swap the path in between: only this
/// process is in this mount namespace yet, and no volume is mounted before
/// `/proc`, `/dev` and `/sys`.
fn mount_at(
    root: BorrowedFd<'_>,
    target: &str,
    source: &str,
    fstype: &str,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<OwnedFd, Failure> {
    let mount_point = open_in(root, target, Symlinks::InRoot, Create::Directories)?;
    mount_onto(&mount_point, source, fstype, flags, data)?;
    Ok(open_in(root, target, Symlinks::InRoot, Create::Nothing)?)
}

/// A minimal `/dev`, as the OCI runtime spec's default devices. Its entries
/// are made through the descriptor of the new tmpfs (`mknodat`,
/// `symlinkat`), never by path.
fn mount_dev(root: BorrowedFd<'_>) -> Result<(), Failure> {
    let dev = mount_at(
        root,
        "dev",
        "tmpfs",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )?;
    // The device cgroup allows each of them (`minipod_plan::devices`).
    for (name, major, minor) in minipod_plan::devices::DEV_NODES {
        let mode = Mode::from_bits_truncate(0o666);
        mknodat(
            Some(dev.as_raw_fd()),
            name,
            SFlag::S_IFCHR,
            mode,
            makedev(major.into(), minor.into()),
        )?;
        // mknod honours the umask; the devices must be world read-write.
        // (Following symlinks is harmless: the name was just made, in a
        // tmpfs only this process sees.)
        fchmodat(
            Some(dev.as_raw_fd()),
            name,
            mode,
            FchmodatFlags::FollowSymlink,
        )?;
    }
    mount_at(
        root,
        "dev/pts",
        "devpts",
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    symlinkat("pts/ptmx", Some(dev.as_raw_fd()), "ptmx")?;
    mount_at(
        root,
        "dev/shm",
        "shm",
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )?;
    mount_at(
        root,
        "dev/mqueue",
        "mqueue",
        "mqueue",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None,
    )?;
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlinkat(target, Some(dev.as_raw_fd()), link)?;
    }
    Ok(())
}

/// Bind-mounts `source` (a host path minipod prepared: a volume, a pod
/// file, a pinned subPath) on `target` inside `root`, made as a directory
/// or a file to match the source.
///
/// The bind is a detached copy of `source` ([`clone_mount`]), made
/// read-only before it is attached when asked, and attached onto the
/// target's descriptor ([`attach`]). Read-only applies to the top mount only,
/// as the kubelet's `readOnly: true` without `recursiveReadOnly`.
fn bind_mount(
    root: BorrowedFd<'_>,
    source: &Path,
    target: &str,
    readonly: bool,
) -> Result<(), Failure> {
    let bind = clone_mount(None, source, true)?;
    let is_dir = SFlag::from_bits_truncate(fstat(bind.as_raw_fd())?.st_mode) & SFlag::S_IFMT
        == SFlag::S_IFDIR;
    let create = if is_dir {
        Create::Directories
    } else {
        Create::File
    };
    let mount_point = open_in(root, target, Symlinks::InRoot, create)?;
    if readonly {
        set_mount_attributes(bind.as_fd(), libc::MOUNT_ATTR_RDONLY, false)?;
    }
    attach(bind.as_fd(), mount_point.as_fd())?;
    Ok(())
}

/// The OCI runtime spec's default masked and read-only paths (runc, containerd).
const MASKED: &[&str] = &[
    "proc/acpi",
    "proc/asound",
    "proc/kcore",
    "proc/keys",
    "proc/latency_stats",
    "proc/timer_list",
    "proc/timer_stats",
    "proc/sched_debug",
    "proc/scsi",
    "sys/firmware",
    "sys/devices/virtual/powercap",
    "proc/interrupts",
];
const READ_ONLY: &[&str] = &[
    "proc/bus",
    "proc/fs",
    "proc/irq",
    "proc/sys",
    "proc/sysrq-trigger",
];

/// Hides [`MASKED`] (an empty read-only tmpfs on a directory, `/dev/null`
/// on a file) and makes [`READ_ONLY`] read-only, each resolved inside
/// `root`; a path this kernel does not have is skipped.
fn mask_paths(root: BorrowedFd<'_>) -> Result<(), Failure> {
    let existing = |path: &str| match open_in(root, path, Symlinks::InRoot, Create::Nothing) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    };
    for path in MASKED {
        let Some(target) = existing(path)? else {
            continue; // not on this kernel
        };
        let mode = SFlag::from_bits_truncate(fstat(target.as_raw_fd())?.st_mode);
        if mode & SFlag::S_IFMT == SFlag::S_IFDIR {
            mount_onto(
                &target,
                "tmpfs",
                "tmpfs",
                MsFlags::MS_RDONLY,
                Some("size=0"),
            )?;
        } else {
            let null = open_in(root, "dev/null", Symlinks::InRoot, Create::Nothing)?;
            let bind = clone_mount(Some(null.as_fd()), Path::new(""), false)?;
            attach(bind.as_fd(), target.as_fd())?;
        }
    }
    for path in READ_ONLY {
        let Some(target) = existing(path)? else {
            continue;
        };
        let bind = clone_mount(Some(target.as_fd()), Path::new(""), true)?;
        set_mount_attributes(
            bind.as_fd(),
            libc::MOUNT_ATTR_RDONLY
                | libc::MOUNT_ATTR_NOSUID
                | libc::MOUNT_ATTR_NODEV
                | libc::MOUNT_ATTR_NOEXEC,
            false,
        )?;
        attach(bind.as_fd(), target.as_fd())?;
    }
    Ok(())
}

/// `pivot_root(".", ".")` then detach the old root: the idiom runc uses, with
/// no directory needed for the old root (pivot_root(2) NOTES). The root is
/// entered through its descriptor.
fn enter_root(root: BorrowedFd<'_>) -> Result<(), Failure> {
    fchdir(root.as_raw_fd())?;
    pivot_root(".", ".")?;
    umount2(".", MntFlags::MNT_DETACH)?;
    chdir("/")?;
    Ok(())
}
fn ensure_dir(path: &str) -> Result<(), Failure> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Failure {
            errno: Some(libc::ENOTDIR),
            message: format!("{path}: not a directory"),
        }),
        // Like runc, a missing working directory is created.
        Err(_) => Ok(fs::create_dir_all(path)?),
    }
}
