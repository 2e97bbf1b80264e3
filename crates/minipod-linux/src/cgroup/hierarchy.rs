//! The host's cgroup hierarchies, and the few file operations minipod does
//! on them itself (making directories, reading and writing control files).
//!
//! * cgroup v1 (`Documentation/admin-guide/cgroup-v1/cgroups.rst`): one
//!   hierarchy per controller, or per group of co-mounted controllers
//!   (`/sys/fs/cgroup/cpu,cpuacct`). A cgroup is a directory *in each*
//!   hierarchy, with the same relative path; a process is in one cgroup per
//!   hierarchy.
//! * cgroup v2 (`Documentation/admin-guide/cgroup-v2.rst`): one hierarchy,
//!   mounted at `/sys/fs/cgroup`; a cgroup is one directory and a controller
//!   is available in it only if its parent lists it in
//!   `cgroup.subtree_control` ("Enabling and Disabling").
//! * "Hybrid" hosts (systemd's default before v2) mount the v1 hierarchies
//!   and an extra, usually controller-less, cgroup2 hierarchy at
//!   `/sys/fs/cgroup/unified`. All limits live in the v1 hierarchies, so
//!   minipod treats hybrid as v1 and leaves `unified` alone, as libcgroups
//!   (and the kubelet's cgroupfs driver) do.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use libcgroups::common::{CgroupSetup as LibSetup, DEFAULT_CGROUP_ROOT, get_cgroup_setup};

use super::CgroupError;

/// How the host mounts its cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupSetup {
    /// cgroup v1 only.
    Legacy,
    /// cgroup v1, plus a cgroup2 hierarchy at `/sys/fs/cgroup/unified` that
    /// minipod does not use.
    Hybrid,
    /// cgroup v2 only, at `/sys/fs/cgroup`.
    Unified,
}

/// The cgroup version minipod writes: v1 on legacy and hybrid hosts, v2 on
/// unified ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

impl CgroupSetup {
    pub fn version(self) -> CgroupVersion {
        match self {
            CgroupSetup::Legacy | CgroupSetup::Hybrid => CgroupVersion::V1,
            CgroupSetup::Unified => CgroupVersion::V2,
        }
    }
}

/// The controllers minipod enables for its cgroups on v2, when the parent
/// offers them: the ones the plan's values (and the pids limit) need.
pub const V2_CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted (`/sys/fs/cgroup/memory`, or `/sys/fs/cgroup` on v2).
    pub mount: PathBuf,
    /// v1: the controllers bound to it (`["cpu", "cpuacct"]` when
    /// co-mounted). v2: empty (the controllers are per directory).
    pub controllers: Vec<String>,
}

impl Hierarchy {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// Detects the host's setup with libcgroups (a `statfs` of `/sys/fs/cgroup`:
/// cgroup2 → unified; tmpfs with a cgroup2 `unified` below it → hybrid;
/// tmpfs → legacy) and lists the hierarchies minipod will use.
///
/// On v1 that is every mounted hierarchy libcgroups supports, as the
/// kubelet creates pod cgroups in every mounted subsystem: a process is
/// then accounted and limited everywhere, and libcgroups' `apply` (which
/// always writes the device rules) finds every directory it expects.
pub fn detect() -> Result<(CgroupSetup, Vec<Hierarchy>), CgroupError> {
    let setup = match get_cgroup_setup().map_err(|e| CgroupError::Detect(e.to_string()))? {
        LibSetup::Legacy => CgroupSetup::Legacy,
        LibSetup::Hybrid => CgroupSetup::Hybrid,
        LibSetup::Unified => CgroupSetup::Unified,
    };
    let hierarchies = match setup.version() {
        CgroupVersion::V2 => vec![Hierarchy {
            mount: PathBuf::from(DEFAULT_CGROUP_ROOT),
            controllers: Vec::new(),
        }],
        CgroupVersion::V1 => {
            let mounts = libcgroups::v1::util::list_supported_mount_points()
                .map_err(|e| CgroupError::Detect(e.to_string()))?;
            // Co-mounted controllers share one directory: one hierarchy.
            let mut by_mount: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
            for (controller, mount) in mounts {
                by_mount
                    .entry(mount)
                    .or_default()
                    .push(controller.to_string());
            }
            by_mount
                .into_iter()
                .map(|(mount, mut controllers)| {
                    controllers.sort();
                    Hierarchy { mount, controllers }
                })
                .collect()
        }
    };
    if hierarchies.is_empty() {
        return Err(CgroupError::NoHierarchies);
    }
    Ok((setup, hierarchies))
}

/// Reads a control file, without its trailing newline.
pub fn read(path: &Path) -> Result<String, CgroupError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text.trim_end().to_owned()),
        Err(source) => Err(CgroupError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes a control file in one `write(2)`: the kernel parses each write
/// on its own. The file is never created (a missing file means the
/// controller is not enabled here, and should say so: `ENOENT`).
pub fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    let error = |source| CgroupError::Write {
        path: path.to_owned(),
        value: value.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(error)?;
    let written = file.write(value.as_bytes()).map_err(error)?;
    if written != value.len() {
        return Err(error(io::Error::new(
            io::ErrorKind::WriteZero,
            "short write to a cgroup file",
        )));
    }
    Ok(())
}

/// The value of `key` in a flat-keyed file (`memory.events`,
/// `memory.oom_control`, `pids.events`: one `key value` per line).
pub fn keyed_value(path: &Path, key: &str) -> Result<u64, CgroupError> {
    let text = read(path)?;
    let parse = |value: &str| {
        value.parse::<u64>().map_err(|e| CgroupError::Parse {
            path: path.to_owned(),
            reason: format!("{key} {value:?}: {e}"),
        })
    };
    for line in text.lines() {
        if let Some((k, value)) = line.split_once(' ')
            && k == key
        {
            return parse(value.trim());
        }
    }
    Err(CgroupError::Parse {
        path: path.to_owned(),
        reason: format!("no {key:?} line (kernel too old?)"),
    })
}

/// The processes of one cgroup directory (`cgroup.procs`: one pid per
/// line, in the reader's pid namespace).
pub fn procs(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let path = dir.join("cgroup.procs");
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        // Already removed: nothing in it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(CgroupError::Read { path, source }),
    };
    text.lines()
        .map(|line| {
            line.trim().parse::<i32>().map_err(|e| CgroupError::Parse {
                path: path.clone(),
                reason: format!("pid {line:?}: {e}"),
            })
        })
        .collect()
}

/// Makes the cgroup `rel` in one hierarchy. Returns whether it was made by
/// this call: `Ok(false)` when it existed, unless `must_be_new`, which turns
/// that into [`CgroupError::AlreadyExists`].
///
/// A new v1 cpuset cgroup starts with empty `cpuset.cpus` and
/// `cpuset.mems`, and the kernel refuses to put a process into it
/// (`ENOSPC`; `cgroup-v1/cpusets.rst` §1.4 and §2.2). We copy the parent's
/// values, as libcgroups does when it makes directories in `add_task`.
pub fn make_dir(h: &Hierarchy, rel: &Path, must_be_new: bool) -> Result<bool, CgroupError> {
    let dir = h.mount.join(rel);
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return if must_be_new {
                Err(CgroupError::AlreadyExists { path: dir })
            } else {
                Ok(false)
            };
        }
        Err(source) => return Err(CgroupError::Create { path: dir, source }),
    }
    if h.has("cpuset") {
        let copied = copy_from_parent(&dir, "cpuset.cpus")
            .and_then(|()| copy_from_parent(&dir, "cpuset.mems"));
        if let Err(e) = copied {
            let _ = fs::remove_dir(&dir);
            return Err(e);
        }
    }
    Ok(true)
}

fn copy_from_parent(dir: &Path, file: &str) -> Result<(), CgroupError> {
    let parent = dir.parent().unwrap_or(dir);
    let value = read(&parent.join(file))?;
    write(&dir.join(file), &value)
}

/// v2: makes the minipod controllers the parent `dir` offers available to
/// its children, by adding the missing ones to its `cgroup.subtree_control`
/// (`cgroup-v2.rst`, "Enabling and Disabling"). Only directories without
/// processes may do that ("No Internal Process Constraint"), except the
/// root: minipod calls it on its root, QoS and pod cgroups, never on a
/// container's.
pub fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let offered = read(&dir.join("cgroup.controllers"))?;
    let enabled = read(&dir.join("cgroup.subtree_control"))?;
    let missing: Vec<String> = V2_CONTROLLERS
        .iter()
        .filter(|c| offered.split_whitespace().any(|o| o == **c))
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write(&dir.join("cgroup.subtree_control"), &missing.join(" "))
}

/// Removes one cgroup directory. A cgroup is removed with `rmdir(2)` even
/// though it is full of control files: the kernel removes those itself
/// (`cgroup-v2.rst`, "Creating and Removing"). `Ok(false)`: it was gone.
pub fn remove_dir(dir: &Path) -> Result<bool, io::Error> {
    match fs::remove_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// True if the cgroup directory has child cgroups (subdirectories).
pub fn has_children(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_type().is_ok_and(|t| t.is_dir()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_values_are_found_by_exact_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.events");
        fs::write(
            &path,
            "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n",
        )
        .unwrap();
        assert_eq!(keyed_value(&path, "oom_kill").unwrap(), 2);
        assert_eq!(keyed_value(&path, "oom").unwrap(), 3);
        let missing = keyed_value(&path, "oom_kills").unwrap_err().to_string();
        assert!(missing.contains("no \"oom_kills\" line"), "{missing}");
    }

    #[test]
    fn writes_never_create_a_missing_control_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cpu.weight");
        let err = write(&path, "100").unwrap_err();
        assert!(matches!(err, CgroupError::Write { .. }), "{err}");
        assert!(!path.exists());
        assert!(
            err.to_string().starts_with("cannot write \"100\" to "),
            "{err}"
        );
    }

    #[test]
    fn procs_of_a_removed_cgroup_is_empty_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(procs(&dir.path().join("gone")).unwrap(), Vec::<i32>::new());
        fs::write(dir.path().join("cgroup.procs"), "12\n34\n").unwrap();
        assert_eq!(procs(dir.path()).unwrap(), vec![12, 34]);
        fs::write(dir.path().join("cgroup.procs"), "12\nx\n").unwrap();
        assert!(procs(dir.path()).is_err());
    }
}
