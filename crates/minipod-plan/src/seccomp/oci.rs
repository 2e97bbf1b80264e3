//! A `Localhost` profile: the seccomp JSON of the OCI runtime spec
//! (`linux.seccomp`), with Docker's extensions (`names` with `includes` /
//! `excludes` by capability, architecture and kernel), the format
//! containerd reads from the kubelet's seccomp profile root.
//!
//! Read strictly: an unknown key, an action minipod cannot compile
//! (`SCMP_ACT_TRACE`, `SCMP_ACT_NOTIFY`), a flag, or an argument index out
//! of range is an error naming the key, never a silently weaker filter.

use serde::Deserialize;

use super::{Action, ArgCheck, ArgOp, EPERM, SeccompProfile, SyscallRule};

/// Why a profile file cannot be used. The caller adds the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("not a seccomp profile: {0}")]
    Json(String),
    #[error(
        "{field}: unsupported action {action:?} (minipod compiles SCMP_ACT_ALLOW, ERRNO, KILL, KILL_THREAD, KILL_PROCESS, TRAP and LOG)"
    )]
    Action { field: String, action: String },
    #[error("{field}: unsupported operator {op:?}")]
    Operator { field: String, op: String },
    #[error("{field}: argument index {index} is out of range (0 to 5)")]
    Index { field: String, index: u32 },
    #[error("{field}: {detail}")]
    Unsupported { field: String, detail: String },
    #[error("{field}: invalid kernel version {value:?} (use major.minor)")]
    Kernel { field: String, value: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProfileFile {
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    // Only the native architecture is filtered (see the module docs of
    // `minipod_linux::container::seccomp`): these lists do not change what
    // minipod installs.
    #[serde(default)]
    #[allow(dead_code)]
    architectures: Option<serde_json::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    arch_map: Option<serde_json::Value>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    listener_path: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    listener_metadata: Option<String>,
    #[serde(default)]
    syscalls: Vec<SyscallFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SyscallFile {
    #[serde(default)]
    names: Vec<String>,
    /// Docker's old single-name form.
    #[serde(default)]
    name: Option<String>,
    action: String,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Vec<ArgFile>,
    #[serde(default)]
    #[allow(dead_code)]
    comment: Option<String>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ArgFile {
    index: u32,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// Where the profile will run: Docker's `includes` / `excludes` are
/// resolved against it.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The container's capabilities (`CAP_*`).
    pub capabilities: &'a [String],
    /// `std::env::consts::ARCH`.
    pub arch: &'a str,
    /// The running kernel's (major, minor).
    pub kernel: (u32, u32),
}

/// Parses a profile file's text for a container running on `target`.
pub fn parse_profile(text: &str, target: &Target<'_>) -> Result<SeccompProfile, ProfileError> {
    let file: ProfileFile =
        serde_json::from_str(text).map_err(|e| ProfileError::Json(e.to_string()))?;
    if let Some(flag) = file.flags.first() {
        return Err(ProfileError::Unsupported {
            field: "flags".into(),
            detail: format!("filter flag {flag:?} is not supported"),
        });
    }
    if file.listener_path.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(ProfileError::Unsupported {
            field: "listenerPath".into(),
            detail: "seccomp notify listeners are not supported".into(),
        });
    }
    let default_action = action(
        &file.default_action,
        file.default_errno_ret,
        "defaultAction",
    )?;
    let mut rules = Vec::new();
    for (i, call) in file.syscalls.into_iter().enumerate() {
        let field = format!("syscalls[{i}]");
        let applies = applies(call.includes.as_ref(), true, target, &field)?
            && !applies(call.excludes.as_ref(), false, target, &field)?;
        let rule_action = action(&call.action, call.errno_ret, &format!("{field}.action"))?;
        if !applies || rule_action == default_action {
            continue;
        }
        let mut names = call.names;
        names.extend(call.name);
        let args = call
            .args
            .iter()
            .enumerate()
            .map(|(j, a)| arg(a, &format!("{field}.args[{j}]")))
            .collect::<Result<Vec<_>, _>>()?;
        // Two conditions on the same argument are alternatives, as runc
        // reads them (one rule each); otherwise all must hold.
        let repeated = args
            .iter()
            .enumerate()
            .any(|(j, a)| args[..j].iter().any(|b| b.index == a.index));
        if repeated {
            for check in args {
                rules.push(SyscallRule {
                    names: names.clone(),
                    action: rule_action,
                    args: vec![check],
                });
            }
        } else {
            rules.push(SyscallRule {
                names,
                action: rule_action,
                args,
            });
        }
    }
    Ok(SeccompProfile {
        default_action,
        rules,
    })
}

fn action(name: &str, errno: Option<u32>, field: &str) -> Result<Action, ProfileError> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_ERRNO" => match errno.unwrap_or(EPERM) {
            // The kernel's MAX_ERRNO: a larger value would not be an errno
            // (and the filter keeps only 16 bits of it).
            errno @ 0..=4095 => Action::Errno(errno),
            too_big => {
                return Err(ProfileError::Unsupported {
                    field: field.into(),
                    detail: format!("errno {too_big} is out of range (0 to 4095)"),
                });
            }
        },
        "SCMP_ACT_TRAP" => Action::Trap,
        // libseccomp's SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD.
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        other => {
            return Err(ProfileError::Action {
                field: field.into(),
                action: other.into(),
            });
        }
    })
}

fn arg(file: &ArgFile, field: &str) -> Result<ArgCheck, ProfileError> {
    let index = u8::try_from(file.index)
        .ok()
        .filter(|i| *i <= 5)
        .ok_or(ProfileError::Index {
            field: field.into(),
            index: file.index,
        })?;
    let (op, value) = match file.op.as_str() {
        "SCMP_CMP_EQ" => (ArgOp::Eq, file.value),
        "SCMP_CMP_NE" => (ArgOp::Ne, file.value),
        "SCMP_CMP_LT" => (ArgOp::Lt, file.value),
        "SCMP_CMP_LE" => (ArgOp::Le, file.value),
        "SCMP_CMP_GT" => (ArgOp::Gt, file.value),
        "SCMP_CMP_GE" => (ArgOp::Ge, file.value),
        // `value` is the mask, `valueTwo` what the masked argument must be.
        "SCMP_CMP_MASKED_EQ" => (ArgOp::MaskedEq { mask: file.value }, file.value_two),
        other => {
            return Err(ProfileError::Operator {
                field: format!("{field}.op"),
                op: other.into(),
            });
        }
    };
    Ok(ArgCheck { index, op, value })
}

/// Docker's Go name of an architecture.
fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// Whether a Docker `includes` (`all_needed`: every condition holds) or
/// `excludes` (any condition holds) filter matches `target`. A missing
/// filter includes everything and excludes nothing.
fn applies(
    filter: Option<&Filter>,
    all_needed: bool,
    target: &Target<'_>,
    field: &str,
) -> Result<bool, ProfileError> {
    let Some(filter) = filter else {
        return Ok(all_needed);
    };
    let has_cap = |c: &String| target.capabilities.contains(c);
    let arch = go_arch(target.arch);
    let kernel = match &filter.min_kernel {
        None => None,
        Some(text) => {
            Some(
                kernel_at_least(text, target.kernel).ok_or_else(|| ProfileError::Kernel {
                    field: format!("{field}.minKernel"),
                    value: text.clone(),
                })?,
            )
        }
    };
    Ok(if all_needed {
        filter.caps.iter().all(has_cap)
            && (filter.arches.is_empty() || filter.arches.iter().any(|a| a == arch))
            && kernel.unwrap_or(true)
    } else {
        filter.caps.iter().any(has_cap)
            || filter.arches.iter().any(|a| a == arch)
            || kernel.unwrap_or(false)
    })
}

/// `running >= "major.minor"`; `None` if the text is not a version.
fn kernel_at_least(text: &str, running: (u32, u32)) -> Option<bool> {
    let (major, minor) = text.split_once('.').unwrap_or((text, "0"));
    let wanted = (major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?);
    Some(running >= wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(caps: &[String]) -> Target<'_> {
        Target {
            capabilities: caps,
            arch: "x86_64",
            kernel: (6, 1),
        }
    }

    #[test]
    fn a_deny_list_profile_reads_as_allow_with_errno_rules() {
        let text = r#"{
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["read"], "action": "SCMP_ACT_ALLOW"}
            ]}"#;
        let profile = parse_profile(text, &target(&[])).unwrap();
        assert_eq!(profile.default_action, Action::Allow);
        assert_eq!(
            profile.rules,
            [
                SyscallRule {
                    names: vec!["mkdir".into(), "mkdirat".into()],
                    action: Action::Errno(EPERM),
                    args: vec![]
                },
                SyscallRule {
                    names: vec!["chmod".into()],
                    action: Action::Errno(13),
                    args: vec![]
                },
            ],
            "the rule with the default action is dropped"
        );
    }

    #[test]
    fn docker_includes_and_excludes_follow_the_container() {
        let text = r#"{
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
            "syscalls": [
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]},
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
                {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
                {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
                {"names": ["future"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "9.0"}}
            ]}"#;
        let names = |caps: &[String]| -> Vec<String> {
            let p = parse_profile(text, &target(caps)).unwrap();
            p.names().into_iter().map(String::from).collect()
        };
        assert_eq!(names(&[]), ["clone", "arch_prctl", "ptrace"]);
        assert_eq!(
            names(&["CAP_SYS_ADMIN".into()]),
            ["mount", "arch_prctl", "ptrace"]
        );
        let p = parse_profile(text, &target(&[])).unwrap();
        assert_eq!(
            p.rules[0].args,
            [ArgCheck {
                index: 0,
                op: ArgOp::MaskedEq { mask: 0x7E02_0000 },
                value: 0
            }]
        );
    }

    #[test]
    fn conditions_on_one_argument_are_alternatives() {
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}"#;
        let p = parse_profile(text, &target(&[])).unwrap();
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rules[1].args[0].value, 8);
    }

    #[test]
    fn what_cannot_be_compiled_is_an_error_naming_the_key() {
        let err = |text: &str| parse_profile(text, &target(&[])).unwrap_err().to_string();
        assert_eq!(
            err(
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_NOTIFY"}]}"#
            ),
            "syscalls[0].action: unsupported action \"SCMP_ACT_NOTIFY\" (minipod compiles SCMP_ACT_ALLOW, ERRNO, KILL, KILL_THREAD, KILL_PROCESS, TRAP and LOG)"
        );
        assert_eq!(
            err(r#"{"defaultAction": "SCMP_ACT_TRACE"}"#),
            "defaultAction: unsupported action \"SCMP_ACT_TRACE\" (minipod compiles SCMP_ACT_ALLOW, ERRNO, KILL, KILL_THREAD, KILL_PROCESS, TRAP and LOG)"
        );
        assert_eq!(
            err(
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#
            ),
            "syscalls[0].args[0]: argument index 6 is out of range (0 to 5)"
        );
        assert_eq!(
            err(
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]}"#
            ),
            "syscalls[0].args[0].op: unsupported operator \"SCMP_CMP_ALMOST\""
        );
        assert_eq!(
            err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}"#),
            "flags: filter flag \"SECCOMP_FILTER_FLAG_LOG\" is not supported"
        );
        assert!(
            err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "defaultActoin": 1}"#)
                .starts_with("not a seccomp profile: unknown field `defaultActoin`"),
        );
        assert!(err("not json").starts_with("not a seccomp profile: "));
        assert_eq!(
            err(
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}"#
            ),
            "syscalls[0].action: errno 70000 is out of range (0 to 4095)"
        );
    }
}
