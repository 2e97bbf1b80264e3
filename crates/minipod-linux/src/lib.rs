//! # minipod-linux: the only crate that touches the kernel
//!
//! The pure crates decide what to build (`minipod-plan` computes, for
//! example, every cgroup value of a pod); this crate builds it. Each module
//! is a thin layer over one kernel interface, and each step says why it is
//! done, with a link to the kernel documentation it relies on.
//!
//! * [`cgroup`]: the pod cgroup and one cgroup per container, laid out as the
//!   kubelet's cgroupfs driver lays them out, on cgroup v1 and v2.
//!
//! `unsafe` is denied here except in the modules that name it in their own
//! `#![allow(unsafe_code)]`, each block with a `SAFETY:` comment:
//! `cgroup::join` (the async-signal-safe cgroup join between fork and exec).

#![deny(unsafe_code)]

pub mod cgroup;
