//! Passing open file descriptors between processes over a unix socket
//! (`SCM_RIGHTS`, unix(7)): how the exec helper hands a terminal's master
//! to its parent, and how the monitor hands an attached exec's pipes or
//! terminal to the daemon.
//!
//! Each message carries some bytes (at least one: a stream socket does not
//! deliver ancillary data without data) and up to [`MAX_FDS`] descriptors.
//! Received descriptors are close-on-exec (`MSG_CMSG_CLOEXEC`), so a
//! process the receiver starts later does not inherit them.

#![allow(unsafe_code)] // taking ownership of received descriptors: each block says why

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

/// The most descriptors one message carries (an exec's stdin, stdout and
/// stderr).
pub const MAX_FDS: usize = 3;

/// Sends `data` (not empty) with `fds` over the unix socket `socket`. The
/// receiver gets its own copies; ours stay open.
pub fn send_fds(socket: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    if data.is_empty() || fds.len() > MAX_FDS {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let rights = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage<'_>] = if raw.is_empty() { &[] } else { &rights };
    let mut sent = loop {
        match sendmsg::<()>(
            socket.as_raw_fd(),
            &[IoSlice::new(data)],
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other?,
        }
    };
    // The descriptors went with the first byte; the rest is plain data.
    while sent < data.len() {
        match nix::sys::socket::send(socket.as_raw_fd(), &data[sent..], MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => sent += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Receives up to `buf.len()` bytes and the descriptors sent with them
/// from `socket`. Zero bytes: the other end closed the connection.
pub fn recv_fds(socket: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        let message = match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => other?,
        };
        let mut fds = Vec::new();
        for cmsg in message.cmsgs()? {
            if let ControlMessageOwned::ScmRights(received) = cmsg {
                for fd in received {
                    // SAFETY: the kernel just installed `fd` in our table for
                    // this message; nothing else knows or owns it.
                    fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        let truncated = message.flags.contains(MsgFlags::MSG_CTRUNC);
        let bytes = message.bytes;
        if truncated {
            return Err(io::Error::other("more descriptors than expected were sent"));
        }
        return Ok((bytes, fds));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn descriptors_travel_with_their_bytes() {
        let (a, b) = UnixStream::pair().expect("socketpair");
        let (r, w) = nix::unistd::pipe().expect("pipe");
        send_fds(a.as_fd(), b"hello\n", &[r.as_fd(), w.as_fd()]).expect("send");
        drop((r, w));
        let mut buf = [0u8; 64];
        let (n, fds) = recv_fds(b.as_fd(), &mut buf).expect("recv");
        assert_eq!(&buf[..n], b"hello\n");
        assert_eq!(fds.len(), 2);
        let mut fds = fds.into_iter();
        let (r, w) = (fds.next().expect("r"), fds.next().expect("w"));
        std::fs::File::from(w).write_all(b"through").expect("write");
        let mut text = String::new();
        std::fs::File::from(r)
            .read_to_string(&mut text)
            .expect("read");
        assert_eq!(text, "through");
        drop(a);
        assert_eq!(recv_fds(b.as_fd(), &mut buf).expect("eof").0, 0);
    }
}
