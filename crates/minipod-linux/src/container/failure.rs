//! A failed step of a container's set-up, as the init and the exec helper
//! report it to their parent (fd 4, a [`StepFailure`]): which step, the
//! errno if a system call failed, and the cause as text. The cause crosses
//! the fork as text, so errors are flattened here, once ([`chain`]).

use nix::errno::Errno;

use super::caps::CapsError;
use super::protocol::{Step, StepFailure};
use super::user::UnknownUser;

/// Wraps an error with the step it happened in.
pub(super) fn step<T, E: Into<Failure>>(
    name: Step,
    result: Result<T, E>,
) -> Result<T, StepFailure> {
    result.map_err(|e| {
        let e = e.into();
        StepFailure {
            step: name,
            errno: e.errno,
            message: e.message,
        }
    })
}

pub(super) struct Failure {
    pub(super) errno: Option<i32>,
    pub(super) message: String,
}

impl From<Errno> for Failure {
    fn from(e: Errno) -> Self {
        Failure {
            errno: Some(e as i32),
            message: e.desc().to_owned(),
        }
    }
}
impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure {
            errno: e.raw_os_error(),
            message: e.to_string(),
        }
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Failure {
            errno: None,
            message: e.to_string(),
        }
    }
}

impl From<CapsError> for Failure {
    /// The report names the step already ("set capabilities"); as before,
    /// its message is the capability library's, after the name it refused.
    fn from(e: CapsError) -> Self {
        let message = match &e {
            CapsError::Unknown { name, source } => format!("{name}: {source}"),
            CapsError::DropBounding { source, .. } | CapsError::Set { source, .. } => {
                source.to_string()
            }
        };
        Failure {
            errno: None,
            message,
        }
    }
}

impl From<UnknownUser> for Failure {
    fn from(e: UnknownUser) -> Self {
        Failure {
            errno: None,
            message: e.to_string(),
        }
    }
}
