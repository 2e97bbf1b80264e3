//! `minipod plan`: what minipod would build for each pod of a manifest,
//! and (in the text form) the network each pod would get and whether the
//! node would admit it. The node is the one `minipod run` would be with
//! the same flags (or `--config`): its pod network and resolver file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use minipod_plan::admission::{self, Admission, PodClaims};
use minipod_plan::capacity::{self, CpuAndMemory, Reservations};
use minipod_plan::dns::NodeDns;
use minipod_plan::host_ports::HostPortClaim;
use minipod_plan::sysctl::{SysctlAllowlist, admit_sysctls};
use minipod_plan::{
    NetworkFacts, NodeFacts, NodePodNetwork, Plan, plan, render_network, render_text,
};
use minipod_spec::Quantity;
use minipod_spec::quantity::QuantityError;

use minipod_node::config::NodeArgs;
use minipod_node::host;
use minipod_runtime::pod::NodeNetwork;

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

    /// The node's settings, as for `minipod run`: the network and the
    /// resolver file the text plan shows come from them.
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A plan that explains itself, for people.
    Text,
    /// The stable JSON contract: one pod's plan as an object, several
    /// pods' as one `List` of them (as `kubectl get -o json` prints).
    Json,
    /// The same as YAML.
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
    let (pods, secrets) = match input::admitted_objects(&args.file) {
        Ok(objects) => objects,
        Err(invalid) => {
            eprintln!("{invalid}");
            return Ok(exit::INVALID_INPUT);
        }
    };
    if pods.is_empty() {
        // Nothing to plan is the caller's mistake (the wrong file), as
        // `kubectl apply -f` of a file without objects is an error ("no
        // objects passed to apply", exit 1), not an empty success: a script
        // reading the plan must not take silence for a plan.
        eprintln!(
            "{}: no Pod to plan (found: {})",
            args.file.display(),
            found_objects(secrets.len())
        );
        return Ok(exit::INVALID_INPUT);
    }
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
    let network = match args.output {
        Format::Text => Some(network_facts(&args.node)?),
        Format::Json | Format::Yaml => None,
    };
    // The node's sysctl allowlist: the kubelet's safe set and any
    // `--allowed-unsafe-sysctls` given (the text form only, as the network).
    let allowed_sysctls = match args.output {
        Format::Text => {
            let program = std::env::current_exe().context("finding this program's path")?;
            args.node.resolve(&program)?.config.allowed_sysctls
        }
        Format::Json | Format::Yaml => SysctlAllowlist::default(),
    };
    let plans: Vec<PodText> = pods
        .iter()
        .map(|pod| {
            input::print_warnings(pod);
            PodText {
                plan: plan(pod, &node),
                claims: PodClaims::of(&pod.pod().spec),
                sysctls: admit_sysctls(&allowed_sysctls, &pod.pod().spec),
                network: network
                    .as_ref()
                    .map(|facts| render_network(pod.pod(), facts))
                    .unwrap_or_default(),
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
    /// The kubelet's sysctl admission, which runs before the resource fit.
    sysctls: Admission,
    /// The network section (the text form only: the JSON plan is the
    /// plan's contract, and the node's network is not the pod's plan).
    network: String,
}

/// The node's side of the network section: the pod network the node's
/// settings give (the runtime says it in a line, writing nothing) and its
/// resolver file, read as the runtime reads it for a pod's resolv.conf.
fn network_facts(node: &NodeArgs) -> Result<NetworkFacts> {
    let program = std::env::current_exe().context("finding this program's path")?;
    let config = node.resolve(&program)?.config;
    let pod_network = match &config.network {
        None => NodePodNetwork::LoopbackOnly,
        Some(settings) => {
            match NodeNetwork::new(settings, &config.state_dir, &config.run_dir).preview() {
                Ok(line) => NodePodNetwork::Described(line),
                Err(e) => NodePodNetwork::Unknown(minipod_spec::error_chain(&e)),
            }
        }
    };
    let host_resolv_conf = std::fs::read_to_string(&config.host_resolv_conf).unwrap_or_default();
    Ok(NetworkFacts {
        pod_network,
        dns: NodeDns {
            host_resolv_conf: Some(host_resolv_conf),
            ..NodeDns::default()
        },
    })
}

/// What a file held besides pods, for the "no Pod" message: the only other
/// kind a manifest may hold is a Secret (anything else is refused on load).
fn found_objects(secrets: usize) -> String {
    match secrets {
        0 => "no objects".to_owned(),
        1 => "1 Secret".to_owned(),
        n => format!("{n} Secrets"),
    }
}

fn render(plans: &[PodText], allocatable: CpuAndMemory, format: Format) -> Result<String> {
    match format {
        Format::Text => {
            let mut out = String::new();
            for (i, pod) in plans.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&render_text(&pod.plan));
                out.push_str(&pod.network);
                out.push_str(&admission_text(allocatable, &pod.claims, &pod.sysctls));
            }
            Ok(out)
        }
        Format::Json => Ok(serde_json::to_string_pretty(&machine_readable(plans)?)? + "\n"),
        Format::Yaml => Ok(yaml_serde::to_string(&machine_readable(plans)?)?),
    }
}

/// The JSON or YAML form: one pod's plan alone, several pods' plans in one
/// `List`, as `kubectl get -f FILE -o json|yaml` prints one object alone
/// and several as a `List` (kubectl's `get.go`: a List unless exactly one
/// item and a single item implied). Always one value, so the output parses.
fn machine_readable(plans: &[PodText]) -> Result<serde_json::Value> {
    if let [only] = plans {
        return Ok(serde_json::to_value(&only.plan)?);
    }
    let items = plans
        .iter()
        .map(|pod| serde_json::to_value(&pod.plan))
        .collect::<Result<Vec<_>, _>>()?;
    // kubectl's own List, keys in its order (it prints them sorted).
    Ok(serde_json::json!({
        "apiVersion": "v1",
        "items": items,
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }))
}

/// The node's side of a text plan: the allocatable (capacity with the
/// kubelet's default reservations), the host ports the pod claims, and
/// whether the pod alone fits the node.
fn admission_text(allocatable: CpuAndMemory, claims: &PodClaims, sysctls: &Admission) -> String {
    let verdict = match sysctls {
        Admission::Admit => admission::admit_pod(allocatable, &[], claims),
        rejected => rejected.clone(),
    };
    let verdict = match verdict {
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
