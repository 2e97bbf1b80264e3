//! Compiling a container's seccomp profile to BPF and installing it.
//!
//! The profile is decided in `minipod_plan::seccomp` (pure); here it
//! becomes classic BPF with `seccompiler` (pure Rust, no C library; see
//! `docs/decisions/0010-seccomp-seccompiler.md`) and is installed with a
//! raw `seccomp(SECCOMP_SET_MODE_FILTER)` call (seccomp(2)).
//!
//! **Several filters, one per action.** seccompiler gives each filter one
//! action for a match and one for a mismatch, while a profile can have
//! several (RuntimeDefault: `ERRNO(EPERM)` by default, `ALLOW` for the
//! allow-list, `ERRNO(ENOSYS)` for `clone3`). So the profile becomes a
//! stack: first a *main* filter that lets through every call some rule
//! matches and gives the default action to the rest; then one filter per
//! other action, which gives that action to its rules' calls and lets
//! everything else through. The kernel runs every filter and keeps the
//! most restrictive answer (seccomp(2), "Filter return values"), so a call
//! gets its rule's action, and a call no rule matches gets the default.
//! Where two rules with different actions match the same call, the more
//! restrictive one wins (libseccomp would refuse or pick by order).
//!
//! **Only the native architecture.** seccompiler's filters kill a process
//! that makes a system call through another ABI (`int 0x80`, i386
//! binaries) with `SIGSYS`, where Docker's profile also allows the x86 and
//! x32 sub-architectures: 32-bit programs do not run under a profile here.
//!
//! **No forced `no_new_privs`.** seccompiler's own `apply_filter` sets
//! `PR_SET_NO_NEW_PRIVS`, but Kubernetes defaults to
//! `allowPrivilegeEscalation: true`, so the filter is installed with the
//! system call directly. Without `no_new_privs` that needs
//! `CAP_SYS_ADMIN`: the init installs it while it still has it, just before
//! it switches user and drops capabilities (the calls it makes after are in
//! RuntimeDefault's allow-list); with `no_new_privs` it installs it last,
//! just before `execve`, as runc does.

#![allow(unsafe_code)] // the seccomp(2) call: its block says why

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use minipod_plan::seccomp::{Action, ArgOp, SeccompProfile};
use seccompiler::{BpfProgram, TargetArch};
use serde_json::{Value, json};

/// Why a profile could not be compiled or installed.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("compiling the seccomp profile: {0}")]
    Compile(String),
    #[error("installing the seccomp filter")]
    Install(#[source] std::io::Error),
}

/// A profile compiled for this machine: the BPF programs, in the order to
/// install them.
#[derive(Debug)]
pub struct Filters(Vec<BpfProgram>);

fn target_arch() -> Result<TargetArch, SeccompError> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(|_| {
        SeccompError::Compile(format!(
            "seccomp profiles are not supported on {}",
            std::env::consts::ARCH
        ))
    })
}

/// The subset of `names` this architecture has a system call for.
///
/// seccompiler knows its table (Linux 6.12) but does not publish it, and
/// rejects a whole document at its first unknown name. So one filter with
/// a batch of names is compiled; each failure names the unknown call
/// (`... Invalid syscall name: <name> ...`), which is set aside, until the
/// rest of the batch compiles: about one compilation per batch plus one per
/// unknown name, not one per name (the RuntimeDefault table has ~60 names
/// x86_64 lacks among ~400). Should the message ever not name the call,
/// each name is tried alone. Answers are kept for the life of the process.
pub fn known_syscalls<'a>(names: &[&'a str]) -> Vec<&'a str> {
    static KNOWN: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let Ok(arch) = target_arch() else {
        return Vec::new();
    };
    let mut cache = match KNOWN.get_or_init(Default::default).lock() {
        Ok(cache) => cache,
        Err(poisoned) => poisoned.into_inner(),
    };
    let compiles = |batch: &[&str]| -> Result<(), seccompiler::Error> {
        let rules: Vec<Value> = batch.iter().map(|n| json!({"syscall": n})).collect();
        let doc = json!({"probe": {"mismatch_action": "allow", "match_action": "log",
                                   "filter": rules}});
        seccompiler::compile_from_json(doc.to_string().as_bytes(), arch).map(drop)
    };
    let unsure: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !cache.contains_key(*n))
        .collect();
    // Small batches: most hold no unknown name and compile at once, and a
    // retry after an unknown one re-reads only its batch.
    for batch in unsure.chunks(16) {
        let mut batch = batch.to_vec();
        while !batch.is_empty() {
            let Err(error) = compiles(&batch) else {
                for name in batch.drain(..) {
                    cache.insert(name.to_owned(), true);
                }
                break;
            };
            let message = error.to_string();
            let named = message
                .split_once("Invalid syscall name: ")
                .and_then(|(_, rest)| rest.split(' ').next())
                .filter(|n| batch.contains(n));
            match named {
                Some(unknown) => {
                    cache.insert(unknown.to_owned(), false);
                    batch.retain(|n| *n != unknown);
                }
                None => {
                    for name in batch.drain(..) {
                        let known = compiles(&[name]).is_ok();
                        cache.insert(name.to_owned(), known);
                    }
                }
            }
        }
    }
    names
        .iter()
        .copied()
        .filter(|n| cache.get(*n) == Some(&true))
        .collect()
}

/// Whether this architecture has a system call named `name`.
pub fn knows_syscall(name: &str) -> bool {
    !known_syscalls(&[name]).is_empty()
}

/// Drops the names this architecture does not have (`chown32`, `mmap2`,
/// ... on x86_64), as runc skips them: the profiles name calls of every
/// architecture. Done by the runtime, so the init compiles a clean profile.
pub fn drop_unknown_syscalls(profile: &mut SeccompProfile) {
    let known: std::collections::HashSet<String> = known_syscalls(&profile.names())
        .into_iter()
        .map(String::from)
        .collect();
    profile.retain_names(|n| known.contains(n));
}

fn action_json(action: Action) -> Value {
    match action {
        Action::Allow => json!("allow"),
        Action::Log => json!("log"),
        Action::Errno(errno) => json!({"errno": errno}),
        Action::Trap => json!("trap"),
        Action::KillThread => json!("kill_thread"),
        Action::KillProcess => json!("kill_process"),
    }
}

/// seccompiler's JSON for the rules of `profile` with `action` (all of
/// them when `None`).
fn rules_json(profile: &SeccompProfile, action: Option<Action>) -> Vec<Value> {
    let mut rules = Vec::new();
    for rule in &profile.rules {
        if action.is_some_and(|a| a != rule.action) {
            continue;
        }
        let args: Vec<Value> = rule
            .args
            .iter()
            .map(|check| {
                let op = match check.op {
                    ArgOp::Eq => json!("eq"),
                    ArgOp::Ne => json!("ne"),
                    ArgOp::Lt => json!("lt"),
                    ArgOp::Le => json!("le"),
                    ArgOp::Gt => json!("gt"),
                    ArgOp::Ge => json!("ge"),
                    ArgOp::MaskedEq { mask } => json!({"masked_eq": mask}),
                };
                // All 64 bits, as libseccomp compares them.
                json!({"index": check.index, "type": "qword", "op": op, "val": check.value})
            })
            .collect();
        for name in &rule.names {
            rules.push(if args.is_empty() {
                json!({"syscall": name})
            } else {
                json!({"syscall": name, "args": args})
            });
        }
    }
    rules
}

/// Compiles `profile` into the filters to install (see the module docs).
pub fn compile(profile: &SeccompProfile) -> Result<Filters, SeccompError> {
    let arch = target_arch()?;
    let mut filters: Vec<(String, Value)> = Vec::new();
    if profile.default_action != Action::Allow {
        filters.push((
            "main".into(),
            json!({"mismatch_action": action_json(profile.default_action),
                   "match_action": "allow",
                   "filter": rules_json(profile, None)}),
        ));
    }
    let mut actions: Vec<Action> = Vec::new();
    for rule in &profile.rules {
        if rule.action != Action::Allow && !actions.contains(&rule.action) {
            actions.push(rule.action);
        }
    }
    for (i, action) in actions.into_iter().enumerate() {
        filters.push((
            format!("action{i}"),
            json!({"mismatch_action": "allow",
                   "match_action": action_json(action),
                   "filter": rules_json(profile, Some(action))}),
        ));
    }
    let doc: serde_json::Map<String, Value> = filters.iter().cloned().collect();
    let mut compiled =
        seccompiler::compile_from_json(Value::Object(doc).to_string().as_bytes(), arch)
            .map_err(|e| SeccompError::Compile(e.to_string()))?;
    filters
        .iter()
        .map(|(name, _)| {
            compiled
                .remove(name)
                .ok_or_else(|| SeccompError::Compile(format!("filter {name} missing")))
        })
        .collect::<Result<_, _>>()
        .map(Filters)
}

impl Filters {
    /// How many BPF programs are stacked.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Installs the filters on the calling thread, in order, without
    /// setting `no_new_privs` (the caller needs `CAP_SYS_ADMIN` then, or
    /// to have set it). They are inherited across `fork` and `execve`.
    pub fn install(&self) -> Result<(), SeccompError> {
        for program in &self.0 {
            let len = u16::try_from(program.len()).map_err(|_| {
                SeccompError::Compile(format!(
                    "a filter of {} instructions is too long",
                    program.len()
                ))
            })?;
            let fprog = libc::sock_fprog {
                len,
                filter: program.as_ptr() as *mut libc::sock_filter,
            };
            // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog): `fprog`
            // points to `len` instructions that live in `program` for the
            // whole call; seccompiler's `sock_filter` has the kernel's
            // layout (`#[repr(C)]` u16, u8, u8, u32, as libc's). The kernel
            // copies the program and keeps no pointer to it.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0u32,
                    &fprog as *const libc::sock_fprog,
                )
            };
            if rc != 0 {
                return Err(SeccompError::Install(std::io::Error::last_os_error()));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The two places a container's process installs its filters (init and the
// exec helper's command), so both follow the same order.
// ---------------------------------------------------------------------------

/// `profile` compiled, or nothing to install.
pub(super) fn compile_optional(
    profile: Option<&SeccompProfile>,
) -> Result<Option<Filters>, SeccompError> {
    profile.map(compile).transpose()
}

/// The container's profile, compiled in its init.
pub(super) fn for_config(
    config: &minipod_plan::launch::ContainerConfig,
) -> Result<Option<Filters>, SeccompError> {
    compile_optional(config.seccomp.as_ref())
}

/// Without `no_new_privs`, the filters go in while the process still has
/// `CAP_SYS_ADMIN`: just before the switch of user and capabilities.
pub(super) fn install_before_user_switch(
    filters: &Option<Filters>,
    no_new_privileges: bool,
) -> Result<(), super::StepFailure> {
    match filters {
        Some(filters) if !no_new_privileges => {
            super::failure::step(super::Step::InstallSeccompFilter, filters.install())
        }
        _ => Ok(()),
    }
}

/// With `no_new_privs`, as late as possible: just before `execve`.
pub(super) fn install_after_no_new_privs(
    filters: &Option<Filters>,
    no_new_privileges: bool,
) -> Result<(), super::StepFailure> {
    match filters {
        Some(filters) if no_new_privileges => {
            super::failure::step(super::Step::InstallSeccompFilter, filters.install())
        }
        _ => Ok(()),
    }
}

impl From<SeccompError> for super::failure::Failure {
    fn from(e: SeccompError) -> Self {
        let errno = match &e {
            SeccompError::Install(io) => io.raw_os_error(),
            SeccompError::Compile(_) => None,
        };
        super::failure::Failure {
            errno,
            message: minipod_spec::error_chain(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use minipod_plan::seccomp::{EPERM, SyscallRule, runtime_default};

    use super::*;

    fn default_caps() -> Vec<String> {
        minipod_plan::launch::DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn runtime_default_compiles_to_a_main_filter_and_a_clone3_filter() {
        let mut profile = runtime_default(&default_caps(), std::env::consts::ARCH);
        drop_unknown_syscalls(&mut profile);
        assert!(profile.names().contains(&"read"));
        assert!(!profile.names().contains(&"chown32") || std::env::consts::ARCH != "x86_64");
        let filters = compile(&profile).unwrap();
        assert_eq!(filters.len(), 2);
        assert!(filters.0[0].len() < 4096, "BPF_MAXINSNS");
    }

    #[test]
    fn an_allow_by_default_profile_has_only_action_filters() {
        let profile = SeccompProfile {
            default_action: Action::Allow,
            rules: vec![SyscallRule {
                names: vec!["mkdir".into(), "mkdirat".into()],
                action: Action::Errno(EPERM),
                args: vec![],
            }],
        };
        assert_eq!(compile(&profile).unwrap().len(), 1);
    }

    /// `known_syscalls` reads the unknown name from this message (and
    /// falls back to one compilation per name if it changes).
    #[test]
    fn seccompiler_names_the_unknown_call_in_its_error() {
        let doc = json!({"f": {"mismatch_action": "allow", "match_action": "log",
                               "filter": [{"syscall": "read"}, {"syscall": "no_such_call"}]}});
        let error =
            seccompiler::compile_from_json(doc.to_string().as_bytes(), target_arch().unwrap())
                .unwrap_err()
                .to_string();
        assert!(
            error.contains("Invalid syscall name: no_such_call "),
            "{error}"
        );
    }

    #[test]
    fn unknown_names_are_found_and_dropped() {
        assert!(knows_syscall("read"));
        assert!(!knows_syscall("no_such_call"));
        assert_eq!(
            known_syscalls(&["other_missing_call", "write", "chown32", "close"]),
            if std::env::consts::ARCH == "x86_64" {
                vec!["write", "close"]
            } else {
                known_syscalls(&["write", "chown32", "close"])
            }
        );
        let mut profile = SeccompProfile {
            default_action: Action::Errno(EPERM),
            rules: vec![SyscallRule {
                names: vec!["read".into(), "no_such_call".into()],
                action: Action::Allow,
                args: vec![],
            }],
        };
        assert!(compile(&profile).is_err());
        drop_unknown_syscalls(&mut profile);
        assert_eq!(profile.names(), ["read"]);
        assert!(compile(&profile).is_ok());
    }
}
