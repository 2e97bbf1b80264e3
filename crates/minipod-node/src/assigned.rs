//! The fields the API server assigns to an object on create, for the
//! objects minipod creates itself (`minipod run`'s pod, the daemon's pods
//! and Secrets).

use minipod_spec::ServerAssigned;

/// A fresh uid, and a name suffix for `generateName`, as the API server makes them.
pub fn server_assigned() -> ServerAssigned {
    let uid = uuid::Uuid::new_v4();
    // The API server's alphabet for generated names: no vowels (no words), no
    // look-alike characters (k8s.io/apimachinery/pkg/util/rand, `alphanums`).
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
