//! The namespaces a pod's containers share.

use serde::{Deserialize, Serialize};

/// A namespace the containers of a pod share, made once by its sandbox and
/// joined by each container's init (namespaces(7)). It crosses the fork to
/// the init as its `/proc/<pid>/ns/` name (`net`, `ipc`, `uts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    Net,
    Ipc,
    Uts,
}

impl Namespace {
    /// Every namespace a pod's sandbox makes.
    pub const SHARED_BY_POD: [Namespace; 3] = [Namespace::Net, Namespace::Ipc, Namespace::Uts];

    /// Its name under `/proc/<pid>/ns/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Net => "net",
            Namespace::Ipc => "ipc",
            Namespace::Uts => "uts",
        }
    }
}

impl std::fmt::Display for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
