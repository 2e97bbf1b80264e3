//! poll(2): waiting until descriptors are ready. Pipes with data or at EOF,
//! sockets, terminals, and pidfds of processes that exited (a pidfd polls
//! readable at exit, pidfd_open(2)). Also the single read(2) that goes with
//! it: a program that serves a socket and a terminal in one thread
//! (`minipod exec`) reads once from what poll found ready, with no
//! userspace buffer (bytes kept in a buffer are bytes poll(2) cannot see).

#![allow(unsafe_code)] // poll(2): the block says why

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

/// What to wait for on a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Data to read (`POLLIN`).
    Readable,
    /// Data to read, or room to write (`POLLIN | POLLOUT`).
    ReadableOrWritable,
}

/// The one poll(2) call: waits up to `timeout` (`None`: without end; zero:
/// not at all) until one of `fds` has an event, what it was asked for or a
/// hang-up or error (which poll(2) always reports), and says which had
/// one. `None` entries are skipped (poll(2) ignores a negative fd).
fn poll(
    fds: &[(Option<BorrowedFd<'_>>, Interest)],
    timeout: Option<Duration>,
) -> io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, interest)| libc::pollfd {
            fd: fd.map_or(-1, |fd| fd.as_raw_fd()),
            events: match interest {
                Interest::Readable => libc::POLLIN,
                Interest::ReadableOrWritable => libc::POLLIN | libc::POLLOUT,
            },
            revents: 0,
        })
        .collect();
    let millis = match timeout {
        None => -1,
        Some(timeout) if timeout.is_zero() => 0,
        Some(timeout) => timeout.as_millis().clamp(1, i32::MAX as u128) as libc::c_int,
    };
    // SAFETY: poll(2) on a vector of initialised pollfd structures we own,
    // with its true length; the kernel writes only their `revents`.
    let rc = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, millis) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(polled.iter().map(|p| p.revents != 0).collect())
}

/// Waits up to `timeout` (zero: not at all) until one of `fds` is readable,
/// hung up or in error, and says which are. `None` entries are skipped. An
/// interrupted wait (`EINTR`) reports none ready, so callers loop on their
/// own deadline.
pub fn readable(fds: &[Option<BorrowedFd<'_>>], timeout: Duration) -> io::Result<Vec<bool>> {
    let fds: Vec<_> = fds.iter().map(|fd| (*fd, Interest::Readable)).collect();
    match poll(&fds, Some(timeout)) {
        Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(vec![false; fds.len()]),
        result => result,
    }
}

/// Waits, with no timeout, until one of `fds` has an event. Returns, for
/// each descriptor in order, whether it had one. A wait interrupted by a
/// signal is an [`io::ErrorKind::Interrupted`] error, for the caller to
/// wait again.
pub fn wait(fds: &[(BorrowedFd<'_>, Interest)]) -> io::Result<Vec<bool>> {
    let fds: Vec<_> = fds
        .iter()
        .map(|(fd, interest)| (Some(*fd), *interest))
        .collect();
    poll(&fds, None)
}

/// Reads once from `fd` into `buf` (read(2)): the number of bytes read, 0
/// at end of file. Reading a descriptor [`wait`] found readable does not
/// block, even in blocking mode.
pub fn read_once(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    Ok(nix::unistd::read(fd.as_raw_fd(), buf)?)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn a_pipe_with_data_is_ready_and_reads_once_without_blocking() {
        let (reader, mut writer) = std::io::pipe().expect("a pipe");
        let (idle, _idle_writer) = std::io::pipe().expect("a pipe");
        writer.write_all(b"hello").expect("write");
        let ready = wait(&[
            (idle.as_fd(), Interest::Readable),
            (reader.as_fd(), Interest::Readable),
        ])
        .expect("poll");
        assert_eq!(ready, [false, true]);
        let mut buf = [0u8; 64];
        let n = read_once(reader.as_fd(), &mut buf).expect("read");
        assert_eq!(&buf[..n], b"hello");
    }

    #[test]
    fn a_closed_writer_is_an_event_and_end_of_file() {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(writer);
        assert_eq!(
            wait(&[(reader.as_fd(), Interest::Readable)]).expect("poll"),
            [true]
        );
        assert_eq!(read_once(reader.as_fd(), &mut [0u8; 8]).expect("read"), 0);
    }

    #[test]
    fn an_idle_pipe_is_not_readable_within_a_zero_timeout() {
        let (reader, _writer) = std::io::pipe().expect("a pipe");
        assert_eq!(
            readable(&[None, Some(reader.as_fd())], Duration::ZERO).expect("poll"),
            [false, false]
        );
    }
}
