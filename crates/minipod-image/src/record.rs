//! What the store records about an image (`images.json`), also what an
//! import stages before the store records it.

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// One layer of an image, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// The layer blob as imported (compressed or not): `blobs/sha256/<hex>`.
    pub blob: Digest,
    /// The digest of the uncompressed tar: `layers/sha256/<hex>`.
    pub diff_id: Digest,
    /// The blob's media type (minipod's choice for `docker save` layers).
    pub media_type: String,
    /// The blob's size in bytes.
    pub size: u64,
}

/// An image name and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The normalised name, e.g. `docker.io/library/busybox:1.36`.
    pub name: String,
    /// The manifest blob (for `docker save` archives, the one minipod wrote).
    pub manifest: Digest,
    /// The config blob; its digest is the image ID.
    pub config: Digest,
    /// The layers, lowest first.
    pub layers: Vec<LayerRecord>,
    /// Config plus layer blobs, in bytes (what `crictl images` shows as SIZE).
    pub size: u64,
    /// When the name was imported, in seconds since the epoch.
    pub imported: u64,
}
