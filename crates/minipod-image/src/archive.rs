//! The two archive formats an import reads, turned into verified, staged images.
//!
//! * **OCI image layout** (`oci-layout`, `index.json`, `blobs/sha256/...`), as
//!   a directory or a tar. The index may list several images (told apart by
//!   their name annotation) and, for each, several platforms, possibly through
//!   nested indexes; the manifest for `linux/<this host's architecture>` is
//!   taken (a manifest without a platform matches any). Newer Docker writes
//!   this layout inside its `docker save` archives too, next to a
//!   `manifest.json`; the layout is then preferred and `manifest.json` only
//!   supplies `RepoTags` when the index names nothing.
//! * **`docker save` / `podman save`** (`manifest.json` with `Config`,
//!   `RepoTags`, `Layers`). Such an archive has no manifest blob, so minipod
//!   writes the OCI manifest that describes what it imported, and its digest
//!   stands for the image's manifest.
//!
//! Media types: OCI and Docker (oci-spec parses the Docker ones as
//! `MediaType::Other`, so they are matched by string here).

use crate::error::{Error, Result};
use crate::source::Source;
use crate::staging::Staging;

mod docker_save;
mod manifest;
mod media;
mod oci_layout;

use docker_save::read_docker_save;
pub(crate) use manifest::StagedImage;
use oci_layout::read_oci_layout;
pub use oci_layout::runs_here;

/// The GOARCH name of the architecture minipod was built for.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// Reads every image of the archive, staging what it needs.
pub(crate) fn read_images(
    source: &Source,
    staging: &mut Staging<'_>,
    arch: &str,
) -> Result<Vec<StagedImage>> {
    if source.exists("index.json") {
        read_oci_layout(source, staging, arch)
    } else if source.exists("manifest.json") {
        read_docker_save(source, staging, arch)
    } else {
        Err(Error::NotAnImage {
            location: source.shown().to_owned(),
            reason: "no index.json (OCI image layout) and no manifest.json (docker save)".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_architecture_uses_go_names() {
        if cfg!(target_arch = "x86_64") {
            assert_eq!(host_architecture(), "amd64");
        }
        assert!(!host_architecture().is_empty());
    }
}
