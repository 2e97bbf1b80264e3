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

use std::collections::HashMap;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest, MediaType};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::compression::Compression;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::name::ImageName;
use crate::record::LayerRecord;
use crate::source::{Source, normalize};
use crate::staging::{Blob, Staging};

/// How deep image indexes may nest.
const MAX_INDEX_DEPTH: usize = 4;

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYERS: &[&str] = &[
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
];
/// The full name containerd and Docker 25+ put on an index entry.
const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// The OCI name annotation: a full reference, or (skopeo, umoci) only a tag.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

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

fn parse_json<T: DeserializeOwned>(bytes: &[u8], location: &str, what: &'static str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Json {
        location: location.to_owned(),
        what,
        problem: crate::problem::json_problem(&e),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Manifest,
    Index,
    Other,
}

fn kind(media_type: &MediaType) -> Kind {
    match media_type {
        MediaType::ImageManifest => Kind::Manifest,
        MediaType::ImageIndex => Kind::Index,
        MediaType::Other(s) if s == DOCKER_MANIFEST => Kind::Manifest,
        MediaType::Other(s) if s == DOCKER_MANIFEST_LIST => Kind::Index,
        _ => Kind::Other,
    }
}

fn is_config(media_type: &MediaType) -> bool {
    matches!(media_type, MediaType::ImageConfig)
        || matches!(media_type, MediaType::Other(s) if s == DOCKER_CONFIG)
}

fn is_layer(media_type: &MediaType) -> bool {
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
fn annotated_name(descriptor: &Descriptor) -> Option<String> {
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

fn blob_member(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// The digest a descriptor names, as the store's digest type.
fn descriptor_digest(descriptor: &Descriptor, location: &str) -> Result<Digest> {
    Digest::parse(descriptor.digest().as_ref()).map_err(|e| Error::Invalid {
        location: location.to_owned(),
        reason: e.to_string(),
    })
}

/// Stages the blob a descriptor points at, checking digest and size.
fn stage_descriptor(
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

fn read_oci_layout(
    source: &Source,
    staging: &mut Staging<'_>,
    arch: &str,
) -> Result<Vec<StagedImage>> {
    if source.exists("oci-layout") {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Layout {
            image_layout_version: String,
        }
        let location = source.location("oci-layout");
        let layout: Layout = parse_json(
            &source.read_small("oci-layout", staging.limits().json_bytes)?,
            &location,
            "oci-layout file",
        )?;
        if !layout.image_layout_version.starts_with("1.") {
            return Err(Error::Invalid {
                location,
                reason: format!(
                    "image layout version {:?} (only 1.x is known)",
                    layout.image_layout_version
                ),
            });
        }
    }
    let location = source.location("index.json");
    let index: ImageIndex = parse_json(
        &source.read_small("index.json", staging.limits().json_bytes)?,
        &location,
        "image index",
    )?;

    // One image per name annotation; the entries of one name are its platforms.
    let mut groups: Vec<(Option<String>, Vec<Descriptor>)> = Vec::new();
    for descriptor in index.manifests() {
        let key = annotated_name(descriptor);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(descriptor.clone()),
            None => groups.push((key, vec![descriptor.clone()])),
        }
    }
    if groups.is_empty() {
        return Err(Error::Invalid {
            location,
            reason: "the index lists no manifest".into(),
        });
    }
    let repo_tags = docker_repo_tags(source, staging.limits().json_bytes);

    let mut images = Vec::new();
    for (name, descriptors) in groups {
        let mut found = Vec::new();
        let chosen = choose(
            source,
            staging,
            &descriptors,
            arch,
            &location,
            0,
            &mut found,
        )?
        .ok_or_else(|| Error::NoPlatform {
            location: location.clone(),
            wanted: format!("linux/{arch}"),
            found: if found.is_empty() {
                "no image manifest".into()
            } else {
                found.join(", ")
            },
        })?;
        let mut image = stage_manifest(source, staging, &chosen, arch, &location)?;
        image.names = match name {
            Some(name) => vec![ImageName::parse(&name)?],
            None => match repo_tags.get(&blob_member(&image.config)) {
                Some(tags) => tags
                    .iter()
                    .map(|t| ImageName::parse(t))
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            },
        };
        images.push(image);
    }
    Ok(images)
}

/// Whether an image index entry is for this host: `linux/<arch>`, or an
/// entry without a platform (which matches any). The registry client picks
/// what to download by the same rule, so that the import of what it
/// downloaded chooses the same manifest.
pub fn runs_here(descriptor: &Descriptor, arch: &str) -> bool {
    descriptor
        .platform()
        .as_ref()
        .is_none_or(|p| p.os().to_string() == "linux" && p.architecture().to_string() == arch)
}

/// The first manifest for `linux/<arch>` among `descriptors`, looking into nested indexes.
fn choose(
    source: &Source,
    staging: &mut Staging<'_>,
    descriptors: &[Descriptor],
    arch: &str,
    location: &str,
    depth: usize,
    found: &mut Vec<String>,
) -> Result<Option<Descriptor>> {
    for descriptor in descriptors {
        let platform = descriptor
            .platform()
            .as_ref()
            .map(|p| (p.os().to_string(), p.architecture().to_string()));
        let matches = runs_here(descriptor, arch);
        match kind(descriptor.media_type()) {
            Kind::Manifest if matches => return Ok(Some(descriptor.clone())),
            Kind::Index if matches => {
                if depth >= MAX_INDEX_DEPTH {
                    return Err(Error::Invalid {
                        location: location.to_owned(),
                        reason: format!("image indexes nested more than {MAX_INDEX_DEPTH} deep"),
                    });
                }
                let (blob, nested_location) =
                    stage_descriptor(source, staging, descriptor, "image index", location)?;
                let bytes = staging.read_json_blob(&blob, "image index", &nested_location)?;
                let nested: ImageIndex = parse_json(&bytes, &nested_location, "image index")?;
                let inner = choose(
                    source,
                    staging,
                    nested.manifests(),
                    arch,
                    &nested_location,
                    depth + 1,
                    found,
                )?;
                if inner.is_some() {
                    return Ok(inner);
                }
            }
            Kind::Manifest | Kind::Index => {
                if let Some((os, a)) = platform {
                    found.push(format!("{os}/{a}"));
                }
            }
            Kind::Other => {}
        }
    }
    Ok(None)
}

/// Stages a manifest, its config and its layers.
fn stage_manifest(
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
fn read_config(
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

/// One entry of a `docker save` `manifest.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

/// The digest a `docker save` member name carries: `blobs/sha256/<hex>`
/// (Docker 25+) or `<hex>.json` (the config, before); a `<id>/layer.tar`
/// carries none (its id is not a content digest).
fn digest_in_member_name(member: &str) -> Option<Digest> {
    if let Some(hex) = member.strip_prefix("blobs/sha256/") {
        return Digest::from_hex(hex);
    }
    member.strip_suffix(".json").and_then(Digest::from_hex)
}

/// `RepoTags` by config member, from a `manifest.json` beside an OCI layout.
fn docker_repo_tags(source: &Source, json_bytes: u64) -> HashMap<String, Vec<String>> {
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

fn read_docker_save(
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

    #[test]
    fn member_names_carry_digests_only_where_docker_puts_them() {
        let hex = "a".repeat(64);
        assert!(digest_in_member_name(&format!("blobs/sha256/{hex}")).is_some());
        assert!(digest_in_member_name(&format!("{hex}.json")).is_some());
        assert!(digest_in_member_name(&format!("{hex}/layer.tar")).is_none());
        assert!(digest_in_member_name("blobs/sha256/short").is_none());
    }

    #[test]
    fn host_architecture_uses_go_names() {
        if cfg!(target_arch = "x86_64") {
            assert_eq!(host_architecture(), "amd64");
        }
        assert!(!host_architecture().is_empty());
    }
}
