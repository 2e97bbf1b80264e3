//! `minipod monitor --record DIR` (hidden): the detached monitor of one pod
//! of the daemon, working from the pod's record (see
//! `minipod_monitor::records` and `docs/daemon.md`).
//!
//! The daemon starts it through `PodRecord::spawn_monitor`, never by hand: in a
//! session of its own, with `/dev/null` in and `DIR/monitor.log` out. It
//! writes `monitor.json`, listens on `monitor.sock`, runs the pod until it
//! is done (keeping `status.json`, `events.jsonl` and `containers/` up to
//! date) and exits, leaving the record. Exit status: 0 the pod Succeeded,
//! 1 it Failed or could not run.
//!
//! SIGTERM stops the pod gracefully (a second one kills it at once), as
//! for `minipod run`. SIGHUP and SIGINT are ignored: they come from
//! terminals and sessions, which a detached monitor has nothing to do with.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use minipod_lifecycle::machine::MachineConfig;
use minipod_lifecycle::status::PodPhase;
use minipod_linux::signals;
use minipod_linux::signals::Signal;
use minipod_monitor::records::{PodRecord, RecordedMonitor};
use minipod_node::config::NodeArgs;
use minipod_node::host;
use minipod_plan::NodeFacts;

use crate::exit;

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The pod's record directory (`<state>/records/<uid>`).
    #[arg(long, value_name = "DIR")]
    record: PathBuf,

    /// A descriptor to write `ready` to once listening (from the spawner).
    #[arg(long, value_name = "FD")]
    ready_fd: Option<i32>,

    #[command(flatten)]
    node: NodeArgs,
}

pub fn run(args: &MonitorArgs) -> Result<u8> {
    // Taken by a thread of ours (below), before any thread exists, so
    // every thread inherits the mask. Containers get a clean mask.
    let signals = signals::block(&[Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP])
        .context("blocking signals")?;

    let record = PodRecord::at(&args.record)?;
    let program = std::env::current_exe().context("finding this program's path")?;
    let node = args.node.resolve(&program)?;
    let facts = NodeFacts {
        memory_capacity_bytes: host::memory_capacity_bytes()?,
    };
    let monitor = RecordedMonitor::new(
        record.clone(),
        node.config,
        MachineConfig {
            backoff: node.backoff,
        },
        &facts,
    )
    .with_context(|| format!("pod {}", record.uid()))?;

    let controller = monitor.controller();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut terms = 0;
            while let Ok(signal) = signals.wait() {
                if signal != Signal::SIGTERM {
                    eprintln!("minipod monitor: {signal} ignored (send SIGTERM to stop the pod)");
                    continue;
                }
                terms += 1;
                if terms == 1 {
                    eprintln!("minipod monitor: SIGTERM: stopping the pod (again to kill it)");
                    controller.stop(None);
                } else {
                    eprintln!("minipod monitor: SIGTERM: killing the pod");
                    controller.kill_now();
                }
            }
        })
        .context("starting the signal thread")?;

    let outcome = monitor
        .run(args.ready_fd)
        .with_context(|| format!("pod {}", record.uid()))?;
    eprintln!(
        "minipod monitor: pod {} {}",
        record.uid(),
        outcome.phase.as_str()
    );
    Ok(match outcome.phase {
        PodPhase::Succeeded => exit::OK,
        _ => exit::FAILURE,
    })
}
