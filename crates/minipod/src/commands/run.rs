//! `minipod run -f pod.yaml`: one pod in the foreground, no daemon.
//!
//! Runs the pod's monitor in this process: prints the Kubernetes events as
//! they happen and every container's output prefixed by its name, keeps
//! `--status-file` up to date, and exits when the pod is done: 0 if it
//! Succeeded, 1 if it Failed, 2 if the manifest is invalid (nothing was
//! started). Ctrl-C or SIGTERM stops the pod gracefully, a second one kills
//! it at once.
//!
//! Before anything starts, the pod goes through the kubelet's admission:
//! its sysctls against the node's allowlist (`minipod_plan::sysctl`: an
//! unsafe one fails the pod, `SysctlForbidden`, exit 1), then its requests
//! against the node's allocatable (`minipod_plan::admission::admit_pod`):
//! a pod whose requests do not fit fails at once, `OutOfcpu`/`OutOfmemory`
//! with the kubelet's message, exit 1. `minipod run` is a node of its own:
//! it counts no other pod (neither other `minipod run`s nor the daemon's,
//! which it does not know), so the check is the pod alone against the
//! whole allocatable, and its host ports always fit (the kubelet's
//! `NodePorts` check compares a pod with the others only; two of its own
//! containers claiming one host port is a validation error, exit 2).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, Result};
use clap::Args;
use minipod_lifecycle::machine::MachineConfig;
use minipod_lifecycle::status::PodPhase;
use minipod_linux::signals;
use minipod_linux::signals::Signal;
use minipod_monitor::{Monitor, Observer, PodEvent, Stream};
use minipod_node::config::NodeArgs;
use minipod_node::host;
use minipod_plan::admission::{self, Admission, PodClaims, Rejection};
use minipod_plan::capacity;
use minipod_plan::sysctl::admit_sysctls;
use minipod_plan::{NodeFacts, QosClass, plan};

use crate::{exit, input};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manifest: one Pod, and the Secrets its `imagePullSecrets` name,
    /// YAML or JSON (`-` reads standard input).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    file: PathBuf,

    /// Keep the Pod (spec and status, as Kubernetes JSON) in this file,
    /// replaced whenever the status changes and at exit.
    #[arg(long, value_name = "PATH")]
    status_file: Option<PathBuf>,

    #[command(flatten)]
    node: NodeArgs,
}

pub fn run(args: &RunArgs) -> Result<u8> {
    // Ctrl-C and SIGTERM are taken by a thread of ours (below), not by the
    // default action: block them now, before any thread exists, so every
    // thread inherits the mask. (Containers get a clean mask: their init
    // resets it before the exec.)
    let stop_signals = signals::block(&[Signal::SIGINT, Signal::SIGTERM])
        .context("blocking SIGINT and SIGTERM")?;

    let (pods, secrets) = match input::admitted_objects(&args.file) {
        Ok(objects) => objects,
        Err(invalid) => {
            eprintln!("{invalid}");
            return Ok(exit::INVALID_INPUT);
        }
    };
    let pod = match <[_; 1]>::try_from(pods) {
        Ok([pod]) => pod,
        Err(pods) => {
            eprintln!(
                "error: {}: minipod run takes exactly one Pod, found {}",
                args.file.display(),
                pods.len()
            );
            return Ok(exit::INVALID_INPUT);
        }
    };
    input::print_warnings(&pod);
    // The file's Secrets are the pod's namespace's: the same rule as the daemon's.
    let pull_secrets = minipod_node::pull_secrets::for_pod(pod.pod(), &secrets);

    let program = std::env::current_exe().context("finding this program's path")?;
    let node = args.node.resolve(&program)?;
    let facts = NodeFacts {
        memory_capacity_bytes: host::memory_capacity_bytes()?,
    };
    let plan = plan(&pod, &facts);
    let label = format!("{}/{}", pod.namespace(), pod.name());

    let allocatable = capacity::allocatable(host::node_capacity()?, &node.reservations);
    let claims = PodClaims::of(&pod.pod().spec);
    // The kubelet's order: the sysctl allowlist before the resources.
    let verdict = match admit_sysctls(&node.config.allowed_sysctls, &pod.pod().spec) {
        Admission::Admit => admission::admit_pod(allocatable, &[], &claims),
        rejected => rejected,
    };
    if let Admission::Reject(rejection) = verdict {
        eprintln!("Warning {}: {}", rejection.reason, rejection.message);
        if let Some(path) = &args.status_file {
            let rejected = rejected_pod(pod.pod(), plan.qos_class, &rejection)?;
            minipod_monitor::records::write_json_atomically(path, &rejected)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        eprintln!(
            "minipod: pod {label} Failed ({}): {}",
            rejection.reason,
            rejection.status_message()
        );
        return Ok(exit::FAILURE);
    }
    let console = Arc::new(Console {
        status_file: args.status_file.clone(),
    });
    let monitor = Monitor::new(
        pod,
        plan,
        node.config,
        MachineConfig {
            backoff: node.backoff,
        },
        console,
    )
    // The file's Secrets that the pod names in `imagePullSecrets`.
    .with_pull_context(
        pull_secrets
            .map(|p| minipod_monitor::PullContext {
                secrets: p.secrets,
                missing: p.missing,
            })
            .unwrap_or_default(),
    );

    let controller = monitor.controller();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut received = 0;
            while let Ok(signal) = stop_signals.wait() {
                received += 1;
                if received == 1 {
                    eprintln!("minipod: {signal}: stopping the pod (again to kill it at once)");
                    controller.stop(None);
                } else {
                    eprintln!("minipod: {signal}: killing the pod");
                    controller.kill_now();
                }
            }
        })
        .context("starting the signal thread")?;

    let outcome = monitor.run().with_context(|| format!("pod {label}"))?;
    eprintln!("minipod: pod {label} {}", outcome.phase.as_str());
    Ok(match outcome.phase {
        PodPhase::Succeeded => exit::OK,
        _ => exit::FAILURE,
    })
}

/// The Pod a rejected pod is, as the kubelet's `rejectPod` leaves it:
/// `Failed`, the reason, the prefixed message, its QoS class, nothing else.
fn rejected_pod(
    pod: &minipod_spec::Pod,
    qos_class: QosClass,
    rejection: &Rejection,
) -> Result<serde_json::Value> {
    let mut object = serde_json::to_value(pod).context("the pod as JSON")?;
    object["status"] = serde_json::json!({
        "phase": "Failed",
        "reason": rejection.reason,
        "message": rejection.status_message(),
        "qosClass": qos_class,
    });
    Ok(object)
}

/// The terminal side of `minipod run`.
struct Console {
    status_file: Option<PathBuf>,
}

impl Observer for Console {
    fn event(&self, at: SystemTime, event: &PodEvent) {
        let time = minipod_runtime::logs::timestamp::format(at);
        // HH:MM:SS.mmm of the RFC 3339 time: enough to follow the story.
        let clock = time.get(11..23).unwrap_or(&time);
        let object = event.container.as_deref().unwrap_or("pod");
        let line = format!(
            "{clock} {:<7} {:<12} {object}: {}\n",
            event.event_type, event.reason, event.message
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn output(&self, container: &str, _stream: Stream, line: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(container.as_bytes())
            .and_then(|()| out.write_all(b" | "))
            .and_then(|()| out.write_all(line))
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
    }

    fn pod_changed(&self, pod: &serde_json::Value) {
        if let Some(path) = &self.status_file
            && let Err(e) = minipod_monitor::records::write_json_atomically(path, pod)
        {
            tracing::warn!(
                "cannot write {}: {}",
                path.display(),
                minipod_spec::error_chain(&e)
            );
        }
    }
}
