//! The `minipod` command line, built as a binary of this package so the
//! scenario tests can run it (`env!("CARGO_BIN_EXE_minipod-cli")`) on the
//! host and in the VM, exactly as users run `minipod`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    minipod::main()
}
