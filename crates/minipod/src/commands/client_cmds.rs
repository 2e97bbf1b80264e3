//! The commands that talk to the daemon: `apply`, `get`, `delete`, `logs`,
//! `events` (pods; `apply`, `get` and `delete` also Secrets, see `secrets`). Each is one or two Kubernetes API requests on the daemon's
//! unix socket, with kubectl's output.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use minipod_lifecycle::Timestamp;
use minipod_spec::load;

use crate::client::{Client, DEFAULT_SOCKET, status_error};
use crate::commands::secrets;
use crate::exit;
use crate::table;

/// Where the daemon is, and which namespace.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The daemon's API socket.
    #[arg(long, value_name = "PATH", env = "MINIPOD_SOCKET", default_value = DEFAULT_SOCKET, global = true)]
    socket: PathBuf,
    /// The namespace.
    #[arg(short = 'n', long, default_value = "default", global = true)]
    namespace: String,
}

impl Target {
    pub(crate) fn client(&self) -> Client {
        Client::new(&self.socket)
    }

    fn pods_path(&self) -> String {
        format!("/api/v1/namespaces/{}/pods", self.namespace)
    }

    pub(crate) fn pod_path(&self, name: &str) -> String {
        format!("{}/{name}", self.pods_path())
    }
}

fn now() -> Timestamp {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_nanos(nanos)
}

// ----------------------------------------------------------------- apply

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A manifest file, a directory of them (`.yaml`, `.yml`, `.json`), or `-`.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE|DIR|-",
        required = true
    )]
    files: Vec<PathBuf>,
    #[command(flatten)]
    target: Target,
}

/// The manifest files named by `paths` (directories expanded, sorted).
fn manifest_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
                })
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

pub fn apply(args: &ApplyArgs) -> Result<u8> {
    let client = args.target.client();
    let mut code = exit::OK;
    for file in manifest_files(&args.files)? {
        // Read strictly here, so a typo is reported with its line, as
        // `minipod plan` does; the daemon admits the pod again.
        let objects = match load::load_objects(&file) {
            Ok(objects) => objects,
            Err(errors) => {
                eprintln!("{errors}");
                code = exit::INVALID_INPUT;
                continue;
            }
        };
        // The Secrets first, so that a pod finds the pull secrets it names
        // when it is created.
        for item in &objects.secrets {
            let done = secrets::apply(&client, &item.secret, &args.target.namespace)?;
            if done != exit::OK {
                code = done;
            }
        }
        for item in objects.pods {
            let pod = item.pod;
            let namespace = pod
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| args.target.namespace.clone());
            let name = pod.metadata.name.clone().unwrap_or_default();
            let body = serde_json::to_vec(&pod)?;
            let pods_path = format!("/api/v1/namespaces/{namespace}/pods");
            let existing = client.get(&format!("{pods_path}/{name}"))?;
            let (response, verb) = if existing.status == 404 || name.is_empty() {
                drop(existing);
                (
                    client.request("POST", &pods_path, Some(&body), "application/json")?,
                    Verb::Created,
                )
            } else {
                let current = existing.json()?;
                // As `kubectl apply` does, a strategic merge patch: lists of
                // containers merge by name, so the server's defaults stay.
                // The server answers 422 for what may not change.
                let mut patch = serde_json::json!({"spec": pod.spec});
                for (field, map) in [
                    ("labels", &pod.metadata.labels),
                    ("annotations", &pod.metadata.annotations),
                ] {
                    if !map.is_empty() {
                        patch["metadata"][field] = serde_json::to_value(map)?;
                    }
                }
                let response = client.request(
                    "PATCH",
                    &format!("{pods_path}/{name}"),
                    Some(&serde_json::to_vec(&patch)?),
                    "application/strategic-merge-patch+json",
                )?;
                (response, Verb::Patched { before: current })
            };
            let status = response.status;
            let value: serde_json::Value =
                serde_json::from_slice(&response.bytes()?).unwrap_or_default();
            if (200..300).contains(&status) {
                let name = value["metadata"]["name"].as_str().unwrap_or(&name);
                let verb = match verb {
                    Verb::Created => "created",
                    // A no-op patch leaves the resourceVersion as it was.
                    Verb::Patched { before } => {
                        let version =
                            |pod: &serde_json::Value| pod["metadata"]["resourceVersion"].clone();
                        if version(&before) == version(&value) {
                            "unchanged"
                        } else {
                            "configured"
                        }
                    }
                };
                println!("pod/{name} {verb}");
            } else {
                eprintln!("{}", status_error(&value, status));
                code = if status == 422 || status == 400 {
                    exit::INVALID_INPUT
                } else {
                    exit::FAILURE
                };
            }
        }
    }
    Ok(code)
}

/// What `apply` did to a pod.
enum Verb {
    Created,
    /// Patched the pod that was `before`.
    Patched {
        before: serde_json::Value,
    },
}

// ------------------------------------------------------------------- get

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

/// The kinds the CLI handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pods,
    Secrets,
}

fn check_resource(resource: &str) -> Result<Kind> {
    match resource {
        "pods" | "pod" | "po" => Ok(Kind::Pods),
        "secrets" | "secret" => Ok(Kind::Secrets),
        other => bail!(
            "the server doesn't have a resource type {other:?} (minipod serves pods and secrets)"
        ),
    }
}

pub fn get(args: &GetArgs) -> Result<u8> {
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

// ---------------------------------------------------------------- delete

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

pub fn delete(args: &DeleteArgs) -> Result<u8> {
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

// ------------------------------------------------------------------ logs

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The pod.
    pod: String,
    /// The container (the pod's only one by default).
    #[arg(short = 'c', long)]
    container: Option<String>,
    /// Keep streaming new output.
    #[arg(short = 'f', long)]
    follow: bool,
    /// The previous instance's output (after a restart).
    #[arg(short = 'p', long)]
    previous: bool,
    /// Prefix each line with its RFC 3339 time.
    #[arg(long)]
    timestamps: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    tail: Option<i64>,
    #[command(flatten)]
    target: Target,
}

pub fn logs(args: &LogsArgs) -> Result<u8> {
    let mut query = Vec::new();
    if let Some(c) = &args.container {
        query.push(format!("container={}", encode(c)));
    }
    if args.follow {
        query.push("follow=true".into());
    }
    if args.previous {
        query.push("previous=true".into());
    }
    if args.timestamps {
        query.push("timestamps=true".into());
    }
    if let Some(n) = args.tail.filter(|n| *n >= 0) {
        query.push(format!("tailLines={n}"));
    }
    let mut path = format!("{}/log", args.target.pod_path(&args.pod));
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let response = args.target.client().get(&path)?;
    if !(200..300).contains(&response.status) {
        let status = response.status;
        let value = response.json().err().map(|e| e.to_string());
        bail!(
            "{}",
            value.unwrap_or_else(|| format!("the daemon answered {status}"))
        );
    }
    let mut reader = response.into_reader();
    std::io::copy(&mut reader, &mut std::io::stdout().lock())?;
    Ok(exit::OK)
}

// ---------------------------------------------------------------- events

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// After listing, watch for new events.
    #[arg(short = 'w', long)]
    watch: bool,
    #[command(flatten)]
    target: Target,
}

pub fn events(args: &EventsArgs) -> Result<u8> {
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

fn event_time(event: &serde_json::Value) -> Option<Timestamp> {
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

// -------------------------------------------------------------- describe

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
pub fn describe(args: &DescribeArgs) -> Result<u8> {
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
    print!("{}", describe_text(&pod, &events, now()));
    Ok(exit::OK)
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "<none>".into(),
        other => other.to_string(),
    }
}

/// `k=v` lines of a map, or `<none>`.
fn map_lines(v: &serde_json::Value) -> Vec<String> {
    match v.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k}={}", text(v)))
            .collect(),
        _ => vec!["<none>".into()],
    }
}

/// A kubectl time: `Sat, 21 Nov 2026 21:45:18 +0000`.
fn kube_time(v: &serde_json::Value) -> String {
    let Some(t) = v.as_str().and_then(|t| Timestamp::parse_rfc3339(t).ok()) else {
        return "<unset>".into();
    };
    let c = t.civil();
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let name =
        |names: &[&'static str], i: i64| names[usize::try_from(i).unwrap_or(0) % names.len()];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        name(&WEEKDAYS, c.weekday),
        c.day,
        name(&MONTHS, c.month - 1),
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// Aligned `Key:  value` lines at `indent`.
fn fields(out: &mut String, indent: usize, rows: &[(String, String)]) {
    let width = rows.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0) + 2;
    for (key, value) in rows {
        let label = format!("{key}:");
        out.push_str(&format!("{:indent$}{label:<width$}{value}\n", ""));
    }
}

fn state_rows(label: &str, state: &serde_json::Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let Some(running) = state.get("running") {
        rows.push((label.into(), "Running".into()));
        rows.push(("  Started".into(), kube_time(&running["startedAt"])));
    } else if let Some(t) = state.get("terminated") {
        rows.push((label.into(), "Terminated".into()));
        rows.push(("  Reason".into(), text(&t["reason"])));
        if let Some(message) = t["message"].as_str() {
            rows.push(("  Message".into(), message.into()));
        }
        rows.push(("  Exit Code".into(), text(&t["exitCode"])));
        rows.push(("  Started".into(), kube_time(&t["startedAt"])));
        rows.push(("  Finished".into(), kube_time(&t["finishedAt"])));
    } else if let Some(w) = state.get("waiting") {
        rows.push((label.into(), "Waiting".into()));
        rows.push(("  Reason".into(), text(&w["reason"])));
    } else {
        rows.push((label.into(), "<none>".into()));
    }
    rows
}

/// One line of a container's block: an aligned `Key:  value`, or a plain
/// line under the previous key (a command's arguments, an env entry).
enum Line {
    Field(String, String),
    Item(String),
}

fn describe_containers(
    out: &mut String,
    title: &str,
    specs: &serde_json::Value,
    statuses: &serde_json::Value,
) {
    let Some(specs) = specs.as_array().filter(|a| !a.is_empty()) else {
        return;
    };
    out.push_str(&format!("{title}:\n"));
    for spec in specs {
        let name = spec["name"].as_str().unwrap_or("");
        let status = statuses
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == name))
            .cloned()
            .unwrap_or_default();
        out.push_str(&format!("  {name}:\n"));
        let field = |k: &str, v: String| Line::Field(k.to_owned(), v);
        let mut lines = vec![
            field(
                "Container ID",
                status["containerID"].as_str().unwrap_or("").to_owned(),
            ),
            field("Image", text(&spec["image"])),
            field(
                "Image ID",
                status["imageID"].as_str().unwrap_or("").to_owned(),
            ),
        ];
        for (key, name) in [("Command", "command"), ("Args", "args")] {
            if let Some(items) = spec[name].as_array() {
                lines.push(field(key, String::new()));
                lines.extend(
                    items
                        .iter()
                        .map(|i| Line::Item(text(i).replace('\n', "\n      "))),
                );
            }
        }
        lines.extend(
            state_rows("State", &status["state"])
                .into_iter()
                .map(|(k, v)| Line::Field(k, v)),
        );
        if status["lastState"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
        {
            lines.extend(
                state_rows("Last State", &status["lastState"])
                    .into_iter()
                    .map(|(k, v)| Line::Field(k, v)),
            );
        }
        let ready = if status["ready"] == true {
            "True"
        } else {
            "False"
        };
        lines.push(field("Ready", ready.into()));
        lines.push(field(
            "Restart Count",
            status["restartCount"].as_i64().unwrap_or(0).to_string(),
        ));
        match spec["env"].as_array().filter(|a| !a.is_empty()) {
            None => lines.push(field("Environment", "<none>".into())),
            Some(env) => {
                lines.push(field("Environment", String::new()));
                lines.extend(env.iter().map(|e| Line::Item(env_line(e))));
            }
        }
        let width = lines
            .iter()
            .filter_map(|l| match l {
                Line::Field(k, _) => Some(k.len() + 1),
                Line::Item(_) => None,
            })
            .max()
            .unwrap_or(0)
            + 2;
        for line in &lines {
            match line {
                Line::Field(key, value) => {
                    let label = format!("{key}:");
                    let text = format!("    {label:<width$}{value}");
                    out.push_str(text.trim_end());
                    out.push('\n');
                }
                Line::Item(item) => out.push_str(&format!("      {item}\n")),
            }
        }
    }
}

/// An env entry as kubectl describes it: `NAME:  value`, or the source of
/// a `valueFrom` (`POD_NAME:  (v1:metadata.name)`).
fn env_line(e: &serde_json::Value) -> String {
    let name = text(&e["name"]);
    let field = &e["valueFrom"]["fieldRef"];
    if !field.is_null() {
        let version = field["apiVersion"].as_str().unwrap_or("v1");
        return format!("{name}:  ({version}:{})", text(&field["fieldPath"]));
    }
    let resource = &e["valueFrom"]["resourceFieldRef"];
    if !resource.is_null() {
        return format!(
            "{name}:  {} ({})",
            text(&resource["containerName"]),
            text(&resource["resource"])
        );
    }
    format!("{name}:  {}", e["value"].as_str().unwrap_or(""))
}

fn describe_text(pod: &serde_json::Value, events: &[serde_json::Value], now: Timestamp) -> String {
    let mut out = String::new();
    let metadata = &pod["metadata"];
    let status = &pod["status"];
    // kubectl prints the pod's reason and message after its status when
    // they are set (a rejected or evicted pod: `OutOfcpu`, ...).
    let reason_and_message: Vec<(String, String)> = [("Reason", "reason"), ("Message", "message")]
        .into_iter()
        .filter_map(|(label, key)| {
            status[key]
                .as_str()
                .filter(|v| !v.is_empty())
                .map(|v| (label.to_owned(), v.to_owned()))
        })
        .collect();
    fields(
        &mut out,
        0,
        &[
            ("Name".into(), text(&metadata["name"])),
            ("Namespace".into(), text(&metadata["namespace"])),
            (
                "Node".into(),
                format!(
                    "{}/{}",
                    pod["spec"]["nodeName"].as_str().unwrap_or("<none>"),
                    status["hostIP"].as_str().unwrap_or("")
                ),
            ),
            ("Start Time".into(), kube_time(&status["startTime"])),
            (
                "Labels".into(),
                map_lines(&metadata["labels"]).join("\n                  "),
            ),
            (
                "Annotations".into(),
                map_lines(&metadata["annotations"]).join("\n                  "),
            ),
            ("Status".into(), {
                let phase = text(&status["phase"]);
                if metadata["deletionTimestamp"].is_null() {
                    phase
                } else {
                    "Terminating".into()
                }
            }),
        ]
        .into_iter()
        .chain(reason_and_message)
        .chain([(
            "IP".into(),
            status["podIP"].as_str().unwrap_or("").to_owned(),
        )])
        .collect::<Vec<_>>(),
    );
    describe_containers(
        &mut out,
        "Init Containers",
        &pod["spec"]["initContainers"],
        &status["initContainerStatuses"],
    );
    describe_containers(
        &mut out,
        "Containers",
        &pod["spec"]["containers"],
        &status["containerStatuses"],
    );
    out.push_str("Conditions:\n");
    let mut rows = vec![vec!["  Type".to_owned(), "Status".to_owned()]];
    for c in status["conditions"].as_array().cloned().unwrap_or_default() {
        rows.push(vec![format!("  {}", text(&c["type"])), text(&c["status"])]);
    }
    out.push_str(&table::render(&rows));
    fields(
        &mut out,
        0,
        &[
            (
                "Volumes".into(),
                match pod["spec"]["volumes"].as_array() {
                    Some(v) if !v.is_empty() => v
                        .iter()
                        .map(|v| text(&v["name"]))
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => "<none>".into(),
                },
            ),
            ("QoS Class".into(), text(&status["qosClass"])),
        ],
    );
    if events.is_empty() {
        out.push_str("Events:            <none>\n");
    } else {
        out.push_str("Events:\n");
        let mut rows = vec![
            ["  Type", "Reason", "Age", "From", "Message"]
                .map(String::from)
                .to_vec(),
            ["  ----", "------", "----", "----", "-------"]
                .map(String::from)
                .to_vec(),
        ];
        for e in events {
            let age = event_time(e)
                .map(|t| minipod_lifecycle::duration::human_duration(now.nanos_since(t)))
                .unwrap_or_else(|| "<unknown>".into());
            rows.push(vec![
                format!("  {}", text(&e["type"])),
                text(&e["reason"]),
                age,
                e["source"]["component"]
                    .as_str()
                    .unwrap_or("kubelet")
                    .to_owned(),
                text(&e["message"]),
            ]);
        }
        out.push_str(&table::render(&rows));
    }
    out
}

// ------------------------------------------------------------ kubeconfig

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
pub fn kubeconfig(args: &KubeconfigArgs) -> Result<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_kubectl_describe_writes_them() {
        let t = serde_json::json!("2026-11-21T22:00:04Z");
        assert_eq!(kube_time(&t), "Sat, 21 Nov 2026 22:00:04 +0000");
        assert_eq!(kube_time(&serde_json::Value::Null), "<unset>");
    }

    #[test]
    fn a_described_pod_has_kubectls_sections() {
        let pod = serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "busybox",
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1,
                    "state": {"running": {"startedAt": "2026-11-21T22:00:04Z"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}
        });
        let text = describe_text(&pod, &[], Timestamp::from_unix_seconds(0));
        for needle in [
            "Name:         web\n",
            "Containers:\n  app:\n",
            "    State:          Running\n",
            "    Last State:     Terminated\n      Reason:       Error\n",
            "    Restart Count:  1\n",
            "      POD:  (v1:metadata.name)\n",
            "Conditions:\n  Type    Status\n  Ready   True\n",
            "Events:            <none>\n",
        ] {
            assert!(text.contains(needle), "{needle:?} not in\n{text}");
        }
    }

    #[test]
    fn a_rejected_pod_shows_its_reason_and_message_after_its_status() {
        let pod = serde_json::json!({
            "metadata": {"name": "big", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Failed", "reason": "OutOfcpu",
                "message": "Pod was rejected: Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000"}
        });
        let text = describe_text(&pod, &[], Timestamp::from_unix_seconds(0));
        let expected = "Status:       Failed\nReason:       OutOfcpu\nMessage:      Pod was rejected: Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000\nIP:           \n";
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }

    #[test]
    fn selectors_are_percent_encoded() {
        assert_eq!(encode("app=web,tier!=db"), "app%3Dweb%2Ctier%21%3Ddb");
    }

    #[test]
    fn directories_expand_to_their_manifests_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.yaml", "a.json", "c.txt", "d.yml"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let files = manifest_files(&[dir.path().to_owned()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.json", "b.yaml", "d.yml"]);
    }
}
