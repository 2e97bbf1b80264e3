//! Removing a pod whose monitor died: [`PodRuntime::remove_orphaned`].
//!
//! The monitor holds the pod ([`RunningPod`](crate::pod::RunningPod)): when
//! it dies (SIGKILL, a crash), nobody does. Its containers keep running,
//! reparented to init, with nobody reading their output; the pinned
//! namespaces, `/dev/shm` and the cgroups stay. Whoever finds the monitor
//! gone (the daemon) calls [`PodRuntime::remove_orphaned`], which rebuilds
//! every location from the pod's uid, exactly as
//! [`PodRuntime::create_pod`](crate::pod::PodRuntime::create_pod) computed
//! them, and tears down what it finds there, in the order of
//! `RunningPod::teardown`:
//!
//! 1. each container cgroup under `<root>[/<qos>]/pod<uid>/`, named after a
//!    container of the pod: its processes SIGKILLed (v2 `cgroup.kill`; else
//!    frozen on v1, killed, thawed; then killed again until empty), then
//!    `rmdir`;
//! 2. the pod's network attachment, from the CNI result cache (the
//!    plugins' `DEL`, while the namespace is still pinned);
//! 3. every mount at or below `<run>/pods/<uid>/` and `<state>/pods/<uid>/`
//!    (namespace pins, `/dev/shm`, memory-backed emptyDirs, subPath pins),
//!    deepest first, as `/proc/self/mountinfo` lists them;
//! 4. those two directories, only once no mount is left below them;
//! 5. the pod cgroup itself (the QoS tier and the root stay, as ever).
//!
//! Nothing else is touched: only cgroups and directories named by this
//! pod's uid, and in them only what minipod makes there. A child cgroup of
//! the pod cgroup that is not named after one of its containers is an error,
//! not a target. Container processes die by their cgroup; a pod with
//! `shareProcessNamespace` also has a pause process, which lives in the
//! monitor's cgroup, not the pod's: the caller that recorded it kills it
//! (see `minipod-monitor`'s records). Removing an already removed pod
//! succeeds and reports nothing found.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use minipod_linux::cgroup::{CgroupVersion, EXIT_TIMEOUT, layout};
use minipod_linux::mounts;
use minipod_linux::signals::Signal;
use minipod_plan::QosClass;
use minipod_spec::AdmittedPod;

use crate::pod::{PodError, PodRuntime};

/// What [`PodRuntime::remove_orphaned`] found and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrphanRemoval {
    /// Processes SIGKILLed in the container cgroups (by pid, as listed).
    pub killed: Vec<i32>,
    /// Container cgroups removed (relative paths, as `/proc/<pid>/cgroup` shows them).
    pub cgroups: Vec<PathBuf>,
    /// Mount points unmounted.
    pub unmounted: Vec<PathBuf>,
    /// Directories removed (`<run>/pods/<uid>`, `<state>/pods/<uid>`).
    pub dirs: Vec<PathBuf>,
    /// Whether the pod cgroup existed and was removed.
    pub pod_cgroup: bool,
    /// Whether the pod was still attached to the node's network (and was
    /// detached).
    pub network: bool,
}

impl OrphanRemoval {
    /// Whether anything of the pod was still there.
    pub fn found_anything(&self) -> bool {
        !self.killed.is_empty()
            || !self.cgroups.is_empty()
            || !self.unmounted.is_empty()
            || !self.dirs.is_empty()
            || self.pod_cgroup
            || self.network
    }
}

impl PodRuntime {
    /// Removes what is left of `pod` (of QoS class `qos`, as planned) after
    /// its monitor died: see the module documentation. Every step is tried;
    /// the first error is returned after all of them.
    pub fn remove_orphaned(
        &self,
        pod: &AdmittedPod,
        qos: QosClass,
    ) -> Result<OrphanRemoval, PodError> {
        let uid = pod.uid();
        layout::check_uid(uid)?;
        let node = self.node();
        let run_dir = node.run_dir.join("pods").join(uid);
        let state_dir = node.state_dir.join("pods").join(uid);
        let root = self.cgroup_root();
        let pod_rel = layout::pod_path(root.name(), qos, uid);
        let names: Vec<&str> = pod
            .pod()
            .spec
            .all_containers()
            .map(|(_, c)| c.name.as_str())
            .collect();

        let mut removal = OrphanRemoval::default();
        let mut first: Option<PodError> = None;
        let mut keep = |result: Result<(), PodError>| {
            if let Err(e) = result {
                tracing::warn!(
                    "removing orphaned pod {uid}: {}",
                    minipod_spec::error_chain(&e)
                );
                first.get_or_insert(e);
            }
        };

        // 1. Container cgroups (their processes die with them).
        let pod_dirs = root.dirs_of(&pod_rel);
        let mut children: Vec<String> = Vec::new();
        for dir in &pod_dirs {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                if !children.contains(&name) {
                    children.push(name);
                }
            }
        }
        children.sort();
        for name in children {
            if !names.contains(&name.as_str()) {
                keep(Err(PodError::Io {
                    path: pod_rel.join(&name),
                    source: io::Error::other(
                        "not a container of this pod: left alone (minipod did not make it)",
                    ),
                }));
                continue;
            }
            let rel = pod_rel.join(&name);
            let dirs = existing(root.dirs_of(&rel));
            match remove_cgroup(root.version(), root.hierarchies(), &rel, &dirs) {
                Ok(killed) => {
                    removal.killed.extend(killed);
                    removal.cgroups.push(rel);
                }
                Err(e) => keep(Err(e)),
            }
        }

        // 2. The pod's network, from the result cache, while its
        // namespace is still pinned (as `RunningPod::teardown` does).
        if let Some(network) = self.network() {
            match network.detach_orphan(uid) {
                Ok(found) => removal.network = found,
                Err(e) => keep(Err(e.into())),
            }
        }

        // 3. Mounts below the pod's directories, deepest first.
        let mut unmounted_all = true;
        match mounts_below(&[&run_dir, &state_dir]) {
            Ok(points) => {
                for point in points {
                    match mounts::unmount(&point) {
                        Ok(()) => removal.unmounted.push(point),
                        Err(source) => {
                            unmounted_all = false;
                            keep(Err(PodError::Io {
                                path: point,
                                source,
                            }));
                        }
                    }
                }
            }
            Err(source) => {
                unmounted_all = false;
                keep(Err(PodError::Io {
                    path: "/proc/self/mountinfo".into(),
                    source,
                }));
            }
        }
        // A mount may be stacked twice on one point; look again.
        if unmounted_all {
            match mounts_below(&[&run_dir, &state_dir]) {
                Ok(left) if left.is_empty() => {}
                Ok(left) => {
                    unmounted_all = false;
                    keep(Err(PodError::Io {
                        path: left[0].clone(),
                        source: io::Error::other("still mounted after unmounting"),
                    }));
                }
                Err(_) => unmounted_all = false,
            }
        }

        // 4. The directories: never deleted through a mount.
        if unmounted_all {
            for dir in [&run_dir, &state_dir] {
                match fs::remove_dir_all(dir) {
                    Ok(()) => removal.dirs.push(dir.clone()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => keep(Err(PodError::Io {
                        path: dir.clone(),
                        source,
                    })),
                }
            }
        }

        // 5. The pod cgroup (it holds no process of its own).
        let dirs = existing(pod_dirs);
        if !dirs.is_empty() {
            match remove_cgroup(root.version(), root.hierarchies(), &pod_rel, &dirs) {
                Ok(killed) => {
                    removal.killed.extend(killed);
                    removal.pod_cgroup = true;
                }
                Err(e) => keep(Err(e)),
            }
        }

        match first {
            Some(e) => Err(e),
            None => Ok(removal),
        }
    }
}

fn existing(dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    dirs.into_iter().filter(|d| d.is_dir()).collect()
}

/// The processes listed in the `cgroup.procs` of `dirs`, sorted.
fn members(dirs: &[PathBuf]) -> Result<Vec<i32>, PodError> {
    let mut all = Vec::new();
    for dir in dirs {
        let path = dir.join("cgroup.procs");
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(PodError::Io { path, source }),
        };
        for line in text.lines() {
            let pid = line.trim().parse::<i32>().map_err(|e| PodError::Io {
                path: path.clone(),
                source: io::Error::other(format!("pid {line:?}: {e}")),
            })?;
            all.push(pid);
        }
    }
    all.sort_unstable();
    all.dedup();
    Ok(all)
}

/// SIGKILLs each listed member; returns the pids signalled.
fn kill_members(dirs: &[PathBuf]) -> Result<Vec<i32>, PodError> {
    let pids = members(dirs)?;
    for &pid in &pids {
        // A listing from another pid namespace shows 0; never init or us.
        if pid <= 1 || u32::try_from(pid) == Ok(std::process::id()) {
            return Err(PodError::RefuseKill {
                cgroup: dirs.first().cloned().unwrap_or_default(),
                pid,
            });
        }
        // Gone already (Ok(false)) is as good as killed.
        match minipod_linux::kill::kill(pid, Signal::SIGKILL) {
            Ok(_) => {}
            Err(source) => {
                return Err(PodError::Kill {
                    cgroup: dirs.first().cloned().unwrap_or_default(),
                    pid,
                    source,
                });
            }
        }
    }
    Ok(pids)
}

fn write_control(path: &Path, value: &str) -> Result<(), PodError> {
    use std::io::Write;
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|source| PodError::Io {
            path: path.to_owned(),
            source,
        })
}

/// Kills the members of one cgroup (`rel`, present as `dirs`), waits until
/// it is empty and removes its directories: what
/// `minipod_linux::cgroup::ContainerCgroup::remove` does, for a cgroup we
/// only know by its path. Refuses a cgroup with children (never recursive).
fn remove_cgroup(
    version: CgroupVersion,
    hierarchies: &[minipod_linux::cgroup::Hierarchy],
    rel: &Path,
    dirs: &[PathBuf],
) -> Result<Vec<i32>, PodError> {
    for dir in dirs {
        let has_children = fs::read_dir(dir)
            .map(|d| d.flatten().any(|e| e.file_type().is_ok_and(|t| t.is_dir())))
            .unwrap_or(false);
        if has_children {
            return Err(PodError::Io {
                path: dir.clone(),
                source: io::Error::other("the cgroup has child cgroups: not removed"),
            });
        }
    }
    let mut killed = Vec::new();
    if !members(dirs)?.is_empty() {
        let kill_file = dirs
            .iter()
            .map(|d| d.join("cgroup.kill"))
            .collect::<Vec<_>>();
        if version == CgroupVersion::V2 && kill_file.iter().all(|f| f.exists()) {
            killed.extend(members(dirs)?);
            for file in &kill_file {
                write_control(file, "1")?;
            }
        } else {
            let freezer = hierarchies
                .iter()
                .find(|h| h.has("freezer"))
                .map(|h| h.mount.join(rel).join("freezer.state"))
                .filter(|f| f.exists() && version == CgroupVersion::V1);
            if let Some(state) = &freezer {
                write_control(state, "FROZEN")?;
                let start = Instant::now();
                while fs::read_to_string(state).is_ok_and(|s| s.trim() != "FROZEN")
                    && start.elapsed() < Duration::from_secs(1)
                {
                    sleep(Duration::from_millis(2));
                }
            }
            let result = kill_members(dirs);
            if let Some(state) = &freezer {
                write_control(state, "THAWED")?;
            }
            killed.extend(result?);
        }
        // Wait until empty, killing any newcomer.
        let start = Instant::now();
        let mut pause = Duration::from_micros(200);
        loop {
            let left = members(dirs)?;
            if left.is_empty() {
                break;
            }
            if start.elapsed() >= EXIT_TIMEOUT {
                return Err(PodError::Io {
                    path: dirs.first().cloned().unwrap_or_default(),
                    source: io::Error::other(format!(
                        "still holds processes {left:?} after {EXIT_TIMEOUT:?}"
                    )),
                });
            }
            sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
            killed.extend(kill_members(dirs)?);
        }
    }
    for dir in dirs {
        let start = Instant::now();
        loop {
            match fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e)
                    if e.kind() == io::ErrorKind::ResourceBusy
                        && start.elapsed() < EXIT_TIMEOUT =>
                {
                    sleep(Duration::from_millis(5));
                }
                Err(source) => {
                    return Err(PodError::Io {
                        path: dir.clone(),
                        source,
                    });
                }
            }
        }
    }
    killed.sort_unstable();
    killed.dedup();
    Ok(killed)
}

/// The mount points at or below any of `dirs`, deepest first (as
/// `/proc/self/mountinfo` lists them, octal escapes decoded).
fn mounts_below(dirs: &[&Path]) -> io::Result<Vec<PathBuf>> {
    let text = fs::read_to_string("/proc/self/mountinfo")?;
    Ok(mount_points_below(&text, dirs))
}

fn mount_points_below(mountinfo: &str, dirs: &[&Path]) -> Vec<PathBuf> {
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .filter(|point| dirs.iter().any(|dir| point.starts_with(dir)))
        .collect();
    // Deepest first; a point mounted twice is listed twice (unmounted twice).
    points.sort_by(|a, b| {
        b.components()
            .count()
            .cmp(&a.components().count())
            .then_with(|| a.cmp(b))
    });
    points
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_below_the_pod_dirs_come_deepest_first() {
        let mountinfo = "\
22 1 8:1 / / rw - ext4 /dev/sda1 rw
30 22 0:5 / /run/minipod/pods/u1/shm rw - tmpfs tmpfs rw
31 22 0:4 net:[4026532] /run/minipod/pods/u1/sandbox/ns/net rw - nsfs nsfs rw
32 22 0:6 / /var/lib/minipod/pods/u1/volumes/kubernetes.io~empty-dir/my\\040cache rw - tmpfs tmpfs rw
33 22 0:7 / /run/minipod/pods/u10/shm rw - tmpfs tmpfs rw
34 22 0:8 / /run/minipod/pods/u1 rw - tmpfs tmpfs rw
";
        let run = Path::new("/run/minipod/pods/u1");
        let state = Path::new("/var/lib/minipod/pods/u1");
        let points = mount_points_below(mountinfo, &[run, state]);
        assert_eq!(
            points,
            vec![
                PathBuf::from("/var/lib/minipod/pods/u1/volumes/kubernetes.io~empty-dir/my cache"),
                PathBuf::from("/run/minipod/pods/u1/sandbox/ns/net"),
                PathBuf::from("/run/minipod/pods/u1/shm"),
                PathBuf::from("/run/minipod/pods/u1"),
            ]
        );
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape("/a\\040b\\011c\\134d"), "/a b\tc\\d");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/trailing\\04"), "/trailing\\04");
    }
}
