//! One pull: manifest, platform, blobs, import (see the crate docs).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use minipod_image::{Digest, Store, runs_here};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde_json::{Value, json};

use crate::auth::{AuthConfig, Credentials};
use crate::blobs::Downloads;
use crate::error::{PullError, io};
use crate::http::Session;
use crate::limits::{CONFIG_LIMIT, MANIFEST_LIMIT};
use crate::options::PullOptions;
use crate::target::{Target, target};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// What a pull accepts as a manifest, as containerd asks for it.
const ACCEPTED: &[&str] = &[OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

/// How often a download reports progress.
const PROGRESS_STEP: u64 = 256 * 1024;

/// What a pull is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The manifest is known: this many blobs (config and layers) of this
    /// many bytes in all.
    Resolved {
        manifest: String,
        blobs: usize,
        bytes: u64,
    },
    /// Bytes of a blob arrived.
    Downloading {
        digest: String,
        done: u64,
        total: u64,
    },
    /// A blob is there: downloaded, or `reused` (in the store already, or
    /// downloaded by another pull).
    Blob {
        digest: String,
        size: u64,
        reused: bool,
    },
}

/// A pulled image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The normalised name it is stored under.
    pub name: String,
    /// Its ID (the config's digest).
    pub id: Digest,
    /// The digest of the manifest pulled for this host.
    pub manifest: Digest,
    /// Its size as the store counts it (config and layer blobs).
    pub size: u64,
    /// Bytes actually downloaded by this pull.
    pub downloaded: u64,
    /// How long the pull took.
    pub elapsed: Duration,
}

/// Pulls images into a store.
#[derive(Debug, Clone)]
pub struct Puller {
    store: Store,
    options: PullOptions,
}

impl Puller {
    pub fn new(store: Store, options: PullOptions) -> Puller {
        Puller { store, options }
    }

    /// Pulls `image` (any name `image:` may hold) with the logins of `auth`
    /// and stores it. Blocking, and not from inside a tokio runtime: it runs
    /// a small one of its own.
    pub fn pull(
        &self,
        image: &str,
        auth: &AuthConfig,
        progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<Pulled, PullError> {
        let started = Instant::now();
        let target = target(image, &self.options.insecure_registries)?;
        // reqwest's rustls takes the process's crypto provider: ring, as
        // the API server uses. Installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io("a tokio runtime for the pull"))?;
        let candidates = auth.candidates(&target.registry, &target.repository);
        // Anonymous (`None`) when no login matches.
        let logins: Vec<Option<Credentials>> = if candidates.is_empty() {
            vec![None]
        } else {
            candidates.into_iter().map(Some).collect()
        };
        let mut refused = None;
        for login in logins {
            // A session per login: its token belongs to that login.
            let attempt = runtime.block_on(async {
                let session = Session::open(&target, &self.options, login.as_ref()).await?;
                self.pull_with(&session, &target, progress).await
            });
            match attempt {
                Ok((manifest, downloaded)) => {
                    let name = target.name.to_string();
                    let record = self
                        .store
                        .get(&name)
                        .map_err(|source| PullError::Store {
                            reference: name.clone(),
                            source,
                        })?
                        .ok_or_else(|| PullError::Registry {
                            reference: name.clone(),
                            message: "the image vanished from the store right after its import"
                                .into(),
                        })?;
                    return Ok(Pulled {
                        name,
                        id: record.config,
                        manifest,
                        size: record.size,
                        downloaded,
                        elapsed: started.elapsed(),
                    });
                }
                Err(e) if e.is_unauthorized() => refused = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(refused.unwrap_or_else(|| PullError::Unauthorized {
            reference: target.name.to_string(),
            message: "no login was accepted".into(),
        }))
    }

    /// The pull with one login: returns the manifest's digest and the bytes
    /// downloaded.
    async fn pull_with(
        &self,
        session: &Session,
        target: &Target,
        progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<(Digest, u64), PullError> {
        let shown = target.name.to_string();
        let asked = target
            .reference
            .digest()
            .or(target.reference.tag())
            .unwrap_or("latest");
        let (top, top_type) = fetch_manifest(session, asked, &shown).await?;
        let (manifest_bytes, manifest_type) = if is_index(&top_type) {
            let index: ImageIndex =
                serde_json::from_slice(&top).map_err(|e| manifest_error(&shown, e))?;
            let chosen = index
                .manifests()
                .iter()
                .find(|d| runs_here(d, &self.options.architecture))
                .ok_or_else(|| PullError::NoPlatform {
                    reference: shown.clone(),
                    wanted: format!("linux/{}", self.options.architecture),
                    available: platforms(index.manifests()),
                })?;
            let (bytes, media_type) =
                fetch_manifest(session, chosen.digest().as_ref(), &shown).await?;
            if is_index(&media_type) {
                return Err(PullError::Manifest {
                    reference: shown,
                    message: "an index inside an index is not supported".into(),
                });
            }
            check_digest(&bytes, chosen.digest().as_ref(), &shown)?;
            (bytes, media_type)
        } else {
            (top.clone(), top_type.clone())
        };
        let manifest: ImageManifest =
            serde_json::from_slice(&manifest_bytes).map_err(|e| manifest_error(&shown, e))?;
        let manifest_digest = sha256(&manifest_bytes);
        // The store reads the config whole: its declared size is bounded
        // before a byte of it is fetched (the download then stops there).
        if manifest.config().size() > CONFIG_LIMIT {
            return Err(PullError::TooLarge {
                reference: shown,
                what: format!(
                    "the config blob {}, declared as {} bytes,",
                    manifest.config().digest(),
                    manifest.config().size()
                ),
                limit: CONFIG_LIMIT,
            });
        }
        let blobs: Vec<Descriptor> = std::iter::once(manifest.config().clone())
            .chain(manifest.layers().iter().cloned())
            .collect();
        progress(&Progress::Resolved {
            manifest: manifest_digest.to_string(),
            blobs: blobs.len(),
            bytes: blobs.iter().map(|b| b.size()).sum(),
        });

        // The layout holds the one manifest chosen for the platform asked
        // for (which need not be the host's: the import would otherwise
        // choose again, for the host).
        // Downloads land inside the store: make it root-only first.
        self.store.prepare().map_err(|source| PullError::Store {
            reference: shown.clone(),
            source,
        })?;
        let layout = Layout::create(self.store.root())?;
        layout.write_blob(&manifest_bytes)?;
        let downloads = Downloads::new(self.store.root());
        let mut downloaded = 0;
        // Downloads are forgotten however the pull ends: imported, the
        // store has them; failed, nothing of the pull is kept.
        let mut fetched = Fetched {
            downloads: &downloads,
            hexes: Vec::new(),
        };
        for blob in &blobs {
            let digest =
                Digest::parse(blob.digest().as_ref()).map_err(|e| PullError::Manifest {
                    reference: shown.clone(),
                    message: format!("blob digest {}: {e}", blob.digest()),
                })?;
            let dest = layout.blob_path(&digest);
            let got = self
                .fetch_blob(
                    session,
                    target,
                    &downloads,
                    &digest,
                    blob.size(),
                    &dest,
                    progress,
                )
                .await?;
            if got > 0 {
                fetched.hexes.push(digest.hex().to_owned());
            }
            downloaded += got;
        }
        layout.write_index(&manifest_bytes, &manifest_type)?;

        let store = self.store.clone();
        let (path, name) = (layout.dir.clone(), shown.clone());
        let imported = tokio::task::spawn_blocking(move || store.import(&path, Some(&name)))
            .await
            .map_err(|e| PullError::Registry {
                reference: shown.clone(),
                message: format!("the import stopped: {e}"),
            })?;
        drop(layout);
        imported.map_err(|source| PullError::Store {
            reference: shown.clone(),
            source,
        })?;
        drop(fetched);
        Ok((manifest_digest, downloaded))
    }

    /// Puts blob `digest` at `dest` (a hard link): from the store, from
    /// another pull's download, or downloaded now. Returns the bytes
    /// downloaded (0 when reused).
    #[allow(clippy::too_many_arguments)] // one pull's context, passed down
    async fn fetch_blob(
        &self,
        session: &Session,
        target: &Target,
        downloads: &Downloads,
        digest: &Digest,
        size: u64,
        dest: &Path,
        progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<u64, PullError> {
        let reused = |path: &Path| -> Result<u64, PullError> {
            link_or_copy(path, dest)?;
            progress(&Progress::Blob {
                digest: digest.to_string(),
                size,
                reused: true,
            });
            Ok(0)
        };
        if let Some(path) = self.store.blob_path(digest) {
            return reused(&path);
        }
        let (d, hex) = (downloads.clone(), digest.hex().to_owned());
        let slot = tokio::task::spawn_blocking(move || d.slot(&hex))
            .await
            .map_err(|e| PullError::Registry {
                reference: target.name.to_string(),
                message: e.to_string(),
            })??;
        if slot.finished.is_file() {
            return reused(&slot.finished);
        }
        if let Some(path) = self.store.blob_path(digest) {
            return reused(&path);
        }
        let digest_text = digest.to_string();
        let mut reported = 0;
        let mut report = |done: u64| {
            if done - reported >= PROGRESS_STEP || done == size {
                reported = done;
                progress(&Progress::Downloading {
                    digest: digest_text.clone(),
                    done,
                    total: size,
                });
            }
        };
        let result = session
            .blob(&digest_text, size, &slot.partial, &mut report)
            .await;
        if let Err(e) = result {
            // Nothing of a refused or broken download is kept.
            let _ = fs::remove_file(&slot.partial);
            return Err(e);
        }
        fs::rename(&slot.partial, &slot.finished).map_err(io(&slot.finished))?;
        link_or_copy(&slot.finished, dest)?;
        progress(&Progress::Blob {
            digest: digest_text,
            size,
            reused: false,
        });
        Ok(size)
    }
}

/// Fetches a manifest or index (`reference`: a tag or digest), at most
/// [`MANIFEST_LIMIT`] bytes; returns its bytes and media type.
async fn fetch_manifest(
    session: &Session,
    reference: &str,
    shown: &str,
) -> Result<(Vec<u8>, String), PullError> {
    let bytes = session
        .manifest(reference, ACCEPTED, MANIFEST_LIMIT)
        .await?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| manifest_error(shown, e))?;
    let media_type = match value.get("mediaType").and_then(Value::as_str) {
        Some(t) => t.to_owned(),
        // OCI lets the field out: an index has `manifests`, a manifest `layers`.
        None if value.get("manifests").is_some() => OCI_INDEX.to_owned(),
        None => OCI_MANIFEST.to_owned(),
    };
    if !ACCEPTED.contains(&media_type.as_str()) {
        return Err(PullError::Manifest {
            reference: shown.to_owned(),
            message: format!("unsupported media type {media_type}"),
        });
    }
    Ok((bytes, media_type))
}

fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

fn platforms(entries: &[Descriptor]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|d| d.platform().as_ref())
        .map(|p| {
            let mut s = format!("{}/{}", p.os(), p.architecture());
            if let Some(v) = p.variant() {
                s.push('/');
                s.push_str(v);
            }
            s
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> Digest {
    use sha2::Digest as _;
    let hex = hex::encode(sha2::Sha256::digest(bytes));
    Digest::from_hex(&hex).expect("a sha256 is 64 hex digits")
}

fn check_digest(bytes: &[u8], expected: &str, shown: &str) -> Result<(), PullError> {
    let actual = sha256(bytes).to_string();
    if actual == expected {
        Ok(())
    } else {
        Err(PullError::Digest {
            reference: shown.to_owned(),
            digest: expected.to_owned(),
            actual,
        })
    }
}

fn manifest_error(shown: &str, e: serde_json::Error) -> PullError {
    PullError::Manifest {
        reference: shown.to_owned(),
        message: e.to_string(),
    }
}

/// `<store>/pulls/<unique>/`: the pulled image as an OCI image layout,
/// removed when dropped.
struct Layout {
    dir: PathBuf,
}

impl Layout {
    fn create(store_root: &Path) -> Result<Layout, PullError> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let pulls = store_root.join("pulls");
        remove_abandoned(&pulls);
        let dir = pulls.join(format!("{}-{nanos}", std::process::id()));
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        let layout = Layout { dir };
        let marker = layout.dir.join("oci-layout");
        fs::write(&marker, b"{\"imageLayoutVersion\":\"1.0.0\"}").map_err(io(&marker))?;
        Ok(layout)
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.hex())
    }

    fn write_blob(&self, bytes: &[u8]) -> Result<(), PullError> {
        let path = self.blob_path(&sha256(bytes));
        let mut file = fs::File::create(&path).map_err(io(&path))?;
        file.write_all(bytes).map_err(io(&path))
    }

    /// `index.json`, pointing at the manifest (an entry without a platform,
    /// which the import takes whatever the host).
    fn write_index(&self, manifest: &[u8], media_type: &str) -> Result<(), PullError> {
        let index = json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": media_type,
                "digest": sha256(manifest).to_string(),
                "size": manifest.len(),
            }],
        });
        let path = self.dir.join("index.json");
        fs::write(&path, index.to_string()).map_err(io(&path))
    }
}

/// Removes the layouts of pulls whose process is gone (killed mid-pull):
/// `<pid>-<nanos>` with no `/proc/<pid>`. A pid reused since is left
/// alone; its layout goes with a later pull.
fn remove_abandoned(pulls: &Path) {
    let Ok(entries) = fs::read_dir(pulls) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            tracing::info!("removing an abandoned pull: {}", entry.path().display());
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for Layout {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The blobs a pull downloaded itself, forgotten when it ends.
struct Fetched<'a> {
    downloads: &'a Downloads,
    hexes: Vec<String>,
}

impl Drop for Fetched<'_> {
    fn drop(&mut self) {
        for hex in &self.hexes {
            self.downloads.forget(hex);
        }
    }
}

fn link_or_copy(from: &Path, to: &Path) -> Result<(), PullError> {
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).map(drop).map_err(io(to))
}
