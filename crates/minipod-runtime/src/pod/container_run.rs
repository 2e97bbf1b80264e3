//! One run of a container as the pod keeps it, and its removal.

use std::fs;
use std::path::PathBuf;

use minipod_linux::cgroup::ContainerCgroup;
use minipod_linux::mounts;
use minipod_plan::launch;

use super::error::PodError;

#[derive(Debug)]
pub(super) struct ContainerRun {
    pub(super) cgroup: ContainerCgroup,
    pub(super) dir: PathBuf,
    /// subPath pins under `dir`: unmounted before `dir` is removed.
    pub(super) pinned: Vec<PathBuf>,
    /// What the container's process was started with: a command exec'd
    /// into it (probes, hooks) gets the same user, env, directory and
    /// capabilities.
    pub(super) config: launch::ContainerConfig,
}

impl ContainerRun {
    pub(super) fn remove(self) -> Result<(), PodError> {
        self.cgroup.remove()?;
        // Never delete through a mount that is still there: a pin shows
        // the volume's own files.
        if !unmount_all(&self.pinned) {
            return Err(PodError::Io {
                path: self.dir,
                source: std::io::Error::other("a subPath pin is still mounted"),
            });
        }
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(PodError::Io {
                path: self.dir,
                source,
            }),
        }
    }
}

/// Unmounts each of `pins`; true if all are gone.
pub(super) fn unmount_all(pins: &[PathBuf]) -> bool {
    let mut all = true;
    for pin in pins {
        if let Err(e) = mounts::unmount(pin) {
            tracing::warn!("unmount {}: {e}", pin.display());
            all = false;
        }
    }
    all
}
