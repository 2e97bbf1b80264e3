//! The capabilities a container keeps: containerd's defaults, the
//! security context's `add` and `drop`, or all of them when privileged.

use minipod_spec::model::SecurityContext;

/// containerd's default capability set (`oci.defaultUnixCaps`, used by the
/// CRI plugin for every non-privileged container), in its order.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability Linux defines (`<linux/capability.h>`, 0 to
/// `CAP_LAST_CAP` = 40 since Linux 5.9): what `privileged` and `add: [ALL]`
/// give (containerd asks the host kernel; minipod's init drops what the
/// kernel does not know from this list).
pub const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

pub(super) fn is_privileged(security: Option<&SecurityContext>) -> bool {
    security.and_then(|s| s.privileged) == Some(true)
}

/// The capabilities a container keeps, as containerd's CRI plugin computes
/// them (`WithCapabilities`, `WithPrivileged`): `privileged` → all; else the
/// default set; `add: [ALL]` → all; `drop: [ALL]` → none; then each other
/// `add`, then each other `drop`. Kubernetes names have no `CAP_` prefix;
/// containerd upper-cases them and adds it.
pub fn capabilities(security: Option<&SecurityContext>) -> Vec<String> {
    let all = || ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect();
    if is_privileged(security) {
        return all();
    }
    let mut caps: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect();
    let Some(requested) = security.and_then(|s| s.capabilities.as_ref()) else {
        return caps;
    };
    let is_all = |c: &String| c.eq_ignore_ascii_case("ALL");
    if requested.add.iter().any(is_all) {
        caps = all();
    }
    if requested.drop.iter().any(is_all) {
        caps.clear();
    }
    let named = |c: &String| format!("CAP_{}", c.to_ascii_uppercase());
    for add in requested.add.iter().filter(|c| !is_all(c)).map(named) {
        if !caps.contains(&add) {
            caps.push(add);
        }
    }
    for drop in requested.drop.iter().filter(|c| !is_all(c)).map(named) {
        caps.retain(|c| *c != drop);
    }
    caps
}
