use super::*;

/// The error as the binaries print it: the chain, with anyhow's `{:#}`.
fn chain(error: NodeConfigError) -> String {
    format!("{:#}", anyhow::Error::new(error))
}

#[test]
fn flags_win_over_the_config_file_over_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.yaml");
    std::fs::write(
        &file,
        "stateDir: /tmp/s\nlogsDir: /tmp/l\nbackoffInitial: 1s\nbackoffMax: 8s\n",
    )
    .unwrap();
    let args = NodeArgs {
        config: Some(file),
        logs_dir: Some("/tmp/flag-logs".into()),
        backoff_max: Some(Duration::from_secs(4)),
        ..NodeArgs::default()
    };
    let node = args.resolve(Path::new("/bin/minipod")).unwrap();
    assert_eq!(node.config.state_dir, Path::new("/tmp/s"));
    assert_eq!(node.config.image_root, Path::new("/tmp/s/images"));
    assert_eq!(node.config.logs_dir, Path::new("/tmp/flag-logs"));
    assert_eq!(node.config.run_dir, Path::new("/run/minipod"));
    assert_eq!(node.backoff.initial, Duration::from_secs(1));
    assert_eq!(node.backoff.max, Duration::from_secs(4));
    assert_eq!(
        node.config.seccomp_profile_root,
        Path::new("/tmp/s/seccomp")
    );
    assert!(
        !node.config.seccomp_default,
        "off unless asked, as the kubelet"
    );
}

#[test]
fn seccomp_settings_come_from_flags_or_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.yaml");
    std::fs::write(
        &file,
        "seccompProfileRoot: /etc/profiles\nseccompDefault: true\n",
    )
    .unwrap();
    let from_file = NodeArgs {
        config: Some(file),
        ..NodeArgs::default()
    };
    let node = from_file.resolve(Path::new("/x")).unwrap();
    assert_eq!(node.config.seccomp_profile_root, Path::new("/etc/profiles"));
    assert!(node.config.seccomp_default);
    let from_flags = NodeArgs {
        seccomp_profile_root: Some("/srv/p".into()),
        seccomp_default: true,
        ..NodeArgs::default()
    };
    let node = from_flags.resolve(Path::new("/x")).unwrap();
    assert_eq!(node.config.seccomp_profile_root, Path::new("/srv/p"));
    assert!(node.config.seccomp_default);
    let node = NodeArgs::default().resolve(Path::new("/x")).unwrap();
    assert_eq!(
        node.config.seccomp_profile_root,
        Path::new("/var/lib/minipod/seccomp")
    );
}

#[test]
fn the_node_ip_comes_from_the_flag_or_the_file_else_the_default_route() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.yaml");
    std::fs::write(&file, "nodeIP: 192.0.2.9,2001:db8::9\n").unwrap();
    let program = Path::new("/bin/minipod");
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let from_file = NodeArgs {
        config: Some(file.clone()),
        ..NodeArgs::default()
    };
    let node = from_file.resolve(program).unwrap();
    assert_eq!(node.config.host_ips, [ip("192.0.2.9"), ip("2001:db8::9")]);
    let flag_wins = NodeArgs {
        config: Some(file),
        node_ip: Some("198.51.100.4".into()),
        ..NodeArgs::default()
    };
    assert_eq!(
        flag_wins.resolve(program).unwrap().config.host_ips,
        [ip("198.51.100.4")]
    );
    let node = NodeArgs::default().resolve(program).unwrap();
    assert_eq!(node.config.host_ips, crate::node_ip::host_default_ips());
    let bad = NodeArgs {
        node_ip: Some("here".into()),
        ..NodeArgs::default()
    };
    assert_eq!(
        chain(bad.resolve(program).unwrap_err()),
        r#"--node-ip: "here" is not an IP address"#
    );
}

#[test]
fn the_image_pull_progress_timeout_comes_from_the_flag_or_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.yaml");
    std::fs::write(&file, "imagePullProgressTimeout: 1m30s\n").unwrap();
    let program = Path::new("/bin/minipod");
    let default = NodeArgs::default().resolve(program).unwrap();
    assert_eq!(
        default.config.image_pull_progress_timeout,
        Duration::from_secs(60)
    );
    let mut args = NodeArgs {
        config: Some(file),
        ..NodeArgs::default()
    };
    let from_file = args.resolve(program).unwrap();
    assert_eq!(
        from_file.config.image_pull_progress_timeout,
        Duration::from_secs(90)
    );
    args.image_pull_progress_timeout = Some(Duration::from_secs(2));
    let from_flag = args.resolve(program).unwrap();
    assert_eq!(
        from_flag.config.image_pull_progress_timeout,
        Duration::from_secs(2)
    );
}

#[test]
fn reservations_come_from_flags_over_the_config_file_over_the_kubelet_defaults() {
    let defaults = NodeArgs::default().resolve(Path::new("/x")).unwrap();
    assert_eq!(defaults.reservations, Reservations::default());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.yaml");
    std::fs::write(
        &file,
        "kubeReserved: {cpu: 100m, memory: 64Mi}\nsystemReserved: {cpu: 200m}\nevictionHard: {memory.available: 10%}\n",
    )
    .unwrap();
    let args = NodeArgs {
        config: Some(file),
        system_reserved: Some("memory=1Gi".into()),
        ..NodeArgs::default()
    };
    let node = args.resolve(Path::new("/x")).unwrap();
    assert_eq!(
        node.reservations,
        Reservations {
            kube_reserved: capacity::CpuAndMemory {
                cpu_millis: 100,
                memory_bytes: 64 << 20
            },
            // The flag replaces the whole key, as the kubelet's does.
            system_reserved: capacity::CpuAndMemory {
                cpu_millis: 0,
                memory_bytes: 1 << 30
            },
            eviction_hard_memory: MemoryThreshold::Fraction(0.1),
        }
    );
}

#[test]
fn a_bad_reservation_names_its_flag() {
    let args = NodeArgs {
        kube_reserved: Some("cpu=x".into()),
        ..NodeArgs::default()
    };
    let error = chain(args.resolve(Path::new("/x")).unwrap_err());
    assert!(error.starts_with("--kube-reserved: cpu: \"x\""), "{error}");
}

#[test]
fn log_rotation_comes_from_flags_or_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.yaml");
    std::fs::write(&file, "containerLogMaxSize: 1Mi\ncontainerLogMaxFiles: 3\n").unwrap();
    let from_file = NodeArgs {
        config: Some(file.clone()),
        ..NodeArgs::default()
    };
    let rotation = from_file
        .resolve(Path::new("/x"))
        .unwrap()
        .config
        .log_rotation;
    assert_eq!((rotation.max_size(), rotation.max_files()), (1 << 20, 3));
    let flags = NodeArgs {
        config: Some(file),
        container_log_max_size: Some("500k".into()),
        ..NodeArgs::default()
    };
    let rotation = flags.resolve(Path::new("/x")).unwrap().config.log_rotation;
    assert_eq!((rotation.max_size(), rotation.max_files()), (500_000, 3));
    let defaults = NodeArgs::default().resolve(Path::new("/x")).unwrap();
    assert_eq!(defaults.config.log_rotation, Rotation::default());
}

#[test]
fn bad_log_rotation_settings_name_the_setting() {
    for (size, files, expected) in [
        (
            Some("ten"),
            None,
            "containerLogMaxSize: \"ten\" is not a quantity",
        ),
        (
            Some("-1Mi"),
            None,
            "containerLogMaxSize: \"-1Mi\" must not be negative",
        ),
        (Some("0"), None, "containerLogMaxSize: must be more than 0"),
        (None, Some(1), "containerLogMaxFiles: must be at least 2"),
    ] {
        let args = NodeArgs {
            container_log_max_size: size.map(String::from),
            container_log_max_files: files,
            ..NodeArgs::default()
        };
        let error = chain(args.resolve(Path::new("/x")).unwrap_err());
        assert!(error.contains(expected), "{error}");
    }
}

#[test]
fn an_unknown_config_key_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.yaml");
    std::fs::write(&file, "stateDri: /tmp/s\n").unwrap();
    let args = NodeArgs {
        config: Some(file),
        ..NodeArgs::default()
    };
    let error = chain(args.resolve(Path::new("/x")).unwrap_err());
    assert!(error.contains("stateDri"), "{error}");
}

#[test]
fn the_resolver_file_comes_from_the_flag_or_the_file_else_etc_resolv_conf() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.yaml");
    std::fs::write(&file, "resolvConf: /run/systemd/resolve/resolv.conf\n").unwrap();
    let from_file = NodeArgs {
        config: Some(file.clone()),
        ..NodeArgs::default()
    };
    let node = from_file.resolve(Path::new("/x")).unwrap();
    assert_eq!(
        node.config.host_resolv_conf,
        Path::new("/run/systemd/resolve/resolv.conf")
    );
    let flag_wins = NodeArgs {
        config: Some(file),
        resolv_conf: Some("/srv/resolv.conf".into()),
        ..NodeArgs::default()
    };
    let node = flag_wins.resolve(Path::new("/x")).unwrap();
    assert_eq!(node.config.host_resolv_conf, Path::new("/srv/resolv.conf"));
    let node = NodeArgs::default().resolve(Path::new("/x")).unwrap();
    assert_eq!(node.config.host_resolv_conf, Path::new("/etc/resolv.conf"));
}

#[test]
fn allowed_unsafe_sysctls_come_from_the_flag_or_the_file() {
    use minipod_plan::admission::Admission;
    use minipod_plan::sysctl::admit_sysctls;
    use minipod_spec::model::{PodSecurityContext, PodSpec, Sysctl};
    let wants = |name: &str| PodSpec {
        security_context: Some(PodSecurityContext {
            sysctls: vec![Sysctl {
                name: name.into(),
                value: "1".into(),
            }],
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    };
    let admits = |node: &Node, name: &str| {
        admit_sysctls(&node.config.allowed_sysctls, &wants(name)) == Admission::Admit
    };

    let default = NodeArgs::default().resolve(Path::new("/x")).unwrap();
    assert!(admits(&default, "net.ipv4.ip_local_port_range"));
    assert!(!admits(&default, "kernel.msgmax"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.yaml");
    std::fs::write(&file, "allowedUnsafeSysctls: [\"kernel.msg*\"]\n").unwrap();
    let from_file = NodeArgs {
        config: Some(file.clone()),
        ..NodeArgs::default()
    }
    .resolve(Path::new("/x"))
    .unwrap();
    assert!(admits(&from_file, "kernel.msgmax"));
    assert!(!admits(&from_file, "net.core.somaxconn"));

    let flag_wins = NodeArgs {
        config: Some(file),
        allowed_unsafe_sysctls: vec!["net.core.somaxconn".into()],
        ..NodeArgs::default()
    }
    .resolve(Path::new("/x"))
    .unwrap();
    assert!(admits(&flag_wins, "net.core.somaxconn"));
    assert!(!admits(&flag_wins, "kernel.msgmax"));

    let node_wide = NodeArgs {
        allowed_unsafe_sysctls: vec!["vm.swappiness".into()],
        ..NodeArgs::default()
    };
    assert_eq!(
        chain(node_wide.resolve(Path::new("/x")).unwrap_err()),
        r#"allowed unsafe sysctls: the sysctls "vm.swappiness" are not known to be namespaced"#
    );
}
