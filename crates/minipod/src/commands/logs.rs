//! `minipod logs POD [-c NAME] [-f] [--previous]`: a container's output,
//! from the daemon's log endpoint.

use anyhow::{Result, bail};
use clap::Args;

use super::target::{Target, encode};
use crate::exit;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The pod.
    pod: String,
    /// The container (the pod's only one by default).
    #[arg(short = 'c', long)]
    container: Option<String>,
    /// Keep streaming new output.
    #[arg(short = 'f', long)]
    follow: bool,
    /// The previous instance's output (after a restart).
    #[arg(short = 'p', long)]
    previous: bool,
    /// Prefix each line with its RFC 3339 time.
    #[arg(long)]
    timestamps: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    tail: Option<i64>,
    #[command(flatten)]
    target: Target,
}

pub fn run(args: &LogsArgs) -> Result<u8> {
    let mut query = Vec::new();
    if let Some(c) = &args.container {
        query.push(format!("container={}", encode(c)));
    }
    if args.follow {
        query.push("follow=true".into());
    }
    if args.previous {
        query.push("previous=true".into());
    }
    if args.timestamps {
        query.push("timestamps=true".into());
    }
    if let Some(n) = args.tail.filter(|n| *n >= 0) {
        query.push(format!("tailLines={n}"));
    }
    let mut path = format!("{}/log", args.target.pod_path(&args.pod));
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let response = args.target.client().get(&path)?;
    if !(200..300).contains(&response.status) {
        let status = response.status;
        let value = response.json().err().map(|e| e.to_string());
        bail!(
            "{}",
            value.unwrap_or_else(|| format!("the daemon answered {status}"))
        );
    }
    let mut reader = response.into_reader();
    std::io::copy(&mut reader, &mut std::io::stdout().lock())?;
    Ok(exit::OK)
}
