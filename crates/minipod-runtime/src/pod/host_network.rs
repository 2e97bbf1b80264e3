//! What a `hostNetwork` pod takes from the node: its `/etc/hosts` text and
//! its hostname. The choices themselves are the plan's
//! (`minipod_plan::launch::sandbox_namespaces`, `sandbox_files`,
//! `process::sandbox_hostname`); this module only reads the node.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::error::{PodError, io_error};

/// The node's hosts file, which the kubelet copies into a `hostNetwork`
/// pod's (`etcHostsPath` in `pkg/kubelet/kubelet_pods.go`).
pub(super) const NODE_HOSTS: &str = "/etc/hosts";

/// The most of the node's hosts file a pod's copy takes: large blocklists
/// fit, a runaway file does not fill the pod's run directory.
const NODE_HOSTS_LIMIT: u64 = 8 << 20;

/// The text of the node's hosts file at `path` for a `hostNetwork` pod
/// (`nodeHostsFileContent`): an error when it cannot be read whole, as the
/// kubelet's pod start fails then.
pub(super) fn node_hosts_text(path: &Path) -> Result<String, PodError> {
    let file = fs::File::open(path).map_err(io_error(path))?;
    let mut text = String::new();
    file.take(NODE_HOSTS_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(io_error(path))?;
    if text.len() as u64 > NODE_HOSTS_LIMIT {
        return Err(io_error(path)(std::io::Error::other(format!(
            "larger than {NODE_HOSTS_LIMIT} bytes"
        ))));
    }
    Ok(text)
}

/// The node's hostname (`uname -n`), which a `hostNetwork` pod shows;
/// empty when it cannot be read.
pub(super) fn node_hostname() -> String {
    minipod_linux::uts::host_name().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nodes_hosts_file_is_read_whole_within_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        fs::write(&path, "127.0.0.1\tlocalhost\n").unwrap();
        assert_eq!(node_hosts_text(&path).unwrap(), "127.0.0.1\tlocalhost\n");
        fs::write(&path, vec![b'#'; NODE_HOSTS_LIMIT as usize + 1]).unwrap();
        let error = node_hosts_text(&path).unwrap_err();
        assert_eq!(
            minipod_spec::error_chain(&error),
            format!("{}: larger than 8388608 bytes", path.display())
        );
        assert!(node_hosts_text(&dir.path().join("missing")).is_err());
    }
}
