//! Builders for test inputs: layers (tar entries written byte by byte, so
//! hostile names are possible), gzip/zstd blobs, image configs, OCI image
//! layouts and `docker save` archives, all in temporary directories.

#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // test inputs: a failure should panic loudly

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

pub fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap()
}

/// One tar entry; names and link names are written as raw bytes.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub kind: tar::EntryType,
    pub data: Vec<u8>,
    pub link: Option<String>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub pax: Vec<(String, Vec<u8>)>,
}

impl Entry {
    fn new(name: &str, kind: tar::EntryType, mode: u32) -> Entry {
        Entry {
            name: name.into(),
            kind,
            data: Vec::new(),
            link: None,
            mode,
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
            pax: Vec::new(),
        }
    }
    pub fn dir(name: &str) -> Entry {
        Entry::new(name, tar::EntryType::Directory, 0o755)
    }
    pub fn file(name: &str, data: &[u8]) -> Entry {
        Entry {
            data: data.to_vec(),
            ..Entry::new(name, tar::EntryType::Regular, 0o644)
        }
    }
    pub fn symlink(name: &str, target: &str) -> Entry {
        Entry {
            link: Some(target.into()),
            ..Entry::new(name, tar::EntryType::Symlink, 0o777)
        }
    }
    pub fn hard_link(name: &str, target: &str) -> Entry {
        Entry {
            link: Some(target.into()),
            ..Entry::new(name, tar::EntryType::Link, 0o644)
        }
    }
    pub fn special(name: &str, kind: tar::EntryType) -> Entry {
        Entry::new(name, kind, 0o644)
    }
    pub fn mode(mut self, mode: u32) -> Entry {
        self.mode = mode;
        self
    }
    pub fn owner(mut self, uid: u64, gid: u64) -> Entry {
        self.uid = uid;
        self.gid = gid;
        self
    }
    pub fn mtime(mut self, mtime: u64) -> Entry {
        self.mtime = mtime;
        self
    }
    pub fn xattr(mut self, name: &str, value: &[u8]) -> Entry {
        self.pax
            .push((format!("SCHILY.xattr.{name}"), value.to_vec()));
        self
    }
}

/// A tar stream of `entries`, in order.
pub fn tar(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        if !e.pax.is_empty() {
            builder
                .append_pax_extensions(e.pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .unwrap();
        }
        let mut header = tar::Header::new_gnu();
        {
            let old = header.as_old_mut();
            assert!(e.name.len() < 100, "test names are short");
            old.name = [0; 100];
            old.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
            if let Some(link) = &e.link {
                old.linkname = [0; 100];
                old.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
        }
        header.set_entry_type(e.kind);
        header.set_size(e.data.len() as u64);
        header.set_mode(e.mode);
        header.set_uid(e.uid);
        header.set_gid(e.gid);
        header.set_mtime(e.mtime);
        header.set_cksum();
        builder.append(&header, &e.data[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compress {
    None,
    Gzip,
    Zstd,
}

/// A layer: the blob as shipped, its digest and its diff_id.
#[derive(Debug, Clone)]
pub struct Layer {
    pub blob: Vec<u8>,
    pub digest: String,
    pub diff_id: String,
    pub media_type: String,
}

impl Layer {
    pub fn new(entries: &[Entry], compress: Compress) -> Layer {
        Layer::from_tar(tar(entries), compress)
    }

    pub fn from_tar(tar: Vec<u8>, compress: Compress) -> Layer {
        let (blob, media_type) = match compress {
            Compress::None => (tar.clone(), "application/vnd.oci.image.layer.v1.tar"),
            Compress::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&tar).unwrap();
                (
                    e.finish().unwrap(),
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                )
            }
            Compress::Zstd => (
                ruzstd::encoding::compress_to_vec(
                    &tar[..],
                    ruzstd::encoding::CompressionLevel::Fastest,
                ),
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
        };
        Layer {
            digest: sha256(&blob),
            diff_id: sha256(&tar),
            blob,
            media_type: media_type.into(),
        }
    }

    pub fn media_type(mut self, media_type: &str) -> Layer {
        self.media_type = media_type.into();
        self
    }
}

/// An image config for `layers` (their diff_ids), with `Cmd` and `Env`.
pub fn config(layers: &[Layer], arch: &str) -> Vec<u8> {
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "WorkingDir": "/work"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap()
}

/// An image: a config and its layers.
#[derive(Debug, Clone)]
pub struct Image {
    pub config: Vec<u8>,
    pub layers: Vec<Layer>,
}

impl Image {
    pub fn new(layers: Vec<Layer>) -> Image {
        Image {
            config: config(&layers, minipod_image::host_architecture()),
            layers,
        }
    }

    pub fn config_digest(&self) -> String {
        sha256(&self.config)
    }

    pub fn manifest(&self) -> Vec<u8> {
        let layers: Vec<_> = self
            .layers
            .iter()
            .map(|l| {
                serde_json::json!({"mediaType": l.media_type, "digest": l.digest, "size": l.blob.len()})
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": self.config_digest(),
                "size": self.config.len(),
            },
            "layers": layers,
        }))
        .unwrap()
    }
}

pub fn write_blob(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    fs::write(blobs.join(hex_of(&digest)), bytes).unwrap();
    digest
}

/// Writes `image`'s manifest, config and layers as blobs; returns the manifest descriptor.
pub fn write_image_blobs(dir: &Path, image: &Image) -> serde_json::Value {
    write_blob(dir, &image.config);
    for layer in &image.layers {
        write_blob(dir, &layer.blob);
    }
    let manifest = image.manifest();
    let digest = write_blob(dir, &manifest);
    serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": manifest.len(),
    })
}

/// Writes an OCI image layout whose index lists `manifests` (descriptors).
pub fn write_index(dir: &Path, manifests: Vec<serde_json::Value>) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// A one-image OCI layout in `dir`, named by `ref_name` when given.
pub fn oci_layout(dir: &Path, image: &Image, ref_name: Option<&str>) -> PathBuf {
    let mut descriptor = write_image_blobs(dir, image);
    if let Some(name) = ref_name {
        descriptor["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": name});
    }
    write_index(dir, vec![descriptor]);
    dir.to_path_buf()
}

/// A classic `docker save` directory: `<config hex>.json`, `<id>/layer.tar`, `manifest.json`.
pub fn docker_save_legacy(dir: &Path, image: &Image, repo_tags: &[&str]) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let config_name = format!("{}.json", hex_of(&image.config_digest()));
    fs::write(dir.join(&config_name), &image.config).unwrap();
    let mut layers = Vec::new();
    for (i, layer) in image.layers.iter().enumerate() {
        let id = format!("{:064x}", i + 1);
        fs::create_dir_all(dir.join(&id)).unwrap();
        fs::write(dir.join(&id).join("layer.tar"), &layer.blob).unwrap();
        layers.push(format!("{id}/layer.tar"));
    }
    let manifest =
        serde_json::json!([{"Config": config_name, "RepoTags": repo_tags, "Layers": layers}]);
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    dir.to_path_buf()
}

/// A Docker 25+ `docker save` directory: an OCI layout plus `manifest.json`.
pub fn docker_save_oci(dir: &Path, image: &Image, repo_tags: &[&str], annotate: bool) -> PathBuf {
    let mut descriptor = write_image_blobs(dir, image);
    if annotate {
        descriptor["annotations"] = serde_json::json!({
            "io.containerd.image.name": repo_tags[0],
            "org.opencontainers.image.ref.name": "latest",
        });
    }
    write_index(dir, vec![descriptor]);
    let layers: Vec<String> = image
        .layers
        .iter()
        .map(|l| format!("blobs/sha256/{}", hex_of(&l.digest)))
        .collect();
    let manifest = serde_json::json!([{
        "Config": format!("blobs/sha256/{}", hex_of(&image.config_digest())),
        "RepoTags": repo_tags,
        "Layers": layers,
    }]);
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    dir.to_path_buf()
}

/// A tar of the directory `dir` (as `tar -C dir -cf out .` would write).
pub fn tar_of_dir(dir: &Path, out: &Path) -> PathBuf {
    let file = fs::File::create(out).unwrap();
    let mut builder = tar::Builder::new(file);
    builder.append_dir_all(".", dir).unwrap();
    builder.finish().unwrap();
    out.to_path_buf()
}

/// Every path under `root` (the lock file aside), sorted: "nothing left behind" compares these.
pub fn tree(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if rel == "lock" {
                continue;
            }
            out.push(rel);
            if path.is_dir() && !path.is_symlink() {
                walk(&path, root, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// A small base layer most tests share.
pub fn base_layer() -> Layer {
    Layer::new(
        &[
            Entry::dir("bin"),
            Entry::file("bin/busybox", b"\x7fELF not really"),
            Entry::symlink("bin/sh", "busybox"),
            Entry::dir("etc"),
            Entry::file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
            Entry::dir("tmp").mode(0o1777),
        ],
        Compress::Gzip,
    )
}

pub fn app_layer(marker: &str) -> Layer {
    Layer::new(
        &[
            Entry::dir("app"),
            Entry::file("app/marker", marker.as_bytes()),
        ],
        Compress::Gzip,
    )
}
