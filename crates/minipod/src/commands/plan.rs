//! `minipod plan`: what minipod would build for each pod of a manifest.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use minipod_plan::{NodeFacts, Plan, plan, render_text};
use minipod_spec::Quantity;

use crate::exit;
use crate::{host, input};

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

fn parse_memory(text: &str) -> Result<i64, String> {
    let quantity = Quantity::parse(text).map_err(|e| e.to_string())?;
    if quantity.is_negative() || quantity.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(quantity.value())
}

pub fn run(args: &PlanArgs) -> Result<u8> {
    let pods = match input::admitted_pods(&args.file) {
        Ok(pods) => pods,
        Err(message) => {
            eprintln!("{message}");
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
    let plans: Vec<Plan> = pods
        .iter()
        .map(|pod| {
            input::print_warnings(pod);
            plan(pod, &node)
        })
        .collect();
    print!("{}", render(&plans, args.output)?);
    Ok(exit::OK)
}

fn render(plans: &[Plan], format: Format) -> Result<String> {
    let mut out = String::new();
    for (i, plan) in plans.iter().enumerate() {
        match format {
            Format::Text => {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&render_text(plan));
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
