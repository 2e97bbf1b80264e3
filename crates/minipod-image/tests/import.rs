//! Imports of every supported format, shared layers, verification failures,
//! names, removal with garbage collection, and concurrent imports.
//! Run as root (layers keep their owners; whiteouts are device nodes).

#![allow(clippy::unwrap_used)] // a test harness: a failure should panic loudly

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::*;
use minipod_image::{Error, ImageDefaults, Store};

fn store(dir: &Path) -> Store {
    Store::new(dir.join("store"))
}

fn names(store: &Store) -> Vec<String> {
    store.list().unwrap().into_iter().map(|r| r.name).collect()
}

fn count(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |d| d.count())
}

/// The base image's files, as they must be on disk after any import.
fn assert_base_layer_on_disk(layer: &Path) {
    assert_eq!(
        fs::read(layer.join("bin/busybox")).unwrap(),
        b"\x7fELF not really"
    );
    assert_eq!(
        fs::read_link(layer.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    let tmp = fs::symlink_metadata(layer.join("tmp")).unwrap();
    assert_eq!(tmp.permissions().mode() & 0o7777, 0o1777);
    assert_eq!(
        fs::metadata(layer).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

#[test]
fn oci_layout_directory_with_a_name() {
    let tmp = tempfile::tempdir().unwrap();
    let image = Image::new(vec![base_layer(), app_layer("one")]);
    let layout = oci_layout(&tmp.path().join("layout"), &image, None);
    let store = store(tmp.path());

    let report = store.import(&layout, Some("busybox")).unwrap();
    assert_eq!(report.images.len(), 1);
    assert_eq!(report.images[0].name, "docker.io/library/busybox:latest");
    assert_eq!(report.images[0].id.to_string(), image.config_digest());
    assert_eq!((report.new_blobs, report.new_layers), (4, 2));
    assert_eq!(names(&store), ["docker.io/library/busybox:latest"]);

    let record = store.get("docker.io/library/busybox").unwrap().unwrap();
    let expected_size = image.config.len() as u64
        + image
            .layers
            .iter()
            .map(|l| l.blob.len() as u64)
            .sum::<u64>();
    assert_eq!(record.size, expected_size);
    assert_eq!(
        record.layers[0].diff_id.to_string(),
        image.layers[0].diff_id
    );

    let resolved = store.resolve("busybox:latest").unwrap();
    assert_eq!(
        resolved.defaults,
        ImageDefaults {
            cmd: vec!["sh".into()],
            env: vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".into()],
            working_dir: Some("/work".into()),
            ..ImageDefaults::default()
        }
    );
    assert_eq!(resolved.layers.len(), 2);
    assert_base_layer_on_disk(&resolved.layers[0]);
    assert_eq!(
        fs::read(resolved.layers[1].join("app/marker")).unwrap(),
        b"one"
    );
    // Layer directories are named by diff_id, lowest first.
    assert!(resolved.layers[0].ends_with(format!(
        "layers/sha256/{}",
        hex_of(&image.layers[0].diff_id)
    )));
    // Nothing is left in tmp/.
    assert_eq!(count(&store.root().join("tmp")), 0);
}

#[test]
fn oci_layout_as_plain_and_as_gzip_compressed_tar() {
    let tmp = tempfile::tempdir().unwrap();
    let image = Image::new(vec![base_layer()]);
    let layout = oci_layout(
        &tmp.path().join("layout"),
        &image,
        Some("example.com/app:v1"),
    );
    let plain = tar_of_dir(&layout, &tmp.path().join("app.tar"));

    let store_a = Store::new(tmp.path().join("a"));
    let report = store_a.import(&plain, None).unwrap();
    assert_eq!(report.images[0].name, "example.com/app:v1");
    assert_base_layer_on_disk(&store_a.resolve("example.com/app:v1").unwrap().layers[0]);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::copy(&mut fs::File::open(&plain).unwrap(), &mut gz).unwrap();
    let compressed = tmp.path().join("app.tar.gz");
    fs::write(&compressed, gz.finish().unwrap()).unwrap();
    let store_b = Store::new(tmp.path().join("b"));
    store_b
        .import(&compressed, Some("localhost:5000/app"))
        .unwrap();
    assert_eq!(names(&store_b), ["localhost:5000/app:latest"]);
    assert_eq!(count(&store_b.root().join("tmp")), 0);
}

#[test]
fn every_layer_compression_and_docker_media_types() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = Layer::new(&[Entry::file("plain", b"p")], Compress::None);
    let gzip = Layer::new(&[Entry::file("gzip", b"g")], Compress::Gzip)
        .media_type("application/vnd.docker.image.rootfs.diff.tar.gzip");
    let zstd = Layer::new(&[Entry::file("zstd", b"z")], Compress::Zstd);
    // A media type that lies about the compression: the magic bytes decide.
    let lying = Layer::new(&[Entry::file("lying", b"l")], Compress::None)
        .media_type("application/vnd.oci.image.layer.v1.tar+gzip");
    let image = Image::new(vec![plain, gzip, zstd, lying]);
    let layout = oci_layout(&tmp.path().join("layout"), &image, None);
    let store = store(tmp.path());
    store.import(&layout, Some("mixed")).unwrap();
    let layers = store.resolve("mixed").unwrap().layers;
    for (dir, file) in layers.iter().zip(["plain", "gzip", "zstd", "lying"]) {
        assert!(dir.join(file).is_file(), "{file}");
    }
}

#[test]
fn unsupported_layer_media_type_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let helm = Layer::new(&[Entry::file("chart", b"c")], Compress::Gzip)
        .media_type("application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    let layout = oci_layout(&tmp.path().join("layout"), &Image::new(vec![helm]), None);
    let err = store(tmp.path())
        .import(&layout, Some("chart"))
        .unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedMediaType { what: "layer", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("helm"), "{err}");
}

#[test]
fn docker_save_legacy_archive_takes_its_names_from_repo_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let plain_base = Layer::new(
        &[
            Entry::dir("bin"),
            Entry::file("bin/busybox", b"bb"),
            Entry::symlink("bin/sh", "busybox"),
        ],
        Compress::None,
    );
    let image = Image::new(vec![plain_base, app_layer("legacy")]);
    let dir = docker_save_legacy(
        &tmp.path().join("save"),
        &image,
        &["busybox:1.36", "myrepo/app:v2"],
    );
    let archive = tar_of_dir(&dir, &tmp.path().join("save.tar"));
    let store = store(tmp.path());
    let report = store.import(&archive, None).unwrap();
    assert_eq!(
        names(&store),
        ["docker.io/library/busybox:1.36", "docker.io/myrepo/app:v2"]
    );
    // One image, two names: the same manifest (written by minipod) and config.
    assert_eq!(report.images[0].manifest, report.images[1].manifest);
    let resolved = store.resolve("busybox:1.36").unwrap();
    assert_eq!(resolved.id.to_string(), image.config_digest());
    assert_eq!(
        fs::read(resolved.layers[1].join("app/marker")).unwrap(),
        b"legacy"
    );
    // The manifest minipod wrote describes the layers as imported.
    let manifest_path = store
        .root()
        .join(format!("blobs/sha256/{}", resolved.manifest.hex()));
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(manifest_path).unwrap()).unwrap();
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(
        manifest["layers"][1]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_eq!(
        manifest["layers"][1]["digest"],
        image.layers[1].digest.as_str()
    );
}

#[test]
fn docker_save_of_docker_25_writes_an_oci_layout_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let image = Image::new(vec![base_layer()]);

    // Names from the containerd annotation...
    let annotated = docker_save_oci(&tmp.path().join("a"), &image, &["nginx:1.27"], true);
    let store = store(tmp.path());
    store.import(&annotated, None).unwrap();
    // ...or, without annotations, from manifest.json's RepoTags.
    let plain = docker_save_oci(&tmp.path().join("b"), &image, &["quay.io/x/y:z"], false);
    store.import(&plain, None).unwrap();
    assert_eq!(
        names(&store),
        ["docker.io/library/nginx:1.27", "quay.io/x/y:z"]
    );
    // The real manifest of the layout is kept.
    let record = store.get("nginx:1.27").unwrap().unwrap();
    assert_eq!(record.manifest.to_string(), sha256(&image.manifest()));
}

#[test]
fn index_with_several_platforms_gives_the_hosts_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("multi");
    let host = minipod_image::host_architecture();
    let other = if host == "arm64" { "amd64" } else { "arm64" };
    let foreign = Image {
        config: config(&[app_layer("foreign")], other),
        layers: vec![app_layer("foreign")],
    };
    let native = Image::new(vec![app_layer("native")]);
    let mut d_foreign = write_image_blobs(&dir, &foreign);
    d_foreign["platform"] = serde_json::json!({"os": "linux", "architecture": other});
    let mut d_native = write_image_blobs(&dir, &native);
    d_native["platform"] = serde_json::json!({"os": "linux", "architecture": host});
    let mut attestation = d_native.clone();
    attestation["platform"] = serde_json::json!({"os": "unknown", "architecture": "unknown"});

    // Flat: the platforms side by side in index.json.
    write_index(&dir, vec![d_foreign.clone(), attestation, d_native.clone()]);
    let store = store(tmp.path());
    store.import(&dir, Some("flat")).unwrap();
    let layer = &store.resolve("flat").unwrap().layers[0];
    assert_eq!(fs::read(layer.join("app/marker")).unwrap(), b"native");

    // Nested: index.json points at an image index (as registries serve multi-arch images).
    let nested = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [d_foreign.clone(), d_native],
    });
    let nested = serde_json::to_vec(&nested).unwrap();
    let digest = write_blob(&dir, &nested);
    write_index(
        &dir,
        vec![serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest, "size": nested.len(),
            "annotations": {"org.opencontainers.image.ref.name": "docker.io/library/nested:1"},
        })],
    );
    let report = store.import(&dir, None).unwrap();
    assert_eq!(report.images[0].name, "docker.io/library/nested:1");
    assert_eq!(report.images[0].id.to_string(), native.config_digest());

    // Only a foreign platform: refused, naming what there is.
    write_index(&dir, vec![d_foreign]);
    let before = tree(store.root());
    let err = store.import(&dir, Some("foreign")).unwrap_err();
    assert!(matches!(err, Error::NoPlatform { .. }), "{err}");
    assert!(err.to_string().contains(&format!("linux/{other}")), "{err}");
    assert_eq!(tree(store.root()), before);
}

#[test]
fn a_config_for_another_architecture_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = app_layer("x");
    let image = Image {
        config: config(std::slice::from_ref(&layer), "s390x"),
        layers: vec![layer],
    };
    let layout = oci_layout(&tmp.path().join("layout"), &image, None);
    let err = store(tmp.path()).import(&layout, Some("x")).unwrap_err();
    assert!(
        err.to_string().contains("the image is for linux/s390x"),
        "{err}"
    );
}

#[test]
fn names_from_the_archive_and_from_the_caller() {
    let tmp = tempfile::tempdir().unwrap();
    let image = Image::new(vec![app_layer("n")]);
    let store = store(tmp.path());

    // A ref.name that is only a tag does not name the image.
    let tag_only = oci_layout(&tmp.path().join("tag-only"), &image, Some("latest"));
    let err = store.import(&tag_only, None).unwrap_err();
    assert!(matches!(err, Error::Unnamed { .. }), "{err}");
    assert!(err.is_invalid_input());
    // A NAME given wins over the archive's.
    store.import(&tag_only, Some("mine:1")).unwrap();
    // A full ref.name names it, normalised.
    let named = oci_layout(&tmp.path().join("named"), &image, Some("busybox:1.36"));
    store.import(&named, None).unwrap();
    assert_eq!(
        names(&store),
        ["docker.io/library/busybox:1.36", "docker.io/library/mine:1"]
    );

    // A bad name is refused before anything is read.
    let err = store.import(&named, Some("Busybox")).unwrap_err();
    assert!(matches!(err, Error::Name(_)), "{err}");
    // A name pinning another manifest digest is refused.
    let pinned = format!("busybox@sha256:{}", "0".repeat(64));
    let err = store.import(&named, Some(&pinned)).unwrap_err();
    assert!(matches!(err, Error::PinnedDigest { .. }), "{err}");
    // The right digest works, and the image is found by it.
    let manifest = sha256(&image.manifest());
    store
        .import(&named, Some(&format!("busybox@{manifest}")))
        .unwrap();
    assert!(
        store
            .get(&format!("docker.io/library/busybox@{manifest}"))
            .unwrap()
            .is_some()
    );
    // By digest, an image recorded under a tag of the same repository is found too.
    let by_digest = store.get(&format!("mine@{manifest}")).unwrap().unwrap();
    assert_eq!(by_digest.name, "docker.io/library/mine:1");

    // Re-importing a name replaces its record.
    let other = Image::new(vec![app_layer("other")]);
    store
        .import(
            &oci_layout(&tmp.path().join("o"), &other, None),
            Some("mine:1"),
        )
        .unwrap();
    assert_eq!(
        store.get("mine:1").unwrap().unwrap().config.to_string(),
        other.config_digest()
    );
}

#[test]
fn a_name_for_an_archive_with_several_images_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("two");
    let mut a = write_image_blobs(&dir, &Image::new(vec![app_layer("a")]));
    a["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "a:1"});
    let mut b = write_image_blobs(&dir, &Image::new(vec![app_layer("b")]));
    b["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "b:1"});
    write_index(&dir, vec![a, b]);
    let store = store(tmp.path());
    let err = store.import(&dir, Some("one")).unwrap_err();
    assert!(matches!(err, Error::Ambiguous { count: 2, .. }), "{err}");
    let report = store.import(&dir, None).unwrap();
    assert_eq!(report.images.len(), 2);
    assert_eq!(
        names(&store),
        ["docker.io/library/a:1", "docker.io/library/b:1"]
    );
}

#[test]
fn shared_layers_are_stored_once() {
    let tmp = tempfile::tempdir().unwrap();
    let one = Image::new(vec![base_layer(), app_layer("one")]);
    let two = Image::new(vec![base_layer(), app_layer("two")]);
    let store = store(tmp.path());
    let first = store
        .import(&oci_layout(&tmp.path().join("1"), &one, None), Some("one"))
        .unwrap();
    let second = store
        .import(&oci_layout(&tmp.path().join("2"), &two, None), Some("two"))
        .unwrap();
    assert_eq!(first.new_layers, 2);
    assert_eq!(second.new_layers, 1, "the base layer is reused");
    assert_eq!(count(&store.root().join("layers/sha256")), 3);
    // base blob + 2 app blobs + 2 configs + 2 manifests
    assert_eq!(count(&store.root().join("blobs/sha256")), 7);
    let (a, b) = (store.resolve("one").unwrap(), store.resolve("two").unwrap());
    assert_eq!(a.layers[0], b.layers[0]);
    assert_ne!(a.layers[1], b.layers[1]);

    // The same content compressed another way is the same layer (same diff_id).
    let base_zstd = Layer::new(
        &[
            Entry::dir("bin"),
            Entry::file("bin/busybox", b"\x7fELF not really"),
            Entry::symlink("bin/sh", "busybox"),
            Entry::dir("etc"),
            Entry::file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
            Entry::dir("tmp").mode(0o1777),
        ],
        Compress::Zstd,
    );
    assert_eq!(base_zstd.diff_id, base_layer().diff_id);
    let three = Image::new(vec![base_zstd]);
    let third = store
        .import(
            &oci_layout(&tmp.path().join("3"), &three, None),
            Some("three"),
        )
        .unwrap();
    assert_eq!(third.new_layers, 0);
    assert_eq!(count(&store.root().join("layers/sha256")), 3);
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused_and_nothing_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    store
        .import(
            &oci_layout(
                &tmp.path().join("ok"),
                &Image::new(vec![base_layer()]),
                None,
            ),
            Some("ok"),
        )
        .unwrap();
    let before = tree(store.root());

    let image = Image::new(vec![base_layer(), app_layer("tampered")]);
    let layout = oci_layout(&tmp.path().join("bad"), &image, None);
    // Same length, other bytes.
    let blob = layout
        .join("blobs/sha256")
        .join(hex_of(&image.layers[1].digest));
    let mut bytes = fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&blob, &bytes).unwrap();
    let err = store.import(&layout, Some("bad")).unwrap_err();
    match &err {
        Error::DigestMismatch {
            location,
            what,
            expected,
            ..
        } => {
            assert_eq!(what, "layer");
            assert_eq!(expected.to_string(), image.layers[1].digest);
            assert!(
                location.ends_with(hex_of(&image.layers[1].digest)),
                "{location}"
            );
        }
        other => panic!("{other}"),
    }
    assert!(err.is_invalid_input());
    assert_eq!(tree(store.root()), before);

    // A blob longer than its descriptor says.
    bytes[last] ^= 0xff;
    bytes.extend_from_slice(b"trailing");
    fs::write(&blob, &bytes).unwrap();
    let err = store.import(&layout, Some("bad")).unwrap_err();
    assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");
    assert_eq!(tree(store.root()), before);

    // A missing blob.
    fs::remove_file(&blob).unwrap();
    let err = store.import(&layout, Some("bad")).unwrap_err();
    assert!(
        err.to_string().contains("missing from the archive"),
        "{err}"
    );
    assert_eq!(tree(store.root()), before);
}

#[test]
fn a_layer_that_does_not_match_its_diff_id_is_refused_and_nothing_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let good = app_layer("good");
    let evil = app_layer("evil");
    // The config promises `good`, the manifest ships `evil`.
    let image = Image {
        config: config(
            std::slice::from_ref(&good),
            minipod_image::host_architecture(),
        ),
        layers: vec![evil.clone()],
    };
    let layout = oci_layout(&tmp.path().join("layout"), &image, None);
    let err = store.import(&layout, Some("swap")).unwrap_err();
    match &err {
        Error::DiffIdMismatch {
            layer,
            index,
            expected,
            actual,
        } => {
            assert_eq!(layer.to_string(), evil.digest);
            assert_eq!(*index, 0);
            assert_eq!(expected.to_string(), good.diff_id);
            assert_eq!(actual.to_string(), evil.diff_id);
        }
        other => panic!("{other}"),
    }
    assert!(
        tree(store.root()).iter().all(|p| !p.contains("sha256/")),
        "{:?}",
        tree(store.root())
    );
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn malformed_archives_are_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let err = store.import(&empty, Some("x")).unwrap_err();
    assert!(matches!(err, Error::NotAnImage { .. }), "{err}");

    let garbage = tmp.path().join("garbage.json");
    fs::create_dir(tmp.path().join("g")).unwrap();
    fs::write(tmp.path().join("g/index.json"), b"{ not json").unwrap();
    let err = store.import(&tmp.path().join("g"), Some("x")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Json {
                what: "image index",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("g/index.json"), "{err}");

    fs::write(&garbage, b"definitely not an archive").unwrap();
    let err = store.import(&garbage, Some("x")).unwrap_err();
    assert!(matches!(err, Error::NotAnImage { .. }), "{err}");

    let err = store
        .import(&tmp.path().join("missing.tar"), Some("x"))
        .unwrap_err();
    assert!(matches!(err, Error::Input { .. }), "{err}");
    assert!(err.is_invalid_input());

    // diff_ids and layers disagree in number.
    let layer = app_layer("x");
    let image = Image {
        config: config(&[], minipod_image::host_architecture()),
        layers: vec![layer],
    };
    let err = store
        .import(&oci_layout(&tmp.path().join("n"), &image, None), Some("x"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("rootfs.diff_ids lists 0 layers, the manifest 1"),
        "{err}"
    );
    assert_eq!(count(&store.root().join("tmp")), 0);
}

#[test]
fn rm_removes_the_name_and_collects_what_no_other_image_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let one = Image::new(vec![base_layer(), app_layer("one")]);
    let two = Image::new(vec![base_layer(), app_layer("two")]);
    store
        .import(&oci_layout(&tmp.path().join("1"), &one, None), Some("one"))
        .unwrap();
    store
        .import(
            &oci_layout(&tmp.path().join("1"), &one, None),
            Some("one:alias"),
        )
        .unwrap();
    store
        .import(&oci_layout(&tmp.path().join("2"), &two, None), Some("two"))
        .unwrap();
    let shared = store.resolve("two").unwrap().layers[0].clone();

    // A second name for the same image: removing one name frees nothing.
    let removed = store.remove("one:alias").unwrap();
    assert_eq!(removed.names, ["docker.io/library/one:alias"]);
    assert_eq!((removed.blobs, removed.layers), (0, 0));

    let removed = store.remove("one").unwrap();
    assert_eq!(removed.names, ["docker.io/library/one:latest"]);
    assert_eq!(
        (removed.blobs, removed.layers),
        (3, 1),
        "manifest, config, app blob; app layer"
    );
    assert!(shared.is_dir());
    store.resolve("two").unwrap();

    let removed = store.remove("docker.io/library/two:latest").unwrap();
    assert_eq!((removed.blobs, removed.layers), (4, 2));
    assert_eq!(count(&store.root().join("blobs/sha256")), 0);
    assert_eq!(count(&store.root().join("layers/sha256")), 0);
    assert!(store.list().unwrap().is_empty());

    let err = store.remove("two").unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(
        err.to_string().contains("docker.io/library/two:latest"),
        "{err}"
    );
}

#[test]
fn gc_removes_orphans_and_leftovers_of_a_killed_import() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    store
        .import(
            &oci_layout(&tmp.path().join("1"), &Image::new(vec![base_layer()]), None),
            Some("a"),
        )
        .unwrap();
    let before = tree(store.root());
    let orphan_blob = store
        .root()
        .join(format!("blobs/sha256/{}", "1".repeat(64)));
    let orphan_layer = store
        .root()
        .join(format!("layers/sha256/{}", "2".repeat(64)));
    fs::write(&orphan_blob, b"x").unwrap();
    fs::create_dir_all(orphan_layer.join("etc")).unwrap();
    fs::create_dir_all(store.root().join("tmp/import-killed/layers")).unwrap();
    let removed = store.gc().unwrap();
    assert_eq!((removed.blobs, removed.layers), (1, 1));
    assert_eq!(tree(store.root()), before);
}

#[test]
fn reading_an_absent_store_does_not_create_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    assert!(store.list().unwrap().is_empty());
    assert!(store.get("busybox").unwrap().is_none());
    let err = store.resolve("busybox").unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(matches!(
        store.remove("busybox").unwrap_err(),
        Error::NotFound { .. }
    ));
    assert!(!store.root().exists());
}

#[test]
fn concurrent_imports_take_turns_and_share_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let images: Vec<_> = (0..4)
        .map(|i| {
            let image = Image::new(vec![base_layer(), app_layer(&format!("app{i}"))]);
            (
                format!("app{i}"),
                oci_layout(&tmp.path().join(format!("l{i}")), &image, None),
            )
        })
        .collect();
    std::thread::scope(|scope| {
        for (name, layout) in &images {
            let root = root.clone();
            scope.spawn(move || {
                // Each thread its own Store value: only the lock file is shared.
                for _ in 0..3 {
                    Store::new(&root).import(layout, Some(name)).unwrap();
                }
            });
        }
        scope.spawn(|| {
            for _ in 0..20 {
                let _ = Store::new(&root).list().unwrap();
            }
        });
    });
    let store = Store::new(&root);
    assert_eq!(store.list().unwrap().len(), 4);
    for i in 0..4 {
        let resolved = store.resolve(&format!("app{i}")).unwrap();
        assert_eq!(
            fs::read(resolved.layers[1].join("app/marker")).unwrap(),
            format!("app{i}").as_bytes()
        );
        assert_base_layer_on_disk(&resolved.layers[0]);
    }
    assert_eq!(count(&root.join("layers/sha256")), 5);
    assert_eq!(count(&root.join("tmp")), 0);
}

#[test]
fn layer_metadata_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = Layer::new(
        &[
            Entry::dir("usr").mtime(1000),
            Entry::dir("usr/bin").owner(2, 3).mode(0o750).mtime(2000),
            Entry::file("usr/bin/su", b"su").mode(0o4755).owner(0, 0),
            Entry::file("usr/bin/wall", b"wall")
                .mode(0o2755)
                .owner(0, 5)
                .mtime(3000),
            Entry::file("usr/bin/mine", b"mine")
                .mode(0o600)
                .owner(1000, 1000),
            Entry::hard_link("usr/bin/mine-too", "usr/bin/mine"),
            Entry::symlink("usr/bin/link", "../../etc/anywhere").owner(7, 8),
            Entry::file("usr/bin/cap", b"cap").xattr("user.minipod.test", b"kept"),
            Entry::dir("./").mode(0o711),
        ],
        Compress::Gzip,
    );
    let store = store(tmp.path());
    store
        .import(
            &oci_layout(&tmp.path().join("l"), &Image::new(vec![layer]), None),
            Some("meta"),
        )
        .unwrap();
    let root = &store.resolve("meta").unwrap().layers[0];
    let meta = |p: &str| fs::symlink_metadata(root.join(p)).unwrap();
    assert_eq!(meta("usr").mtime(), 1000);
    let bin = meta("usr/bin");
    assert_eq!(
        (bin.uid(), bin.gid(), bin.mode() & 0o7777, bin.mtime()),
        (2, 3, 0o750, 2000)
    );
    assert_eq!(meta("usr/bin/su").mode() & 0o7777, 0o4755);
    let wall = meta("usr/bin/wall");
    assert_eq!(
        (wall.gid(), wall.mode() & 0o7777, wall.mtime()),
        (5, 0o2755, 3000)
    );
    let mine = meta("usr/bin/mine");
    assert_eq!(
        (mine.uid(), mine.gid(), mine.mode() & 0o7777),
        (1000, 1000, 0o600)
    );
    assert_eq!(meta("usr/bin/mine-too").ino(), mine.ino());
    assert_eq!(mine.nlink(), 2);
    let link = meta("usr/bin/link");
    assert!(link.file_type().is_symlink());
    assert_eq!(
        (link.uid(), link.gid(), link.mtime()),
        (7, 8, 1_700_000_000)
    );
    assert_eq!(
        fs::read_link(root.join("usr/bin/link")).unwrap(),
        Path::new("../../etc/anywhere")
    );
    // user.* xattrs survive where the file system keeps them.
    if let Ok(Some(value)) = xattr::get(root.join("usr/bin/cap"), "user.minipod.test") {
        assert_eq!(value, b"kept");
    }
    assert_eq!(fs::metadata(root).unwrap().mode() & 0o7777, 0o711);
}
