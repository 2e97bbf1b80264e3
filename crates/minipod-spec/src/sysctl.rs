//! Sysctl names: the API server's format and the kubelet's namespaces.
//!
//! The API server accepts a name of at most 253 characters made of
//! segments `[a-z0-9]([-_a-z0-9]*[a-z0-9])?` joined by `.` or `/`
//! (`IsValidSysctlName`, `pkg/apis/core/validation/validation.go`). Linux
//! accepts both separators (sysctl.d(5)): when the first separator is a
//! `/`, slashes separate the levels and a dot is part of a level's name
//! (`net/ipv4/conf/eth0.100/forwarding`); the kubelet turns such a name
//! into the dotted form, swapping the two characters
//! (`ConvertSysctlVariableToDotsSeparator`,
//! `k8s.io/component-helpers/node/util/sysctl`).
//!
//! Which namespace a sysctl belongs to decides where it is written and
//! whether a pod sharing the host's namespace may set it (`NamespacedBy`,
//! same package): `kernel.sem`, `kernel.shm*`, `kernel.msg*` and
//! `fs.mqueue.*` are the IPC namespace's, `net.*` the network namespace's,
//! every other sysctl is the whole node's.

/// `SysctlMaxLength`.
pub const SYSCTL_MAX_LENGTH: usize = 253;

/// The regular expression the API server prints for a bad name
/// (`SysctlContainSlashFmt`).
pub const SYSCTL_NAME_FORMAT: &str =
    r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?";

/// The namespace a sysctl is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SysctlNamespace {
    /// The pod's network namespace (`net.*`).
    Net,
    /// The pod's IPC namespace (`kernel.sem`, `kernel.shm*`, `kernel.msg*`, `fs.mqueue.*`).
    Ipc,
}

impl SysctlNamespace {
    /// The kubelet's word for it, in its messages (`ipc`, `net`).
    pub fn as_str(self) -> &'static str {
        match self {
            SysctlNamespace::Net => "net",
            SysctlNamespace::Ipc => "ipc",
        }
    }
}

/// `IsValidSysctlName`: at most 253 characters of dot- or
/// slash-separated segments, each `[a-z0-9]([-_a-z0-9]*[a-z0-9])?`.
/// No segment is empty, `.` or `..`, so a valid name never climbs out of
/// `/proc/sys`.
pub fn is_valid_sysctl_name(name: &str) -> bool {
    name.len() <= SYSCTL_MAX_LENGTH && name.split(['.', '/']).all(is_valid_segment)
}

fn is_valid_segment(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first)
                && alnum(last)
                && bytes.iter().all(|b| alnum(b) || *b == b'-' || *b == b'_')
        }
        _ => false,
    }
}

/// `ConvertSysctlVariableToDotsSeparator`: the name with dots between
/// its levels. When the first separator is a `/`, every `/` becomes a
/// `.` and every `.` a `/`; otherwise the name is already dotted.
pub fn to_dots_separator(name: &str) -> String {
    match name.find(['.', '/']) {
        Some(at) if name.as_bytes()[at] == b'/' => name
            .chars()
            .map(|c| match c {
                '/' => '.',
                '.' => '/',
                other => other,
            })
            .collect(),
        _ => name.to_owned(),
    }
}

/// `NamespacedBy`: the namespace of a dotted sysctl name, `None` for a
/// node-wide one.
pub fn namespaced_by(dotted: &str) -> Option<SysctlNamespace> {
    const IPC_PREFIXES: [&str; 3] = ["kernel.shm", "kernel.msg", "fs.mqueue."];
    if dotted == "kernel.sem" || IPC_PREFIXES.iter().any(|p| dotted.starts_with(p)) {
        Some(SysctlNamespace::Ipc)
    } else if dotted.starts_with("net.") {
        Some(SysctlNamespace::Net)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_api_server_accepts() {
        for good in [
            "a",
            "net.ipv4.ip_local_port_range",
            "kernel.shm_rmid_forced",
            "net/ipv4/conf/eth0.100/forwarding",
            "fs.mqueue.msg-max",
            "a1.b2",
        ] {
            assert!(is_valid_sysctl_name(good), "{good}");
        }
        let too_long = format!("a{}", ".a".repeat(126));
        assert_eq!(too_long.len(), 253);
        assert!(is_valid_sysctl_name(&too_long));
        for bad in [
            "",
            "Net.ipv4",
            "net..ipv4",
            "net.ipv4.",
            ".net",
            "net/../../etc/passwd",
            "../kernel/core_pattern",
            "net.ipv4.-x",
            "net.ipv4.x_",
            "net ipv4",
            "net.ipv4.ip_local_port_range\n",
            "net.*",
            &format!("{too_long}a"),
        ] {
            assert!(!is_valid_sysctl_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn slashes_first_swap_with_dots() {
        assert_eq!(
            to_dots_separator("net/ipv4/conf/eth0.100/forwarding"),
            "net.ipv4.conf.eth0/100.forwarding"
        );
        assert_eq!(
            to_dots_separator("net.ipv4.conf.eth0/100.forwarding"),
            "net.ipv4.conf.eth0/100.forwarding"
        );
        assert_eq!(to_dots_separator("kernel/sem"), "kernel.sem");
        assert_eq!(to_dots_separator("plain"), "plain");
    }

    #[test]
    fn namespaces_of_the_kubelet() {
        let cases = [
            ("kernel.sem", Some(SysctlNamespace::Ipc)),
            ("kernel.shm_rmid_forced", Some(SysctlNamespace::Ipc)),
            ("kernel.shmmax", Some(SysctlNamespace::Ipc)),
            ("kernel.msgmax", Some(SysctlNamespace::Ipc)),
            ("fs.mqueue.msg_max", Some(SysctlNamespace::Ipc)),
            ("net.ipv4.ip_local_port_range", Some(SysctlNamespace::Net)),
            ("net.core.somaxconn", Some(SysctlNamespace::Net)),
            ("kernel.semaphore", None),
            ("kernel.pid_max", None),
            ("vm.swappiness", None),
            ("fs.file-max", None),
            ("network", None),
        ];
        for (name, want) in cases {
            assert_eq!(namespaced_by(name), want, "{name}");
        }
    }
}
