//! The daemon's Secrets on disk: `<state>/secrets/<namespace>/<name>.json`,
//! one Kubernetes JSON object each (data base64, as the API serves it).
//! Directories are 0700 and files 0600 (root only: they hold registry
//! passwords), written through a temporary file and a rename so a reader,
//! or a daemon killed mid-write, finds the old file or the new one.
//!
//! The API layer has already decoded, defaulted and validated every Secret
//! that reaches here; names and namespaces are DNS subdomains and labels,
//! so they are safe as path components.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use minipod_spec::error_chain;

use minipod_monitor::records::RecordError;
use serde_json::Value;

/// `secrets` under the node's state directory.
pub const SECRETS_DIR: &str = "secrets";

/// Why a Secret could not be stored, read or removed: the step and its
/// path; the cause is the source.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("creating the directory {path} (mode 0700)")]
    Directory {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: RecordError,
    },
    #[error("removing {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("parsing {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The Secrets directory of a node.
#[derive(Debug, Clone)]
pub struct SecretStore {
    dir: PathBuf,
}

impl SecretStore {
    /// The store under `state_dir` (nothing is created until a write).
    pub fn new(state_dir: &Path) -> SecretStore {
        SecretStore {
            dir: state_dir.join(SECRETS_DIR),
        }
    }

    fn path(&self, namespace: &str, name: &str) -> PathBuf {
        self.dir.join(namespace).join(format!("{name}.json"))
    }

    /// Writes (or replaces) one Secret, atomically, mode 0600.
    pub fn write(&self, namespace: &str, name: &str, secret: &Value) -> Result<(), StoreError> {
        let dir = self.dir.join(namespace);
        for d in [&self.dir, &dir] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(d)
                .map_err(|source| StoreError::Directory {
                    path: d.clone(),
                    source,
                })?;
            // An existing directory keeps its mode: make sure of it.
            fs::set_permissions(d, fs::Permissions::from_mode(0o700)).map_err(|source| {
                StoreError::Directory {
                    path: d.clone(),
                    source,
                }
            })?;
        }
        let path = self.path(namespace, name);
        // Created 0600 before anything is written into it.
        minipod_monitor::records::write_json_atomically(&path, secret)
            .map_err(|source| StoreError::Write { path, source })
    }

    /// Removes one Secret (gone already is fine).
    pub fn remove(&self, namespace: &str, name: &str) -> Result<(), StoreError> {
        let path = self.path(namespace, name);
        match fs::remove_file(&path) {
            Err(source) if source.kind() != io::ErrorKind::NotFound => {
                Err(StoreError::Remove { path, source })
            }
            _ => Ok(()),
        }
    }

    /// Every stored Secret, by namespace and name. A file that cannot be
    /// read is reported and skipped (one bad file must not stop the daemon).
    pub fn load(&self) -> Vec<((String, String), Value)> {
        let mut out = Vec::new();
        let Ok(namespaces) = fs::read_dir(&self.dir) else {
            return out;
        };
        for namespace in namespaces.flatten() {
            let Ok(ns) = namespace.file_name().into_string() else {
                continue;
            };
            let Ok(files) = fs::read_dir(namespace.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                let Some(name) = file
                    .file_name()
                    .to_str()
                    .and_then(|f| f.strip_suffix(".json"))
                    .filter(|n| !n.starts_with('.'))
                    .map(str::to_owned)
                else {
                    continue; // a temporary file left by a crash
                };
                match read(&path) {
                    Ok(secret) => out.push(((ns.clone(), name), secret)),
                    Err(e) => tracing::warn!("skipping a stored Secret: {}", error_chain(&e)),
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

fn read(path: &Path) -> Result<Value, StoreError> {
    let text = fs::read(path).map_err(|source| StoreError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| StoreError::Parse {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each step is named once and its cause follows once, as a client
    /// gets it (`chain`).
    #[test]
    fn a_failed_write_names_its_step_then_its_cause() {
        let state = tempfile::tempdir().unwrap();
        fs::write(state.path().join(SECRETS_DIR), "not a directory").unwrap();
        let store = SecretStore::new(state.path());
        let error = store
            .write("default", "regcred", &serde_json::json!({}))
            .expect_err("secrets/ is a file");
        let dir = state.path().join(SECRETS_DIR);
        assert_eq!(
            error_chain(&error),
            format!(
                "creating the directory {} (mode 0700): File exists (os error 17)",
                dir.display()
            )
        );
        println!("{}", error_chain(&error));
    }

    #[test]
    fn secrets_are_private_files_that_come_back() {
        let state = tempfile::tempdir().unwrap();
        let store = SecretStore::new(state.path());
        let secret = serde_json::json!({"metadata": {"name": "regcred"}, "data": {"a": "Yg=="}});
        store.write("default", "regcred", &secret).unwrap();
        store.write("lab", "other", &secret).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = state.path().join("secrets");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("default")), 0o700);
        assert_eq!(mode(&dir.join("default/regcred.json")), 0o600);
        fs::write(dir.join("default/.x.json.1.tmp"), "half").unwrap();

        let loaded = store.load();
        let keys: Vec<_> = loaded.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(
            keys,
            [
                ("default".to_owned(), "regcred".to_owned()),
                ("lab".to_owned(), "other".to_owned())
            ]
        );
        assert_eq!(loaded[0].1, secret);

        store.remove("default", "regcred").unwrap();
        store.remove("default", "regcred").unwrap();
        assert_eq!(store.load().len(), 1);
    }
}
