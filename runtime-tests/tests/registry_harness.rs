//! The registry harness itself (`src/registry.rs`), checked against the
//! real `docker-registry` and `skopeo`: what the registry client's tests
//! rely on must be true before they rely on it. Each test starts its own
//! registries on loopback; none needs root, and they may run in parallel.

use std::io::Read;
use std::path::Path;

use minipod_runtime_tests::registry::{
    Compression, DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST,
    OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_ZSTD, OCI_MANIFEST,
    TestRegistry, sha256_digest,
};
use serde_json::Value;

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

#[test]
fn pushes_busybox_with_gzip_zstd_and_docker_media_types() {
    let registry = TestRegistry::start(None);
    let gzip = registry.push_busybox("busybox:gzip", Compression::Gzip);
    let zstd = registry.push_busybox("busybox:zstd", Compression::Zstd);
    let docker = registry.push_busybox_docker("busybox:docker");
    let plain = registry.push_busybox("busybox:tar", Compression::Uncompressed);

    // skopeo's own view of each manifest.
    for (image, manifest_type, config_type, layer_type) in [
        (&gzip, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER_GZIP),
        (&zstd, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER_ZSTD),
        (&plain, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER_TAR),
        (&docker, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER_GZIP),
    ] {
        let reference = image
            .name
            .strip_prefix(&format!("{}/", registry.host()))
            .unwrap();
        let raw = registry.skopeo_inspect(reference, true);
        assert_eq!(sha256_digest(&raw), image.manifest.digest, "{reference}");
        let manifest = json(&raw);
        assert_eq!(manifest["mediaType"], manifest_type, "{reference}");
        assert_eq!(manifest["config"]["mediaType"], config_type, "{reference}");
        assert_eq!(
            manifest["layers"][0]["mediaType"], layer_type,
            "{reference}"
        );
        assert_eq!(image.layers.len(), 1);
        let inspect = json(&registry.skopeo_inspect(reference, false));
        assert_eq!(inspect["Os"], "linux", "{reference}");
        assert_eq!(
            inspect["Digest"],
            image.manifest.digest.as_str(),
            "{reference}"
        );
        assert_eq!(
            image.manifest.media_type, manifest_type,
            "Content-Type of {reference}"
        );
    }

    // One image, three encodings: the same config (image ID) and the same
    // uncompressed layer, and the zstd blob really is zstd.
    assert_eq!(gzip.image_id(), zstd.image_id());
    assert_eq!(gzip.image_id(), docker.image_id());
    assert_eq!(gzip.layers[0].digest, docker.layers[0].digest);
    assert_ne!(gzip.layers[0].digest, zstd.layers[0].digest);
    let zstd_blob = registry.blob("busybox", &zstd.layers[0].digest);
    assert_eq!(
        &zstd_blob[..4],
        &[0x28, 0xb5, 0x2f, 0xfd],
        "zstd frame magic"
    );
    assert_eq!(zstd_blob.len() as u64, zstd.layers[0].size);
    let mut tar = Vec::new();
    ruzstd::decoding::StreamingDecoder::new(&zstd_blob[..])
        .expect("zstd frame")
        .read_to_end(&mut tar)
        .expect("unzstd");
    let gzip_blob = registry.blob("busybox", &gzip.layers[0].digest);
    assert_eq!(sha256_digest(&gzip_blob), gzip.layers[0].digest);
    assert!(
        tar == gunzip(&gzip_blob),
        "the zstd and gzip layers hold different tars"
    );
    let config = json(&registry.blob("busybox", gzip.image_id()));
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        sha256_digest(&tar).as_str()
    );
    // The uncompressed layer is that tar, as it is: its digest is the diff_id.
    assert_eq!(gzip.image_id(), plain.image_id());
    assert_eq!(plain.layers[0].digest, sha256_digest(&tar));
    assert!(registry.blob("busybox", &plain.layers[0].digest) == tar);
    assert_eq!(
        gzip.size(),
        gzip.config.size + gzip.layers[0].size,
        "size: config plus layers"
    );
    assert!(
        gzip.size() > 500_000,
        "busybox is about 1 MB: {}",
        gzip.size()
    );
}

#[test]
fn htpasswd_registry_challenges_anonymous_clients_and_accepts_the_user() {
    let registry = TestRegistry::start(Some(("alice", "s3cret pass")));
    let host = registry.host();

    let anonymous = minipod_runtime_tests::registry::http::get(host, "/v2/", None, &[]).unwrap();
    assert_eq!(anonymous.status, 401);
    let challenge = anonymous.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Basic "), "challenge: {challenge:?}");
    assert!(challenge.contains("realm="), "challenge: {challenge:?}");

    let wrong =
        minipod_runtime_tests::registry::http::get(host, "/v2/", Some(("alice", "nope")), &[])
            .unwrap();
    assert_eq!(wrong.status, 401);
    assert_eq!(
        registry.get("/v2/", &[]).status,
        200,
        "with alice's password"
    );

    let image = registry.push_busybox("private/busybox:1.36", Compression::Gzip);
    let anonymous = minipod_runtime_tests::registry::http::get(
        host,
        "/v2/private/busybox/manifests/1.36",
        None,
        &[OCI_MANIFEST],
    )
    .unwrap();
    assert_eq!(anonymous.status, 401, "an anonymous manifest GET");
    let (media_type, bytes) = registry.manifest("private/busybox", "1.36");
    assert_eq!(media_type, OCI_MANIFEST);
    assert_eq!(sha256_digest(&bytes), image.manifest.digest);
}

#[test]
fn multi_platform_index_lists_both_platforms() {
    let registry = TestRegistry::start(None);
    let index = registry.push_multi_platform("multi:v1");

    let raw = registry.skopeo_inspect("multi:v1", true);
    assert_eq!(sha256_digest(&raw), index.index.digest);
    let listed = json(&raw);
    assert_eq!(listed["mediaType"], OCI_INDEX);
    let mut platforms: Vec<String> = listed["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    let (native, other) = match std::env::consts::ARCH {
        "aarch64" => ("arm64", "amd64"),
        _ => ("amd64", "arm64"),
    };
    let mut expected = vec![format!("linux/{native}"), format!("linux/{other}")];
    expected.sort();
    assert_eq!(platforms, expected);

    // Two distinct images; each config says its own platform.
    let runnable = index.platform(native);
    let foreign = index.platform(other);
    assert_ne!(runnable.image_id(), foreign.image_id());
    assert_ne!(runnable.layers, foreign.layers);
    for (image, arch) in [(runnable, native), (foreign, other)] {
        let config = json(&registry.blob("multi", image.image_id()));
        assert_eq!(config["architecture"], arch);
        assert_eq!(config["os"], "linux");
        let layer = registry.blob("multi", &image.layers[0].digest);
        assert_eq!(sha256_digest(&layer), image.layers[0].digest);
    }
    // skopeo picks the host's platform from the index, as a kubelet does.
    let picked = json(&registry.skopeo_inspect("multi:v1", false));
    assert_eq!(picked["Architecture"], native);
    // (its `Digest` is the index's, the one the reference names).
    assert_eq!(picked["Digest"], index.index.digest.as_str());
    assert_eq!(picked["Layers"][0], runnable.layers[0].digest.as_str());
}

#[test]
fn tampered_blob_is_served_with_bytes_that_do_not_match_its_digest() {
    let registry = TestRegistry::start(None);
    let image = registry.push_busybox("busybox:latest", Compression::Gzip);
    let layer = &image.layers[0];
    let before = registry.blob("busybox", &layer.digest);

    registry.tamper_blob(&layer.digest);
    let after = registry.blob("busybox", &layer.digest);
    assert_eq!(after.len(), before.len(), "same length");
    assert_ne!(
        sha256_digest(&after),
        layer.digest,
        "served bytes no longer match"
    );
    // Still a valid gzip stream of the same tar: only a digest check refuses it.
    assert!(gunzip(&after) == gunzip(&before), "the tar changed");

    // The access log shows each fetch (what a test of concurrent pulls counts).
    let path = format!("/v2/busybox/blobs/{}", layer.digest);
    minipod_runtime_tests::wait_until(
        "the registry logs both GETs of the layer",
        std::time::Duration::from_secs(30),
        || registry.requests_for("GET", &path).len() == 2,
    );

    registry.tamper_blob(image.image_id());
    let config = registry.blob("busybox", image.image_id());
    assert_eq!(config.len() as u64, image.config.size);
    assert_ne!(sha256_digest(&config), image.image_id());
}

#[test]
fn registries_leave_no_process_and_no_directory() {
    let anonymous = TestRegistry::start(None);
    let with_auth = TestRegistry::start(Some(("bob", "pw")));
    assert_ne!(anonymous.host(), with_auth.host());
    anonymous.push_busybox("busybox:latest", Compression::Gzip);
    let gone: Vec<(u32, std::path::PathBuf)> = [&anonymous, &with_auth]
        .iter()
        .map(|r| (r.pid(), r.dir().to_owned()))
        .collect();
    for (pid, dir) in &gone {
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        assert!(dir.join("storage").is_dir());
    }
    assert!(
        anonymous
            .storage_dir()
            .join("docker/registry/v2/repositories/busybox")
            .is_dir(),
        "the push landed in the registry's own storage"
    );
    drop(anonymous);
    drop(with_auth);
    for (pid, dir) in &gone {
        // Killed and reaped: not even a zombie is left.
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "registry {pid} still there"
        );
        assert!(!dir.exists(), "{} still there", dir.display());
    }
}

#[test]
fn token_registry_sends_clients_to_its_token_server() {
    use minipod_runtime_tests::registry::http;
    use minipod_runtime_tests::registry::{TOKEN_ISSUER, TOKEN_SERVICE};

    let registry = TestRegistry::start_with_token_auth("carol", "t0ken pw");
    let host = registry.host();
    let server = registry.token_server().expect("a token server");

    let anonymous = http::get(host, "/v2/", None, &[]).unwrap();
    assert_eq!(anonymous.status, 401);
    let challenge = anonymous.header("www-authenticate").unwrap_or_default();
    assert_eq!(
        challenge,
        format!(
            "Bearer realm=\"{}\",service=\"{TOKEN_SERVICE}\"",
            server.realm()
        )
    );

    // The token server: wrong or missing credentials are refused.
    let path =
        format!("/token?service={TOKEN_SERVICE}&scope=repository%3Aprivate%2Fbusybox%3Apull");
    for credentials in [None, Some(("carol", "nope")), Some(("mallory", "t0ken pw"))] {
        let refused = http::get(server.address(), &path, credentials, &[]).unwrap();
        assert_eq!(refused.status, 401, "{credentials:?}");
    }
    let granted = http::get(server.address(), &path, Some(("carol", "t0ken pw")), &[]).unwrap();
    assert_eq!(granted.status, 200);
    let body = json(&granted.body);
    assert_eq!(body["token"], body["access_token"]);
    assert_eq!(body["expires_in"], 300);
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'), "{body}");
    let token = body["token"].as_str().unwrap();
    let claims = json(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(claims["iss"], TOKEN_ISSUER);
    assert_eq!(claims["aud"], TOKEN_SERVICE);
    assert_eq!(claims["sub"], "carol");
    assert_eq!(
        claims["access"],
        serde_json::json!([{"type": "repository", "name": "private/busybox", "actions": ["pull", "push"]}])
    );

    // skopeo pushes with `--dest-creds` through the token dance.
    let image = registry.push_busybox("private/busybox:1.36", Compression::Gzip);
    let manifest_path = "/v2/private/busybox/manifests/1.36";
    let anonymous = http::get(host, manifest_path, None, &[OCI_MANIFEST]).unwrap();
    assert_eq!(anonymous.status, 401, "an anonymous manifest GET");
    let challenge = anonymous.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.ends_with(",scope=\"repository:private/busybox:pull\""),
        "{challenge}"
    );
    // Basic credentials are no token: the registry wants a Bearer.
    let basic = http::get(
        host,
        manifest_path,
        Some(("carol", "t0ken pw")),
        &[OCI_MANIFEST],
    )
    .unwrap();
    assert_eq!(basic.status, 401);
    // The token granted above is good for that repository.
    let bearer = http::get_with(
        host,
        manifest_path,
        Some(&format!("Bearer {token}")),
        &[OCI_MANIFEST],
    )
    .unwrap();
    assert_eq!(bearer.status, 200);
    assert_eq!(sha256_digest(&bearer.body), image.manifest.digest);
    // ... and not for another one.
    let other = http::get_with(
        host,
        "/v2/other/manifests/1",
        Some(&format!("Bearer {token}")),
        &[OCI_MANIFEST],
    )
    .unwrap();
    assert_eq!(other.status, 401);
    assert!(
        other
            .header("www-authenticate")
            .unwrap_or_default()
            .contains("error=\"insufficient_scope\""),
        "{:?}",
        other.headers
    );
    // skopeo's own view, through its own token requests.
    let raw = registry.skopeo_inspect("private/busybox:1.36", true);
    assert_eq!(sha256_digest(&raw), image.manifest.digest);
    assert!(
        server.requests().iter().any(|r| r.status == 200
            && r.scopes
                .iter()
                .any(|s| s.starts_with("repository:private/busybox:") && s.contains("push"))),
        "skopeo's push asked for a push token: {:?}",
        server.requests()
    );

    let address = server.address().to_owned();
    let dir = registry.dir().to_owned();
    drop(registry);
    assert!(!dir.exists());
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "the token server still listens"
    );
}

#[test]
fn docker_manifest_list_holds_two_docker_images() {
    let registry = TestRegistry::start(None);
    let oci = registry.push_multi_platform("multi:oci");
    let list = registry.push_multi_platform_docker("multi:docker");

    let raw = registry.skopeo_inspect("multi:docker", true);
    assert_eq!(sha256_digest(&raw), list.index.digest);
    let listed = json(&raw);
    assert_eq!(listed["mediaType"], DOCKER_MANIFEST_LIST);
    assert_eq!(listed["manifests"].as_array().unwrap().len(), 2);
    for entry in listed["manifests"].as_array().unwrap() {
        assert_eq!(entry["mediaType"], DOCKER_MANIFEST, "{entry}");
    }
    for platform in &list.platforms {
        let arch = &platform.architecture;
        let image = &platform.image;
        let (media_type, bytes) =
            registry.manifest("multi", image.name.rsplit_once('@').unwrap().1);
        assert_eq!(media_type, DOCKER_MANIFEST);
        let manifest = json(&bytes);
        assert_eq!(manifest["config"]["mediaType"], DOCKER_CONFIG, "{arch}");
        assert_eq!(
            manifest["layers"][0]["mediaType"], DOCKER_LAYER_GZIP,
            "{arch}"
        );
        // The same config and layer blobs as the OCI index's image.
        let same = oci.platform(arch);
        assert_eq!(image.image_id(), same.image_id(), "{arch}");
        assert_eq!(image.layers[0].digest, same.layers[0].digest, "{arch}");
        assert_ne!(image.manifest.digest, same.manifest.digest, "{arch}");
    }
}
