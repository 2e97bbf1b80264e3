//! A descriptor's file status flags (`fcntl(2)`, `F_SETFL`).

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// Makes reads and writes on `fd` return `EAGAIN` instead of blocking, as
/// an async reactor (epoll) needs: `fcntl(2)` `F_SETFL` with `O_NONBLOCK`.
/// The status flags become `O_NONBLOCK` alone (the access mode is not a
/// status flag and stays), which is right for a descriptor received from
/// another process, such as a terminal's master.
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> nix::Result<()> {
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map(drop)
}
