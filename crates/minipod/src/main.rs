//! `minipod`: run Kubernetes Pods on one Linux host.
//!
//! The command line lives in the library half of this crate (`lib.rs`), so
//! the runtime scenario tests can build the very same CLI as a binary of
//! their own; this file only hands over to it.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    minipod::main()
}
