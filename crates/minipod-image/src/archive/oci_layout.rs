//! OCI image layouts (`oci-layout`, `index.json`, `blobs/sha256/...`):
//! the images of the index, each for this host's platform.

use super::docker_save::docker_repo_tags;
use super::manifest::{StagedImage, stage_descriptor, stage_manifest};
use super::media::{Kind, annotated_name, blob_member, kind, parse_json};
use crate::error::{Error, Result};
use crate::name::ImageName;
use crate::source::Source;
use crate::staging::Staging;
use oci_spec::image::{Descriptor, ImageIndex};
use serde::Deserialize;

/// How deep image indexes may nest.
pub(super) const MAX_INDEX_DEPTH: usize = 4;

pub(super) fn read_oci_layout(
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
pub(super) fn choose(
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
