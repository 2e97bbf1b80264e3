//! The user's own terminal, as `minipod exec -t` uses it: raw mode for as
//! long as the session lasts, the window size, and SIGWINCH as a file
//! descriptor. (The terminal *inside* a container is `container::attach`.)

#![allow(unsafe_code)] // the TIOCGWINSZ ioctl: the block says why

use std::io::IsTerminal;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};

/// A step of setting up the local terminal that failed.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("reading the terminal's settings")]
    ReadSettings(#[source] nix::Error),
    #[error("putting the terminal in raw mode")]
    RawMode(#[source] nix::Error),
    #[error("blocking SIGWINCH")]
    BlockSigwinch(#[source] nix::Error),
    #[error("signalfd for SIGWINCH")]
    Signalfd(#[source] nix::Error),
}

/// Stdin in raw mode (no echo, no line editing, no signals from Ctrl-C:
/// every key goes to the remote terminal) until this is dropped, which puts
/// back the settings it found. Dropping runs on every way out of the
/// session: a return, an error (`?`) and a panic's unwinding.
#[derive(Debug)]
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub fn enter() -> Result<RawMode, TerminalError> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).map_err(TerminalError::ReadSettings)?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).map_err(TerminalError::RawMode)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // TCSADRAIN: what was written to the terminal is shown with the
        // settings it was written under.
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, &self.saved);
    }
}

nix::ioctl_read_bad!(tiocgwinsz, nix::libc::TIOCGWINSZ, nix::libc::winsize);

/// The terminal's size as (width, height), from stdout if it is a terminal,
/// else stdin (kubectl asks its output first too).
pub fn size() -> Option<(u16, u16)> {
    let stdout = std::io::stdout();
    let stdin = std::io::stdin();
    let fd: BorrowedFd<'_> = if stdout.is_terminal() {
        stdout.as_fd()
    } else {
        stdin.as_fd()
    };
    let mut ws = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ (ioctl_tty(2)) writes one `struct winsize` through
    // the pointer, which points to the local above (live, aligned, of that
    // type); `fd` is borrowed from the process's stdio, so it stays open for
    // the call. On a file that is not a terminal it fails with ENOTTY.
    unsafe { tiocgwinsz(fd.as_raw_fd(), &mut ws) }.ok()?;
    (ws.ws_col > 0 && ws.ws_row > 0).then_some((ws.ws_col, ws.ws_row))
}

/// SIGWINCH (the terminal was resized) as a readable file descriptor.
///
/// Why a signalfd(2) and not a handler: a handler may only do
/// async-signal-safe work, and the exec loop would still need a self-pipe to
/// hear of it. Instead SIGWINCH is blocked in this thread and read as data
/// from the fd, which the exec loop polls with its other inputs; nothing
/// runs in signal context at all. The mask is per thread: `minipod exec` is
/// single-threaded, so no other thread can take the signal (if one could,
/// its default action, ignore, would lose a resize, not harm anything).
/// Dropping this unblocks SIGWINCH again.
#[derive(Debug)]
pub struct Winch {
    fd: SignalFd,
    old_mask: SigSet,
}

impl Winch {
    pub fn watch() -> Result<Winch, TerminalError> {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGWINCH);
        let mut old_mask = SigSet::empty();
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old_mask))
            .map_err(TerminalError::BlockSigwinch)?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(TerminalError::Signalfd)?;
        Ok(Winch { fd, old_mask })
    }

    /// Reads every pending SIGWINCH; true if there was one.
    pub fn take(&mut self) -> bool {
        let mut any = false;
        while let Ok(Some(_)) = self.fd.read_signal() {
            any = true;
        }
        any
    }
}

impl AsFd for Winch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Winch {
    fn drop(&mut self) {
        let _ =
            nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.old_mask), None);
    }
}
