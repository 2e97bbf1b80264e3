//! The store's errors. Each names what it is about: the file or archive
//! member (`busybox.tar:blobs/sha256/...`), the digest, the layer entry.
//!
//! No message ever quotes the **content** of an input file: a parser's own
//! message may (serde_json's `invalid type: string "..."`, the tar crate's
//! `numeric field was not a number: ...`), and an input may be a hard link
//! to a secret (`layer.tar` linked to `/etc/shadow`). So parser errors are
//! reduced to what is wrong and where (`problem.rs`: [`input_problem`],
//! [`crate::problem::json_problem`]), and the raw parser error is not kept as a `source`.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;
use crate::extract::ExtractError;
use crate::name::NameError;
use crate::problem::input_problem;

/// Why an import, lookup or removal failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input could not be read.
    #[error("{location}: {}", input_problem(failure))]
    Input {
        /// The file or archive member.
        location: String,
        /// The failure (shown without any bytes of the input; not a
        /// `source`, so that no error chain prints it either).
        failure: io::Error,
    },
    /// The input is neither an OCI image layout nor a `docker save` archive.
    #[error("{location}: not an image archive: {reason}")]
    NotAnImage {
        /// The file or directory.
        location: String,
        /// What is missing.
        reason: String,
    },
    /// The image is malformed (missing blob, wrong count, bad field ...).
    #[error("{location}: {reason}")]
    Invalid {
        /// The file or archive member.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// A JSON document (index, manifest, config) does not parse.
    #[error("{location}: invalid {what}: {problem}")]
    Json {
        /// The file or archive member.
        location: String,
        /// `image index`, `image manifest`, `image config`, ...
        what: &'static str,
        /// What is wrong and where, never the document's text ([`crate::problem::json_problem`]).
        problem: String,
    },
    /// A blob's content does not have the digest it is referenced by.
    #[error("{location}: {what} has digest {actual}, expected {expected}")]
    DigestMismatch {
        /// The file or archive member.
        location: String,
        /// `layer`, `image config`, ...
        what: String,
        /// The digest the reference names.
        expected: Digest,
        /// The digest of the content.
        actual: Digest,
    },
    /// A blob is not as long as its descriptor says.
    #[error("{location}: {what} is {actual} bytes, its descriptor says {expected}")]
    SizeMismatch {
        /// The file or archive member.
        location: String,
        /// `layer`, `image config`, ...
        what: String,
        /// The descriptor's size.
        expected: u64,
        /// The content's size (at most `expected + 1`: reading stops there).
        actual: u64,
    },
    /// A layer's uncompressed content is not what the image config says.
    #[error(
        "layer {layer}: uncompressed content has digest {actual}, but the image config's rootfs.diff_ids[{index}] is {expected}"
    )]
    DiffIdMismatch {
        /// The (compressed) layer blob.
        layer: Digest,
        /// Which layer, from 0 = lowest.
        index: usize,
        /// The config's diff_id.
        expected: Digest,
        /// The digest of the uncompressed tar.
        actual: Digest,
    },
    /// A layer could not be extracted: a hostile or broken entry, or the disk.
    #[error("layer {layer}")]
    Layer {
        /// The (compressed) layer blob.
        layer: Digest,
        /// The entry and what went wrong.
        #[source]
        source: ExtractError,
    },
    /// A media type this store does not read.
    #[error("{location}: unsupported {what} media type {media_type:?}")]
    UnsupportedMediaType {
        /// The manifest or index that lists it.
        location: String,
        /// `layer`, `manifest`, `image config`.
        what: &'static str,
        /// The media type.
        media_type: String,
    },
    /// The index has no manifest for this host's platform.
    #[error("{location}: no image for {wanted} (the index lists {found})")]
    NoPlatform {
        /// The index.
        location: String,
        /// `linux/amd64`.
        wanted: String,
        /// The platforms it has.
        found: String,
    },
    /// An image name that Docker would refuse too.
    #[error(transparent)]
    Name(#[from] NameError),
    /// Nothing in the archive names the image and no NAME was given.
    #[error("{location}: the archive does not name its image; give a NAME")]
    Unnamed {
        /// The archive.
        location: String,
    },
    /// A NAME was given for an archive with several images.
    #[error("{location}: the archive holds {count} images; a NAME can only name one")]
    Ambiguous {
        /// The archive.
        location: String,
        /// How many images it holds.
        count: usize,
    },
    /// `name@sha256:...` given for an image whose manifest has another digest.
    #[error("{name}: the name pins manifest {pinned}, but the image's manifest is {actual}")]
    PinnedDigest {
        /// The name given.
        name: String,
        /// The digest in the name.
        pinned: Digest,
        /// The imported manifest's digest.
        actual: Digest,
    },
    /// No image of that name is in the store.
    #[error("no image {name} in the store {root}")]
    NotFound {
        /// The normalised name.
        name: String,
        /// The store's root.
        root: PathBuf,
    },
    /// The store could not be read or written.
    #[error("image store: {path}")]
    Store {
        /// The file or directory in the store.
        path: PathBuf,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// The store's own files are not what it wrote.
    #[error("image store: {path}: {reason}")]
    Damaged {
        /// The file or directory in the store.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// Whether the failure lies in what was asked for (a bad archive, a
    /// hostile layer, a bad or unknown name) rather than in the host or the
    /// store. The command line exits 2 for these, 1 for the others.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Error::Layer { source, .. } => !matches!(source, ExtractError::Io { .. }),
            Error::Store { .. } | Error::Damaged { .. } => false,
            _ => true,
        }
    }

    pub(crate) fn store(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Store { path, source }
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
