//! `minipod image pull NAME`: a registry pull with its progress, as a bar
//! on a terminal (one line, rewritten) and as plain lines otherwise (logs,
//! CI). The pull itself is `minipod_registry::Puller`'s.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Result;
use clap::Args;
use minipod_image::Store;
use minipod_registry::{AuthConfig, DockerConfig, Progress, PullError, PullOptions, Puller};

use super::size::human_size;
use crate::exit;

/// Where the node's registry logins are, unless told otherwise: beside the
/// node's state, as the kubelet reads `/var/lib/kubelet/config.json`.
pub const DEFAULT_AUTH_FILE: &str = "/var/lib/minipod/config.json";

/// The node's registry settings.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Registry logins in Docker's `config.json` format (`{"auths": ...}`).
    /// A missing file means no logins.
    #[arg(long, value_name = "FILE", env = "MINIPOD_AUTH_FILE", default_value = DEFAULT_AUTH_FILE)]
    pub auth_file: PathBuf,
    /// A registry (`host:port`) that may be reached over plain HTTP, besides
    /// loopback ones. Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// A registry request that makes no progress (less than 1 KiB) for this
    /// long fails the pull [default: 1m].
    #[arg(long, value_name = "DURATION", value_parser = minipod_node::duration::parse_duration)]
    pub image_pull_progress_timeout: Option<std::time::Duration>,
}

impl RegistryArgs {
    /// The node's logins (none without the file).
    pub fn auth(&self) -> Result<AuthConfig, minipod_registry::auth::AuthError> {
        Ok(AuthConfig {
            sources: DockerConfig::load(&self.auth_file)?.into_iter().collect(),
        })
    }

    pub fn options(&self) -> PullOptions {
        PullOptions {
            insecure_registries: self.insecure_registries.clone(),
            progress_timeout: self
                .image_pull_progress_timeout
                .unwrap_or(minipod_registry::limits::DEFAULT_PROGRESS_TIMEOUT),
            ..PullOptions::default()
        }
    }
}

pub fn run(store: Store, name: &str, args: &RegistryArgs) -> Result<u8> {
    let auth = match args.auth() {
        Ok(auth) => auth,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::INVALID_INPUT);
        }
    };
    let puller = Puller::new(store, args.options());
    let display = Display::new(std::io::stderr().is_terminal());
    let result = puller.pull(name, &auth, &|p| display.show(p));
    display.finish();
    match result {
        Ok(pulled) => {
            println!(
                "pulled {} (ID {}, {}) in {:.1}s",
                pulled.name,
                pulled.id.short(),
                human_size(pulled.size),
                pulled.elapsed.as_secs_f64()
            );
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {}", minipod_spec::error_chain(&e));
            Ok(match e {
                PullError::Name(_) => exit::INVALID_INPUT,
                _ => exit::FAILURE,
            })
        }
    }
}

/// The progress shown so far.
struct Display {
    terminal: bool,
    state: Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    blobs: usize,
    bytes: u64,
    blobs_done: usize,
    /// Bytes of finished blobs, and of the one arriving.
    bytes_done: u64,
    current: u64,
    drawn: bool,
}

impl Display {
    fn new(terminal: bool) -> Display {
        Display {
            terminal,
            state: Mutex::new(Tally::default()),
        }
    }

    fn show(&self, progress: &Progress) {
        let mut t = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        match progress {
            Progress::Resolved {
                manifest,
                blobs,
                bytes,
            } => {
                (t.blobs, t.bytes) = (*blobs, *bytes);
                if !self.terminal {
                    let _ = writeln!(
                        err,
                        "manifest {manifest}: {blobs} blobs, {}",
                        human_size(*bytes)
                    );
                }
            }
            Progress::Downloading { done, .. } => t.current = *done,
            Progress::Blob {
                digest,
                size,
                reused,
            } => {
                t.blobs_done += 1;
                t.bytes_done += size;
                t.current = 0;
                if !self.terminal {
                    let how = if *reused {
                        "already present"
                    } else {
                        "downloaded"
                    };
                    let _ = writeln!(err, "{digest} {how} ({})", human_size(*size));
                }
            }
        }
        if self.terminal && t.blobs > 0 {
            let done = t.bytes_done + t.current;
            let width = 30;
            let filled = (done.min(t.bytes) * width as u64)
                .checked_div(t.bytes)
                .map_or(width, |f| f as usize);
            let _ = write!(
                err,
                "\r[{}{}] {}/{} blobs, {}/{}  ",
                "#".repeat(filled),
                " ".repeat(width - filled),
                t.blobs_done,
                t.blobs,
                human_size(done),
                human_size(t.bytes)
            );
            t.drawn = true;
        }
    }

    /// Ends the bar's line, if one was drawn.
    fn finish(&self) {
        let t = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if t.drawn {
            eprintln!();
        }
    }
}
