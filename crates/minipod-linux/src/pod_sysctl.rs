//! Writing a pod's sysctls into its own network and IPC namespaces.
//!
//! A file under `/proc/sys/net` or of the IPC sysctls acts on the namespace
//! of the task that opens it (the kernel looks the table up in the
//! opener's `nsproxy`: `net_ctl_header_lookup`, `set_lookup` in
//! `ipc/ipc_sysctl.c`). So the sysctls are written from a short-lived
//! thread that first enters the pod's pinned namespaces with setns(2),
//! which moves that thread only: no other thread of the process, and never
//! the node, sees the change. This is what runc does for a container's
//! `linux.sysctl` after joining its namespaces.
//!
//! The names come from a manifest, so nothing is trusted here: each must
//! be a valid sysctl name ([`minipod_spec::sysctl::is_valid_sysctl_name`]:
//! no empty, `.` or `..` level), belong to the namespace it is written in,
//! and that namespace must be the pod's own. Every name is checked before
//! anything is written.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use minipod_plan::sysctl::PodSysctl;
use minipod_spec::sysctl::{SysctlNamespace, is_valid_sysctl_name, namespaced_by};
use nix::sched::{CloneFlags, setns};

/// The root of the sysctl files.
const PROC_SYS: &str = "/proc/sys";
/// The longest value written: a sysctl file takes at most a page.
pub const MAX_SYSCTL_VALUE_BYTES: usize = 4096;

/// The pod's own pinned namespaces (bind mounts of `/proc/<pid>/ns/...`).
/// `None` where the pod shares the node's namespace: nothing may be
/// written there.
#[derive(Debug, Clone, Copy, Default)]
pub struct PodNamespaces<'a> {
    pub net: Option<&'a Path>,
    pub ipc: Option<&'a Path>,
}

#[derive(Debug, thiserror::Error)]
pub enum PodSysctlError {
    #[error("sysctl {name:?}: not a valid sysctl name")]
    BadName { name: String },
    #[error("sysctl {name:?}: not a sysctl of the pod's {namespace} namespace")]
    WrongNamespace {
        name: String,
        namespace: &'static str,
    },
    #[error("sysctl {name:?}: the pod has no {namespace} namespace of its own")]
    HostNamespace {
        name: String,
        namespace: &'static str,
    },
    #[error("sysctl {name:?}: the value is longer than {MAX_SYSCTL_VALUE_BYTES} bytes")]
    ValueTooLong { name: String },
    #[error("opening the pod's namespace {}", path.display())]
    OpenNamespace {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("entering the pod's namespace {}", path.display())]
    EnterNamespace {
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },
    #[error("writing sysctl {name:?} ({})", path.display())]
    Write {
        name: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the thread writing the pod's sysctls panicked")]
    Thread,
}

/// The file of a dotted sysctl name under `/proc/sys`: levels are
/// separated by dots, and a `/` inside a level stands for a dot of the
/// file's name (`net.ipv4.conf.eth0/100.forwarding` is
/// `net/ipv4/conf/eth0.100/forwarding`).
pub fn sysctl_path(dotted: &str) -> Result<PathBuf, PodSysctlError> {
    let bad = || PodSysctlError::BadName {
        name: dotted.to_owned(),
    };
    if !is_valid_sysctl_name(dotted) {
        return Err(bad());
    }
    let mut path = PathBuf::from(PROC_SYS);
    for level in dotted.split('.') {
        path.push(level.replace('/', "."));
    }
    // Belt and braces: every level is a plain name below /proc/sys.
    let below = path.strip_prefix(PROC_SYS).map_err(|_| bad())?;
    if !below
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(bad());
    }
    Ok(path)
}

/// One checked write: the file, the value and the namespace to enter.
struct Checked<'a> {
    name: &'a str,
    path: PathBuf,
    value: &'a str,
    namespace: SysctlNamespace,
}

fn check<'a>(
    sysctl: &'a PodSysctl,
    namespaces: PodNamespaces<'_>,
) -> Result<Checked<'a>, PodSysctlError> {
    let name = sysctl.name.as_str();
    let path = sysctl_path(name)?;
    let namespace = sysctl.namespace;
    if namespaced_by(name) != Some(namespace) {
        return Err(PodSysctlError::WrongNamespace {
            name: name.to_owned(),
            namespace: namespace.as_str(),
        });
    }
    let own = match namespace {
        SysctlNamespace::Net => namespaces.net,
        SysctlNamespace::Ipc => namespaces.ipc,
    };
    if own.is_none() {
        return Err(PodSysctlError::HostNamespace {
            name: name.to_owned(),
            namespace: namespace.as_str(),
        });
    }
    if sysctl.value.len() > MAX_SYSCTL_VALUE_BYTES {
        return Err(PodSysctlError::ValueTooLong {
            name: name.to_owned(),
        });
    }
    Ok(Checked {
        name,
        path,
        value: &sysctl.value,
        namespace,
    })
}

/// Writes `sysctls` in the pod's `namespaces`, in order, from a thread
/// that enters them and ends with the writes. Every sysctl is checked
/// first; on an error later sysctls are not written (those written are
/// in the pod's namespaces, which go with the pod).
pub fn write_pod_sysctls(
    namespaces: PodNamespaces<'_>,
    sysctls: &[PodSysctl],
) -> Result<(), PodSysctlError> {
    let checked = sysctls
        .iter()
        .map(|s| check(s, namespaces))
        .collect::<Result<Vec<_>, _>>()?;
    if checked.is_empty() {
        return Ok(());
    }
    let needs = |ns| checked.iter().any(|c| c.namespace == ns);
    let mut to_enter = Vec::new();
    for (ns, path, flag) in [
        (
            SysctlNamespace::Net,
            namespaces.net,
            CloneFlags::CLONE_NEWNET,
        ),
        (
            SysctlNamespace::Ipc,
            namespaces.ipc,
            CloneFlags::CLONE_NEWIPC,
        ),
    ] {
        if let Some(path) = path.filter(|_| needs(ns)) {
            let file = File::open(path).map_err(|source| PodSysctlError::OpenNamespace {
                path: path.to_owned(),
                source,
            })?;
            to_enter.push((file, path, flag));
        }
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                for (file, path, flag) in &to_enter {
                    setns(file, *flag).map_err(|source| PodSysctlError::EnterNamespace {
                        path: path.to_path_buf(),
                        source,
                    })?;
                }
                checked.iter().try_for_each(write_one)
            })
            .join()
            .unwrap_or(Err(PodSysctlError::Thread))
    })
}

/// Writes one value to an existing sysctl file: never creates one.
fn write_one(sysctl: &Checked<'_>) -> Result<(), PodSysctlError> {
    let failed = |source| PodSysctlError::Write {
        name: sysctl.name.to_owned(),
        path: sysctl.path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .open(&sysctl.path)
        .map_err(failed)?;
    file.write_all(sysctl.value.as_bytes()).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_below_proc_sys() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_local_port_range").unwrap(),
            Path::new("/proc/sys/net/ipv4/ip_local_port_range")
        );
        assert_eq!(
            sysctl_path("net.ipv4.conf.eth0/100.forwarding").unwrap(),
            Path::new("/proc/sys/net/ipv4/conf/eth0.100/forwarding")
        );
        for hostile in [
            "net.ipv4.conf./../../kernel.core_pattern",
            "net/../kernel/core_pattern",
            "net....kernel.core_pattern",
            "net.ipv4.conf/..",
            "/etc/passwd",
            "net.ipv4.x\n",
            "",
        ] {
            assert!(
                matches!(sysctl_path(hostile), Err(PodSysctlError::BadName { .. })),
                "{hostile:?}"
            );
        }
    }

    fn sysctl(namespace: SysctlNamespace, name: &str) -> PodSysctl {
        PodSysctl {
            namespace,
            name: name.into(),
            value: "1".into(),
        }
    }

    #[test]
    fn nothing_is_written_outside_the_pods_own_namespaces() {
        let pinned = PodNamespaces {
            net: Some(Path::new("/nonexistent/net")),
            ipc: None,
        };
        // Checked before any namespace is opened: the paths above do not exist.
        let cases = [
            (
                sysctl(SysctlNamespace::Net, "kernel.core_pattern"),
                "WrongNamespace",
            ),
            (
                sysctl(SysctlNamespace::Ipc, "net.ipv4.tcp_syncookies"),
                "WrongNamespace",
            ),
            (
                sysctl(SysctlNamespace::Ipc, "kernel.shm_rmid_forced"),
                "HostNamespace",
            ),
            (sysctl(SysctlNamespace::Net, "net/../kernel/x"), "BadName"),
        ];
        for (bad, want) in cases {
            let err = write_pod_sysctls(pinned, std::slice::from_ref(&bad)).unwrap_err();
            assert!(format!("{err:?}").starts_with(want), "{bad:?}: {err:?}");
        }
        let mut long = sysctl(SysctlNamespace::Net, "net.ipv4.tcp_syncookies");
        long.value = "1".repeat(MAX_SYSCTL_VALUE_BYTES + 1);
        assert!(matches!(
            write_pod_sysctls(pinned, &[long]),
            Err(PodSysctlError::ValueTooLong { .. })
        ));
        assert!(write_pod_sysctls(PodNamespaces::default(), &[]).is_ok());
    }
}
