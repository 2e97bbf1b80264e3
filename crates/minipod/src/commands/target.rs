//! Which daemon and namespace a client command talks to, which resource
//! kinds it names, and how the paths and queries of the daemon's
//! Kubernetes API are written.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use crate::client::{Client, DEFAULT_SOCKET};

/// Where the daemon is, and which namespace.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The daemon's API socket.
    #[arg(long, value_name = "PATH", env = "MINIPOD_SOCKET", default_value = DEFAULT_SOCKET, global = true)]
    socket: PathBuf,
    /// The namespace.
    #[arg(short = 'n', long, default_value = "default", global = true)]
    pub(crate) namespace: String,
}

impl Target {
    pub(crate) fn client(&self) -> Client {
        Client::new(&self.socket)
    }

    pub(crate) fn pods_path(&self) -> String {
        format!("/api/v1/namespaces/{}/pods", self.namespace)
    }

    pub(crate) fn pod_path(&self, name: &str) -> String {
        format!("{}/{name}", self.pods_path())
    }
}

/// The kinds the CLI handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Pods,
    Secrets,
}

/// The kind a command-line resource name means, with kubectl's short
/// names; any other is refused with kubectl's message.
pub(crate) fn check_resource(resource: &str) -> Result<Kind> {
    match resource {
        "pods" | "pod" | "po" => Ok(Kind::Pods),
        "secrets" | "secret" => Ok(Kind::Secrets),
        other => bail!(
            "the server doesn't have a resource type {other:?} (minipod serves pods and secrets)"
        ),
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_percent_encoded() {
        assert_eq!(encode("app=web,tier!=db"), "app%3Dweb%2Ctier%21%3Ddb");
    }
}
