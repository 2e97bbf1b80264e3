//! `minipod events`: the Kubernetes events of a namespace, in kubectl's
//! table.

use std::io::{BufRead, BufReader};

use anyhow::Result;
use clap::Args;
use minipod_lifecycle::Timestamp;

use super::target::Target;
use crate::exit;
use crate::table::{self, now};

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// After listing, watch for new events.
    #[arg(short = 'w', long)]
    watch: bool,
    #[command(flatten)]
    target: Target,
}

pub fn run(args: &EventsArgs) -> Result<u8> {
    let client = args.target.client();
    let path = format!("/api/v1/namespaces/{}/events", args.target.namespace);
    let value = client.get_json(&path)?;
    let mut items = value["items"].as_array().cloned().unwrap_or_default();
    items.sort_by_key(|e| event_time(e).map(Timestamp::unix_nanos).unwrap_or(0));
    let header = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
        .map(String::from)
        .to_vec();
    if items.is_empty() && !args.watch {
        eprintln!("No events found in {} namespace.", args.target.namespace);
        return Ok(exit::OK);
    }
    let mut rows = vec![header.clone()];
    rows.extend(items.iter().map(event_row));
    print!("{}", table::render(&rows));
    if args.watch {
        let version = value["metadata"]["resourceVersion"].as_str().unwrap_or("");
        let response = client.get(&format!("{path}?watch=true&resourceVersion={version}"))?;
        for line in BufReader::new(response.into_reader()).lines() {
            let event: serde_json::Value = serde_json::from_str(&line?)?;
            let text = table::render(&[header.clone(), event_row(&event["object"])]);
            if let Some(last) = text.lines().last() {
                println!("{last}");
            }
        }
    }
    Ok(exit::OK)
}

pub(crate) fn event_time(event: &serde_json::Value) -> Option<Timestamp> {
    ["lastTimestamp", "eventTime", "firstTimestamp"]
        .iter()
        .find_map(|k| event[*k].as_str())
        .and_then(|t| Timestamp::parse_rfc3339(t).ok())
}

fn event_row(event: &serde_json::Value) -> Vec<String> {
    let age = event_time(event)
        .map(|t| minipod_lifecycle::duration::human_duration(now().nanos_since(t)))
        .unwrap_or_else(|| "<unknown>".into());
    let object = &event["involvedObject"];
    vec![
        age,
        event["type"].as_str().unwrap_or("").to_owned(),
        event["reason"].as_str().unwrap_or("").to_owned(),
        format!(
            "{}/{}",
            object["kind"].as_str().unwrap_or("").to_lowercase(),
            object["name"].as_str().unwrap_or("")
        ),
        event["message"].as_str().unwrap_or("").to_owned(),
    ]
}
