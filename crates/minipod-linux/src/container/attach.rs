//! An *attached* exec (`kubectl exec -i`, `kubectl exec -it`): the command
//! runs inside the container as in [`super::exec`], by the same helper, but
//! its streams go back to the caller instead of being captured, and it has
//! no timeout (kubectl's has none).
//!
//! * Without a terminal, the command's stdin (a pipe when asked for, else
//!   `/dev/null`), stdout and stderr are three pipes; the caller gets their
//!   other ends ([`Streams::Pipes`]).
//! * With a terminal, the pseudo-terminal is allocated **inside the
//!   container**, as runc does for `runc exec -t`: after the helper has
//!   joined the container's mount namespace and entered its root, it opens
//!   the container's `/dev/ptmx` (the container's own `devpts` instance,
//!   mounted `newinstance` by `init`), unlocks it and opens the peer with
//!   `TIOCGPTPEER` (no path lookup in a directory the container controls).
//!   The terminal thus belongs to the container's devpts: `tty` shows
//!   `/dev/pts/0` of the container, the host's `/dev/pts` is untouched, and
//!   the pty counts against the container's own instance. (A pty from the
//!   host's devpts would show a path that does not exist in the container,
//!   and `/proc/<pid>/fd/0` would point outside it: runc's rule is that
//!   "the console must be created in the container's devpts", see
//!   runc `libcontainer/console_linux.go` and devpts' `newinstance` in
//!   <https://docs.kernel.org/filesystems/devpts.html>.)
//!   The helper hands the master to the caller over a unix socket
//!   (`SCM_RIGHTS`, [`crate::fdpass`]) on its fd 6. The command's process
//!   starts a new session (`setsid`), makes the slave its controlling
//!   terminal (`TIOCSCTTY`, tty_ioctl(4)) and gets it as fds 0, 1 and 2.
//!
//! [`exec_attached`] returns once the command has been exec'd (or with the
//! step that failed); [`Attached::process`] is the helper, which exits with
//! the command's exit code (128 + the signal when killed). Killing the
//! helper kills the command (`PR_SET_PDEATHSIG`).

#![allow(unsafe_code)] // terminal ioctls (TIOCSPTLCK, TIOCGPTPEER, TIOCSWINSZ, TIOCSCTTY) and dup2: each block says why

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::pipe2;

use super::exec::{ExecError, start_helper};
pub use super::protocol::WindowSize;
use super::protocol::{ExecConfig, HelperAttach, HelperConfig};
use super::{Container, decode_report};
use crate::cgroup::CgroupJoin;

/// What an attached exec gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttachOptions {
    /// A stdin pipe (`kubectl exec -i`); else the command reads `/dev/null`.
    pub stdin: bool,
    /// A terminal (`kubectl exec -t`): stdin, stdout and stderr are its slave.
    pub tty: bool,
    /// The terminal's size before the command starts (with `tty`).
    pub size: Option<WindowSize>,
}

/// The caller's ends of an attached command's streams.
#[derive(Debug)]
pub enum Streams {
    /// Write end of stdin (when asked for), read ends of stdout and stderr.
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// The terminal's master: write the input, read the output (stdout and
    /// stderr together), set its size with [`set_window_size`]. Reading it
    /// fails with `EIO` once every process holding the slave has ended.
    Terminal(OwnedFd),
}

/// A running attached exec.
#[derive(Debug)]
pub struct Attached {
    pub streams: Streams,
    /// The exec helper: it exits with the command's exit code (or 128 + the
    /// signal), and killing it kills the command.
    pub process: Container,
}

/// Starts `config.argv` inside `target` with its streams attached to the
/// caller, and returns once it has been exec'd. Blocking (briefly).
///
/// `program` is our own binary; `cgroup` was opened from the container's
/// cgroup, and the command runs inside it.
pub fn exec_attached(
    program: &Path,
    config: &ExecConfig,
    target: &Container,
    cgroup: &CgroupJoin,
    options: AttachOptions,
) -> Result<Attached, ExecError> {
    let spawn_error = |e: Errno| ExecError::Spawn(e.into());
    let devnull = || -> Result<OwnedFd, ExecError> {
        Ok(fs::File::open("/dev/null")
            .map_err(ExecError::Spawn)?
            .into())
    };
    let helper_config = HelperConfig {
        exec: config.clone(),
        timeout_ms: 0,
        attach: Some(HelperAttach {
            tty: options.tty,
            size: options.size,
        }),
    };
    if options.tty {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(ExecError::Spawn)?;
        let theirs = OwnedFd::from(theirs);
        let null = devnull()?;
        let (helper, report) = start_helper(
            program,
            target,
            cgroup,
            [&null, &null, &null],
            Some(&theirs),
            &helper_config,
        )?;
        drop((null, theirs));
        // The master, or nothing when the helper failed before sending it
        // (its report says why).
        let mut byte = [0u8; 1];
        let received = crate::fdpass::recv_fds(ours.as_fd(), &mut byte);
        let master = received.ok().and_then(|(_, fds)| fds.into_iter().next());
        wait_started(&helper, report)?;
        let master = master.ok_or_else(|| {
            let _ = helper.signal(nix::sys::signal::Signal::SIGKILL);
            let _ = helper.wait();
            ExecError::Spawn(io::Error::other("the exec helper sent no terminal"))
        })?;
        return Ok(Attached {
            streams: Streams::Terminal(master),
            process: helper,
        });
    }
    let (stdin_r, stdin_w) = if options.stdin {
        let (r, w) = pipe2(OFlag::O_CLOEXEC).map_err(spawn_error)?;
        (r, Some(w))
    } else {
        (devnull()?, None)
    };
    let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).map_err(spawn_error)?;
    let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC).map_err(spawn_error)?;
    let (helper, report) = start_helper(
        program,
        target,
        cgroup,
        [&stdin_r, &out_w, &err_w],
        None,
        &helper_config,
    )?;
    drop((stdin_r, out_w, err_w));
    wait_started(&helper, report)?;
    Ok(Attached {
        streams: Streams::Pipes {
            stdin: stdin_w,
            stdout: out_r,
            stderr: err_r,
        },
        process: helper,
    })
}

/// Reads the helper's report to EOF: empty once the command's `execve`
/// closed it (the helper closes its own copy after the fork), else the
/// failure, after which the helper is reaped.
fn wait_started(helper: &Container, report: OwnedFd) -> Result<(), ExecError> {
    let mut text = Vec::new();
    io::Read::read_to_end(&mut fs::File::from(report), &mut text).map_err(ExecError::Spawn)?;
    if text.is_empty() {
        return Ok(());
    }
    let _ = helper.wait();
    Err(ExecError::Failed(decode_report(&text)))
}

/// Sets the size of the terminal whose master (or slave) is `terminal`;
/// the kernel sends SIGWINCH to its foreground process group (tty_ioctl(4)).
pub fn set_window_size(terminal: BorrowedFd<'_>, size: WindowSize) -> io::Result<()> {
    let winsize = libc::winsize {
        ws_row: size.height,
        ws_col: size.width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize structure, which lives on our
    // stack for the duration of the call.
    let rc = unsafe { libc::ioctl(terminal.as_raw_fd(), libc::TIOCSWINSZ, &winsize) };
    Errno::result(rc).map(drop).map_err(io::Error::from)
}

// ---------------------------------------------------------------------------
// The helper's side (single-threaded, inside the container's root).
// ---------------------------------------------------------------------------

/// Opens a new terminal in the container's devpts: `(master, slave)`, both
/// close-on-exec, the slave not yet anyone's controlling terminal.
pub(super) fn open_terminal(size: Option<WindowSize>) -> Result<(OwnedFd, OwnedFd), Errno> {
    // `/dev/ptmx` in the container is a symlink to `pts/ptmx`, its own
    // devpts instance (see `init::mount_dev`).
    let master: OwnedFd = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/ptmx")
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?
        .into();
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int (0: unlock, as unlockpt(3)) from our stack.
    Errno::result(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })?;
    // SAFETY: TIOCGPTPEER (Linux >= 4.13) takes open flags as its argument
    // and returns a new descriptor of the slave, or -1.
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    let slave = Errno::result(slave)?;
    // SAFETY: a descriptor the kernel just created for us.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    if let Some(size) = size {
        set_window_size(slave.as_fd(), size)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    }
    Ok((master, slave))
}

/// In the command's process (after the fork): a new session whose
/// controlling terminal is `slave`, which becomes fds 0, 1 and 2.
pub(super) fn take_terminal(slave: OwnedFd) -> Result<(), Errno> {
    // The helper leads its own session; its child does not, so it can
    // start one, and a session leader without a terminal gets one with
    // TIOCSCTTY.
    nix::unistd::setsid()?;
    // SAFETY: TIOCSCTTY takes an integer (0: do not steal it from another
    // session); the slave is a terminal we hold.
    Errno::result(unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) })?;
    for target in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors, which we own and
        // replace on purpose (their old files, /dev/null, are closed).
        Errno::result(unsafe { libc::dup2(slave.as_raw_fd(), target) })?;
    }
    Ok(()) // the original slave descriptor closes here (dropped)
}
