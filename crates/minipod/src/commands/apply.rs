//! `minipod apply -f FILE|DIR|-`: creates the Secrets and pods of
//! manifests on the daemon, or updates them (Secrets: replaced; pods:
//! their images), as `kubectl apply` does.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use minipod_spec::load;

use super::secrets;
use super::target::Target;
use crate::client::status_error;
use crate::exit;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A manifest file, a directory of them (`.yaml`, `.yml`, `.json`), or `-`.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE|DIR|-",
        required = true
    )]
    files: Vec<PathBuf>,
    #[command(flatten)]
    target: Target,
}

/// The manifest files named by `paths` (directories expanded, sorted).
fn manifest_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
                })
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

pub fn run(args: &ApplyArgs) -> Result<u8> {
    let client = args.target.client();
    let mut code = exit::OK;
    for file in manifest_files(&args.files)? {
        // Read strictly here, so a typo is reported with its line, as
        // `minipod plan` does; the daemon admits the pod again.
        let objects = match load::load_objects(&file) {
            Ok(objects) => objects,
            Err(errors) => {
                eprintln!("{errors}");
                code = exit::INVALID_INPUT;
                continue;
            }
        };
        // The Secrets first, so that a pod finds the pull secrets it names
        // when it is created.
        for item in &objects.secrets {
            let done = secrets::apply(&client, &item.secret, &args.target.namespace)?;
            if done != exit::OK {
                code = done;
            }
        }
        for item in objects.pods {
            let pod = item.pod;
            let namespace = pod
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| args.target.namespace.clone());
            let name = pod.metadata.name.clone().unwrap_or_default();
            let body = serde_json::to_vec(&pod)?;
            let pods_path = format!("/api/v1/namespaces/{namespace}/pods");
            let existing = client.get(&format!("{pods_path}/{name}"))?;
            let (response, verb) = if existing.status == 404 || name.is_empty() {
                drop(existing);
                (
                    client.request("POST", &pods_path, Some(&body), "application/json")?,
                    Verb::Created,
                )
            } else {
                let current = existing.json()?;
                // As `kubectl apply` does, a strategic merge patch: lists of
                // containers merge by name, so the server's defaults stay.
                // The server answers 422 for what may not change.
                let mut patch = serde_json::json!({"spec": pod.spec});
                for (field, map) in [
                    ("labels", &pod.metadata.labels),
                    ("annotations", &pod.metadata.annotations),
                ] {
                    if !map.is_empty() {
                        patch["metadata"][field] = serde_json::to_value(map)?;
                    }
                }
                let response = client.request(
                    "PATCH",
                    &format!("{pods_path}/{name}"),
                    Some(&serde_json::to_vec(&patch)?),
                    "application/strategic-merge-patch+json",
                )?;
                (response, Verb::Patched { before: current })
            };
            let status = response.status;
            let value: serde_json::Value =
                serde_json::from_slice(&response.bytes()?).unwrap_or_default();
            if (200..300).contains(&status) {
                let name = value["metadata"]["name"].as_str().unwrap_or(&name);
                let verb = match verb {
                    Verb::Created => "created",
                    // What the patch could change: the spec, the labels
                    // and the annotations. Not the resourceVersion: the
                    // pod's status may change between the read and the
                    // patch (a container starting), which is no change of
                    // the user's (kubectl says "unchanged" for an empty
                    // patch, whatever the status does).
                    Verb::Patched { before } => {
                        let applied = |pod: &serde_json::Value| {
                            (
                                pod["spec"].clone(),
                                pod["metadata"]["labels"].clone(),
                                pod["metadata"]["annotations"].clone(),
                            )
                        };
                        if applied(&before) == applied(&value) {
                            "unchanged"
                        } else {
                            "configured"
                        }
                    }
                };
                println!("pod/{name} {verb}");
            } else {
                eprintln!("{}", status_error(&value, status));
                code = if status == 422 || status == 400 {
                    exit::INVALID_INPUT
                } else {
                    exit::FAILURE
                };
            }
        }
    }
    Ok(code)
}

/// What `apply` did to a pod.
enum Verb {
    Created,
    /// Patched the pod that was `before`.
    Patched {
        before: serde_json::Value,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_to_their_manifests_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.yaml", "a.json", "c.txt", "d.yml"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let files = manifest_files(&[dir.path().to_owned()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.json", "b.yaml", "d.yml"]);
    }
}
