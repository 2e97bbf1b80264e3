//! AppArmor: whether the host has it, whether a profile is loaded, and
//! confining the next `execve` to a profile.
//!
//! Detection is runc's `apparmor.IsEnabled` (which the kubelet uses): the
//! securityfs directory `/sys/kernel/security/apparmor` exists and
//! `/sys/module/apparmor/parameters/enabled` starts with `Y`. Confinement
//! is runc's `apparmor.ApplyProfile`: write `exec <profile>` to the task's
//! `attr/apparmor/exec` (`attr/exec` on kernels before 5.8), so the kernel
//! switches profile at the next `execve` — the workload's, after minipod's
//! own setup ran unconfined. See
//! <https://docs.kernel.org/admin-guide/LSM/apparmor.html> and
//! `Documentation/ABI/testing/procfs-attr-exec`.

use std::io::{self, Write};
use std::path::Path;

const SECURITYFS_DIR: &str = "/sys/kernel/security/apparmor";
const ENABLED_PARAMETER: &str = "/sys/module/apparmor/parameters/enabled";
const LOADED_PROFILES: &str = "/sys/kernel/security/apparmor/profiles";

/// Whether this host enforces AppArmor (runc's `IsEnabled`).
pub fn is_enabled() -> bool {
    Path::new(SECURITYFS_DIR).is_dir()
        && std::fs::read(ENABLED_PARAMETER).is_ok_and(|v| v.first() == Some(&b'Y'))
}

/// Whether a profile called `name` is loaded: a line `name (mode)` of the
/// kernel's profile list, as containerd's `appArmorProfileExists` reads it.
pub fn is_loaded(name: &str) -> io::Result<bool> {
    let list = std::fs::read_to_string(LOADED_PROFILES)?;
    Ok(loaded_names(&list).any(|loaded| loaded == name))
}

/// The names in the kernel's profile list (`name (enforce)` per line).
fn loaded_names(list: &str) -> impl Iterator<Item = &str> {
    list.lines()
        .map(|line| line.rsplit_once(" (").map_or(line, |(name, _)| name))
}

/// Loads (or replaces) the profile `text` into the kernel with
/// `apparmor_parser -K -r` (no cache), as containerd loads its default.
/// The parser's own error output names what is wrong with the policy; the
/// policy text is ours, not the user's.
pub fn load(text: &str) -> io::Result<()> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("apparmor_parser")
        .args(["-K", "-r"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("running apparmor_parser: {e}")))?;
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(io::Error::other(format!(
            "apparmor_parser failed ({}): {}",
            out.status,
            stderr.trim()
        )));
    }
    written.unwrap_or(Ok(()))
}

/// The caller's next `execve` runs under `profile`. One `write(2)` of
/// `exec <profile>`: the kernel parses the whole command from one write.
pub fn confine_next_exec(profile: &str) -> io::Result<()> {
    let command = format!("exec {profile}");
    // The LSM-specific file first (kernel 5.8+: several LSMs may each have
    // an `exec` attribute), then the shared one, as runc does.
    let mut file = match open_attr("/proc/thread-self/attr/apparmor/exec") {
        Err(e) if e.kind() == io::ErrorKind::NotFound => open_attr("/proc/thread-self/attr/exec")?,
        other => other?,
    };
    let written = file.write(command.as_bytes())?;
    if written != command.len() {
        return Err(io::Error::other(format!(
            "short write to the AppArmor exec attribute ({written} of {} bytes)",
            command.len()
        )));
    }
    Ok(())
}

fn open_attr(path: &str) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_names_drop_the_mode() {
        let list = "minipod-test (enforce)\n/usr/bin/man (complain)\nodd name (x) (enforce)\n";
        assert_eq!(
            loaded_names(list).collect::<Vec<_>>(),
            ["minipod-test", "/usr/bin/man", "odd name (x)"]
        );
    }
}
