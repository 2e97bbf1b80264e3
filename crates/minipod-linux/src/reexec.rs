//! minipod's helper processes are minipod itself, re-executed: a container's
//! init, the pod sandbox's holder, the pause process of a pod that shares
//! one PID namespace, and the helper that runs a command inside a running
//! container. A binary that may start containers
//! calls [`run_helper_if_asked`] first thing in `main`, before any thread or
//! runtime exists.

/// `argv[1]` of a container's init.
pub const CONTAINER_INIT: &str = "__minipod-container-init";
/// `argv[1]` of a pod sandbox's holder.
pub const SANDBOX_HELPER: &str = "__minipod-sandbox";
/// `argv[1]` of the pause process of a pod that shares one PID namespace.
pub const PAUSE_HELPER: &str = "__minipod-pause";
/// `argv[1]` of the helper that runs a command inside a running container
/// (exec probes and hooks).
pub const EXEC_HELPER: &str = "__minipod-exec";

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
        Some(EXEC_HELPER) => crate::container::exec::helper_main(),
        _ => {}
    }
}
