//! Which device nodes a container may use: the rules of its device cgroup.
//!
//! Creating a device node is not the danger (a container has `CAP_MKNOD` by
//! default); opening one is. A root process in a container that may open
//! any device can `mknod /x b 8 0` and read the host's disk. The kernel's
//! device cgroup decides, at `open(2)` and `mknod(2)`, whether the calling
//! process's cgroup may use that device:
//!
//! * cgroup v1: the `devices` controller's `devices.deny` and
//!   `devices.allow` files
//!   (<https://docs.kernel.org/admin-guide/cgroup-v1/devices.html>);
//! * cgroup v2: a `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the
//!   cgroup (<https://docs.kernel.org/admin-guide/cgroup-v2.html>,
//!   "Device controller").
//!
//! Kubernetes leaves the list to the runtime. containerd's CRI plugin
//! starts every non-privileged container's list with "deny everything"
//! (`oci.populateDefaultUnixSpec`), and runc appends its built-in allow list
//! (`AllowedDevices` in `libcontainer/specconv/spec_linux.go`). That list is
//! [`DEFAULT_ALLOWED`], as runc has it today (1.2.4 and later, up to its
//! main branch of 2026): runc 1.2.0 dropped `/dev/net/tun` (10:200) and
//! runc 1.2.4 put it back for compatibility, where it still is. runc no
//! longer lists `/dev/console` (c 5:1): a container's console is a pts
//! (136:*). youki's libcgroups and containerd's `WithDefaultUnixDevices`
//! (used by `ctr` and nerdctl, not by the CRI plugin) still add 5:1.
//! A privileged container gets every device (containerd's
//! `WithPrivileged`/`WithDevices` give it `a *:* rwm`).
//!
//! This module only decides; `minipod-linux` (`cgroup/devices.rs`) writes
//! the rules into the kernel.

use std::fmt;

/// `c` or `b` in the kernel's rule syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceType {
    Char,
    Block,
}

impl DeviceType {
    pub fn letter(self) -> char {
        match self {
            DeviceType::Char => 'c',
            DeviceType::Block => 'b',
        }
    }
}

/// What a process asks to do with a device: `r`ead, `w`rite, `m`knod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceAccess {
    pub read: bool,
    pub write: bool,
    pub mknod: bool,
}

impl DeviceAccess {
    pub const RWM: DeviceAccess = DeviceAccess {
        read: true,
        write: true,
        mknod: true,
    };
    pub const MKNOD: DeviceAccess = DeviceAccess {
        read: false,
        write: false,
        mknod: true,
    };

    /// True if everything `asked` asks for is in `self`.
    pub fn covers(self, asked: DeviceAccess) -> bool {
        (self.read || !asked.read) && (self.write || !asked.write) && (self.mknod || !asked.mknod)
    }
}

impl fmt::Display for DeviceAccess {
    /// `rwm`, `m`, `rw`: the kernel's letters, in its order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, letter) in [(self.read, 'r'), (self.write, 'w'), (self.mknod, 'm')] {
            if on {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// One allowed device (or set of devices): a type, a major and a minor
/// number (`None` is the kernel's `*`, any number), and the access allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceRule {
    pub device_type: DeviceType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: DeviceAccess,
}

impl DeviceRule {
    const fn char(major: u32, minor: u32) -> DeviceRule {
        DeviceRule {
            device_type: DeviceType::Char,
            major: Some(major),
            minor: Some(minor),
            access: DeviceAccess::RWM,
        }
    }

    /// True if this rule lets `access` to the device happen.
    pub fn allows(
        &self,
        device_type: DeviceType,
        major: u32,
        minor: u32,
        access: DeviceAccess,
    ) -> bool {
        self.device_type == device_type
            && self.major.is_none_or(|m| m == major)
            && self.minor.is_none_or(|m| m == minor)
            && self.access.covers(access)
    }
}

impl fmt::Display for DeviceRule {
    /// The kernel's syntax, as `devices.allow` takes it and `devices.list`
    /// shows it: `c 1:3 rwm`, `c 136:* rwm`, `b *:* m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        write!(
            f,
            "{} {}:{} {}",
            self.device_type.letter(),
            number(self.major),
            number(self.minor),
            self.access
        )
    }
}

/// runc's built-in allow list (`AllowedDevices`), in its order, which
/// containerd's "deny everything" turns into the whole list of a
/// non-privileged container.
pub const DEFAULT_ALLOWED: [DeviceRule; 11] = [
    // mknod of any device: creating a node is harmless while opening it is
    // refused.
    DeviceRule {
        device_type: DeviceType::Char,
        major: None,
        minor: None,
        access: DeviceAccess::MKNOD,
    },
    DeviceRule {
        device_type: DeviceType::Block,
        major: None,
        minor: None,
        access: DeviceAccess::MKNOD,
    },
    DeviceRule::char(1, 3), // /dev/null
    DeviceRule::char(1, 8), // /dev/random
    DeviceRule::char(1, 7), // /dev/full
    DeviceRule::char(5, 0), // /dev/tty
    DeviceRule::char(1, 5), // /dev/zero
    DeviceRule::char(1, 9), // /dev/urandom
    // /dev/pts/*: the terminals of the container's own devpts.
    DeviceRule {
        device_type: DeviceType::Char,
        major: Some(136),
        minor: None,
        access: DeviceAccess::RWM,
    },
    DeviceRule::char(5, 2),    // /dev/ptmx
    DeviceRule::char(10, 200), // /dev/net/tun (see the module's doc)
];

/// The device nodes a container's init makes in its `/dev` (the OCI
/// runtime spec's default devices but `ptmx`, a link to `pts/ptmx`):
/// name, major, minor. Each is in
/// [`DEFAULT_ALLOWED`] (a unit test checks it), so a confined container can
/// use its own `/dev`.
pub const DEV_NODES: [(&str, u32, u32); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// A container's device cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePolicy {
    /// Every device, every access (`a *:* rwm`): privileged containers.
    AllowAll,
    /// Nothing but these rules (`a *:* rwm` denied first).
    DenyAllExcept(Vec<DeviceRule>),
}

impl DevicePolicy {
    /// True if a process under this policy may do `access` to the device.
    /// This is the meaning the kernel gives the rules; the v2 program that
    /// `minipod-linux` assembles is tested against it.
    pub fn allows(
        &self,
        device_type: DeviceType,
        major: u32,
        minor: u32,
        access: DeviceAccess,
    ) -> bool {
        match self {
            DevicePolicy::AllowAll => true,
            DevicePolicy::DenyAllExcept(rules) => rules
                .iter()
                .any(|r| r.allows(device_type, major, minor, access)),
        }
    }

    /// The lines to write, in order, into a new v1 cgroup's `devices.deny`
    /// and `devices.allow` files: (file, line). A new v1 cgroup inherits
    /// its parent's list (`a *:* rwm` under minipod's pod cgroups), so a
    /// deny-all must come first or the allow lines restrict nothing.
    pub fn v1_writes(&self) -> Vec<(&'static str, String)> {
        match self {
            DevicePolicy::AllowAll => vec![("devices.allow", "a *:* rwm".to_owned())],
            DevicePolicy::DenyAllExcept(rules) => {
                let mut writes = vec![("devices.deny", "a *:* rwm".to_owned())];
                writes.extend(rules.iter().map(|r| ("devices.allow", r.to_string())));
                writes
            }
        }
    }
}

/// The device policy of a container: every device when `privileged`,
/// otherwise the default list only. (minipod has no device plugins and no
/// `devices` of its own to add, so the default list is the whole list.)
pub fn container_devices(privileged: bool) -> DevicePolicy {
    if privileged {
        DevicePolicy::AllowAll
    } else {
        DevicePolicy::DenyAllExcept(DEFAULT_ALLOWED.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: DeviceAccess = DeviceAccess {
        read: true,
        write: false,
        mknod: false,
    };

    #[test]
    fn the_default_list_is_runcs_in_the_kernels_syntax() {
        let lines: Vec<String> = DEFAULT_ALLOWED.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            lines,
            [
                "c *:* m",
                "b *:* m",
                "c 1:3 rwm",
                "c 1:8 rwm",
                "c 1:7 rwm",
                "c 5:0 rwm",
                "c 1:5 rwm",
                "c 1:9 rwm",
                "c 136:* rwm",
                "c 5:2 rwm",
                "c 10:200 rwm",
            ]
        );
    }

    #[test]
    fn a_confined_container_may_make_any_node_but_open_only_the_listed_ones() {
        let policy = container_devices(false);
        // The attack: a host disk (b 8:0, b 253:0), /dev/kmsg (c 1:11), /dev/mem (c 1:1).
        for (t, major, minor) in [
            (DeviceType::Block, 8, 0),
            (DeviceType::Block, 253, 0),
            (DeviceType::Char, 1, 11),
            (DeviceType::Char, 1, 1),
        ] {
            assert!(
                policy.allows(t, major, minor, DeviceAccess::MKNOD),
                "{major}:{minor} mknod"
            );
            assert!(
                !policy.allows(t, major, minor, READ),
                "{major}:{minor} read"
            );
            assert!(
                !policy.allows(t, major, minor, DeviceAccess::RWM),
                "{major}:{minor} rwm"
            );
        }
        assert!(
            policy.allows(DeviceType::Char, 136, 7, DeviceAccess::RWM),
            "a pts"
        );
        assert!(
            !policy.allows(DeviceType::Block, 1, 3, READ),
            "the type matters"
        );
    }

    #[test]
    fn every_node_of_the_containers_own_dev_is_allowed() {
        let policy = container_devices(false);
        for (name, major, minor) in DEV_NODES {
            assert!(
                policy.allows(DeviceType::Char, major, minor, DeviceAccess::RWM),
                "/dev/{name}"
            );
        }
        // /dev/ptmx is a link to pts/ptmx, the devpts instance's own c 5:2.
        assert!(
            policy.allows(DeviceType::Char, 5, 2, DeviceAccess::RWM),
            "ptmx"
        );
    }

    #[test]
    fn privileged_gets_every_device() {
        let policy = container_devices(true);
        assert_eq!(policy, DevicePolicy::AllowAll);
        assert!(policy.allows(DeviceType::Block, 8, 0, DeviceAccess::RWM));
        assert_eq!(
            policy.v1_writes(),
            [("devices.allow", "a *:* rwm".to_owned())]
        );
    }

    #[test]
    fn v1_denies_everything_first_then_allows_the_list() {
        let writes = container_devices(false).v1_writes();
        assert_eq!(writes[0], ("devices.deny", "a *:* rwm".to_owned()));
        assert_eq!(writes.len(), 1 + DEFAULT_ALLOWED.len());
        assert!(writes[1..].iter().all(|(file, _)| *file == "devices.allow"));
        assert_eq!(writes[3].1, "c 1:3 rwm");
    }

    #[test]
    fn access_prints_and_covers_as_the_kernel_does() {
        assert_eq!(DeviceAccess::RWM.to_string(), "rwm");
        assert_eq!(DeviceAccess::MKNOD.to_string(), "m");
        assert!(DeviceAccess::RWM.covers(READ));
        assert!(!DeviceAccess::MKNOD.covers(READ));
        assert!(READ.covers(READ) && !READ.covers(DeviceAccess::RWM));
    }
}
