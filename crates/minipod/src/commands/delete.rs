//! `minipod delete pod|secret NAME...` and `delete -f FILE`: stops and
//! removes pods (waiting until they are gone, as kubectl does) and removes
//! Secrets.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;
use minipod_spec::load;

use super::secrets;
use super::target::{Kind, Target, check_resource};
use crate::client::Client;
use crate::exit;

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// `pod` or `secret` and names, e.g. `delete pod web`, `delete secret regcred` (or give `-f`).
    args: Vec<String>,
    /// Delete the pods and Secrets of this manifest.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Seconds between the stop signal and SIGKILL, instead of the pod's own.
    #[arg(long)]
    grace_period: Option<i64>,
    /// Stop at once (a grace period of 1 second).
    #[arg(long)]
    now: bool,
    /// Wait until the pod is gone (kubectl's default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    wait: bool,
    #[command(flatten)]
    target: Target,
}

pub fn run(args: &DeleteArgs) -> Result<u8> {
    let mut names: Vec<(String, String)> = Vec::new();
    let mut secret_names: Vec<(String, String)> = Vec::new();
    let in_namespace = |ns: Option<&String>| {
        ns.filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| args.target.namespace.clone())
    };
    if let Some(file) = &args.file {
        let objects = load::load_objects(file).map_err(|e| anyhow::anyhow!("{e}"))?;
        for item in objects.pods {
            let ns = in_namespace(item.pod.metadata.namespace.as_ref());
            names.push((ns, item.pod.metadata.name.clone().unwrap_or_default()));
        }
        for item in objects.secrets {
            let ns = in_namespace(item.secret.metadata.namespace.as_ref());
            secret_names.push((ns, item.secret.name().to_owned()));
        }
    } else {
        let namespace = &args.target.namespace;
        match args.args.as_slice() {
            [resource, rest @ ..] if !rest.is_empty() => {
                let chosen = match check_resource(resource)? {
                    Kind::Pods => &mut names,
                    Kind::Secrets => &mut secret_names,
                };
                chosen.extend(rest.iter().map(|n| (namespace.clone(), n.clone())));
            }
            [resource] if resource.starts_with("pod/") => {
                names.push((namespace.clone(), resource[4..].to_owned()));
            }
            [resource] if resource.starts_with("secret/") => {
                secret_names.push((namespace.clone(), resource[7..].to_owned()));
            }
            _ => bail!("give `pod NAME...`, `secret NAME...` or `-f FILE`"),
        }
    }
    let grace = if args.now { Some(1) } else { args.grace_period };
    let body = match grace {
        Some(g) => {
            serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": g})
        }
        None => serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1"}),
    };
    let client = args.target.client();
    let mut code = exit::OK;
    for (namespace, name) in &names {
        let path = format!("/api/v1/namespaces/{namespace}/pods/{name}");
        let response = client.request(
            "DELETE",
            &path,
            Some(&serde_json::to_vec(&body)?),
            "application/json",
        )?;
        let status = response.status;
        if (200..300).contains(&status) {
            drop(response);
            println!("pod \"{name}\" deleted");
            if args.wait {
                wait_gone(&client, &path)?;
            }
        } else {
            let value = response
                .json()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            eprintln!("{value}");
            code = exit::FAILURE;
        }
    }
    // Secrets go at once; the pods that use them keep the logins they were given.
    for (namespace, name) in &secret_names {
        let done = secrets::delete(&client, namespace, name)?;
        if done != exit::OK {
            code = done;
        }
    }
    Ok(code)
}

fn wait_gone(client: &Client, path: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        if client.get(path)?.status == 404 {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(3600) {
            bail!("timed out waiting for {path} to go");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
