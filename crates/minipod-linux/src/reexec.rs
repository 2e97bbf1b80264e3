//! minipod's helper processes are minipod itself, re-executed: a container's
//! init, the pod sandbox's holder, the pause process of a pod that shares
//! one PID namespace, and the helper that runs a command inside a running
//! container. A binary that may start containers
//! calls [`run_helper_if_asked`] first thing in `main`, before any thread or
//! runtime exists.

// Each helper's name is defined beside its entry point; this module only
// dispatches to them, so dependencies point one way (reexec -> helpers).
pub use crate::container::exec::EXEC_HELPER;
pub use crate::container::init::CONTAINER_INIT;
pub use crate::sandbox::{PAUSE_HELPER, SANDBOX_HELPER};

/// Becomes the requested helper and never returns, or returns at once when
/// this process is not a helper.
///
/// A helper first makes itself non-dumpable (prctl(2), `PR_SET_DUMPABLE`):
/// it runs minipod's own binary inside, or next to, a container, and a
/// process there without `CAP_SYS_PTRACE` must not open its
/// `/proc/<pid>/exe`, `mem` or `environ` (ptrace access mode checks,
/// proc(5)). The workload's `execve` makes the process dumpable again, as
/// any exec does. (runc does the same while it is inside the container's
/// namespaces; the binary itself is protected by `container::spawn`.)
pub fn run_helper_if_asked() {
    let helper = std::env::args_os().nth(1);
    let helper = helper.as_ref().and_then(|a| a.to_str());
    if matches!(
        helper,
        Some(CONTAINER_INIT | SANDBOX_HELPER | PAUSE_HELPER | EXEC_HELPER)
    ) {
        crate::container::spawn::make_undumpable();
    }
    match helper {
        Some(CONTAINER_INIT) => crate::container::init::init_main(),
        Some(SANDBOX_HELPER) => crate::sandbox::holder_main(),
        Some(PAUSE_HELPER) => crate::sandbox::pause_main(),
        Some(EXEC_HELPER) => crate::container::exec_helper::helper_main(),
        _ => {}
    }
}
