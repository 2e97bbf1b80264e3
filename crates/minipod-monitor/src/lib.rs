//! # minipod-monitor: one pod, alive
//!
//! The monitor is the process that keeps one pod going, as the kubelet's
//! pod worker and containerd's shim do together: it runs the pod's
//! [`PodMachine`](minipod_lifecycle::machine::PodMachine), feeding it what
//! happens and doing what it decides, starting with the pod's creation
//! (sandbox, cgroups, volumes) through `minipod-runtime`, tried again after
//! each failure as the machine says.
//!
//! ```text
//!              inputs (channel)                       actions
//!                                             ┌── CreateSandbox → runtime.create_pod (first)
//!  waiter threads ──Exited──┐                 ├── StartContainer → runtime.start_container
//!  probe/hook threads ──────┼─► machine.handle├── Signal → pidfd_send_signal
//!  Controller (Ctrl-C) ─────┤   (main loop)   ├── RunProbe / RunHook → a thread each
//!  timer (recv_timeout) ────┘                 ├── Event / StatusChanged → the Observer
//!                                             └── Finished → remove the pod, return
//! ```
//!
//! * One thread owns the machine and the pod; everything slow (waiting for
//!   an exit, a probe, a hook, copying logs) runs on threads of its own and
//!   reports back through one channel. Plain threads, not an async runtime:
//!   see `docs/decisions/0005-monitor-threads.md`.
//! * The monitor is the parent of every container's pid 1 (they are
//!   cloned from it), so it learns of each exit through the container's
//!   pidfd.
//! * Whatever happens, the pod is removed before [`Monitor::run`] returns:
//!   no cgroup, mount, namespace or process is left behind.
//!
//! [`records`] is the daemon's side: a pod's record on disk (its Pod,
//! status, events, monitor and container processes), the monitor started
//! detached from it (`minipod monitor --record DIR`), and what happens when
//! a monitor dies (`docs/daemon.md`).
//!
//! | module | what |
//! |---|---|
//! | `driver` | [`Monitor`]: runs the loop (inputs in, the machine decides, actions out), creates the pod when the machine asks (again after a failure), removes the pod |
//! | `controller` | the loop's `Message`s, and [`Controller`] |
//! | `handlers`, `pull`, `console` | probes, hooks and execs; image pulls; output for the observer |
//! | `observer` | [`Observer`]: where the monitor reports |
//! | `convert`, `chain` | runtime types to Kubernetes status fields; [`error_chain`] |

#![forbid(unsafe_code)]

mod console;
mod controller;
mod convert;
mod driver;
mod handlers;
mod observer;
mod pull;
pub mod records;

pub use controller::{Controller, ControllerError, UpdateError};
pub use driver::{Monitor, MonitorError, Outcome};
pub use handlers::{ExecError, ExecResult};
pub use minipod_lifecycle::machine::PodEvent;
pub use minipod_runtime::exec::{AttachOptions, Attached, Streams, WindowSize};
pub use minipod_runtime::logs::Stream;
pub use observer::{ContainerStarted, Observer};
pub use pull::PullContext;
