//! `minipod plan`: what minipod would build for each pod of a manifest,
//! and (in the text form) whether the node would admit it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use minipod_plan::admission::{self, Admission, PodClaims};
use minipod_plan::capacity::{self, CpuAndMemory, Reservations};
use minipod_plan::host_ports::HostPortClaim;
use minipod_plan::{NodeFacts, Plan, plan, render_text};
use minipod_spec::Quantity;
use minipod_spec::quantity::QuantityError;

use minipod_node::host;

use crate::{exit, input};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The manifest: YAML or JSON, one or more documents (`-` reads standard input).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    file: PathBuf,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    output: Format,

    /// The node's memory capacity, a Kubernetes quantity (e.g. `16Gi`), for
    /// `oom_score_adj`. Default: this host's MemTotal.
    #[arg(long, value_name = "QUANTITY", value_parser = parse_memory)]
    node_memory: Option<i64>,

    /// The node's CPU capacity, a Kubernetes quantity (e.g. `4`, `1500m`),
    /// for the admission check. Default: the CPUs this process may use.
    #[arg(long, value_name = "QUANTITY", value_parser = parse_cpu)]
    node_cpu: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A plan that explains itself, for people.
    Text,
    /// The stable JSON contract, one object per pod.
    Json,
    /// The same as YAML, one document per pod.
    Yaml,
}

/// A `--node-memory` or `--node-cpu` that is not a capacity (clap names
/// the flag and the value).
#[derive(Debug, thiserror::Error)]
enum CapacityFlagError {
    #[error(transparent)]
    NotAQuantity(#[from] QuantityError),
    #[error("must be greater than zero")]
    NotPositive,
}

fn positive_quantity(text: &str) -> Result<Quantity, CapacityFlagError> {
    let quantity = Quantity::parse(text)?;
    if quantity.is_negative() || quantity.is_zero() {
        return Err(CapacityFlagError::NotPositive);
    }
    Ok(quantity)
}

fn parse_memory(text: &str) -> Result<i64, CapacityFlagError> {
    positive_quantity(text).map(|quantity| quantity.value())
}

fn parse_cpu(text: &str) -> Result<i64, CapacityFlagError> {
    positive_quantity(text).map(|quantity| quantity.milli_value())
}

pub fn run(args: &PlanArgs) -> Result<u8> {
    let pods = match input::admitted_pods(&args.file) {
        Ok(pods) => pods,
        Err(invalid) => {
            eprintln!("{invalid}");
            return Ok(exit::INVALID_INPUT);
        }
    };
    let memory_capacity_bytes = match args.node_memory {
        Some(bytes) => bytes,
        None => host::memory_capacity_bytes()
            .context("finding the node's memory (or pass --node-memory)")?,
    };
    let node = NodeFacts {
        memory_capacity_bytes,
    };
    let cpu_millis = match args.node_cpu {
        Some(millis) => millis,
        None => {
            host::cpu_capacity_millis().context("finding the node's CPUs (or pass --node-cpu)")?
        }
    };
    let allocatable = capacity::allocatable(
        CpuAndMemory {
            cpu_millis,
            memory_bytes: memory_capacity_bytes,
        },
        &Reservations::default(),
    );
    let plans: Vec<PodText> = pods
        .iter()
        .map(|pod| {
            input::print_warnings(pod);
            PodText {
                plan: plan(pod, &node),
                claims: PodClaims::of(&pod.pod().spec),
                host_network: pod.uses_host_network(),
            }
        })
        .collect();
    print!("{}", render(&plans, allocatable, args.output)?);
    Ok(exit::OK)
}

/// What the plan of one pod shows.
struct PodText {
    plan: Plan,
    claims: PodClaims,
    /// `hostNetwork: true` (said in the text form only: the JSON plan is
    /// the plan's contract).
    host_network: bool,
}

fn render(plans: &[PodText], allocatable: CpuAndMemory, format: Format) -> Result<String> {
    let mut out = String::new();
    for (i, pod) in plans.iter().enumerate() {
        let plan = &pod.plan;
        match format {
            Format::Text => {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&render_text(plan));
                if pod.host_network {
                    out.push_str(HOST_NETWORK_TEXT);
                }
                out.push_str(&admission_text(allocatable, &pod.claims));
            }
            Format::Json => {
                out.push_str(&serde_json::to_string_pretty(plan)?);
                out.push('\n');
            }
            Format::Yaml => {
                if i > 0 {
                    out.push_str("---\n");
                }
                out.push_str(&yaml_serde::to_string(plan)?);
            }
        }
    }
    Ok(out)
}

/// What a `hostNetwork` pod's text plan says of its network.
const HOST_NETWORK_TEXT: &str = "\nNetwork: the node's (hostNetwork: true)\n  \
    no network or UTS namespace of its own (its IPC namespace is its own), no network attached;\n  \
    its hostname and /etc/hosts are the node's, its podIPs the node's hostIPs, and every\n  \
    container port is a host port on the node\n";

/// The node's side of a text plan: the allocatable (capacity with the
/// kubelet's default reservations), the host ports the pod claims, and
/// whether the pod alone fits the node.
fn admission_text(allocatable: CpuAndMemory, claims: &PodClaims) -> String {
    let verdict = match admission::admit_pod(allocatable, &[], claims) {
        Admission::Admit => "fits an empty node".to_owned(),
        Admission::Reject(r) => format!(
            "rejected even on an empty node: {}: {}",
            r.reason, r.message
        ),
    };
    let requests = claims.requests;
    format!(
        "\nNode admission (the kubelet's resource fit; reservations: none, memory.available<100Mi)\n  \
         allocatable  cpu {}m, memory {} bytes\n  \
         requests     cpu {}m, memory {} bytes (zero always fits)\n\
         {}  \
         verdict      {verdict}\n",
        allocatable.cpu_millis,
        allocatable.memory_bytes,
        requests.cpu_millis,
        requests.memory_bytes,
        host_ports_line(&claims.host_ports),
    )
}

/// The host ports line of the admission text (nothing when the pod claims
/// none): what the kubelet's `NodePorts` check holds against other pods.
fn host_ports_line(ports: &[HostPortClaim]) -> String {
    if ports.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = ports
        .iter()
        .map(|p| match p.host_ip.contains(':') {
            true => format!("{} [{}]:{}", p.protocol, p.host_ip, p.host_port),
            false => format!("{} {}:{}", p.protocol, p.host_ip, p.host_port),
        })
        .collect();
    format!(
        "  host ports   {} (a pod is refused, NodePorts, when a running pod holds one)\n",
        listed.join(", ")
    )
}
