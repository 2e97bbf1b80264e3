//! `minipod get pods|secrets [NAME]`: lists or shows objects of the
//! daemon, with kubectl's output formats (table, `-o wide|json|yaml|name`)
//! and `--watch`.

use std::io::{BufRead, BufReader, Write};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use super::secrets;
use super::target::{Kind, Target, check_resource, encode};
use crate::client::status_error;
use crate::exit;
use crate::table::{self, now};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Wide,
    Json,
    Yaml,
    Name,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// `pods` (or `pod`, `po`), or `secrets` (`secret`).
    resource: String,
    /// A name; all of them without.
    name: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<Output>,
    /// After listing, watch for changes.
    #[arg(short = 'w', long)]
    watch: bool,
    /// Pods of every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// Only pods with these labels (`app=web,tier!=db`).
    #[arg(short = 'l', long = "selector")]
    selector: Option<String>,
    #[command(flatten)]
    target: Target,
}

pub fn run(args: &GetArgs) -> Result<u8> {
    if check_resource(&args.resource)? == Kind::Secrets {
        return get_secrets(args);
    }
    let client = args.target.client();
    let all = args.all_namespaces && args.name.is_none();
    let mut path = match (&args.name, all) {
        (Some(name), _) => args.target.pod_path(name),
        (None, true) => "/api/v1/pods".to_owned(),
        (None, false) => args.target.pods_path(),
    };
    if let Some(selector) = &args.selector {
        path.push_str(&format!("?labelSelector={}", encode(selector)));
    }
    let value = client.get_json(&path)?;
    let wide = args.output == Some(Output::Wide);
    print_got(args, &value, "pod", |items| {
        let mut rows = vec![table::pod_header(wide, all)];
        rows.extend(items.iter().map(|p| table::pod_row(p, now(), wide, all)));
        table::render(&rows)
    })?;
    if args.watch {
        let version = value["metadata"]["resourceVersion"].as_str().unwrap_or("");
        let sep = if path.contains('?') { '&' } else { '?' };
        let watch = format!("{path}{sep}watch=true&resourceVersion={version}");
        let response = client.get(&watch)?;
        if !(200..300).contains(&response.status) {
            let status = response.status;
            bail!(
                "{}",
                status_error(&response.json().unwrap_or_default(), status)
            );
        }
        let mut widths_from = vec![table::pod_header(wide, all)];
        for line in BufReader::new(response.into_reader()).lines() {
            let event: serde_json::Value = serde_json::from_str(&line?)?;
            let object = &event["object"];
            if event["type"] == "ERROR" {
                bail!("{}", status_error(object, 500));
            }
            // kubectl prints each change as a row, aligned to the header.
            widths_from.push(table::pod_row(object, now(), wide, all));
            let text = table::render(&widths_from);
            if let Some(last) = text.lines().last() {
                println!("{last}");
                std::io::stdout().flush()?;
            }
            widths_from.truncate(1);
        }
    }
    Ok(exit::OK)
}

/// `get secrets` / `get secret NAME`.
fn get_secrets(args: &GetArgs) -> Result<u8> {
    if args.watch {
        bail!("--watch is not supported for secrets");
    }
    let client = args.target.client();
    let all = args.all_namespaces && args.name.is_none();
    let base = secrets::secrets_path(&args.target.namespace);
    let mut path = match (&args.name, all) {
        (Some(name), _) => format!("{base}/{name}"),
        (None, true) => "/api/v1/secrets".to_owned(),
        (None, false) => base,
    };
    if let Some(selector) = &args.selector {
        path.push_str(&format!("?labelSelector={}", encode(selector)));
    }
    let value = client.get_json(&path)?;
    print_got(args, &value, "secret", |items| {
        secrets::render(items, now(), all)
    })?;
    Ok(exit::OK)
}

/// Prints what `get` got (one object, or a list), as kubectl does: the
/// object or a `List` for `-o json|yaml`, `KIND/NAME` lines for `-o name`,
/// else the `table` of the items (or kubectl's line for none).
fn print_got(
    args: &GetArgs,
    value: &serde_json::Value,
    kind: &str,
    table: impl FnOnce(&[serde_json::Value]) -> String,
) -> Result<()> {
    let items: Vec<serde_json::Value> = if args.name.is_some() {
        vec![value.clone()]
    } else {
        value["items"].as_array().cloned().unwrap_or_default()
    };
    match args.output {
        Some(Output::Json) | Some(Output::Yaml) => {
            let shown = if args.name.is_some() {
                value.clone()
            } else {
                serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}})
            };
            if args.output == Some(Output::Json) {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                print!("{}", yaml_serde::to_string(&shown)?);
            }
        }
        Some(Output::Name) => {
            for item in &items {
                println!("{kind}/{}", item["metadata"]["name"].as_str().unwrap_or(""));
            }
        }
        None | Some(Output::Wide) => {
            if items.is_empty() {
                eprintln!("No resources found in {} namespace.", args.target.namespace);
            } else {
                print!("{}", table(&items));
            }
        }
    }
    Ok(())
}
