//! Why a layer could not be extracted: per entry, refused (unsafe) or
//! failed (I/O), and the internal [`Fail`] of one step before the entry's
//! name is attached.

use std::io;

use crate::limits::CapExceeded;

/// Why a layer could not be extracted.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The entry would be unsafe to extract.
    #[error("entry {entry:?} refused: {refusal}")]
    Refused {
        /// The entry's name as written in the tar.
        entry: String,
        /// Why.
        refusal: Refusal,
    },
    /// Writing the entry failed.
    #[error("entry {entry:?}")]
    Io {
        /// The entry's name as written in the tar.
        entry: String,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// The stream is not a valid tar (or its compression is broken). The
    /// message never quotes the stream ([`crate::problem::input_problem`]).
    #[error("reading the tar stream: {}", crate::problem::input_problem(.0))]
    Stream(io::Error),
    /// The layer is bigger than the store allows (bytes or entries).
    #[error("refused: {0}")]
    Cap(CapExceeded),
}

/// The reasons an entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `/etc/passwd`.
    #[error("absolute path")]
    Absolute,
    /// `../x`, `a/../../x`.
    #[error("path has a \"..\" component")]
    DotDot,
    /// A parent directory of the entry is a symlink in this layer.
    #[error("parent {0:?} is a symlink; writing through it could leave the layer")]
    SymlinkParent(String),
    /// A parent directory of the entry is a file, device, ...
    #[error("parent {0:?} is not a directory")]
    NotDirectoryParent(String),
    /// A hard link that is not to an earlier file of this layer.
    #[error("hard link to {target:?}: {problem}")]
    HardLink {
        /// The link's target as written in the tar.
        target: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A symlink or hard link without a target.
    #[error("link without a target")]
    MissingLinkName,
    /// Character and block devices, FIFOs.
    #[error("{0} entries are not allowed in image layers")]
    Special(&'static str),
    /// A tar entry type this extractor does not know.
    #[error("unsupported tar entry type {0:?}")]
    UnknownType(char),
    /// An entry naming the layer root that is not a directory.
    #[error("the layer root can only be a directory")]
    RootNotDirectory,
    /// `.wh.`, `.wh..`.
    #[error("invalid whiteout name")]
    BadWhiteout,
    /// An xattr only the store may set.
    #[error("xattr {0:?} is reserved for overlayfs")]
    ReservedXattr(String),
    /// A numeric header field that is not a number.
    #[error("the tar header's {0} field is malformed")]
    MalformedHeader(&'static str),
    /// A uid or gid above 2^32-1.
    #[error("owner id {0} is out of range")]
    OwnerOutOfRange(u64),
}

/// Internal failure of one step, before the entry's name is attached.
pub(super) enum Fail {
    Refused(Refusal),
    Io(io::Error),
    /// Reading the layer failed (truncated, corrupt compression).
    Stream(io::Error),
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Fail {
        Fail::Io(e)
    }
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Fail {
        Fail::Refused(r)
    }
}
