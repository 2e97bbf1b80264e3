//! `minipod kubeconfig`: the kubeconfig the daemon wrote for its TLS
//! port, for kubectl.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::exit;

#[derive(Debug, Args)]
pub struct KubeconfigArgs {
    /// The daemon's run directory, where it writes `kubeconfig` when it starts.
    #[arg(
        long,
        value_name = "DIR",
        env = "MINIPOD_RUN_DIR",
        default_value = "/run/minipod"
    )]
    run_dir: PathBuf,
}

/// Prints the kubeconfig the daemon wrote for its TLS port (root only: it
/// holds the token), for `kubectl --kubeconfig`.
pub fn run(args: &KubeconfigArgs) -> Result<u8> {
    let path = args.run_dir.join("kubeconfig");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (is minipodd running, with its TCP port on? it needs root)",
            path.display()
        )
    })?;
    print!("{text}");
    Ok(exit::OK)
}
