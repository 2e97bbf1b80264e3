//! Entering a network namespace on the calling thread only.
//!
//! setns(2) with `CLONE_NEWNET` moves the calling *thread*, not the
//! process: sockets it creates afterwards belong to the new namespace
//! (<https://man7.org/linux/man-pages/man2/setns.2.html>). A probe runs on
//! a thread of its own that enters the pod's pinned namespace and ends
//! with the check, so no other thread is ever moved.

use std::io;
use std::os::fd::AsFd;

use nix::sched::{CloneFlags, setns};

/// Moves the calling thread into the network namespace `namespace` (an
/// open `/proc/<pid>/ns/net` or a bind mount pinning one). The thread
/// should end after its work there.
pub fn enter_on_this_thread(namespace: impl AsFd) -> io::Result<()> {
    setns(namespace, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
}
