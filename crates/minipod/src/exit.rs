//! Exit codes shared by every command.

/// The command did what was asked.
pub const OK: u8 = 0;
/// Something failed while doing it (the host, not the input).
pub const FAILURE: u8 = 1;
/// The input was invalid; nothing was started.
pub const INVALID_INPUT: u8 = 2;
