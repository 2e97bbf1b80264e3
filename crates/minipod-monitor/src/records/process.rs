//! A process named by its pid *and* its start time, so that a pid read from
//! a file is never mistaken for another process that got the same pid later.
//!
//! The start time is field 22 of `/proc/<pid>/stat` (`starttime`, clock ticks
//! since boot; proc(5)): two processes with the same pid never share it
//! within one boot. Signals go through a pidfd opened *before* the start
//! time is checked again, so the process signalled is the one checked
//! (pidfd_open(2), pidfd_send_signal(2)).

use std::io;

use minipod_linux::pidfd::PidFd;
use minipod_linux::signals::Signal;
use serde::{Deserialize, Serialize};

/// A process: its pid and its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessId {
    pub pid: i32,
    /// Field 22 of `/proc/<pid>/stat`.
    pub start_time: u64,
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub state: char,
    pub ppid: i32,
    pub start_time: u64,
}

/// Parses `/proc/<pid>/stat`: the fields after the command name, which is
/// in parentheses and may itself contain spaces and parentheses.
pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field n is fields[n - 3].
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

pub(crate) fn stat(pid: i32) -> io::Result<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&text)
        .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: unexpected format")))
}

impl ProcessId {
    /// This process.
    pub fn current() -> io::Result<ProcessId> {
        ProcessId::of(std::process::id() as i32)
    }

    /// The process that has `pid` now.
    pub fn of(pid: i32) -> io::Result<ProcessId> {
        Ok(ProcessId {
            pid,
            start_time: stat(pid)?.start_time,
        })
    }

    /// Whether this very process still runs (a zombie does not: it has
    /// ended and only waits to be reaped).
    pub fn is_alive(&self) -> bool {
        match stat(self.pid) {
            Ok(s) => s.start_time == self.start_time && !matches!(s.state, 'Z' | 'X' | 'x'),
            Err(_) => false,
        }
    }

    /// Sends `signal` to this process if it is still the one recorded:
    /// `Ok(false)` if it is gone (or its pid now names another process).
    pub fn signal(&self, signal: Signal) -> io::Result<bool> {
        if self.pid <= 1 {
            return Err(io::Error::other(format!(
                "refusing to signal pid {}",
                self.pid
            )));
        }
        let gone = |e: io::Error| {
            if minipod_linux::pidfd::is_gone(&e) {
                Ok(false)
            } else {
                Err(e)
            }
        };
        let pidfd = match PidFd::open(self.pid) {
            Ok(pidfd) => pidfd,
            Err(e) => return gone(e),
        };
        // The pidfd pins the process: if it is still ours now, it is the
        // one the signal reaches.
        if !self.is_alive() {
            return Ok(false);
        }
        if let Err(e) = pidfd.send_signal(signal) {
            return gone(e);
        }
        Ok(true)
    }
}

/// The children of this process whose `argv[1]` is `helper` (a
/// `minipod_linux::reexec` helper name).
pub(crate) fn children_running(helper: &str) -> Vec<ProcessId> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(s) = stat(pid) else { continue };
        if s.ppid != me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if cmdline.split(|b| *b == 0).nth(1) == Some(helper.as_bytes()) {
            found.push(ProcessId {
                pid,
                start_time: s.start_time,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        let text = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    1 2 0 0 20 0 1 0 987654 1000 200 18446744073709551615";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                state: 'S',
                ppid: 1,
                start_time: 987654
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_different_start_time_is_not() {
        let me = ProcessId::current().unwrap();
        assert!(me.is_alive());
        let recycled = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!recycled.is_alive());
        // Never signalled: the pid names another process now.
        assert!(!recycled.signal(Signal::SIGTERM).unwrap());
    }

    #[test]
    fn a_process_that_exited_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let id = ProcessId::of(child.id() as i32).unwrap();
        child.wait().unwrap();
        assert!(!id.is_alive());
    }
}
