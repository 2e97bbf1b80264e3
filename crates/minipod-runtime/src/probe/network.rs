//! Where a check's connection is made: from the node's network namespace
//! (the monitor's own, as the kubelet dials), or on a thread of its own
//! inside the pod's: setns(2) moves only the calling thread, and the
//! thread ends with the check.

use std::fs::File;
use std::path::Path;

use super::error::ProbeError;
use super::target::DialFrom;
use crate::pod::RunningPod;

/// Runs `f` in the network namespace `from` says ([`super::target`]).
pub(super) fn in_network<T: Send>(
    running: &RunningPod,
    from: DialFrom,
    f: impl FnOnce() -> Result<T, ProbeError> + Send,
) -> Result<T, ProbeError> {
    match from {
        DialFrom::Node => f(),
        DialFrom::Pod => in_pod_network(running, f),
    }
}

/// Runs `f` on a new thread inside the pod's network namespace.
fn in_pod_network<T: Send>(
    running: &RunningPod,
    f: impl FnOnce() -> Result<T, ProbeError> + Send,
) -> Result<T, ProbeError> {
    let path = running
        .network_namespace_path()
        .ok_or(ProbeError::NoNetworkNamespace)?;
    let namespace = open_namespace(path)?;
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("minipod-probe".into())
            .spawn_scoped(scope, move || {
                // This thread only: it ends with the check.
                minipod_linux::net_namespace::enter_on_this_thread(&namespace)
                    .map_err(ProbeError::EnterNamespace)?;
                drop(namespace);
                f()
            })
            .map_err(ProbeError::SpawnThread)?
            .join()
            .unwrap_or(Err(ProbeError::ThreadPanicked))
    })
}

fn open_namespace(path: &Path) -> Result<File, ProbeError> {
    File::open(path).map_err(|source| ProbeError::OpenNamespace {
        path: path.to_owned(),
        source,
    })
}
