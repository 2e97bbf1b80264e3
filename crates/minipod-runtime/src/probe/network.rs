//! A check's own thread, inside the pod's network namespace: setns(2)
//! moves only the calling thread, and the thread ends with the check.

use std::fs::File;
use std::path::Path;

use nix::sched::{CloneFlags, setns};

use crate::pod::RunningPod;

/// Runs `f` on a new thread inside the pod's network namespace.
pub(super) fn in_pod_network<T: Send>(
    running: &RunningPod,
    f: impl FnOnce() -> Result<T, String> + Send,
) -> Result<T, String> {
    let path = running
        .network_namespace_path()
        .ok_or("the pod has no network namespace")?;
    let namespace = open_namespace(path)?;
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("minipod-probe".into())
            .spawn_scoped(scope, move || {
                // This thread only: it ends with the check.
                setns(&namespace, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("entering the pod's network namespace: {e}"))?;
                drop(namespace);
                f()
            })
            .map_err(|e| format!("starting a probe thread: {e}"))?
            .join()
            .unwrap_or_else(|_| Err("the probe thread panicked".into()))
    })
}

fn open_namespace(path: &Path) -> Result<File, String> {
    File::open(path).map_err(|e| format!("{}: {e}", path.display()))
}
