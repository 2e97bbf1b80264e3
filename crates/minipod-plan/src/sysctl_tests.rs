use minipod_spec::model::{PodSecurityContext, PodSpec, Sysctl};
use minipod_spec::sysctl::SysctlNamespace;

use super::*;

fn spec(names: &[&str]) -> PodSpec {
    PodSpec {
        security_context: Some(PodSecurityContext {
            sysctls: names
                .iter()
                .map(|name| Sysctl {
                    name: (*name).to_owned(),
                    value: "1".to_owned(),
                })
                .collect(),
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    }
}

fn verdict(allowlist: &SysctlAllowlist, pod: &PodSpec) -> Result<(), String> {
    match admit_sysctls(allowlist, pod) {
        Admission::Admit => Ok(()),
        Admission::Reject(r) => {
            assert_eq!(r.reason, SYSCTL_FORBIDDEN);
            Err(r.message)
        }
    }
}

#[test]
fn every_safe_sysctl_is_admitted_by_default() {
    let node = SysctlAllowlist::default();
    for name in SAFE_SYSCTLS {
        assert_eq!(verdict(&node, &spec(&[name])), Ok(()), "{name}");
    }
    assert_eq!(verdict(&node, &spec(&[])), Ok(()));
    assert_eq!(verdict(&node, &PodSpec::default()), Ok(()));
    // The slash form names the same sysctl.
    assert_eq!(
        verdict(&node, &spec(&["net/ipv4/ip_local_port_range"])),
        Ok(())
    );
}

#[test]
fn an_unsafe_sysctl_is_forbidden_in_the_kubelets_words() {
    let node = SysctlAllowlist::default();
    assert_eq!(
        verdict(&node, &spec(&["kernel.shm_rmid_forced", "kernel.msgmax"])),
        Err(r#"forbidden sysctl: "kernel.msgmax" not allowlisted"#.to_owned())
    );
    assert_eq!(
        verdict(&node, &spec(&["net/core/somaxconn"])),
        Err(r#"forbidden sysctl: "net.core.somaxconn" not allowlisted"#.to_owned())
    );
    assert_eq!(
        verdict(&node, &spec(&["vm.swappiness"])),
        Err(r#"forbidden sysctl: "vm.swappiness" not allowlisted"#.to_owned())
    );
}

#[test]
fn allowed_unsafe_names_and_prefixes() {
    let node =
        SysctlAllowlist::with_unsafe(&["kernel.msg*".to_owned(), "net.core.somaxconn".to_owned()])
            .expect("valid patterns");
    assert_eq!(
        verdict(
            &node,
            &spec(&["kernel.msgmax", "kernel.msgmnb", "net.core.somaxconn"])
        ),
        Ok(())
    );
    assert_eq!(
        verdict(&node, &spec(&["net.core.rmem_max"])),
        Err(r#"forbidden sysctl: "net.core.rmem_max" not allowlisted"#.to_owned())
    );
    let all_net = SysctlAllowlist::with_unsafe(&["net.*".to_owned()]).expect("valid");
    assert_eq!(verdict(&all_net, &spec(&["net.core.rmem_max"])), Ok(()));
}

#[test]
fn host_namespaces_forbid_their_sysctls() {
    let node = SysctlAllowlist::with_unsafe(&["kernel.msg*".to_owned()]).expect("valid");
    let mut host_net = spec(&["kernel.shm_rmid_forced", "net.ipv4.tcp_syncookies"]);
    host_net.host_network = Some(true);
    assert_eq!(
        verdict(&node, &host_net),
        Err(
            r#"forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled"#
                .to_owned()
        )
    );
    let mut host_ipc = spec(&["net.ipv4.tcp_syncookies", "kernel.msgmax"]);
    host_ipc.host_ipc = Some(true);
    assert_eq!(
        verdict(&node, &host_ipc),
        Err(r#"forbidden sysctl: "kernel.msgmax" not allowed with host ipc enabled"#.to_owned())
    );
}

#[test]
fn a_node_refuses_bad_or_node_wide_patterns() {
    for bad in ["", "Net.*", "net..x", "net.*.x", "*x", "net.ipv4.-", "../x"] {
        assert_eq!(
            SysctlAllowlist::with_unsafe(&[bad.to_owned()]),
            Err(InvalidSysctlPattern::Malformed {
                pattern: bad.to_owned()
            }),
            "{bad:?}"
        );
    }
    for (node_wide, shown) in [
        ("vm.swappiness", "vm.swappiness"),
        ("kernel.*", "kernel.*"),
        ("*", "*"),
        ("fs/file-max", "fs.file-max"),
    ] {
        assert_eq!(
            SysctlAllowlist::with_unsafe(&[node_wide.to_owned()]),
            Err(InvalidSysctlPattern::NotNamespaced {
                pattern: shown.to_owned()
            }),
            "{node_wide}"
        );
    }
    assert_eq!(
        InvalidSysctlPattern::NotNamespaced {
            pattern: "vm.x".into()
        }
        .to_string(),
        r#"the sysctls "vm.x" are not known to be namespaced"#
    );
    for good in [
        "kernel.shm*",
        "fs.mqueue.*",
        "net/ipv4/*",
        "kernel.sem",
        "net.a-*",
    ] {
        assert!(
            SysctlAllowlist::with_unsafe(&[good.to_owned()]).is_ok(),
            "{good}"
        );
    }
}

#[test]
fn the_runtime_gets_dotted_names_with_their_namespaces() {
    let mut pod = spec(&["net/ipv4/ip_local_port_range", "kernel.shm_rmid_forced"]);
    pod.security_context.as_mut().unwrap().sysctls[0].value = "2000 3000".into();
    assert_eq!(
        pod_sysctls(&pod),
        vec![
            PodSysctl {
                namespace: SysctlNamespace::Net,
                name: "net.ipv4.ip_local_port_range".into(),
                value: "2000 3000".into(),
            },
            PodSysctl {
                namespace: SysctlNamespace::Ipc,
                name: "kernel.shm_rmid_forced".into(),
                value: "1".into(),
            },
        ]
    );
    assert_eq!(pod_sysctls(&PodSpec::default()), vec![]);
}
