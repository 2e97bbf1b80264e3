//! `minipod`: run Kubernetes Pods on one Linux host.
//!
//! The CLI is thin: it parses the command line, calls the library crates
//! (`minipod-spec` to read and admit manifests, `minipod-plan` to plan them,
//! `minipod-node` for the node's settings and capacity, `minipod-monitor` to
//! run them, the daemon's API for the client commands) and turns their
//! results into output and an exit code.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod client;
mod commands;
pub mod exit;
mod input;
mod table;
mod websocket;

/// Run Kubernetes Pods on one Linux host, with the kubelet's semantics.
#[derive(Debug, Parser)]
#[command(name = "minipod", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what minipod would build for each pod in a manifest: start order,
    /// effective resources, QoS class, cgroup values. Nothing is started.
    Plan(commands::plan::PlanArgs),
    /// Manage the local image store: import OCI layouts and `docker save`
    /// archives, list and remove images.
    Image(commands::image::ImageArgs),
    /// Run one pod in the foreground until it is done, with the kubelet's
    /// lifecycle: events and output on the terminal, Ctrl-C to stop it.
    Run(commands::run::RunArgs),
    /// The detached monitor of one pod of the daemon, from its record
    /// (started by the daemon, not by hand).
    #[command(hide = true)]
    Monitor(commands::monitor::MonitorArgs),
    /// Create the Secrets and pods of a manifest on the daemon, or update
    /// them (Secrets: replaced; pods: images).
    Apply(commands::apply::ApplyArgs),
    /// List pods or Secrets, or show one (`get pods`, `get pod NAME -o json`,
    /// `get secrets`).
    Get(commands::get::GetArgs),
    /// Stop and remove pods, remove Secrets (`delete pod NAME`,
    /// `delete secret NAME`, `delete -f FILE`).
    Delete(commands::delete::DeleteArgs),
    /// Print a container's output (`logs POD [-c NAME] [-f] [--previous]`).
    Logs(commands::logs::LogsArgs),
    /// List the Kubernetes events of a namespace.
    Events(commands::events::EventsArgs),
    /// Run a command in a container of a running pod
    /// (`exec POD [-c NAME] [-i] [-t] -- COMMAND [ARGS...]`).
    Exec(commands::exec::ExecArgs),
    /// Show a pod in detail, as `kubectl describe pod` does.
    Describe(commands::describe::DescribeArgs),
    /// Print a kubeconfig for kubectl (`minipod kubeconfig > ~/.kube/minipod`).
    Kubeconfig(commands::kubeconfig::KubeconfigArgs),
}

/// The whole CLI: parse the arguments, run the command, map the result to an
/// exit code.
pub fn main() -> ExitCode {
    // A container's init and a pod sandbox's holder are this binary,
    // re-executed; they must take over before anything else starts.
    minipod_linux::reexec::run_helper_if_asked();
    let cli = Cli::parse();
    // Diagnostics (not events or output) go to stderr, filtered by RUST_LOG.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,libcgroups=error")),
        )
        .try_init();
    let result = match cli.command {
        Command::Plan(args) => commands::plan::run(&args),
        Command::Image(args) => commands::image::run(&args),
        Command::Run(args) => commands::run::run(&args),
        Command::Monitor(args) => commands::monitor::run(&args),
        Command::Apply(args) => commands::apply::run(&args),
        Command::Get(args) => commands::get::run(&args),
        Command::Delete(args) => commands::delete::run(&args),
        Command::Logs(args) => commands::logs::run(&args),
        Command::Events(args) => commands::events::run(&args),
        Command::Exec(args) => commands::exec::run(&args),
        Command::Describe(args) => commands::describe::run(&args),
        Command::Kubeconfig(args) => commands::kubeconfig::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
