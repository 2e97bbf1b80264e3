//! The `minipodd` daemon, built as a binary of this package so the scenario
//! tests can run it (`env!("CARGO_BIN_EXE_minipodd-under-test")`), with
//! `--monitor-program` pointing at `minipod-cli`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    minipodd::main()
}
