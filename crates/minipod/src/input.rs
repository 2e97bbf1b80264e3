//! Reading manifests and admitting their pods, with the errors and warnings
//! printed the way kubectl prints them.

use std::path::Path;

use minipod_node::assigned::server_assigned;
use minipod_spec::secret::admit_secret;
use minipod_spec::{AdmittedPod, Secret, admit, load};

/// A manifest that is not admitted: every problem at once, as kubectl
/// prints them (the loader's errors, or one line per refused object). It
/// is shown as it is and the command exits with `INVALID_INPUT`.
#[derive(Debug, thiserror::Error)]
#[error("{problems}")]
pub struct InvalidManifest {
    problems: String,
}

/// The pods and the Secrets of a manifest file, admitted (defaulted and
/// validated as the API server does), or why not.
pub fn admitted_objects(path: &Path) -> Result<(Vec<AdmittedPod>, Vec<Secret>), InvalidManifest> {
    let loaded = load::load_objects(path).map_err(|errors| InvalidManifest {
        problems: errors.to_string(),
    })?;
    let mut pods = Vec::new();
    let mut secrets = Vec::new();
    let mut problems = Vec::new();
    for item in loaded.secrets {
        match admit_secret(item.secret) {
            Ok(secret) => secrets.push(secret),
            Err(invalid) => problems.push(format!("{}: {invalid}", item.source)),
        }
    }
    for item in loaded.pods {
        match admit(item.pod, &server_assigned()) {
            Ok(pod) => pods.push(pod),
            Err(invalid) => problems.push(format!("{}: {invalid}", item.source)),
        }
    }
    if problems.is_empty() {
        Ok((pods, secrets))
    } else {
        Err(InvalidManifest {
            problems: problems.join("\n"),
        })
    }
}

/// Prints an admitted pod's warnings as kubectl prints server warnings.
pub fn print_warnings(pod: &AdmittedPod) {
    for warning in pod.warnings() {
        eprintln!("Warning: pod {:?}: {warning}", pod.name());
    }
}
