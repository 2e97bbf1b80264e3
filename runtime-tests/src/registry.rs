//! Real OCI distribution registries on loopback, with test images pushed to
//! them: what the registry client's tests pull from.
//!
//! A [`TestRegistry`] is Debian's `docker-registry` (the CNCF distribution
//! registry, 2.8) run as a child of the test, `docker-registry serve
//! CONFIG`, with a config of its own in a temporary directory: filesystem
//! storage there, `127.0.0.1:<free port>`, plain HTTP, and optionally
//! htpasswd (bcrypt) basic auth or token auth, with a token server of the
//! harness's own ([`token`]). Images are pushed with `skopeo copy` from
//! OCI image layouts the harness writes ([`layout`]): the project's
//! busybox image with a gzip, a zstd or an uncompressed layer, the same as
//! a Docker (schema 2) image, and an image index of two platforms (or the
//! same as a Docker manifest list). Each push
//! returns what the registry now serves (a [`PushedImage`]: manifest,
//! config, layers), read back from the registry, not assumed.
//!
//! When the registry drops, its process is killed (by its pid: it is our
//! child) and reaped, and its directory removed. Nothing runs as a
//! service: `scripts/setup.sh` installs the packages without starting
//! Debian's own registry. A missing tool fails the test with a message
//! naming `scripts/setup.sh`.

pub mod http;
pub mod layout;
pub mod token;

pub use layout::{
    DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Descriptor,
    OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_ZSTD, OCI_MANIFEST,
    sha256_digest,
};

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use layout::{Layout, busybox, other_architecture, tiny_image};
use token::TokenServer;

const REGISTRY: &str = "/usr/bin/docker-registry";
const SKOPEO: &str = "/usr/bin/skopeo";
const HTPASSWD: &str = "/usr/bin/htpasswd";

/// The `issuer` and `service` of a registry with token auth: what its
/// tokens must name (`iss`, `aud`).
pub const TOKEN_ISSUER: &str = "minipod-test-token-server";
pub const TOKEN_SERVICE: &str = "minipod-test-registry";

/// Generous: a registry starts in well under a second here, but the VM is slow.
const STARTUP: Duration = Duration::from_secs(60);

/// What a manifest GET accepts: every manifest type the harness pushes.
pub const MANIFEST_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// The compression of a pushed busybox layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `application/vnd.oci.image.layer.v1.tar+gzip`
    Gzip,
    /// `application/vnd.oci.image.layer.v1.tar+zstd`
    Zstd,
    /// `application/vnd.oci.image.layer.v1.tar`: the tar as it is.
    Uncompressed,
}

/// One image as the registry serves it.
#[derive(Debug, Clone)]
pub struct PushedImage {
    /// `127.0.0.1:PORT/REPO:TAG` (or `@sha256:…` for a platform's image):
    /// what a pod's `image:` names.
    pub name: String,
    pub manifest: Descriptor,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

impl PushedImage {
    /// The image ID: the config's digest.
    pub fn image_id(&self) -> &str {
        &self.config.digest
    }

    /// The config plus the layer blobs, as `crictl images` counts.
    pub fn size(&self) -> u64 {
        self.config.size + self.layers.iter().map(|l| l.size).sum::<u64>()
    }
}

/// One platform's image of a [`PushedIndex`].
#[derive(Debug, Clone)]
pub struct PlatformImage {
    pub os: String,
    pub architecture: String,
    pub image: PushedImage,
}

/// An image index (manifest list) as the registry serves it.
#[derive(Debug, Clone)]
pub struct PushedIndex {
    /// `127.0.0.1:PORT/REPO:TAG`
    pub name: String,
    pub index: Descriptor,
    pub platforms: Vec<PlatformImage>,
}

impl PushedIndex {
    /// The image for `linux/<architecture>`; panics if the index has none.
    pub fn platform(&self, architecture: &str) -> &PushedImage {
        self.platforms
            .iter()
            .find(|p| p.os == "linux" && p.architecture == architecture)
            .map(|p| &p.image)
            .unwrap_or_else(|| panic!("{} has no linux/{architecture}", self.name))
    }
}

/// How a registry authenticates its clients (its config's `auth:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthMode {
    None,
    /// `auth: htpasswd`: Basic credentials on each request.
    Htpasswd,
    /// `auth: token`: Bearer tokens from the harness's [`TokenServer`].
    Token,
}

/// A registry on loopback, for one test. See the module's documentation.
#[derive(Debug)]
pub struct TestRegistry {
    child: Child,
    dir: PathBuf,
    host: String,
    credentials: Option<(String, String)>,
    /// With token auth: the realm the registry sends its clients to.
    /// Dropped after the registry (fields drop after `Drop::drop`).
    token_server: Option<TokenServer>,
}

impl TestRegistry {
    /// Starts a registry on `127.0.0.1:<free port>`, with basic auth for
    /// the one user `auth` when given; returns once `GET /v2/` answers.
    pub fn start(auth: Option<(&str, &str)>) -> TestRegistry {
        let mode = if auth.is_some() {
            AuthMode::Htpasswd
        } else {
            AuthMode::None
        };
        TestRegistry::start_with(auth, mode)
    }

    /// Starts a registry with token auth (`auth: token`) and its token
    /// server ([`token`]), which gives tokens to the one user `user` with
    /// `password` (HTTP Basic on the token request) and to no one else. An
    /// anonymous client gets `401` with `WWW-Authenticate: Bearer
    /// realm="http://127.0.0.1:PORT/token",service="minipod-test-registry",...`.
    pub fn start_with_token_auth(user: &str, password: &str) -> TestRegistry {
        TestRegistry::start_with(Some((user, password)), AuthMode::Token)
    }

    fn start_with(auth: Option<(&str, &str)>, mode: AuthMode) -> TestRegistry {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        require(REGISTRY, "docker-registry");
        require(SKOPEO, "skopeo");
        let dir = std::env::temp_dir().join(format!(
            "minipod-rt-registry-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("storage")).expect("registry dir");
        let mut token_server = None;
        if let (AuthMode::Token, Some((user, password))) = (mode, auth) {
            let server = TokenServer::start(user, password, TOKEN_ISSUER, TOKEN_SERVICE);
            fs::write(dir.join("token-root.pem"), server.root_pem()).expect("token-root.pem");
            token_server = Some(server);
        }
        if let (AuthMode::Htpasswd, Some((user, password))) = (mode, auth) {
            require(HTPASSWD, "apache2-utils");
            // -B: bcrypt, the only hash the registry accepts; -n: to stdout.
            let out = Command::new(HTPASSWD)
                .args(["-B", "-b", "-n", user, password])
                .output()
                .expect("run htpasswd");
            assert!(
                out.status.success(),
                "htpasswd: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            fs::write(dir.join("htpasswd"), &out.stdout).expect("write htpasswd");
        }
        let realm = token_server.as_ref().map(TokenServer::realm);
        let (child, host) = spawn(&dir, mode, realm.as_deref());
        let mut registry = TestRegistry {
            child,
            dir,
            host,
            credentials: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
            token_server,
        };
        // The port is free when asked, but another process may take it
        // before the registry binds it: then the registry exits, and it
        // starts again on another. (A panic here drops `registry`, which
        // kills the child and removes the directory.)
        for attempt in 1.. {
            match registry.wait_ready() {
                Ok(()) => break,
                Err(log) if log.contains("address already in use") && attempt < 10 => {
                    (registry.child, registry.host) = spawn(&registry.dir, mode, realm.as_deref());
                }
                Err(log) => panic!("docker-registry did not start; its log:\n{log}"),
            }
        }
        registry
    }

    /// Ok once `GET /v2/` answers as a registry; Err(the log) if the
    /// registry exited first (reaped by `try_wait`).
    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if self.child.try_wait().expect("waitpid").is_some() {
                return Err(self.log());
            }
            // 200, or 401 with auth: either way a registry answers.
            if let Ok(response) = http::get(&self.host, "/v2/", None, &[])
                && response.header("docker-distribution-api-version") == Some("registry/2.0")
            {
                return Ok(());
            }
            assert!(
                start.elapsed() < STARTUP,
                "docker-registry not answering on {} after {STARTUP:?}; its log:\n{}",
                self.host,
                self.log()
            );
            sleep(Duration::from_millis(20));
        }
    }

    /// "127.0.0.1:PORT"
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The registry's user and password, if it has auth.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The token server of a registry with token auth.
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token_server.as_ref()
    }

    /// The registry's process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The registry's directory: config, htpasswd, log, storage, layouts.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The root of the filesystem storage (`docker/registry/v2/...` under it).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.join("storage")
    }

    /// The registry's log so far (its access log included: one
    /// `"GET /v2/... HTTP/1.1" STATUS` line per request).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    /// The access log lines of the requests for `path` so far (e.g.
    /// `/v2/busybox/blobs/sha256:…`, to count how often a blob was fetched).
    pub fn requests_for(&self, method: &str, path: &str) -> Vec<String> {
        let needle = format!("\"{method} {path} HTTP/");
        self.log()
            .lines()
            .filter(|l| l.contains(&needle))
            .map(str::to_owned)
            .collect()
    }

    /// Pushes the busybox image (runnable here) as an OCI image with its
    /// layer compressed as asked (or not at all), byte for byte
    /// (`--preserve-digests`; the served manifest is checked to be the one
    /// pushed).
    pub fn push_busybox(&self, repo_tag: &str, compression: Compression) -> PushedImage {
        let image = busybox();
        let layout = Layout::create(&self.layout_dir(repo_tag));
        let config = layout.blob(OCI_CONFIG, &image.config);
        let layer = match compression {
            Compression::Gzip => layout.blob(OCI_LAYER_GZIP, &image.layer_gzip),
            Compression::Zstd => layout.blob(OCI_LAYER_ZSTD, &image.layer_zstd),
            Compression::Uncompressed => layout.blob(OCI_LAYER_TAR, &image.layer_tar),
        };
        let manifest = layout.manifest(&config, &[layer]);
        layout.finish(&manifest, "image");
        self.skopeo_copy(&layout, repo_tag, &["--preserve-digests"]);
        let pushed = self.pushed_image(repo_tag);
        assert_eq!(
            pushed.manifest, manifest,
            "the registry serves another manifest than pushed"
        );
        pushed
    }

    /// Pushes the busybox image as a Docker image (schema 2 manifest,
    /// Docker media types, gzip layer): skopeo converts it (`--format v2s2`).
    pub fn push_busybox_docker(&self, repo_tag: &str) -> PushedImage {
        let image = busybox();
        let layout = Layout::create(&self.layout_dir(repo_tag));
        let config = layout.blob(OCI_CONFIG, &image.config);
        let layer = layout.blob(OCI_LAYER_GZIP, &image.layer_gzip);
        let manifest = layout.manifest(&config, &[layer]);
        layout.finish(&manifest, "image");
        self.skopeo_copy(&layout, repo_tag, &["--format", "v2s2"]);
        let pushed = self.pushed_image(repo_tag);
        assert_eq!(pushed.manifest.media_type, DOCKER_MANIFEST, "{repo_tag}");
        pushed
    }

    /// Pushes an image index of two platforms: linux/<host arch> (the
    /// busybox image, gzip) and linux/arm64 (linux/amd64 on an arm64 host):
    /// a tiny image with one file, `/etc/platform`. `--all` pushes both
    /// images and the index, byte for byte.
    pub fn push_multi_platform(&self, repo_tag: &str) -> PushedIndex {
        let (layout, index) = self.multi_platform_layout(repo_tag);
        self.skopeo_copy(&layout, repo_tag, &["--all", "--preserve-digests"]);
        let pushed = self.pushed_index(repo_tag);
        assert_eq!(
            pushed.index, index,
            "the registry serves another index than pushed"
        );
        pushed
    }

    /// The same two platforms as [`push_multi_platform`](Self::push_multi_platform),
    /// as a Docker manifest list (`manifest.list.v2+json`) of two Docker
    /// images (`manifest.v2+json`, Docker config and layer media types):
    /// skopeo converts the index and each image (`--all --format v2s2`).
    /// The configs and the layers are the same blobs (same image IDs);
    /// the manifests, and so their digests, are new.
    pub fn push_multi_platform_docker(&self, repo_tag: &str) -> PushedIndex {
        let (layout, _) = self.multi_platform_layout(repo_tag);
        self.skopeo_copy(&layout, repo_tag, &["--all", "--format", "v2s2"]);
        let pushed = self.pushed_index(repo_tag);
        assert_eq!(
            pushed.index.media_type, DOCKER_MANIFEST_LIST,
            "{repo_tag} is not a Docker manifest list"
        );
        for platform in &pushed.platforms {
            assert_eq!(
                platform.image.manifest.media_type, DOCKER_MANIFEST,
                "{repo_tag}: {}",
                platform.architecture
            );
        }
        pushed
    }

    /// The layout of the two-platform index: the layout and the index.
    fn multi_platform_layout(&self, repo_tag: &str) -> (Layout, Descriptor) {
        let image = busybox();
        let layout = Layout::create(&self.layout_dir(repo_tag));
        let config = layout.blob(OCI_CONFIG, &image.config);
        let layer = layout.blob(OCI_LAYER_GZIP, &image.layer_gzip);
        let native = layout.manifest(&config, &[layer]);
        let other_arch = other_architecture();
        let (other_config, other_layer) = tiny_image(other_arch);
        let other_config = layout.blob(OCI_CONFIG, &other_config);
        let other_layer = layout.blob(OCI_LAYER_GZIP, &other_layer);
        let other = layout.manifest(&other_config, &[other_layer]);
        let index = layout.index(&[
            (native, "linux", &image.architecture),
            (other, "linux", other_arch),
        ]);
        layout.finish(&index, "image");
        (layout, index)
    }

    /// The index (or manifest list) `repo:tag` as served, with each of
    /// its platforms' images.
    fn pushed_index(&self, repo_tag: &str) -> PushedIndex {
        let (repo, tag) = split_repo_tag(repo_tag);
        let (media_type, bytes) = self.manifest(repo, tag);
        let json: Value = serde_json::from_slice(&bytes).expect("index is JSON");
        let platforms = json["manifests"]
            .as_array()
            .expect("index manifests")
            .iter()
            .map(|entry| {
                let digest = Descriptor::from_json(entry).digest;
                PlatformImage {
                    os: entry["platform"]["os"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    architecture: entry["platform"]["architecture"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    image: self.pushed_image_at(repo, &digest, '@'),
                }
            })
            .collect();
        PushedIndex {
            name: format!("{}/{repo}:{tag}", self.host),
            index: Descriptor::of(&media_type, &bytes),
            platforms,
        }
    }

    /// Changes the bytes of blob `digest` in the registry's storage, same
    /// length: the registry serves them under the old digest, so only a
    /// client that checks digests notices. A gzip blob gets another
    /// timestamp in its header (bytes 4..8, which decompressors ignore):
    /// it still decompresses to the same tar, so the digest check is the
    /// only thing that can refuse it. Any other blob gets its last byte
    /// flipped.
    pub fn tamper_blob(&self, digest: &str) {
        let path = self.blob_path(digest);
        let mut bytes =
            fs::read(&path).unwrap_or_else(|e| panic!("blob {digest} ({}): {e}", path.display()));
        if bytes.len() >= 10 && bytes[..3] == [0x1f, 0x8b, 0x08] {
            bytes[4] ^= 0xff;
        } else if let Some(last) = bytes.last_mut() {
            *last ^= 0x01;
        }
        fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Where the registry's filesystem storage keeps blob `digest`.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest
            .strip_prefix("sha256:")
            .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
        self.storage_dir()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// `GET path` with the registry's credentials (if any). With token
    /// auth, a token for `pull` on the path's repository (`/v2/REPO/...`)
    /// is fetched from the token server first, as a client would.
    pub fn get(&self, path: &str, accept: &[&str]) -> http::Response {
        let response = match &self.token_server {
            Some(_) => {
                let token = self.token(path);
                http::get_with(&self.host, path, Some(&format!("Bearer {token}")), accept)
            }
            None => http::get(&self.host, path, self.credentials(), accept),
        };
        response.unwrap_or_else(|e| panic!("GET {}{path}: {e}", self.host))
    }

    /// A token from the token server for `pull` on the repository of
    /// `path` (none for `/v2/`), with the registry's credentials.
    fn token(&self, path: &str) -> String {
        let server = self.token_server.as_ref().expect("a token server");
        let repo = path
            .strip_prefix("/v2/")
            .and_then(|rest| {
                ["/manifests/", "/blobs/", "/tags/"]
                    .iter()
                    .find_map(|kind| rest.find(kind).map(|i| &rest[..i]))
            })
            .filter(|repo| !repo.is_empty());
        let mut query = format!("/token?service={TOKEN_SERVICE}");
        if let Some(repo) = repo {
            query.push_str(&format!("&scope=repository:{repo}:pull"));
        }
        let response = http::get(server.address(), &query, self.credentials(), &[])
            .unwrap_or_else(|e| panic!("GET {}{query}: {e}", server.address()));
        assert_eq!(
            response.status,
            200,
            "token for {path}: {}",
            String::from_utf8_lossy(&response.body)
        );
        let json: Value = serde_json::from_slice(&response.body).expect("a token response");
        json["token"].as_str().expect("a token").to_owned()
    }

    /// The manifest `repo:reference` (a tag or a digest) as served: its
    /// `Content-Type` and its bytes.
    pub fn manifest(&self, repo: &str, reference: &str) -> (String, Vec<u8>) {
        let response = self.get(
            &format!("/v2/{repo}/manifests/{reference}"),
            &MANIFEST_TYPES,
        );
        assert_eq!(
            response.status,
            200,
            "GET manifest {repo}:{reference}: {}",
            String::from_utf8_lossy(&response.body)
        );
        let media_type = response
            .header("content-type")
            .unwrap_or_default()
            .to_owned();
        (media_type, response.body)
    }

    /// Blob `digest` of `repo` as served (not checked against its digest).
    pub fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let response = self.get(&format!("/v2/{repo}/blobs/{digest}"), &[]);
        assert_eq!(response.status, 200, "GET blob {repo}@{digest}");
        response.body
    }

    /// `skopeo inspect [--raw] docker://HOST/REF` with the registry's
    /// credentials: skopeo's own view, independent of this harness.
    pub fn skopeo_inspect(&self, reference: &str, raw: bool) -> Vec<u8> {
        let mut command = Command::new(SKOPEO);
        command.args(["--insecure-policy", "inspect", "--tls-verify=false"]);
        match self.credentials() {
            Some((user, password)) => command.arg("--creds").arg(format!("{user}:{password}")),
            None => command.arg("--no-creds"),
        };
        if raw {
            command.arg("--raw");
        }
        let out = command
            .arg(format!("docker://{}/{reference}", self.host))
            .output()
            .expect("run skopeo inspect");
        assert!(
            out.status.success(),
            "skopeo inspect {reference}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `skopeo copy oci:LAYOUT:image docker://HOST/REPO:TAG`, over plain
    /// HTTP, with the registry's credentials. `--insecure-policy`: the
    /// host's signature policy (`/etc/containers/policy.json`) is not the
    /// tests' business.
    fn skopeo_copy(&self, layout: &Layout, repo_tag: &str, extra: &[&str]) {
        let mut command = Command::new(SKOPEO);
        command.args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
        ]);
        match self.credentials() {
            Some((user, password)) => command
                .arg("--dest-creds")
                .arg(format!("{user}:{password}")),
            None => command.arg("--dest-no-creds"),
        };
        let out = command
            .args(extra)
            .arg(format!("oci:{}:image", layout.dir().display()))
            .arg(format!("docker://{}/{repo_tag}", self.host))
            .output()
            .expect("run skopeo copy");
        assert!(
            out.status.success(),
            "skopeo copy to {repo_tag}: {}\nregistry log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    fn layout_dir(&self, repo_tag: &str) -> PathBuf {
        self.dir
            .join("layouts")
            .join(repo_tag.replace(['/', ':'], "_"))
    }

    fn pushed_image(&self, repo_tag: &str) -> PushedImage {
        let (repo, tag) = split_repo_tag(repo_tag);
        self.pushed_image_at(repo, tag, ':')
    }

    /// The image manifest `repo<separator>reference` as served.
    fn pushed_image_at(&self, repo: &str, reference: &str, separator: char) -> PushedImage {
        let (media_type, bytes) = self.manifest(repo, reference);
        let json: Value = serde_json::from_slice(&bytes).expect("manifest is JSON");
        PushedImage {
            name: format!("{}/{repo}{separator}{reference}", self.host),
            manifest: Descriptor::of(&media_type, &bytes),
            config: Descriptor::from_json(&json["config"]),
            layers: json["layers"]
                .as_array()
                .expect("manifest layers")
                .iter()
                .map(Descriptor::from_json)
                .collect(),
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        // Our own child, by its pid; then reaped, so no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("test cleanup: cannot remove {}: {e}", self.dir.display());
        }
    }
}

/// "repo:tag" → ("repo", "tag"); "repo" → ("repo", "latest").
fn split_repo_tag(repo_tag: &str) -> (&str, &str) {
    match repo_tag.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (repo_tag, "latest"),
    }
}

/// Writes the config for a free port in `dir` and starts the registry
/// there, its output into `dir/registry.log`. Returns it and its host.
fn spawn(dir: &Path, mode: AuthMode, realm: Option<&str>) -> (Child, String) {
    let host = format!("127.0.0.1:{}", free_port());
    fs::write(dir.join("config.yml"), config(dir, &host, mode, realm)).expect("config");
    let log = fs::File::create(dir.join("registry.log")).expect("registry.log");
    let child = Command::new(REGISTRY)
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log fd"))
        .stderr(log)
        .spawn()
        .expect("spawn docker-registry");
    (child, host)
}

/// A port nobody listens on now (the kernel picks it for `:0`).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn require(program: &str, package: &str) {
    assert!(
        Path::new(program).exists(),
        "{program} is missing: scripts/setup.sh installs it (Debian package {package})"
    );
}

/// The registry's configuration (distribution's `configuration.md`).
/// Strings are written as JSON strings, which YAML reads as they are.
fn config(dir: &Path, host: &str, mode: AuthMode, realm: Option<&str>) -> String {
    let quote = |p: &Path| serde_json::to_string(&p.display().to_string()).expect("json");
    let string = |s: &str| serde_json::to_string(s).expect("json");
    let mut yaml = format!(
        "version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {host}
  secret: minipod-test-registry
",
        storage = quote(&dir.join("storage")),
    );
    match mode {
        AuthMode::None => {}
        AuthMode::Htpasswd => yaml.push_str(&format!(
            "auth:
  htpasswd:
    realm: minipod-test
    path: {}
",
            quote(&dir.join("htpasswd"))
        )),
        AuthMode::Token => yaml.push_str(&format!(
            "auth:
  token:
    realm: {realm}
    service: {service}
    issuer: {issuer}
    rootcertbundle: {bundle}
",
            realm = string(realm.expect("a token realm")),
            service = string(TOKEN_SERVICE),
            issuer = string(TOKEN_ISSUER),
            bundle = quote(&dir.join("token-root.pem")),
        )),
    }
    yaml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_repo_and_tag() {
        assert_eq!(split_repo_tag("busybox:1.36"), ("busybox", "1.36"));
        assert_eq!(
            split_repo_tag("library/busybox"),
            ("library/busybox", "latest")
        );
    }
}
