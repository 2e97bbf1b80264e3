//! poll(2), for readability only: pipes with data or at EOF, and pidfds of
//! processes that exited (a pidfd polls readable at exit, pidfd_open(2)).

#![allow(unsafe_code)] // poll(2): the block says why

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

/// Waits up to `timeout` (zero: not at all) until one of `fds` is readable,
/// hung up or in error, and says which are. `None` entries are skipped (a
/// negative fd is ignored by poll(2)). An interrupted wait (`EINTR`) reports
/// none ready, so callers loop on their own deadline.
pub fn readable(fds: &[Option<BorrowedFd<'_>>], timeout: Duration) -> io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.map_or(-1, |fd| fd.as_raw_fd()),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let millis = if timeout.is_zero() {
        0
    } else {
        timeout.as_millis().clamp(1, i32::MAX as u128) as libc::c_int
    };
    // SAFETY: poll(2) on a vector of initialised pollfd structures we own,
    // with its true length; the kernel writes only their `revents`.
    let rc = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, millis) };
    if rc < 0 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(error);
    }
    Ok(polled.iter().map(|p| p.revents != 0).collect())
}
