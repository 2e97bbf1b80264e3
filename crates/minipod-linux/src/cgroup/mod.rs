//! Pod and container cgroups, sized from the plan, on cgroup v1 and v2.
//!
//! ```text
//! /sys/fs/cgroup/<hierarchy>/          v1: each of cpu, cpuacct, cpuset, memory, pids, ...
//! /sys/fs/cgroup/                      v2: the one hierarchy
//!   minipod/                           CgroupRoot (configurable; "kubepods" for the kubelet)
//!     pod<uid>/                        PodCgroup of a Guaranteed pod
//!       <container>/                   ContainerCgroup: the processes live here
//!     burstable/pod<uid>/<container>/  Burstable pods
//!     besteffort/pod<uid>/<container>/ BestEffort pods (the tier has the minimum cpu share)
//! ```
//!
//! The layout and the values follow the kubelet's cgroupfs driver; see
//! [`layout`] and `docs/cgroups.md`. The lifecycle:
//!
//! 1. [`CgroupRoot::detect`] finds the host's cgroup version and hierarchies.
//! 2. [`PodCgroup::create`] makes the root and QoS tiers if needed (left in
//!    place afterwards, as the kubelet leaves its tiers), then the pod's
//!    cgroup with the plan's pod values. It holds no process.
//! 3. [`ContainerCgroup::create`] makes a container's cgroup with its values
//!    and its device rules (`minipod_plan::devices`; see [`devices`]).
//!    [`ContainerCgroup::open_join`] opens what the child needs to join it
//!    before exec ([`CgroupJoin`]).
//! 4. [`ContainerCgroup::read_oom_kills`] tells an OOM kill from other
//!    SIGKILLs; [`ContainerCgroup::pids`] lists its processes.
//! 5. [`ContainerCgroup::remove`], then [`PodCgroup::remove`]: kill what is
//!    left (only that cgroup's members), wait, `rmdir`.
//!
//! A create that fails midway removes the directories it made: nothing is
//! left half-created. Nothing is removed that the caller did not name: the
//! `remove` methods remove their own cgroup (never recursively), and
//! [`CgroupRoot::remove_if_unused`] only empty tiers and an empty root.

mod device_filter;
mod devices;
mod error;
mod hierarchy;
mod join;
pub mod layout;
mod remove;
mod resources;

use std::path::{Path, PathBuf};

pub use devices::attached_device_filters;
pub use error::CgroupError;
pub use hierarchy::{CgroupSetup, CgroupVersion, Hierarchy, V2_CONTROLLERS};
pub use join::{CgroupJoin, JoinFds, MAX_HIERARCHIES};
pub use layout::DEFAULT_ROOT;
pub use remove::EXIT_TIMEOUT;

use minipod_plan::QosClass;
use minipod_plan::cgroup::CgroupValues;
use minipod_plan::cpu::{MIN_SHARES, shares_to_weight};
use minipod_plan::devices::{DevicePolicy, container_devices};

use resources::Settings;

/// minipod's top cgroup on this host: its name (relative to each
/// hierarchy's root) and the hierarchies it lives in.
#[derive(Debug, Clone)]
pub struct CgroupRoot {
    name: PathBuf,
    setup: CgroupSetup,
    hierarchies: Vec<Hierarchy>,
}

impl CgroupRoot {
    /// Detects the host's cgroups, for a root named `name` (`"minipod"`,
    /// see [`DEFAULT_ROOT`]). Nothing is created yet.
    pub fn detect(name: &str) -> Result<Self, CgroupError> {
        let name = layout::check_root(name)?;
        let (setup, hierarchies) = hierarchy::detect()?;
        Ok(CgroupRoot {
            name,
            setup,
            hierarchies,
        })
    }

    /// The root's path relative to each hierarchy's root.
    pub fn name(&self) -> &Path {
        &self.name
    }

    pub fn setup(&self) -> CgroupSetup {
        self.setup
    }

    pub fn version(&self) -> CgroupVersion {
        self.setup.version()
    }

    /// The hierarchies minipod uses: every supported v1 hierarchy, or the
    /// single v2 one.
    pub fn hierarchies(&self) -> &[Hierarchy] {
        &self.hierarchies
    }

    /// The absolute directories of the cgroup `rel`, one per hierarchy.
    pub fn dirs_of(&self, rel: &Path) -> Vec<PathBuf> {
        self.hierarchies.iter().map(|h| h.mount.join(rel)).collect()
    }

    /// The directory holding `controller`'s files for the cgroup `rel`: on
    /// v1 in that controller's hierarchy, on v2 the cgroup's one directory.
    pub fn dir_for(&self, rel: &Path, controller: &str) -> Option<PathBuf> {
        match self.version() {
            CgroupVersion::V2 => self.hierarchies.first().map(|h| h.mount.join(rel)),
            CgroupVersion::V1 => self
                .hierarchies
                .iter()
                .find(|h| h.has(controller))
                .map(|h| h.mount.join(rel)),
        }
    }

    /// Removes the QoS tiers and the root's own directory (not its parents)
    /// where they are empty; `Ok(true)` if nothing of them is left.
    ///
    /// The kubelet never removes its tiers; minipod keeps them while pods
    /// run too, and this is for tests and for uninstalling. A tier that
    /// still holds a pod is left alone.
    pub fn remove_if_unused(&self) -> Result<bool, CgroupError> {
        let mut all_gone = true;
        let tiers = [QosClass::Burstable, QosClass::BestEffort]
            .into_iter()
            .filter_map(layout::qos_dir)
            .map(|tier| self.name.join(tier));
        for rel in tiers.chain([self.name.clone()]) {
            for dir in self.dirs_of(&rel) {
                match hierarchy::remove_dir(&dir) {
                    Ok(_) => {}
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::ENOTEMPTY)) => {
                        all_gone = false;
                    }
                    Err(source) => return Err(CgroupError::Remove { path: dir, source }),
                }
            }
        }
        Ok(all_gone)
    }

    /// Makes sure the root and the pod's QoS tier exist, in every hierarchy,
    /// ready to hold pod cgroups. A BestEffort tier made here gets the
    /// kubelet's fixed value, the minimum cpu share (2; weight 1 on v2), so
    /// that all BestEffort pods together weigh as little as one minimal
    /// container (`qos_container_manager_linux.go`). The Burstable tier
    /// keeps the default share; the kubelet resizes it to the sum of the
    /// Burstable pods' requests, which needs the list of all pods (a job
    /// for the daemon, not done yet).
    fn ensure_tiers(&self, qos: QosClass) -> Result<(), CgroupError> {
        let mut levels: Vec<&Path> = self
            .name
            .ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        levels.reverse();
        for rel in levels {
            self.make_level(rel, false)?;
        }
        if let Some(tier) = layout::qos_dir(qos) {
            let rel = self.name.join(tier);
            let made = self.make_level(&rel, false)?;
            if !made.is_empty() && qos == QosClass::BestEffort {
                self.write_cpu_share(&rel, MIN_SHARES)?;
            }
        }
        Ok(())
    }

    /// Makes the cgroup `rel` in every hierarchy and returns the
    /// directories this call made. On v2 the parent first offers minipod's
    /// controllers to its children, or the new cgroup would have no
    /// `cpu.*`, `memory.*` or `pids.*` files. The parent is never a
    /// container's cgroup, so it holds no process and may do that.
    fn make_level(&self, rel: &Path, must_be_new: bool) -> Result<Vec<PathBuf>, CgroupError> {
        let mut made = Vec::new();
        let result = self.hierarchies.iter().try_for_each(|h| {
            if self.version() == CgroupVersion::V2 {
                let parent = rel.parent().unwrap_or(Path::new(""));
                hierarchy::enable_controllers(&h.mount.join(parent))?;
            }
            if hierarchy::make_dir(h, rel, must_be_new)? {
                made.push(h.mount.join(rel));
            }
            Ok(())
        });
        match result {
            Ok(()) => Ok(made),
            Err(e) => {
                undo(&made);
                Err(e)
            }
        }
    }

    /// Writes a cpu share to a tier: `cpu.shares` on v1, the same share as
    /// a `cpu.weight` on v2 (converted as the plan converts).
    fn write_cpu_share(&self, rel: &Path, shares: u64) -> Result<(), CgroupError> {
        let Some(dir) = self.dir_for(rel, "cpu") else {
            return Ok(());
        };
        match self.version() {
            CgroupVersion::V1 => hierarchy::write(&dir.join("cpu.shares"), &shares.to_string()),
            CgroupVersion::V2 => hierarchy::write(
                &dir.join("cpu.weight"),
                &shares_to_weight(shares).to_string(),
            ),
        }
    }

    /// Makes the new cgroup `rel` (it must not exist yet) and writes
    /// `settings` and, for a container, its device rules into it; on
    /// failure, removes the directories it made (on v2 that also drops an
    /// attached device filter).
    fn create_cgroup(
        &self,
        rel: &Path,
        settings: &Settings<'_>,
        devices: Option<&DevicePolicy>,
    ) -> Result<(), CgroupError> {
        let made = self.make_level(rel, true)?;
        let applied =
            resources::apply(self.version(), &self.hierarchies, rel, settings).and_then(|()| {
                match devices {
                    Some(policy) => devices::apply(self.version(), &self.hierarchies, rel, policy),
                    None => Ok(()),
                }
            });
        if applied.is_err() {
            undo(&made);
        }
        applied
    }
}

/// Removes freshly made, still empty directories, newest first, after a
/// failed create (best effort: the error being reported is the create's).
fn undo(made: &[PathBuf]) {
    for dir in made.iter().rev() {
        if let Err(e) = hierarchy::remove_dir(dir) {
            tracing::warn!("cannot remove {} after a failed create: {e}", dir.display());
        }
    }
}

/// A pod's cgroup: `<root>[/<qos tier>]/pod<uid>`, with the plan's pod
/// values. It holds no process itself (on v2 it must not, since its
/// children have controllers: "No Internal Process Constraint").
#[derive(Debug, Clone)]
pub struct PodCgroup {
    root: CgroupRoot,
    path: PathBuf,
}

impl PodCgroup {
    /// Makes the pod's cgroup (and the root and QoS tier if needed) and
    /// writes `values` (the plan's `podCgroup`) into it. Fails if the pod's
    /// cgroup already exists: two pods never share one.
    pub fn create(
        root: &CgroupRoot,
        qos: QosClass,
        uid: &str,
        values: &CgroupValues,
    ) -> Result<Self, CgroupError> {
        layout::check_uid(uid)?;
        root.ensure_tiers(qos)?;
        let path = layout::pod_path(&root.name, qos, uid);
        let settings = Settings {
            values,
            pids_limit: None,
            oom_group: false,
        };
        // The pod cgroup keeps every device: its containers' cgroups
        // confine, as the kubelet leaves a pod cgroup's devices alone.
        root.create_cgroup(&path, &settings, None)?;
        Ok(PodCgroup {
            root: root.clone(),
            path,
        })
    }

    /// The pod cgroup's path relative to each hierarchy's root
    /// (`minipod/burstable/pod<uid>`), as `/proc/<pid>/cgroup` shows it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn root(&self) -> &CgroupRoot {
        &self.root
    }

    /// Its directories, one per hierarchy.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.root.dirs_of(&self.path)
    }

    /// The directory with `controller`'s files (see [`CgroupRoot::dir_for`]).
    pub fn dir_for(&self, controller: &str) -> Option<PathBuf> {
        self.root.dir_for(&self.path, controller)
    }

    /// Removes the pod's cgroup: kills any process in the pod cgroup itself
    /// (there should be none), waits, and removes its directories. Its
    /// containers' cgroups must be removed first; the QoS tier and the root
    /// stay. Removing an already removed pod cgroup succeeds.
    pub fn remove(&self) -> Result<(), CgroupError> {
        remove::remove(self.root.version(), &self.root.hierarchies, &self.path)
    }
}

/// One container's cgroup, `<pod>/<container name>`: its processes live
/// here, under the container's and the pod's limits.
#[derive(Debug, Clone)]
pub struct ContainerCgroup {
    root: CgroupRoot,
    path: PathBuf,
}

impl ContainerCgroup {
    /// Makes the container's cgroup under `pod` and writes `values` (the
    /// plan's `containers[].cgroup`) and, if given, `pids.max` into it. On
    /// v2 it also sets `memory.oom.group`, as the kubelet does there. Its
    /// device rules are a non-privileged container's (the default list
    /// only); [`ContainerCgroup::create_with_devices`] takes others. Fails
    /// if it already exists.
    pub fn create(
        pod: &PodCgroup,
        name: &str,
        values: &CgroupValues,
        pids_limit: Option<i64>,
    ) -> Result<Self, CgroupError> {
        let confined = container_devices(false);
        Self::create_with_devices(pod, name, values, pids_limit, &confined)
    }

    /// [`ContainerCgroup::create`] with the device rules `devices`
    /// (`minipod_plan::devices::container_devices`), written before any
    /// process can join the cgroup.
    pub fn create_with_devices(
        pod: &PodCgroup,
        name: &str,
        values: &CgroupValues,
        pids_limit: Option<i64>,
        devices: &DevicePolicy,
    ) -> Result<Self, CgroupError> {
        layout::check_container_name(name)?;
        let root = &pod.root;
        let path = pod.path.join(name);
        let settings = Settings {
            values,
            pids_limit,
            oom_group: true,
        };
        root.create_cgroup(&path, &settings, Some(devices))?;
        Ok(ContainerCgroup {
            root: root.clone(),
            path,
        })
    }

    /// The cgroup's path relative to each hierarchy's root
    /// (`minipod/burstable/pod<uid>/app`), as `/proc/<pid>/cgroup` shows it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its directories, one per hierarchy.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.root.dirs_of(&self.path)
    }

    /// The directory with `controller`'s files (see [`CgroupRoot::dir_for`]).
    pub fn dir_for(&self, controller: &str) -> Option<PathBuf> {
        self.root.dir_for(&self.path, controller)
    }

    /// Opens what a child needs to join this cgroup before it execs (see
    /// [`CgroupJoin`]): one `cgroup.procs` per hierarchy, and on v2 the
    /// directory for `CLONE_INTO_CGROUP`. Drop it once the child runs.
    pub fn open_join(&self) -> Result<CgroupJoin, CgroupError> {
        CgroupJoin::open(self.root.version(), &self.dirs())
    }

    /// The kernel's count of OOM kills in this cgroup: `oom_kill` of v1
    /// `memory.oom_control` (Linux ≥ 4.13) or of v2 `memory.events`. A
    /// container that died of SIGKILL while this grew was `OOMKilled`:
    /// compare with a value read before, not with 1. With v2's
    /// `memory.oom.group` the kernel counts the victim twice (once as the
    /// victim, once as a member of the group it then kills), so one kill
    /// of a one-process container reads 2 there. (libcgroups' stats have
    /// no such counter: their `fail_count` counts limit hits, not kills.)
    pub fn read_oom_kills(&self) -> Result<u64, CgroupError> {
        let (file, what) = match self.root.version() {
            CgroupVersion::V1 => ("memory.oom_control", "memory"),
            CgroupVersion::V2 => ("memory.events", "memory"),
        };
        let dir = self.dir_for(what).ok_or(CgroupError::NoHierarchies)?;
        hierarchy::keyed_value(&dir.join(file), "oom_kill")
    }

    /// The processes in this cgroup (on v1, in any of its hierarchies),
    /// sorted, as pids of minipod's pid namespace.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut all = Vec::new();
        for dir in self.dirs() {
            all.extend(hierarchy::procs(&dir)?);
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Removes the cgroup: SIGKILLs the processes still in it (only its
    /// own), waits until they are gone, and removes its directories.
    /// Removing an already removed cgroup succeeds.
    pub fn remove(&self) -> Result<(), CgroupError> {
        remove::remove(self.root.version(), &self.root.hierarchies, &self.path)
    }
}
