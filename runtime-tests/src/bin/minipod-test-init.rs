//! The helper binary for the runtime tests: a container's init and the pod
//! sandbox's holder are minipod re-executed, and a test binary cannot
//! re-execute itself into them (its `main` belongs to the test harness), so
//! the tests start containers with this binary instead of `minipod`.

#![forbid(unsafe_code)]

fn main() {
    minipod_linux::reexec::run_helper_if_asked();
    eprintln!("minipod-test-init: only runs as a container init or sandbox holder");
    std::process::exit(2);
}
