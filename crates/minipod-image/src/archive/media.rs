//! What the archives' documents and media types mean: OCI and Docker
//! media types, name annotations, blob paths, JSON read without quoting it.

use crate::digest::Digest;
use crate::error::{Error, Result};
use oci_spec::image::{Descriptor, MediaType};
use serde::de::DeserializeOwned;

pub(super) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

pub(super) const DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";

pub(super) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

pub(super) const DOCKER_LAYERS: &[&str] = &[
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
];

/// The full name containerd and Docker 25+ put on an index entry.
pub(super) const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The OCI name annotation: a full reference, or (skopeo, umoci) only a tag.
pub(super) const REF_NAME: &str = "org.opencontainers.image.ref.name";

pub(super) fn parse_json<T: DeserializeOwned>(
    bytes: &[u8],
    location: &str,
    what: &'static str,
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Json {
        location: location.to_owned(),
        what,
        problem: crate::problem::json_problem(&e),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Manifest,
    Index,
    Other,
}

pub(super) fn kind(media_type: &MediaType) -> Kind {
    match media_type {
        MediaType::ImageManifest => Kind::Manifest,
        MediaType::ImageIndex => Kind::Index,
        MediaType::Other(s) if s == DOCKER_MANIFEST => Kind::Manifest,
        MediaType::Other(s) if s == DOCKER_MANIFEST_LIST => Kind::Index,
        _ => Kind::Other,
    }
}

pub(super) fn is_config(media_type: &MediaType) -> bool {
    matches!(media_type, MediaType::ImageConfig)
        || matches!(media_type, MediaType::Other(s) if s == DOCKER_CONFIG)
}

pub(super) fn is_layer(media_type: &MediaType) -> bool {
    match media_type {
        MediaType::ImageLayer
        | MediaType::ImageLayerGzip
        | MediaType::ImageLayerZstd
        | MediaType::ImageLayerNonDistributable
        | MediaType::ImageLayerNonDistributableGzip
        | MediaType::ImageLayerNonDistributableZstd => true,
        MediaType::Other(s) => DOCKER_LAYERS.contains(&s.as_str()),
        _ => false,
    }
}

/// The name an index entry gives its image, if it gives a full one.
pub(super) fn annotated_name(descriptor: &Descriptor) -> Option<String> {
    let annotations = descriptor.annotations().as_ref()?;
    if let Some(name) = annotations.get(CONTAINERD_NAME) {
        return Some(name.clone());
    }
    // A bare word ("latest", "1.36") is only a tag by OCI convention.
    annotations
        .get(REF_NAME)
        .filter(|name| name.contains(['/', ':', '@']))
        .cloned()
}

pub(super) fn blob_member(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// The digest a descriptor names, as the store's digest type.
pub(super) fn descriptor_digest(descriptor: &Descriptor, location: &str) -> Result<Digest> {
    Digest::parse(descriptor.digest().as_ref()).map_err(|e| Error::Invalid {
        location: location.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_of_both_worlds_are_recognised() {
        assert_eq!(kind(&MediaType::ImageManifest), Kind::Manifest);
        assert_eq!(kind(&MediaType::from(DOCKER_MANIFEST)), Kind::Manifest);
        assert_eq!(kind(&MediaType::from(DOCKER_MANIFEST_LIST)), Kind::Index);
        assert_eq!(kind(&MediaType::ImageIndex), Kind::Index);
        assert_eq!(
            kind(&MediaType::from("application/vnd.in-toto+json")),
            Kind::Other
        );
        assert!(is_config(&MediaType::from(DOCKER_CONFIG)));
        assert!(is_config(&MediaType::ImageConfig));
        for layer in DOCKER_LAYERS {
            assert!(is_layer(&MediaType::from(*layer)), "{layer}");
        }
        assert!(is_layer(&MediaType::from(
            "application/vnd.oci.image.layer.v1.tar+zstd"
        )));
        assert!(!is_layer(&MediaType::from(
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
        )));
    }
}
