//! The hostile suite: attacks an untrusted image, manifest, registry or API
//! client would try, each as a test that fails without its defence
//! (issue "Hardening"; the threat model is `docs/security.md`).
//!
//! One module per attack surface. Every test follows the runtime tests'
//! rules (`minipod_runtime_tests`): root or skip (a failure under
//! `MINIPOD_RUNTIME_TESTS_REQUIRED=1`), its own cgroup root and scratch
//! directories, deadlines instead of sleeps, and nothing left behind. Each
//! asserts what the attacker would have gained (a host file, a device read,
//! bytes in memory) did not happen, and bounds time and memory where the
//! attack is about work.

mod api;
mod apparmor;
mod capacity;
mod devices;
mod entry;
mod images;
mod logs;
mod mounts;
mod registry;
mod seccomp;
