//! Why a pull failed, in words a person can act on.

use std::path::PathBuf;

/// Why a pull failed. The `Display` text is what the kubelet's `Failed`
/// event and the container's `ErrImagePull` message carry.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Name(#[from] minipod_image::NameError),
    /// The registry refused every credential tried (or anonymous access).
    #[error(
        "pull access denied for {reference}, repository does not exist or may require authorization: {message}"
    )]
    Unauthorized { reference: String, message: String },
    /// No such repository, tag or digest.
    #[error("failed to resolve reference {reference:?}: {reference}: not found")]
    NotFound { reference: String },
    /// An index without a manifest for this host.
    #[error("no match for platform in manifest {reference}: wanted {wanted}, the image has {}", .available.join(", "))]
    NoPlatform {
        reference: String,
        wanted: String,
        available: Vec<String>,
    },
    /// A blob's bytes do not hash to its digest: nothing of it is kept.
    #[error("blob {digest} of {reference} failed verification: its content hashes to {actual}")]
    Digest {
        reference: String,
        digest: String,
        actual: String,
    },
    /// Anything else the registry (or the way to it) said.
    #[error("pulling {reference}: {message}")]
    Registry { reference: String, message: String },
    /// A document the registry sent (manifest, index, token answer) or a
    /// blob went past its limit: the download stopped there.
    #[error(
        "pulling {reference}: {what} is larger than its limit of {limit} bytes; the download was stopped"
    )]
    TooLarge {
        reference: String,
        what: String,
        limit: u64,
    },
    /// The registry stopped sending (or sent too slowly) for the node's
    /// progress timeout.
    #[error(
        "pulling {reference}: registry {registry} stalled: less than {} bytes of {what} in {}s (the node's image pull progress timeout)",
        crate::limits::MIN_PROGRESS_BYTES,
        .timeout.as_secs_f64()
    )]
    Stalled {
        reference: String,
        registry: String,
        what: String,
        timeout: std::time::Duration,
    },
    /// The registry's token realm is not a place credentials may go.
    #[error("pulling {reference}: registry {registry} sent a token realm minipod refuses")]
    Realm {
        reference: String,
        registry: String,
        #[source]
        why: RealmRefused,
    },
    /// A manifest that does not parse or does not fit.
    #[error("the manifest of {reference} is not usable: {message}")]
    Manifest { reference: String, message: String },
    #[error("{}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The store refused the pulled image (it verifies it again).
    #[error("storing {reference}")]
    Store {
        reference: String,
        #[source]
        source: minipod_image::Error,
    },
}

/// Why a token realm is refused.
#[derive(Debug, thiserror::Error)]
pub enum RealmRefused {
    #[error("not a URL")]
    NotUrl(#[source] <reqwest::Url as std::str::FromStr>::Err),
    #[error("no host")]
    NoHost,
    #[error(
        "plain http, from a registry reached over https: the credentials would travel unencrypted"
    )]
    PlainHttpFromHttps,
    #[error("plain http to {host}, which is neither loopback nor an insecure registry of the node")]
    PlainHttpNotAllowed { host: String },
    #[error("scheme {scheme:?}: only https (or http where allowed)")]
    Scheme { scheme: String },
}

impl PullError {
    /// Whether the registry said no to the credentials (another one may be
    /// tried).
    pub(crate) fn is_unauthorized(&self) -> bool {
        matches!(self, PullError::Unauthorized { .. })
    }
}

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PullError {
    let path = path.into();
    move |source| PullError::Io { path, source }
}
