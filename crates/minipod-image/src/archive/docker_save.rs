//! `docker save` / `podman save` archives (`manifest.json`): no manifest
//! blob, so the OCI manifest describing the import is written here.

use super::manifest::{StagedImage, read_config};
use super::media::parse_json;
use crate::compression::Compression;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::name::ImageName;
use crate::record::LayerRecord;
use crate::source::{Source, normalize};
use crate::staging::Staging;
use oci_spec::image::MediaType;
use serde::Deserialize;
use std::collections::HashMap;

/// One entry of a `docker save` `manifest.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

/// The digest a `docker save` member name carries: `blobs/sha256/<hex>`
/// (Docker 25+) or `<hex>.json` (the config, before); a `<id>/layer.tar`
/// carries none (its id is not a content digest).
pub(super) fn digest_in_member_name(member: &str) -> Option<Digest> {
    if let Some(hex) = member.strip_prefix("blobs/sha256/") {
        return Digest::from_hex(hex);
    }
    member.strip_suffix(".json").and_then(Digest::from_hex)
}

/// `RepoTags` by config member, from a `manifest.json` beside an OCI layout.
pub(super) fn docker_repo_tags(source: &Source, json_bytes: u64) -> HashMap<String, Vec<String>> {
    let mut tags = HashMap::new();
    if !source.exists("manifest.json") {
        return tags;
    }
    let entries = source
        .read_small("manifest.json", json_bytes)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Vec<DockerEntry>>(&bytes).ok());
    for entry in entries.unwrap_or_default() {
        if let (Some(config), Some(repo_tags)) = (normalize(&entry.config), entry.repo_tags) {
            tags.insert(config, repo_tags);
        }
    }
    tags
}

pub(super) fn read_docker_save(
    source: &Source,
    staging: &mut Staging<'_>,
    arch: &str,
) -> Result<Vec<StagedImage>> {
    let location = source.location("manifest.json");
    let entries: Vec<DockerEntry> = parse_json(
        &source.read_small("manifest.json", staging.limits().json_bytes)?,
        &location,
        "docker manifest.json",
    )?;
    if entries.is_empty() {
        return Err(Error::Invalid {
            location,
            reason: "lists no image".into(),
        });
    }
    let member = |name: &str| {
        normalize(name).ok_or_else(|| Error::Invalid {
            location: location.clone(),
            reason: format!("{name:?} names a file outside the archive"),
        })
    };
    let mut images = Vec::new();
    for entry in entries {
        let config_member = member(&entry.config)?;
        let config_blob = staging.blob(
            source,
            &config_member,
            "image config",
            digest_in_member_name(&config_member).as_ref(),
            None,
            true,
        )?;
        let config_location = source.location(&config_member);
        let diff_ids = read_config(staging, &config_blob, &config_location, arch)?;
        if diff_ids.len() != entry.layers.len() {
            return Err(Error::Invalid {
                location: config_location,
                reason: format!(
                    "rootfs.diff_ids lists {} layers, manifest.json {}",
                    diff_ids.len(),
                    entry.layers.len()
                ),
            });
        }
        let mut layers = Vec::new();
        for (index, (name, diff_id)) in entry.layers.iter().zip(diff_ids).enumerate() {
            let layer_member = member(name)?;
            let expected = digest_in_member_name(&layer_member);
            let blob = staging.blob(
                source,
                &layer_member,
                "layer",
                expected.as_ref(),
                None,
                false,
            )?;
            let media_type = match Compression::detect(&staging.blob_head(&blob)?) {
                Ok(Compression::None) => MediaType::ImageLayer,
                Ok(Compression::Gzip) => MediaType::ImageLayerGzip,
                Ok(Compression::Zstd) => MediaType::ImageLayerZstd,
                Err(e) => {
                    return Err(Error::Invalid {
                        location: source.location(&layer_member),
                        reason: e.to_string(),
                    });
                }
            };
            staging.layer(&blob, &diff_id, index)?;
            layers.push(LayerRecord {
                blob: blob.digest,
                diff_id,
                media_type: media_type.to_string(),
                size: blob.size,
            });
        }
        // The archive has no manifest: write the one that describes what was imported.
        let descriptor = |media_type: String, digest: &Digest, size: u64| serde_json::json!({"mediaType": media_type, "digest": digest.to_string(), "size": size});
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MediaType::ImageManifest.to_string(),
            "config": descriptor(MediaType::ImageConfig.to_string(), &config_blob.digest, config_blob.size),
            "layers": layers.iter().map(|l| descriptor(l.media_type.clone(), &l.blob, l.size)).collect::<Vec<_>>(),
        });
        let manifest_blob = staging.blob_from_bytes(manifest.to_string().as_bytes())?;
        let names = entry
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| ImageName::parse(t))
            .collect::<Result<_, _>>()?;
        images.push(StagedImage {
            names,
            manifest: manifest_blob.digest,
            config: config_blob.digest,
            config_size: config_blob.size,
            layers,
        });
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_carry_digests_only_where_docker_puts_them() {
        let hex = "a".repeat(64);
        assert!(digest_in_member_name(&format!("blobs/sha256/{hex}")).is_some());
        assert!(digest_in_member_name(&format!("{hex}.json")).is_some());
        assert!(digest_in_member_name(&format!("{hex}/layer.tar")).is_none());
        assert!(digest_in_member_name("blobs/sha256/short").is_none());
    }
}
