//! # minipod-image: the local image store
//!
//! Images come in as files, never from the network: an OCI image layout (a
//! directory, or the same as a tar, plain or compressed) or a
//! `docker save`/`podman save` archive ([`Store::import`]). Every blob is
//! checked against its sha256 digest, every layer is extracted once, safely
//! ([`extract`]), and checked against the `rootfs.diff_ids` of the image
//! config. What comes out is what the runtime needs to start a container
//! ([`Store::resolve`]): the image's run defaults ([`ImageDefaults`]) and the
//! layer directories to stack as the overlayfs `lowerdir`.
//!
//! ## Layout on disk
//!
//! ```text
//! <root>/                          default /var/lib/minipod/images
//!   lock                           flock(2): exclusive while changing, shared while reading
//!   images.json                    the records: name → manifest, config, layers (replaced atomically)
//!   blobs/sha256/<hex>             manifests, configs and layer blobs as imported, by digest
//!   layers/sha256/<diff_id hex>/   one extracted layer, by the digest of its uncompressed tar
//!   tmp/import-XXXXXX/             an import in progress (nothing else ever points here)
//! ```
//!
//! * A blob is stored once, whatever refers to it; a layer is extracted once,
//!   whichever images share it (keyed by diff_id, so the same content
//!   compressed two ways is extracted once too).
//! * An import works in its own `tmp/import-*` directory: blobs are copied
//!   and hashed there, layers extracted and hashed there. Only when the whole
//!   import has been verified are the new blobs and layer directories renamed
//!   into `blobs/` and `layers/` and `images.json` replaced. A failed import
//!   removes its directory and leaves the store as it was; an import that was
//!   killed leaves a directory the next change of the store removes.
//! * All of this happens under the exclusive lock, so two minipod processes
//!   (or threads) importing at once take turns.
//! * [`Store::remove`] removes a name and then every blob and layer that no
//!   remaining record uses. It does not know which layers running
//!   containers use: that is the runtime's to check first.
//! * `docker save` archives have no manifest blob: minipod writes the OCI
//!   manifest describing what it imported and stores that.
//!
//! Names are normalised as Docker and the kubelet do ([`ImageName`]):
//! `busybox` is `docker.io/library/busybox:latest`.

#![forbid(unsafe_code)]

mod archive;
pub mod compression;
mod defaults;
pub mod digest;
mod error;
pub mod extract;
mod layout;
mod limits;
pub mod name;
mod problem;
mod record;
mod source;
mod staging;
mod store;

pub use archive::{host_architecture, runs_here};
pub use defaults::{ImageDefaults, image_defaults};
pub use digest::Digest;
pub use error::{Error, Result};
pub use limits::{CapExceeded, Limits};
pub use name::{ImageName, NameError, NameProblem};
pub use record::{ImageRecord, LayerRecord};
pub use store::{DEFAULT_ROOT, ImportReport, Imported, Removed, ResolvedImage, Store};
