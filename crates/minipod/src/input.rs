//! Reading manifests and admitting their pods, with the errors and warnings
//! printed the way kubectl prints them.

use std::path::Path;

use minipod_node::assigned::server_assigned;
use minipod_spec::secret::admit_secret;
use minipod_spec::{AdmittedPod, Secret, admit, load};

/// The pods of a manifest file, admitted, or the message to show and exit
/// with. Its Secrets are checked too, and left out.
pub fn admitted_pods(path: &Path) -> Result<Vec<AdmittedPod>, String> {
    admitted_objects(path).map(|(pods, _)| pods)
}

/// The pods and the Secrets of a manifest file, admitted (defaulted and
/// validated as the API server does), or the message to show and exit with.
pub fn admitted_objects(path: &Path) -> Result<(Vec<AdmittedPod>, Vec<Secret>), String> {
    let loaded = load::load_objects(path).map_err(|errors| errors.to_string())?;
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
        Err(problems.join("\n"))
    }
}

/// Prints an admitted pod's warnings as kubectl prints server warnings.
pub fn print_warnings(pod: &AdmittedPod) {
    for warning in pod.warnings() {
        eprintln!("Warning: pod {:?}: {warning}", pod.name());
    }
}
