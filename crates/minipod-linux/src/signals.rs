//! Signals taken by a thread of the program instead of by their default
//! action: blocked in every thread (signal(7), "Signal mask"), then
//! received one at a time with sigwait(3).

use std::io;

use nix::sys::signal::SigSet;
/// The signals, by name (`Signal::SIGTERM`), as callers pass them.
pub use nix::sys::signal::Signal;

/// Signals blocked in the thread that blocked them and in every thread it
/// starts afterwards, to be received with [`BlockedSignals::wait`].
#[derive(Debug, Clone)]
pub struct BlockedSignals {
    set: SigSet,
}

/// Blocks `signals` in the calling thread (pthread_sigmask(3),
/// `SIG_BLOCK`). Call it before any thread exists: threads inherit the
/// mask, so none of them then takes the signals' default action.
pub fn block(signals: &[Signal]) -> io::Result<BlockedSignals> {
    let mut set = SigSet::empty();
    for signal in signals {
        set.add(*signal);
    }
    set.thread_block()?;
    Ok(BlockedSignals { set })
}

impl BlockedSignals {
    /// Waits for one of the blocked signals to be pending and takes it
    /// (sigwait(3)).
    pub fn wait(&self) -> io::Result<Signal> {
        Ok(self.set.wait()?)
    }
}
