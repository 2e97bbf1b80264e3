//! A container cgroup's device rules: which device nodes its processes may
//! open or create. The rules are decided in `minipod_plan::devices`; this
//! writes them into the kernel when the cgroup is made, before any process
//! joins it (the workload, and later every exec helper: probes, hooks,
//! `kubectl exec`), so nothing in the cgroup ever runs unconfined.
//!
//! * cgroup v1: lines written to the `devices` hierarchy's `devices.deny`
//!   and `devices.allow`, in order (deny-all first). The kernel shows the
//!   result in `devices.list`.
//! * cgroup v2: a device filter program ([`super::device_filter`])
//!   attached to the cgroup. A privileged container gets none: with no
//!   program, v2 allows every device.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use minipod_plan::devices::DevicePolicy;

use super::CgroupError;
use super::device_filter;
use super::hierarchy::{self, CgroupVersion, Hierarchy};

/// Writes `policy` into the new, still empty cgroup `rel`.
pub fn apply(
    version: CgroupVersion,
    hierarchies: &[Hierarchy],
    rel: &Path,
    policy: &DevicePolicy,
) -> Result<(), CgroupError> {
    match version {
        CgroupVersion::V1 => {
            let Some(devices) = hierarchies.iter().find(|h| h.has("devices")) else {
                // Without the controller nothing can be confined: refuse to
                // run a confined container rather than run it open.
                return match policy {
                    DevicePolicy::AllowAll => Ok(()),
                    DevicePolicy::DenyAllExcept(_) => Err(CgroupError::NoDevicesController),
                };
            };
            let dir = devices.mount.join(rel);
            for (file, line) in policy.v1_writes() {
                hierarchy::write(&dir.join(file), &line)?;
            }
            Ok(())
        }
        CgroupVersion::V2 => {
            let DevicePolicy::DenyAllExcept(rules) = policy else {
                return Ok(());
            };
            let dir = v2_dir(hierarchies, rel);
            let cgroup = File::open(&dir).map_err(|source| CgroupError::Open {
                path: dir.clone(),
                source,
            })?;
            device_filter::attach(cgroup.as_fd(), rules).map_err(|(step, source)| {
                CgroupError::DeviceFilter {
                    path: dir,
                    step,
                    source,
                }
            })
        }
    }
}

/// The ids of the device filter programs attached to the v2 cgroup `dir`
/// (an absolute cgroup directory), as `bpftool cgroup show` would list
/// them: one for a confined minipod container, none for a privileged one.
pub fn attached_device_filters(dir: &Path) -> Result<Vec<u32>, CgroupError> {
    let cgroup = File::open(dir).map_err(|source| CgroupError::Open {
        path: dir.to_owned(),
        source,
    })?;
    device_filter::query(cgroup.as_fd()).map_err(|source| CgroupError::DeviceFilter {
        path: dir.to_owned(),
        step: "list the device filters (BPF_PROG_QUERY)",
        source,
    })
}

fn v2_dir(hierarchies: &[Hierarchy], rel: &Path) -> PathBuf {
    hierarchies
        .first()
        .map_or_else(|| PathBuf::from("/sys/fs/cgroup"), |h| h.mount.clone())
        .join(rel)
}
