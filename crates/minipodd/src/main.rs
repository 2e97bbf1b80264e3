//! `minipodd`: the minipod daemon. Everything is in the library half
//! (`lib.rs`), so the runtime scenario tests can build the same daemon as a
//! binary of their own.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    minipodd::main()
}
