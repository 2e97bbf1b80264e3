//! `minipodd`: the minipod daemon.
//!
//! It serves the Kubernetes API (`minipod-api`) on a root-only unix socket
//! and on a loopback TCP port with TLS and a bearer token, keeps one record
//! per pod, and starts one detached monitor per pod (`minipod monitor`). It
//! holds no pod itself: killing it, even with SIGKILL, stops no pod, and
//! when it starts again it finds every pod through its record
//! (docs/daemon.md).
//!
//! `minipodd` with no arguments runs in the foreground with the default
//! roots; `packaging/minipodd.service` runs it under systemd.

#![forbid(unsafe_code)]

pub mod backend;
mod exec;
pub mod logs;
pub mod secrets;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use minipod_api::{ServerLimits, ServerOptions, start};
use minipod_linux::signals::{self, Signal};
use minipod_monitor::records::MonitorLauncher;
use minipod_node::config::NodeArgs;
use minipod_node::duration::parse_duration;
use minipod_runtime::pod::NodeConfig;

/// How often the records are read for changes.
const REFRESH: Duration = Duration::from_millis(250);

/// The minipod daemon: the Kubernetes API for kubectl and `minipod`, and one
/// detached monitor per pod.
#[derive(Debug, Parser)]
#[command(name = "minipodd", version, about)]
struct Args {
    /// The API's unix socket (mode 0600) [default: <run-dir>/minipodd.sock].
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The API's TLS port on loopback, for kubectl.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Allow --listen on an address other hosts can reach (not loopback).
    /// The server certificate must name it: new credentials do; kept ones
    /// that do not are refused.
    #[arg(long)]
    listen_beyond_loopback: bool,
    /// Time a client has to send a request's headers, also the longest a
    /// keep-alive connection stays idle (the API server's 32s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "32s")]
    request_header_timeout: Duration,
    /// Time a client has to send a request's body (the API server's
    /// request timeout, 60s); past it: 408 and the connection is closed.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    request_body_timeout: Duration,
    /// Open API connections at a time, on each listener; more wait until
    /// one closes.
    #[arg(long, value_name = "N", default_value_t = ServerLimits::default().max_connections)]
    max_connections: usize,
    /// Watches and followed logs at a time, on each listener; more get
    /// 429 TooManyRequests.
    #[arg(long, value_name = "N", default_value_t = ServerLimits::default().max_long_running)]
    max_long_running_requests: usize,
    /// Serve only the unix socket.
    #[arg(long)]
    no_tcp: bool,
    /// Where the CA, server certificate and token are kept (made on first
    /// start) [default: <state-dir>/pki].
    #[arg(long, value_name = "DIR")]
    credentials_dir: Option<PathBuf>,
    /// The `minipod` binary that runs each pod's monitor [default: `minipod`
    /// beside this program].
    #[arg(long, value_name = "PATH")]
    monitor_program: Option<PathBuf>,
    #[command(flatten)]
    node: NodeArgs,
}

/// The whole daemon: parse the arguments, serve until SIGINT or SIGTERM.
pub fn main() -> ExitCode {
    minipod_linux::reexec::run_helper_if_asked();
    let args = Args::parse();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libcgroups=error")),
        )
        .try_init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minipodd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The node flags a monitor needs to find the same node as the daemon.
fn node_flags(
    node: &NodeConfig,
    backoff: minipod_lifecycle::backoff::BackoffConfig,
) -> Vec<OsString> {
    let mut flags: Vec<OsString> = Vec::new();
    let mut add = |flag: &str, value: OsString| {
        flags.push(flag.into());
        flags.push(value);
    };
    add("--state-dir", node.state_dir.clone().into());
    add("--image-root", node.image_root.clone().into());
    add("--run-dir", node.run_dir.clone().into());
    add("--logs-dir", node.logs_dir.clone().into());
    add("--cgroup-root", node.cgroup_root.clone().into());
    add("--node-name", node.node_name.clone().into());
    // The daemon's resolved address, so that no monitor picks another.
    if !node.host_ips.is_empty() {
        let node_ips: Vec<String> = node.host_ips.iter().map(ToString::to_string).collect();
        add("--node-ip", node_ips.join(",").into());
    }
    add(
        "--backoff-initial",
        format!("{}ms", backoff.initial.as_millis()).into(),
    );
    add(
        "--backoff-max",
        format!("{}ms", backoff.max.as_millis()).into(),
    );
    add(
        "--container-log-max-size",
        node.log_rotation.max_size().to_string().into(),
    );
    add(
        "--container-log-max-files",
        node.log_rotation.max_files().to_string().into(),
    );
    if let Some(path) = &node.registry_auth_file {
        add("--auth-file", path.clone().into());
    }
    for registry in &node.insecure_registries {
        add("--insecure-registry", registry.into());
    }
    add(
        "--image-pull-progress-timeout",
        format!("{}ms", node.image_pull_progress_timeout.as_millis()).into(),
    );
    add(
        "--seccomp-profile-root",
        node.seccomp_profile_root.clone().into(),
    );
    match &node.network {
        None => add("--pod-network", "none".into()),
        Some(network) => {
            add("--cni-conf-dir", network.conf_dir.clone().into());
            for dir in &network.bin_dirs {
                add("--cni-bin-dir", dir.clone().into());
            }
            add("--pod-bridge", network.bridge.clone().into());
            if let Some(cidr) = network.pod_cidr {
                add("--pod-cidr", cidr.to_string().into());
            }
        }
    }
    if node.seccomp_default {
        flags.push("--seccomp-default".into());
    }
    if node.network.as_ref().is_some_and(|n| !n.ip_forward) {
        flags.push("--no-ip-forward".into());
    }
    flags
}

fn run(args: Args) -> Result<()> {
    // Refuse a bad listen address before anything is created.
    if !args.no_tcp {
        minipod_api::server::check_listen_address(args.listen.ip(), args.listen_beyond_loopback)
            .context("checking --listen")?;
    }
    // SIGINT and SIGTERM stop the daemon (not the pods): taken by a thread
    // of ours, so block them before any thread exists.
    let stop_signals = signals::block(&[Signal::SIGINT, Signal::SIGTERM])
        .context("blocking SIGINT and SIGTERM")?;

    let program = std::env::current_exe().context("finding this program's path")?;
    let mut node = args.node.resolve(&program)?;
    // The monitors and the orphan clean-up compare these with the absolute
    // paths of /proc/self/mountinfo: a relative `--run-dir` would leave a
    // lost monitor's mounts behind (and its pod never marked MonitorLost).
    for dir in [
        &mut node.config.state_dir,
        &mut node.config.image_root,
        &mut node.config.run_dir,
        &mut node.config.logs_dir,
    ] {
        *dir = std::path::absolute(&*dir)
            .with_context(|| format!("making {} absolute", dir.display()))?;
    }
    let monitor_program = match args.monitor_program {
        Some(path) => path,
        None => program.with_file_name("minipod"),
    };
    if !monitor_program.is_file() {
        bail!(
            "the monitor program {} does not exist (give --monitor-program)",
            monitor_program.display()
        );
    }
    let launcher = MonitorLauncher::new(monitor_program, node_flags(&node.config, node.backoff));
    // Root-only, as the runtime keeps it: container root filesystems live below.
    minipod_linux::private_fs::private_dir(&node.config.run_dir)
        .with_context(|| format!("creating {}", node.config.run_dir.display()))?;
    let socket = args
        .socket
        .unwrap_or_else(|| node.config.run_dir.join("minipodd.sock"));
    let credentials_dir = args
        .credentials_dir
        .unwrap_or_else(|| node.config.state_dir.join("pki"));
    let run_dir = node.config.run_dir.clone();
    // The node's allocatable, as the kubelet computes it: what admission
    // lets the pods request in all.
    let allocatable = minipod_plan::capacity::allocatable(
        minipod_node::host::node_capacity()?,
        &node.reservations,
    );
    tracing::info!(
        cpu_millis = allocatable.cpu_millis,
        memory_bytes = allocatable.memory_bytes,
        "node allocatable"
    );
    let daemon = backend::Daemon::open(node.config, allocatable, launcher)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = start(
            Arc::clone(&daemon),
            ServerOptions {
                unix_socket: Some(socket.clone()),
                tcp: (!args.no_tcp).then_some(args.listen),
                listen_beyond_loopback: args.listen_beyond_loopback,
                credentials_dir,
                limits: ServerLimits {
                    header_read_timeout: args.request_header_timeout,
                    body_read_timeout: args.request_body_timeout,
                    max_connections: args.max_connections,
                    max_long_running: args.max_long_running_requests,
                },
            },
        )
        .await
        .context("starting the API server")?;
        if let Some(kubeconfig) = server.kubeconfig() {
            let path = run_dir.join("kubeconfig");
            write_private(&path, &kubeconfig)?;
            tracing::info!(
                "kubectl: kubectl --kubeconfig {} get pods (or `minipod kubeconfig`)",
                path.display()
            );
        }
        tracing::info!(socket = %socket.display(), url = ?server.url(), "serving the Kubernetes API");

        let refresher = Arc::clone(&daemon);
        let refresh = tokio::spawn(async move {
            loop {
                let daemon = Arc::clone(&refresher);
                let _ = tokio::task::spawn_blocking(move || daemon.refresh()).await;
                tokio::time::sleep(REFRESH).await;
            }
        });

        let (stopped, stop) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Ok(signal) = stop_signals.wait() {
                    let _ = stopped.send(signal);
                }
            })
            .context("starting the signal thread")?;
        if let Ok(signal) = stop.await {
            tracing::info!("{signal}: stopping the daemon; the pods keep running");
        }
        refresh.abort();
        server.shutdown().await;
        anyhow::Ok(())
    })
}

/// Writes `text` to `path`, readable by root only.
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    file.write_all(text.as_bytes())?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The monitor's command line, as far as the node goes.
    #[derive(Debug, Parser)]
    struct MonitorFlags {
        #[command(flatten)]
        node: NodeArgs,
    }

    /// A monitor resolves the daemon's flags to the daemon's node (the
    /// settings a pod's containers depend on, such as its seccomp ones).
    #[test]
    fn a_monitor_gets_the_daemons_node_settings() {
        let mut config = NodeConfig::new("/bin/minipodd", "n1");
        config.seccomp_profile_root = "/etc/minipod/seccomp".into();
        config.seccomp_default = true;
        config.insecure_registries = vec!["127.0.0.1:5000".into()];
        config.host_ips = vec!["192.0.2.9".parse().unwrap(), "2001:db8::9".parse().unwrap()];
        let backoff = minipod_lifecycle::backoff::BackoffConfig::default();
        let mut argv: Vec<OsString> = vec!["minipod-monitor".into()];
        argv.extend(node_flags(&config, backoff));
        let parsed = MonitorFlags::try_parse_from(argv).expect("the flags parse");
        let node = parsed
            .node
            .resolve(std::path::Path::new("/bin/minipodd"))
            .expect("resolve");
        assert_eq!(
            node.config.seccomp_profile_root,
            config.seccomp_profile_root
        );
        assert!(node.config.seccomp_default);
        assert_eq!(node.config.state_dir, config.state_dir);
        assert_eq!(node.config.insecure_registries, config.insecure_registries);
        assert_eq!(node.config.host_ips, config.host_ips);
        assert_eq!(node.backoff, backoff);
        assert_eq!(node.config.network, config.network);
        // A daemon without a pod network gives its monitors none.
        config.network = None;
        let mut argv: Vec<OsString> = vec!["minipod-monitor".into()];
        argv.extend(node_flags(&config, backoff));
        let parsed = MonitorFlags::try_parse_from(argv).expect("the flags parse");
        let node = parsed.node.resolve(std::path::Path::new("/bin/minipodd"));
        assert_eq!(node.expect("resolve").config.network, None);
    }

    #[test]
    fn a_monitor_gets_the_daemons_log_rotation() {
        let program = std::path::Path::new("/usr/bin/minipod");
        let mut config = NodeConfig::new(program, "node-a");
        config.log_rotation = minipod_runtime::logs::Rotation::new(1 << 20, 3).expect("valid");
        let backoff = minipod_lifecycle::backoff::BackoffConfig::default();
        let flags = node_flags(&config, backoff);
        let parsed =
            MonitorFlags::try_parse_from(std::iter::once(OsString::from("monitor")).chain(flags))
                .expect("the monitor accepts the daemon's node flags");
        let node = parsed.node.resolve(program).expect("resolve");
        assert_eq!(node.config.log_rotation, config.log_rotation);
    }
}
