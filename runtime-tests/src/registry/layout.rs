//! The test images, written as OCI image layouts for `skopeo copy oci:DIR:REF`.
//!
//! An OCI image layout (image-spec `image-layout.md`) is a directory:
//! `oci-layout` (`{"imageLayoutVersion":"1.0.0"}`), `blobs/sha256/<hex>`
//! (every blob named by the sha256 of its bytes) and `index.json`, whose
//! `manifests` name the images, each by a descriptor (media type, digest,
//! size) with an `org.opencontainers.image.ref.name` annotation: the `REF`
//! of `oci:DIR:REF`. A descriptor may point to an image manifest (config +
//! layers) or to an image index (one manifest per platform).
//!
//! The images are made from the project's busybox image
//! (`scripts/busybox-image --no-import`): its config and its gzip layer,
//! the same tar compressed with zstd, and the tar itself (uncompressed). The second platform of the
//! multi-platform index is a tiny image of its own (one file,
//! `/etc/platform`), so that a client that picks the wrong platform gets
//! different layers, not just a different config.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// "sha256:<hex>" of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A content descriptor: what a manifest or an index says about a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    /// "sha256:<hex>"
    pub digest: String,
    pub size: u64,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: sha256_digest(bytes),
            size: bytes.len() as u64,
        }
    }

    /// The descriptor's JSON object (`mediaType`, `digest`, `size`).
    pub fn to_json(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }

    /// Reads a descriptor object of a manifest or an index.
    pub fn from_json(value: &Value) -> Descriptor {
        Descriptor {
            media_type: value["mediaType"].as_str().unwrap_or_default().to_owned(),
            digest: value["digest"]
                .as_str()
                .unwrap_or_else(|| panic!("descriptor without a digest: {value}"))
                .to_owned(),
            size: value["size"]
                .as_u64()
                .unwrap_or_else(|| panic!("descriptor without a size: {value}")),
        }
    }
}

/// An OCI image layout being written in `dir`.
#[derive(Debug)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// An empty layout in `dir` (made, or emptied first).
    pub fn create(dir: &Path) -> Layout {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir.join("blobs/sha256")).expect("layout dirs");
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
        Layout {
            dir: dir.to_owned(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `bytes` as a blob; returns its descriptor.
    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> Descriptor {
        let descriptor = Descriptor::of(media_type, bytes);
        let hex = descriptor.digest.trim_start_matches("sha256:");
        fs::write(self.dir.join("blobs/sha256").join(hex), bytes).expect("write a blob");
        descriptor
    }

    /// Stores an image manifest for `config` and `layers`.
    pub fn manifest(&self, config: &Descriptor, layers: &[Descriptor]) -> Descriptor {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.to_json(),
            "layers": layers.iter().map(Descriptor::to_json).collect::<Vec<_>>(),
        });
        self.blob(OCI_MANIFEST, &to_bytes(&manifest))
    }

    /// Stores an image index of `(manifest, os, architecture)`.
    pub fn index(&self, manifests: &[(Descriptor, &str, &str)]) -> Descriptor {
        let entries: Vec<Value> = manifests
            .iter()
            .map(|(manifest, os, architecture)| {
                let mut entry = manifest.to_json();
                entry["platform"] = json!({"os": os, "architecture": architecture});
                entry
            })
            .collect();
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
        self.blob(OCI_INDEX, &to_bytes(&index))
    }

    /// Writes `index.json`, naming `top` (a manifest or an index) `ref_name`.
    pub fn finish(&self, top: &Descriptor, ref_name: &str) {
        let mut entry = top.to_json();
        entry["annotations"] = json!({"org.opencontainers.image.ref.name": ref_name});
        let index = json!({"schemaVersion": 2, "manifests": [entry]});
        fs::write(self.dir.join("index.json"), to_bytes(&index)).expect("index.json");
    }
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("json")
}

/// The project's busybox image, read from `scripts/busybox-image
/// --no-import`'s layout: its config and its one gzip layer.
#[derive(Debug)]
pub struct Busybox {
    pub config: Vec<u8>,
    /// The config's `architecture`: the host's (the image runs here).
    pub architecture: String,
    pub layer_gzip: Vec<u8>,
    /// The same tar, compressed with zstd (same diff_id, other digest).
    pub layer_zstd: Vec<u8>,
    /// The tar itself: its digest is the diff_id.
    pub layer_tar: Vec<u8>,
}

/// The busybox image, built once per test process.
pub fn busybox() -> &'static Busybox {
    static BUSYBOX: OnceLock<Busybox> = OnceLock::new();
    BUSYBOX.get_or_init(|| {
        let layout = std::env::temp_dir().join(format!(
            "minipod-rt-registry-busybox-oci.{}",
            std::process::id()
        ));
        crate::build_busybox_layout(&layout);
        let blob = |digest: &str| {
            let hex = digest.trim_start_matches("sha256:");
            fs::read(layout.join("blobs/sha256").join(hex)).expect("a blob of the busybox layout")
        };
        let index: Value =
            serde_json::from_slice(&fs::read(layout.join("index.json")).expect("index.json"))
                .expect("index.json is JSON");
        let manifest: Value = serde_json::from_slice(&blob(
            index["manifests"][0]["digest"]
                .as_str()
                .expect("manifest digest"),
        ))
        .expect("manifest is JSON");
        let config = blob(manifest["config"]["digest"].as_str().expect("config"));
        let layer_gzip = blob(manifest["layers"][0]["digest"].as_str().expect("layer"));
        let _ = fs::remove_dir_all(&layout);
        let architecture =
            serde_json::from_slice::<Value>(&config).expect("config is JSON")["architecture"]
                .as_str()
                .expect("config architecture")
                .to_owned();
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&layer_gzip[..])
            .read_to_end(&mut tar)
            .expect("gunzip the busybox layer");
        let layer_zstd = ruzstd::encoding::compress_to_vec(
            &tar[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        Busybox {
            config,
            architecture,
            layer_gzip,
            layer_zstd,
            layer_tar: tar,
        }
    })
}

/// The other platform of the multi-platform index: `arm64`, or `amd64`
/// on an arm64 host (the busybox image has the host's architecture).
pub fn other_architecture() -> &'static str {
    if busybox().architecture == "arm64" {
        "amd64"
    } else {
        "arm64"
    }
}

/// A tiny image for `architecture`: one gzip layer holding
/// `/etc/platform` ("linux/<architecture>\n"), reproducible (mtime 0, root
/// owner, no gzip name or time). Returns (config, layer).
pub fn tiny_image(architecture: &str) -> (Vec<u8>, Vec<u8>) {
    let content = format!("linux/{architecture}\n");
    let mut builder = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_mtime(0);
    builder
        .append_data(&mut dir, "etc/", std::io::empty())
        .expect("tar etc/");
    let mut file = tar::Header::new_gnu();
    file.set_mode(0o644);
    file.set_size(content.len() as u64);
    file.set_mtime(0);
    builder
        .append_data(&mut file, "etc/platform", content.as_bytes())
        .expect("tar etc/platform");
    let tar = builder.into_inner().expect("tar");
    let mut gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    let layer = gz.finish().expect("gzip");
    let config = json!({
        "architecture": architecture,
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(&tar)]},
    });
    (to_bytes(&config), layer)
}
