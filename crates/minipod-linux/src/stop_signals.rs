//! Signals taken by a thread of the program's own instead of a handler:
//! blocked first, then waited for with `sigwait(3)`.
//!
//! A blocked signal stays pending until a thread takes it, and every thread
//! inherits the mask of the thread that starts it
//! (<https://man7.org/linux/man-pages/man7/signal.7.html>, "Signal mask and
//! pending signals"). So block them before any thread exists, and no
//! thread of an async runtime ever gets them; one thread of the program's
//! own waits for them.

use nix::sys::signal::SigSet;
pub use nix::sys::signal::Signal;

/// Signals blocked in the calling thread (and the threads it starts after),
/// to be waited for with [`BlockedSignals::wait`].
#[derive(Debug, Clone, Copy)]
pub struct BlockedSignals(SigSet);

impl BlockedSignals {
    /// Blocks `signals` in the calling thread: `pthread_sigmask(3)` with
    /// `SIG_BLOCK`.
    pub fn block(signals: &[Signal]) -> nix::Result<BlockedSignals> {
        let mut set = SigSet::empty();
        for &signal in signals {
            set.add(signal);
        }
        set.thread_block()?;
        Ok(BlockedSignals(set))
    }

    /// Waits until one of the signals is pending and takes it: `sigwait(3)`.
    pub fn wait(&self) -> nix::Result<Signal> {
        self.0.wait()
    }
}
