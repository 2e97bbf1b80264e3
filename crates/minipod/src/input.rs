//! Reading manifests and admitting their pods, with the errors and warnings
//! printed the way kubectl prints them.

use std::path::Path;

use minipod_spec::{AdmittedPod, ServerAssigned, admit, load};

/// The pods of a manifest file, admitted, or the message to show and exit with.
pub fn admitted_pods(path: &Path) -> Result<Vec<AdmittedPod>, String> {
    let loaded = load::load_file(path).map_err(|errors| errors.to_string())?;
    let mut admitted = Vec::new();
    let mut problems = Vec::new();
    for item in loaded {
        match admit(item.pod, &server_assigned()) {
            Ok(pod) => admitted.push(pod),
            Err(invalid) => problems.push(format!("{}: {invalid}", item.source)),
        }
    }
    if problems.is_empty() {
        Ok(admitted)
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

/// A fresh uid, and a name suffix for `generateName`, as the API server makes them.
pub fn server_assigned() -> ServerAssigned {
    let uid = uuid::Uuid::new_v4();
    // The API server's alphabet for generated names: no vowels (no words), no
    // look-alike characters.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let name_suffix = uid.as_bytes()[..5]
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    ServerAssigned {
        uid: uid.to_string(),
        name_suffix,
    }
}
