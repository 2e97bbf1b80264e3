//! The host binary a container could overwrite (issue "Hardening", the runc
//! CVE-2019-5736 class).
//!
//! minipod's helpers (a container's init, the exec helper, a pod's pause
//! process) are minipod's own binary. While one runs inside a container's
//! namespaces, the container can reach it as `/proc/<pid>/exe`, which is the
//! host's file: a root process there that opens it for writing, directly or
//! by reopening an `O_PATH`/read descriptor through `/proc/self/fd` once the
//! binary is no longer running, would replace what root runs next on the
//! host. Only `ETXTBSY` ("text file busy", while some process still runs the
//! binary) stood in its way, and that ends as soon as no helper runs.
//!
//! Nor did anything stop changes to the file's metadata, which `ETXTBSY`
//! never covers: `chmod 0777 /proc/<pid>/exe` from the container made the
//! host's binary world-writable, `touch` changed its times.
//!
//! The most stable such process is the pause process of a pod that shares
//! one PID namespace: it is pid 1 of every container of the pod. A container
//! with `CAP_SYS_PTRACE` (a common addition for debugging) may open
//! `/proc/1/exe`. The test runs the pause from a copy of the test binary (so
//! that nothing could ever write to the project's own), checks the container
//! reaches that file (same inode), that opening it for writing fails (both
//! ways), and that `chmod` and `touch` on it fail with `EROFS`, leaving the
//! host file's mode, times and bytes as they were: the helper runs from a
//! read-only mount of it.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use minipod_linux::container::ExitStatus;
use minipod_runtime_tests::{root_on_the_host_or_skip, serial};

use crate::mounts::{HostilePod, INIT};

#[test]
fn a_container_cannot_open_minipods_binary_through_proc_exe_for_writing() {
    let test = "a_container_cannot_open_minipods_binary_through_proc_exe_for_writing";
    if !root_on_the_host_or_skip(test) {
        return;
    }
    let _serial = serial();
    let mut pod = HostilePod::new();
    let victim = pod.dir.join("victim/minipod");
    fs::create_dir_all(victim.parent().expect("parent")).expect("victim dir");
    fs::copy(INIT, &victim).expect("copy the helper binary");
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o755)).expect("chmod");
    let before = fs::read(&victim).expect("read the copy");
    let meta = fs::metadata(&victim).expect("stat");
    let (inode, mode_before, times_before) = (meta.ino(), meta.mode(), times(&meta));
    pod.sandbox()
        .share_pid_namespace(&victim)
        .expect("start the pause process");

    let script = "stat -L -c inode=%i /proc/1/exe; \
        ( exec 3>>/proc/1/exe ) 2>&1; echo direct=$?; \
        exec 4</proc/1/exe && ( exec 5>>/proc/self/fd/4 ) 2>&1; echo reopen=$?; \
        chmod 0777 /proc/1/exe 2>&1; echo chmod=$?; \
        touch -d '2001-01-01 00:00' /proc/1/exe 2>&1; echo touch=$?";
    let mut config = pod.config(None, Vec::new(), script);
    config.capabilities.push("CAP_SYS_PTRACE".into());
    let result = pod.run(&config);

    let after = fs::read(&victim).expect("read the copy");
    let meta = fs::metadata(&victim).expect("stat");
    let (mode_after, times_after) = (meta.mode(), times(&meta));
    pod.finish_after(|| {
        let (status, output) = result.unwrap_or_else(|e| panic!("{test}: did not start: {e}"));
        assert_eq!(status, ExitStatus::Exited(0), "{output}");
        assert!(
            output.contains(&format!("inode={inode}")),
            "the container reaches the pause's binary (the attack's premise):\n{output}"
        );
        assert!(
            !output.contains("direct=0") && !output.contains("reopen=0"),
            "the container opened minipod's binary for writing:\n{output}"
        );
        assert_eq!(
            (mode_after, times_after),
            (mode_before, times_before),
            "the container changed the host binary's mode or times:\n{output}"
        );
        assert!(
            output.contains("chmod=1") && output.contains("touch=1"),
            "chmod and touch must fail:\n{output}"
        );
        assert_eq!(
            output.matches("Read-only file system").count(),
            2,
            "chmod and touch must fail because the binary's mount is read-only:\n{output}"
        );
        assert!(before == after, "the binary's bytes changed");
    });
}

/// Modification and change times, in nanoseconds.
fn times(meta: &fs::Metadata) -> (i64, i64) {
    (
        meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
    )
}
