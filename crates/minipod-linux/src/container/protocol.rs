//! What the parent tells a container's init process (fd 3: a
//! [`ContainerConfig`] from `minipod-plan`, as JSON), and what the init tells
//! the parent if it fails before exec (fd 4: a [`StartFailure`], as JSON).

use serde::{Deserialize, Serialize};

pub use minipod_plan::launch::{BindMount, ContainerConfig, Rootfs, User};

/// A failure before exec: which step, and the errno if a system call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartFailure {
    pub step: String,
    pub errno: Option<i32>,
    pub message: String,
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.message)
    }
}
