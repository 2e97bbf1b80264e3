//! A pod's volumes: emptyDir (a directory, or a tmpfs with `medium:
//! Memory`) and hostPath (with the kubelet's `type` checks).

use std::fs;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use minipod_linux::mounts;
use minipod_spec::enums::{HostPathType, StorageMedium};
use minipod_spec::model::Volume;

use super::error::{PodError, VolumeError, io_error};
use super::running::RunningPod;
use super::runtime::PodRuntime;

/// The kubelet's directory for emptyDir volumes, under the pod's directory.
pub const EMPTY_DIR_PLUGIN: &str = "kubernetes.io~empty-dir";

impl PodRuntime {
    /// Sets up one volume and returns its host directory (or path).
    pub(super) fn make_volume(
        &self,
        running: &mut RunningPod,
        volume: &Volume,
    ) -> Result<PathBuf, PodError> {
        let failed = |reason: VolumeError| PodError::Volume {
            volume: volume.name.clone(),
            reason,
        };
        if let Some(empty_dir) = &volume.empty_dir {
            let dir = running
                .state_dir
                .join("volumes")
                .join(EMPTY_DIR_PLUGIN)
                .join(&volume.name);
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
            if empty_dir.medium == Some(StorageMedium::Memory) {
                let size = empty_dir
                    .size_limit
                    .as_ref()
                    .and_then(|q| q.checked_value())
                    .and_then(|v| u64::try_from(v).ok())
                    .filter(|v| *v > 0);
                mounts::mount_tmpfs(&dir, size, 0o777, false).map_err(|cause| {
                    failed(VolumeError::Tmpfs {
                        dir: dir.clone(),
                        cause,
                    })
                })?;
                running.tmpfs.push(dir.clone());
            }
            // The kubelet makes an emptyDir world-writable (0777), so any
            // container user can write to it.
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).map_err(io_error(&dir))?;
            return Ok(dir);
        }
        if let Some(host_path) = &volume.host_path {
            let path = PathBuf::from(&host_path.path);
            check_host_path(
                &path,
                host_path.path_type.clone().unwrap_or(HostPathType::Unset),
            )
            .map_err(failed)?;
            return Ok(path);
        }
        // Admission refuses every other volume source.
        Err(failed(VolumeError::Unsupported))
    }
}

/// The kubelet's hostPath `type` checks (`pkg/volume/hostpath`
/// `checkTypeInternal`), with its messages. With no type, a missing path is
/// created as a directory, as containerd does for a bind mount's source.
fn check_host_path(path: &Path, kind: HostPathType) -> Result<(), VolumeError> {
    let meta = fs::metadata(path).ok();
    let file_type = meta.as_ref().map(|m| m.file_type());
    let created = |result: std::io::Result<()>| {
        result.map_err(|cause| VolumeError::Create {
            path: path.to_owned(),
            cause,
        })
    };
    let make_dir = || {
        created(
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(path),
        )
    };
    let must_be = |ok: bool, kind: &'static str| {
        if ok {
            Ok(())
        } else {
            Err(VolumeError::HostPathType {
                path: path.to_owned(),
                kind,
            })
        }
    };
    let is = |test: fn(&fs::FileType) -> bool| file_type.as_ref().is_some_and(test);
    match kind {
        HostPathType::Unset if meta.is_none() => make_dir(),
        HostPathType::Unset => Ok(()),
        HostPathType::DirectoryOrCreate if meta.is_none() => make_dir(),
        HostPathType::DirectoryOrCreate | HostPathType::Directory => {
            must_be(is(fs::FileType::is_dir), "directory")
        }
        HostPathType::FileOrCreate if meta.is_none() => created(
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map(drop),
        ),
        HostPathType::FileOrCreate | HostPathType::File => {
            must_be(is(fs::FileType::is_file), "file")
        }
        HostPathType::Socket => must_be(is(FileTypeExt::is_socket), "socket file"),
        HostPathType::CharDevice => must_be(is(FileTypeExt::is_char_device), "character device"),
        HostPathType::BlockDevice => must_be(is(FileTypeExt::is_block_device), "block device"),
        // Validation admits only the known types.
        HostPathType::Unknown(other) => Err(VolumeError::InvalidType(other.to_string())),
    }
}
