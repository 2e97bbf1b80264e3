//! Where the store keeps what (see the crate documentation for the layout):
//! paths only, so that staging, archives and the store agree on them
//! without depending on each other.

use std::path::PathBuf;

use crate::digest::Digest;

/// The store's paths (see the crate documentation for the layout).
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) root: PathBuf,
}

impl Layout {
    pub(crate) fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }
    pub(crate) fn blob(&self, digest: &Digest) -> PathBuf {
        self.blobs_dir().join(digest.hex())
    }
    pub(crate) fn layers_dir(&self) -> PathBuf {
        self.root.join("layers/sha256")
    }
    pub(crate) fn layer(&self, diff_id: &Digest) -> PathBuf {
        self.layers_dir().join(diff_id.hex())
    }
    pub(crate) fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
    /// The store's own directories, parents first. All are root-only
    /// ([`minipod_linux::private_fs::private_dir`]): the layers keep their
    /// images' setuid binaries and world-writable directories, the blobs
    /// may be private images.
    pub(crate) fn private_dirs(&self) -> [PathBuf; 6] {
        [
            self.root.clone(),
            self.root.join("blobs"),
            self.blobs_dir(),
            self.root.join("layers"),
            self.layers_dir(),
            self.tmp(),
        ]
    }
    pub(crate) fn records(&self) -> PathBuf {
        self.root.join("images.json")
    }
    pub(crate) fn lock(&self) -> PathBuf {
        self.root.join("lock")
    }
}
