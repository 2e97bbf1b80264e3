//! Becoming the workload: the last steps of a container's init and of the
//! exec helper's command (`kubectl exec`, exec probes and hooks), written
//! once so that both take on the container's identity in the same order.
//!
//! The order, and why (runc's `finalizeNamespace` and
//! `standard_init_linux.go` follow the same kernel rules):
//! 1. Drop capabilities from the bounding set: that needs `CAP_SETPCAP`,
//!    which only the root user still holds (capabilities(7)).
//! 2. Apply the AppArmor profile (at the next exec): the write needs no
//!    capability, but a Localhost seccomp profile may deny it, so before
//!    seccomp.
//! 3. Without `no_new_privs`, install the seccomp filter while the process
//!    still has `CAP_SYS_ADMIN`, which seccomp(2) then requires.
//! 4. Switch user and groups, keeping the permitted set across setuid
//!    (`PR_SET_KEEPCAPS`, capabilities(7) "Effect of user ID changes"),
//!    then set the permitted, effective and inheritable sets.
//! 5. The caller's step after the user switch (the exec helper's command
//!    asks for the parent-death signal, which a change of user clears).
//! 6. `no_new_privs` (prctl(2)), then, with it, the seccomp filter as late
//!    as possible (seccomp(2): an unprivileged filter needs no_new_privs).
//! 7. Change to the working directory as the user (its permissions apply),
//!    find the executable in the container's `PATH`, the caller's last
//!    step (the init's new session), default signal dispositions, `execve`.

#![allow(unsafe_code)] // prctl, signal dispositions: each block says why

use std::convert::Infallible;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::unistd::{Gid, Uid, chdir, setgid, setgroups, setuid};

use super::failure::{Failure, step};
use super::protocol::{Step, StepFailure};
use super::seccomp::{Filters, install_after_no_new_privs, install_before_user_switch};

/// Who and what the process becomes.
pub(super) struct Workload<'a> {
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) groups: &'a [u32],
    /// Capability names the process keeps.
    pub(super) capabilities: &'a [String],
    pub(super) apparmor_profile: Option<&'a str>,
    pub(super) seccomp: &'a Option<Filters>,
    pub(super) no_new_privileges: bool,
    pub(super) cwd: &'a str,
    pub(super) argv: &'a [String],
    /// `NAME=value`.
    pub(super) env: &'a [String],
}

/// Takes on `workload`'s identity in the order of the module's list and
/// execs it; returns only the step that failed. `after_user_switch` and
/// `before_exec` are the caller's own steps (see the list).
pub(super) fn become_workload(
    workload: &Workload<'_>,
    after_user_switch: impl FnOnce() -> Result<(), StepFailure>,
    before_exec: impl FnOnce() -> Result<(), StepFailure>,
) -> Result<Infallible, StepFailure> {
    step(
        Step::LimitBoundingSet,
        super::caps::limit_bounding(workload.capabilities),
    )?;
    if let Some(profile) = workload.apparmor_profile {
        step(
            Step::ApplyAppArmorProfile,
            super::apparmor::confine_next_exec(profile),
        )?;
    }
    install_before_user_switch(workload.seccomp, workload.no_new_privileges)?;
    step(
        Step::SwitchUser,
        switch_user(workload.uid, workload.gid, workload.groups),
    )?;
    step(
        Step::SetCapabilities,
        super::caps::apply(workload.capabilities),
    )?;
    after_user_switch()?;
    if workload.no_new_privileges {
        // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes plain integers.
        let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        step(Step::SetNoNewPrivs, Errno::result(rc))?;
    }
    install_after_no_new_privs(workload.seccomp, workload.no_new_privileges)?;
    step(Step::ChangeToWorkingDir, chdir(workload.cwd))?;
    let program = step(
        Step::FindExecutable,
        find_executable(&workload.argv[0], workload.env),
    )?;
    before_exec()?;
    step(Step::ResetSignals, reset_signals())?;
    Err(exec_workload(&program, workload.argv, workload.env))
}

/// `execve(program, args, env)`: returns only if it failed, with the
/// failure to report. (The container's init and the exec helper's command
/// end the same way.)
fn exec_workload(program: &Path, args: &[String], env: &[String]) -> StepFailure {
    let to_c = |s: &String| CString::new(s.as_bytes());
    let strings = || -> Result<(CString, Vec<CString>, Vec<CString>), std::ffi::NulError> {
        let path = CString::new(program.as_os_str().as_encoded_bytes())?;
        let argv = args.iter().map(to_c).collect::<Result<_, _>>()?;
        let envp = env.iter().map(to_c).collect::<Result<_, _>>()?;
        Ok((path, argv, envp))
    };
    let (path, argv, envp) = match strings() {
        Ok(strings) => strings,
        Err(nul) => {
            return StepFailure {
                step: Step::Exec,
                errno: None,
                message: nul.to_string(),
            };
        }
    };
    let errno = match nix::unistd::execve(&path, &argv, &envp) {
        Err(errno) => errno,
        Ok(never) => match never {},
    };
    StepFailure {
        step: Step::Exec,
        errno: Some(errno as i32),
        message: format!(
            "exec {:?}: {}",
            args.first().map(String::as_str).unwrap_or_default(),
            errno.desc()
        ),
    }
}

fn switch_user(uid: u32, gid: u32, groups: &[u32]) -> Result<(), Failure> {
    // Keep the permitted capabilities across setuid so `caps_set::apply` can
    // set them (capabilities(7), "Effect of user ID changes").
    // SAFETY: prctl with integer arguments.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) })?;
    let groups: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
    setgroups(&groups)?;
    setgid(Gid::from_raw(gid))?;
    setuid(Uid::from_raw(uid))?;
    Ok(())
}

/// `$PATH` lookup as `execvp` does, with the container's own PATH.
fn find_executable(program: &str, env: &[String]) -> Result<PathBuf, Failure> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(program);
        if nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok()
            && !candidate.is_dir()
        {
            return Ok(candidate);
        }
    }
    Err(Failure {
        errno: Some(libc::ENOENT),
        message: format!("exec: {program:?}: executable file not found in $PATH"),
    })
}

/// Default dispositions and an empty mask for the workload: the Rust runtime
/// ignores SIGPIPE, and an ignored signal stays ignored across execve.
fn reset_signals() -> Result<(), Failure> {
    use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: installing SIG_DFL runs no handler code.
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
    Ok(())
}
