//! Writing the plan's values into a cgroup, through libcgroups' `apply`.
//!
//! The plan ([`CgroupValues`]) carries the kubelet's v1 numbers and the v2
//! numbers derived from them. We hand libcgroups the v1 numbers in an OCI
//! `LinuxResources`, as the kubelet hands them to runc, and libcgroups
//! writes the files of the host's version:
//!
//! | plan                 | v1 file                 | v2 file       |
//! |----------------------|-------------------------|---------------|
//! | `cpuShares`          | `cpu.shares`            | `cpu.weight` (converted, see below) |
//! | `cpuQuotaUs`, period | `cpu.cfs_quota_us`, `cpu.cfs_period_us` | `cpu.max` (`"<quota> <period>"`, `"max <period>"`) |
//! | `memoryLimitBytes`   | `memory.limit_in_bytes` | `memory.max`  |
//! | pids limit (option)  | `pids.max`              | `pids.max`    |
//!
//! The v2 weight: libcgroups 0.7 converts shares with runc ≥ 1.3's formula,
//! the one the plan uses for `cpuWeight` (decision 0003). The unit test
//! below runs libcgroups' conversion against the plan's over the whole range,
//! so a libcgroups upgrade that changes it fails here, not on a user's host.
//!
//! Unset values are not written: a new cgroup starts unlimited (`-1`,
//! `max`), and that is what "no limit" means in the plan.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use libcgroups::common::{CgroupManager, ControllerOpt};
use minipod_plan::cgroup::CgroupValues;
use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};

use super::CgroupError;
use super::hierarchy::{CgroupVersion, Hierarchy};

/// What to write into one cgroup.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub values: &'a CgroupValues,
    /// `pids.max`, when set.
    pub pids_limit: Option<i64>,
    /// v2 only: `memory.oom.group = 1`, so the OOM killer takes the whole
    /// cgroup at once (`cgroup-v2.rst`, "memory.oom.group"). The kubelet
    /// asks for it on every container on v2 unless `singleProcessOOMKill` is
    /// set (`kuberuntime_container_linux.go`); v1 has no such file and
    /// always kills one process.
    pub oom_group: bool,
}

/// The OCI resources libcgroups applies for `settings`.
pub fn linux_resources(
    settings: &Settings<'_>,
    version: CgroupVersion,
) -> Result<LinuxResources, oci_spec::OciSpecError> {
    let values = settings.values;
    let mut cpu = LinuxCpuBuilder::default()
        .shares(values.cpu_shares)
        // The plan's period is the kubelet's (and the kernel's default)
        // 100 000 µs; it is never negative.
        .period(u64::try_from(values.cpu_period_us).unwrap_or(100_000));
    if let Some(quota) = values.cpu_quota_us {
        cpu = cpu.quota(quota);
    }
    let mut resources = LinuxResourcesBuilder::default().cpu(cpu.build()?);
    if let Some(limit) = values.memory_limit_bytes {
        resources = resources.memory(LinuxMemoryBuilder::default().limit(limit).build()?);
    }
    if let Some(limit) = settings.pids_limit {
        resources = resources.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }
    if settings.oom_group && version == CgroupVersion::V2 {
        resources = resources.unified(HashMap::from([(
            "memory.oom.group".to_owned(),
            "1".to_owned(),
        )]));
    }
    resources.build()
}

/// Writes `settings` into the existing cgroup `rel` (relative to each
/// hierarchy's root). libcgroups never makes directories in `apply` (only
/// in `add_task`), so the caller has made them in every hierarchy.
pub fn apply(
    version: CgroupVersion,
    hierarchies: &[Hierarchy],
    rel: &Path,
    settings: &Settings<'_>,
) -> Result<(), CgroupError> {
    let shown = || match version {
        CgroupVersion::V2 => hierarchies
            .first()
            .map_or_else(|| rel.to_owned(), |h| h.mount.join(rel)),
        CgroupVersion::V1 => PathBuf::from("/sys/fs/cgroup/*").join(rel),
    };
    let error = |source: Box<dyn std::error::Error + Send + Sync>| CgroupError::Apply {
        path: shown(),
        source,
    };
    let resources = linux_resources(settings, version).map_err(|e| error(Box::new(e)))?;
    let opt = ControllerOpt {
        resources: &resources,
        disable_oom_killer: false,
        oom_score_adj: None,
        freezer_state: None,
    };
    match version {
        CgroupVersion::V1 => {
            // The v1 manager finds each controller's hierarchy from
            // /proc/self/mountinfo and takes `rel` relative to its root.
            let manager =
                libcgroups::v1::manager::Manager::new(rel).map_err(|e| error(e.into()))?;
            manager.apply(&opt).map_err(|e| error(e.into()))
        }
        CgroupVersion::V2 => {
            let mount = hierarchies
                .first()
                .map_or_else(|| PathBuf::from("/sys/fs/cgroup"), |h| h.mount.clone());
            let manager = libcgroups::v2::manager::Manager::new(mount, rel.to_owned())
                .map_err(|e| error(e.into()))?;
            manager.apply(&opt).map_err(|e| error(e.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use minipod_plan::cpu::shares_to_weight;

    use super::*;

    /// A directory standing in for a fresh v2 cgroup. Its files are plain
    /// files, which libcgroups writes without truncating (cgroupfs does not
    /// care): `reset` empties them before each use.
    fn fake_v2_cgroup() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        let dir = root.path().join("pod");
        fs::create_dir(&dir).unwrap();
        reset(&dir);
        (root, dir)
    }

    fn reset(dir: &Path) {
        for (file, value) in [
            ("cpu.weight", ""),
            ("cpu.max", "max 100000"),
            ("memory.max", ""),
            ("memory.oom.group", ""),
            ("pids.max", ""),
        ] {
            fs::write(dir.join(file), value).unwrap();
        }
    }

    fn apply_fake(root: &Path, settings: &Settings<'_>) {
        let hierarchies = [Hierarchy {
            mount: root.to_owned(),
            controllers: Vec::new(),
        }];
        apply(CgroupVersion::V2, &hierarchies, Path::new("pod"), settings).unwrap();
    }

    #[test]
    fn libcgroups_writes_the_plans_cpu_weight_for_every_shares_value() {
        // The plan's `cpuWeight` is what users see in `minipod plan`; the
        // file must hold exactly that. Every shares value up to 2 CPUs
        // (where the weight changes fastest), a sample above, the anchors.
        let (root, dir) = fake_v2_cgroup();
        let mut shares: Vec<u64> = (2..=2048).collect();
        shares.extend((2048..=262_144).step_by(127));
        shares.extend([1024, 262_143, 262_144]);
        for s in shares {
            let values = CgroupValues::new(s, None, None);
            let settings = Settings {
                values: &values,
                pids_limit: None,
                oom_group: false,
            };
            reset(&dir);
            apply_fake(root.path(), &settings);
            let written = fs::read_to_string(dir.join("cpu.weight")).unwrap();
            assert_eq!(written, shares_to_weight(s).to_string(), "shares {s}");
            assert_eq!(written, values.cpu_weight.to_string(), "shares {s}");
        }
    }

    #[test]
    fn v2_files_hold_the_plans_strings() {
        let (root, dir) = fake_v2_cgroup();
        let values = CgroupValues::new(256, Some(50_000), Some(64 << 20));
        let settings = Settings {
            values: &values,
            pids_limit: Some(20),
            oom_group: true,
        };
        apply_fake(root.path(), &settings);
        let file = |name: &str| fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(file("cpu.max"), values.cpu_max);
        assert_eq!(file("memory.max"), values.memory_max);
        assert_eq!(file("cpu.weight"), values.cpu_weight.to_string());
        assert_eq!(file("pids.max"), "20");
        assert_eq!(file("memory.oom.group"), "1");
    }

    #[test]
    fn unset_limits_are_not_written() {
        let values = CgroupValues::new(2, None, None);
        let settings = Settings {
            values: &values,
            pids_limit: None,
            oom_group: true,
        };
        let v1 = linux_resources(&settings, CgroupVersion::V1).unwrap();
        assert!(v1.memory().is_none() && v1.pids().is_none() && v1.unified().is_none());
        let cpu = v1.cpu().as_ref().unwrap();
        assert_eq!(
            (cpu.shares(), cpu.quota(), cpu.period()),
            (Some(2), None, Some(100_000))
        );
    }
}
