//! `RuntimeDefault`: the default profile of containerd and Docker (the
//! same rules: containerd's `contrib/seccomp` generates Docker's
//! `profiles/seccomp/default.json`), written here as a table.
//!
//! Default action `ERRNO(EPERM)`; an allow-list of ordinary calls; calls
//! that only make sense with a capability (`mount` with `CAP_SYS_ADMIN`,
//! `reboot` with `CAP_SYS_BOOT`, ...) allowed only when the container has
//! it; and argument filters that close the known container escapes of
//! allowed calls:
//! * `socket`: any family but `AF_VSOCK` (40), which reaches the hypervisor;
//! * `personality`: only the harmless personas (0, `PER_LINUX32` = 8,
//!   `UNAME26` = 0x20000, both = 0x20008, and 0xffffffff which only reads);
//! * `clone` without `CAP_SYS_ADMIN`: no `CLONE_NEW*` flag (mask
//!   0x7E020000), so no new namespace (in particular no user namespace,
//!   the door to most kernel bugs reachable from a container);
//! * `clone3` without `CAP_SYS_ADMIN`: `ENOSYS`, as its flags are in memory
//!   where a seccomp filter cannot look; libc then falls back to `clone`.
//!
//! Names that do not exist on the target architecture (`chown32`, `mmap2`,
//! `socketcall`, ... on x86_64) stay in the table, as in the upstream
//! profile; `minipod-linux` drops them when it compiles the profile.

use super::{Action, ArgCheck, ArgOp, ENOSYS, EPERM, SeccompProfile, SyscallRule};

/// When a rule of the table applies.
enum When {
    Always,
    /// The container has this capability.
    Cap(&'static str),
    /// The container does not have this capability.
    NoCap(&'static str),
    /// The target architecture is one of these (Rust's names:
    /// `std::env::consts::ARCH`).
    Arch(&'static [&'static str]),
}

struct Entry {
    names: &'static [&'static str],
    action: Action,
    args: &'static [ArgCheck],
    when: When,
}

const fn allow(names: &'static [&'static str], when: When) -> Entry {
    Entry {
        names,
        action: Action::Allow,
        args: &[],
        when,
    }
}

const fn arg0(op: ArgOp, value: u64) -> ArgCheck {
    ArgCheck {
        index: 0,
        op,
        value,
    }
}

/// The `CLONE_NEW*` flags: `CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
/// CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET`.
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;
/// `AF_VSOCK`.
pub const AF_VSOCK: u64 = 40;

/// Allowed for every container (packed by hand: one name a line would
/// double the file).
#[rustfmt::skip]
const ALWAYS: &[&str] = &[
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown",
    "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
    "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv",
    "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
    "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
    "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
    "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
    "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
    "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
    "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64",
    "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
    "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
    "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
    "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat",
    "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid",
    "waitpid", "write", "writev",
];

const TABLE: &[Entry] = &[
    allow(ALWAYS, When::Always),
    // Linux 4.8 closed the seccomp bypass through ptrace; minipod needs a
    // far newer kernel, so these are always allowed, as the profile does
    // there.
    allow(
        &["process_vm_readv", "process_vm_writev", "ptrace"],
        When::Always,
    ),
    Entry {
        names: &["socket"],
        action: Action::Allow,
        args: &[arg0(ArgOp::Ne, AF_VSOCK)],
        when: When::Always,
    },
    Entry {
        names: &["personality"],
        action: Action::Allow,
        args: &[arg0(ArgOp::Eq, 0)],
        when: When::Always,
    },
    Entry {
        names: &["personality"],
        action: Action::Allow,
        args: &[arg0(ArgOp::Eq, 0x8)],
        when: When::Always,
    },
    Entry {
        names: &["personality"],
        action: Action::Allow,
        args: &[arg0(ArgOp::Eq, 0x20000)],
        when: When::Always,
    },
    Entry {
        names: &["personality"],
        action: Action::Allow,
        args: &[arg0(ArgOp::Eq, 0x20008)],
        when: When::Always,
    },
    Entry {
        names: &["personality"],
        action: Action::Allow,
        args: &[arg0(ArgOp::Eq, 0xffff_ffff)],
        when: When::Always,
    },
    allow(&["arch_prctl"], When::Arch(&["x86_64"])),
    allow(&["modify_ldt"], When::Arch(&["x86_64"])),
    allow(
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ],
        When::Arch(&["aarch64", "arm"]),
    ),
    allow(&["riscv_flush_icache"], When::Arch(&["riscv64"])),
    allow(&["open_by_handle_at"], When::Cap("CAP_DAC_READ_SEARCH")),
    allow(
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
        When::Cap("CAP_SYS_ADMIN"),
    ),
    Entry {
        names: &["clone"],
        action: Action::Allow,
        args: &[arg0(
            ArgOp::MaskedEq {
                mask: CLONE_NAMESPACE_FLAGS,
            },
            0,
        )],
        when: When::NoCap("CAP_SYS_ADMIN"),
    },
    Entry {
        names: &["clone3"],
        action: Action::Errno(ENOSYS),
        args: &[],
        when: When::NoCap("CAP_SYS_ADMIN"),
    },
    allow(&["reboot"], When::Cap("CAP_SYS_BOOT")),
    allow(&["chroot"], When::Cap("CAP_SYS_CHROOT")),
    allow(
        &["delete_module", "init_module", "finit_module"],
        When::Cap("CAP_SYS_MODULE"),
    ),
    allow(&["acct"], When::Cap("CAP_SYS_PACCT")),
    allow(
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
        When::Cap("CAP_SYS_PTRACE"),
    ),
    allow(&["iopl", "ioperm"], When::Cap("CAP_SYS_RAWIO")),
    allow(
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
        When::Cap("CAP_SYS_TIME"),
    ),
    allow(&["vhangup"], When::Cap("CAP_SYS_TTY_CONFIG")),
    allow(
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
        When::Cap("CAP_SYS_NICE"),
    ),
    allow(&["syslog"], When::Cap("CAP_SYSLOG")),
    allow(&["bpf"], When::Cap("CAP_BPF")),
    allow(&["perf_event_open"], When::Cap("CAP_PERFMON")),
];

/// The RuntimeDefault profile for a container with `capabilities`
/// (`CAP_*` names, as `launch::capabilities` computes them) on `arch`
/// (`std::env::consts::ARCH`).
pub fn runtime_default(capabilities: &[String], arch: &str) -> SeccompProfile {
    let has = |cap: &str| capabilities.iter().any(|c| c == cap);
    let rules = TABLE
        .iter()
        .filter(|entry| match entry.when {
            When::Always => true,
            When::Cap(cap) => has(cap),
            When::NoCap(cap) => !has(cap),
            When::Arch(arches) => arches.contains(&arch),
        })
        .map(|entry| SyscallRule {
            names: entry.names.iter().map(|n| n.to_string()).collect(),
            action: entry.action,
            args: entry.args.to_vec(),
        })
        .collect();
    SeccompProfile {
        default_action: Action::Errno(EPERM),
        rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::{ALL_CAPABILITIES, DEFAULT_CAPABILITIES};

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    fn rules_for<'a>(profile: &'a SeccompProfile, name: &str) -> Vec<&'a SyscallRule> {
        profile
            .rules
            .iter()
            .filter(|r| r.names.iter().any(|n| n == name))
            .collect()
    }

    #[test]
    fn default_capabilities_get_the_allow_list_and_the_argument_filters() {
        let profile = runtime_default(&caps(&DEFAULT_CAPABILITIES), "x86_64");
        assert_eq!(profile.default_action, Action::Errno(EPERM));
        assert_eq!(rules_for(&profile, "read")[0].action, Action::Allow);
        // No namespaces, no mounts, no modules, no clock.
        for denied in [
            "mount",
            "unshare",
            "setns",
            "init_module",
            "clock_settime",
            "bpf",
        ] {
            assert!(rules_for(&profile, denied).is_empty(), "{denied}");
        }
        let clone = rules_for(&profile, "clone");
        assert_eq!(clone.len(), 1);
        assert_eq!(
            clone[0].args,
            [ArgCheck {
                index: 0,
                op: ArgOp::MaskedEq {
                    mask: CLONE_NAMESPACE_FLAGS
                },
                value: 0
            }]
        );
        let clone3 = rules_for(&profile, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action, Action::Errno(ENOSYS));
        let socket = rules_for(&profile, "socket");
        assert_eq!(socket[0].args, [arg0(ArgOp::Ne, AF_VSOCK)]);
        assert_eq!(rules_for(&profile, "personality").len(), 5);
        // CAP_SYS_CHROOT is one of containerd's defaults.
        assert_eq!(rules_for(&profile, "chroot").len(), 1);
    }

    #[test]
    fn cap_sys_admin_opens_namespaces_and_mounts_and_lifts_the_clone_filters() {
        let mut with_admin = caps(&DEFAULT_CAPABILITIES);
        with_admin.push("CAP_SYS_ADMIN".into());
        let profile = runtime_default(&with_admin, "x86_64");
        for allowed in ["mount", "unshare", "setns", "clone", "clone3"] {
            let rules = rules_for(&profile, allowed);
            assert!(
                rules
                    .iter()
                    .any(|r| r.action == Action::Allow && r.args.is_empty()),
                "{allowed}"
            );
        }
        assert!(
            rules_for(&profile, "clone3")
                .iter()
                .all(|r| r.action == Action::Allow)
        );
    }

    #[test]
    fn each_capability_includes_its_calls() {
        let all = runtime_default(&caps(&ALL_CAPABILITIES), "x86_64");
        let none = runtime_default(&[], "x86_64");
        for name in [
            "reboot",
            "chroot",
            "finit_module",
            "acct",
            "ptrace",
            "kcmp",
            "iopl",
            "settimeofday",
            "vhangup",
            "mbind",
            "syslog",
            "bpf",
            "perf_event_open",
            "open_by_handle_at",
        ] {
            assert!(!rules_for(&all, name).is_empty(), "{name} with all caps");
        }
        for name in ["reboot", "chroot", "kcmp", "iopl", "open_by_handle_at"] {
            assert!(rules_for(&none, name).is_empty(), "{name} without caps");
        }
    }

    #[test]
    fn architecture_rules_follow_the_target() {
        let x86 = runtime_default(&[], "x86_64");
        let arm = runtime_default(&[], "aarch64");
        assert!(!rules_for(&x86, "arch_prctl").is_empty());
        assert!(rules_for(&arm, "arch_prctl").is_empty());
        assert!(!rules_for(&arm, "set_tls").is_empty());
    }
}
