//! One image manifest staged: its config and layer blobs verified and
//! staged, its config read.

use super::media::{Kind, blob_member, descriptor_digest, is_config, is_layer, kind, parse_json};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::name::ImageName;
use crate::record::LayerRecord;
use crate::source::Source;
use crate::staging::{Blob, Staging};
use oci_spec::image::{Descriptor, ImageConfiguration, ImageManifest};

/// One image of the archive, every blob and layer verified and staged.
#[derive(Debug)]
pub(crate) struct StagedImage {
    /// The names the archive gives it (none: the caller must give one).
    pub names: Vec<ImageName>,
    pub manifest: Digest,
    pub config: Digest,
    pub config_size: u64,
    pub layers: Vec<LayerRecord>,
}

/// Stages the blob a descriptor points at, checking digest and size.
pub(super) fn stage_descriptor(
    source: &Source,
    staging: &mut Staging<'_>,
    descriptor: &Descriptor,
    what: &str,
    referrer: &str,
) -> Result<(Blob, String)> {
    let digest = descriptor_digest(descriptor, referrer)?;
    let member = blob_member(&digest);
    let json = what != "layer";
    let blob = staging.blob(
        source,
        &member,
        what,
        Some(&digest),
        Some(descriptor.size()),
        json,
    )?;
    Ok((blob, source.location(&member)))
}

/// Stages a manifest, its config and its layers.
pub(super) fn stage_manifest(
    source: &Source,
    staging: &mut Staging<'_>,
    descriptor: &Descriptor,
    arch: &str,
    referrer: &str,
) -> Result<StagedImage> {
    let (manifest_blob, location) =
        stage_descriptor(source, staging, descriptor, "image manifest", referrer)?;
    let bytes = staging.read_json_blob(&manifest_blob, "image manifest", &location)?;
    let manifest: ImageManifest = parse_json(&bytes, &location, "image manifest")?;
    if let Some(media_type) = manifest.media_type()
        && kind(media_type) != Kind::Manifest
    {
        return Err(Error::UnsupportedMediaType {
            location,
            what: "manifest",
            media_type: media_type.to_string(),
        });
    }
    let config_descriptor = manifest.config();
    if !is_config(config_descriptor.media_type()) {
        return Err(Error::UnsupportedMediaType {
            location,
            what: "image config",
            media_type: config_descriptor.media_type().to_string(),
        });
    }
    if let Some(layer) = manifest.layers().iter().find(|l| !is_layer(l.media_type())) {
        return Err(Error::UnsupportedMediaType {
            location,
            what: "layer",
            media_type: layer.media_type().to_string(),
        });
    }
    let (config_blob, config_location) = stage_descriptor(
        source,
        staging,
        config_descriptor,
        "image config",
        &location,
    )?;
    let diff_ids = read_config(staging, &config_blob, &config_location, arch)?;
    if diff_ids.len() != manifest.layers().len() {
        return Err(Error::Invalid {
            location: config_location,
            reason: format!(
                "rootfs.diff_ids lists {} layers, the manifest {}",
                diff_ids.len(),
                manifest.layers().len()
            ),
        });
    }
    let mut layers = Vec::new();
    for (index, (descriptor, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
        let (blob, _) = stage_descriptor(source, staging, descriptor, "layer", &location)?;
        staging.layer(&blob, &diff_id, index)?;
        layers.push(LayerRecord {
            blob: blob.digest,
            diff_id,
            media_type: descriptor.media_type().to_string(),
            size: blob.size,
        });
    }
    Ok(StagedImage {
        names: Vec::new(),
        manifest: manifest_blob.digest,
        config: config_blob.digest,
        config_size: config_blob.size,
        layers,
    })
}

/// Parses and checks an image config; returns its diff_ids, lowest layer first.
pub(super) fn read_config(
    staging: &Staging<'_>,
    blob: &Blob,
    location: &str,
    arch: &str,
) -> Result<Vec<Digest>> {
    let bytes = staging.read_json_blob(blob, "image config", location)?;
    let config: ImageConfiguration = parse_json(&bytes, location, "image config")?;
    let (os, image_arch) = (config.os().to_string(), config.architecture().to_string());
    if os != "linux" || image_arch != arch {
        return Err(Error::Invalid {
            location: location.to_owned(),
            reason: format!("the image is for {os}/{image_arch}; this host runs linux/{arch}"),
        });
    }
    if config.rootfs().typ() != "layers" {
        return Err(Error::Invalid {
            location: location.to_owned(),
            reason: format!(
                "rootfs.type is {:?}, expected \"layers\"",
                config.rootfs().typ()
            ),
        });
    }
    config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| {
            Digest::parse(d).map_err(|e| Error::Invalid {
                location: location.to_owned(),
                reason: format!("rootfs.diff_ids: {e}"),
            })
        })
        .collect()
}
