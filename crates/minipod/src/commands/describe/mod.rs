//! `minipod describe pod NAME`: a pod in detail, as `kubectl describe pod`
//! shows it. The command reads the pod and its events; [`render`] lays
//! them out.

mod render;

use anyhow::Result;
use clap::Args;

use super::target::{Target, check_resource, encode};
use crate::exit;
use crate::table::now;

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// `pod` (or `pods`, `po`).
    resource: String,
    /// The pod.
    name: String,
    #[command(flatten)]
    target: Target,
}

/// `kubectl describe pod`'s layout: the pod, each init and app container
/// (State, Last State, Ready, Restart Count), Conditions, Volumes, Events.
pub fn run(args: &DescribeArgs) -> Result<u8> {
    check_resource(&args.resource)?;
    let client = args.target.client();
    let pod = client.get_json(&args.target.pod_path(&args.name))?;
    let events = client
        .get_json(&format!(
            "/api/v1/namespaces/{}/events?fieldSelector=involvedObject.name%3D{}",
            args.target.namespace,
            encode(&args.name)
        ))
        .map(|v| v["items"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default();
    print!("{}", render::describe_text(&pod, &events, now()));
    Ok(exit::OK)
}
