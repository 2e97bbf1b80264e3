//! Waiting on several descriptors at once (poll(2)), and reading once from
//! one that is ready (read(2)), for a program that serves a socket and a
//! terminal in one thread (`minipod exec`). The read is a single read(2)
//! with no userspace buffer: bytes kept in a buffer are bytes poll(2)
//! cannot see.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::poll::{PollFd, PollFlags, PollTimeout};

/// What to wait for on a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Data to read (`POLLIN`).
    Readable,
    /// Data to read, or room to write (`POLLIN | POLLOUT`).
    ReadableOrWritable,
}

/// Waits, with no timeout, until one of `fds` has an event: what it was
/// asked for, or a hang-up or error, which poll(2) always reports. Returns,
/// for each descriptor in order, whether it had one. A wait interrupted by
/// a signal is an [`io::ErrorKind::Interrupted`] error, for the caller to
/// wait again.
pub fn wait(fds: &[(BorrowedFd<'_>, Interest)]) -> io::Result<Vec<bool>> {
    let mut polled: Vec<PollFd<'_>> = fds
        .iter()
        .map(|(fd, interest)| {
            let events = match interest {
                Interest::Readable => PollFlags::POLLIN,
                Interest::ReadableOrWritable => PollFlags::POLLIN | PollFlags::POLLOUT,
            };
            PollFd::new(*fd, events)
        })
        .collect();
    nix::poll::poll(&mut polled, PollTimeout::NONE)?;
    Ok(polled
        .iter()
        .map(|fd| fd.revents().is_some_and(|events| !events.is_empty()))
        .collect())
}

/// Reads once from `fd` into `buf` (read(2)): the number of bytes read, 0
/// at end of file. Reading a descriptor [`wait`] found readable does not
/// block, even in blocking mode.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
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
        let n = read(reader.as_fd(), &mut buf).expect("read");
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
        assert_eq!(read(reader.as_fd(), &mut [0u8; 8]).expect("read"), 0);
    }
}
