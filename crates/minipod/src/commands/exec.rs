//! `minipod exec POD [-c NAME] [-i] [-t] -- COMMAND...`: run a command in
//! a running container, as `kubectl exec` does (same flags, messages and
//! exit codes: the command's own, or 1 with one `error: ...` line).
//!
//! Step 1: read the pod, refuse a completed one, pick the container
//! (kubectl's default-container rules). Step 2: decide on a TTY. Step 3:
//! open the websocket (`crate::websocket`). Step 4: pump stdin, stdout,
//! stderr and terminal sizes until the final status arrives.

use std::io::{ErrorKind, IsTerminal, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use minipod_linux::poll::{self, Interest};
use minipod_linux::terminal::{self, RawMode, Winch};
use serde_json::Value;
use tungstenite::{Message, WebSocket};

use super::target::{Target, encode};
use crate::exit;
use crate::websocket::{self, Outcome, STATUS, STDERR, STDIN, STDOUT, Session};

/// kubectl's annotation naming the container `exec` and `logs` default to.
const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The pod.
    #[arg(value_name = "POD")]
    pod: Option<String>,
    /// Words between POD and `--`: kubectl's old form, refused.
    #[arg(hide = true)]
    old_form: Vec<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
    /// The container (default: the pod's `kubectl.kubernetes.io/default-container`
    /// annotation, else its first container).
    #[arg(short = 'c', long)]
    container: Option<String>,
    /// Pass stdin to the command.
    #[arg(short = 'i', long)]
    stdin: bool,
    /// Run the command in a terminal (with `-i`, and only when stdin is one).
    #[arg(short = 't', long)]
    tty: bool,
    /// Only print output from the remote session.
    #[arg(short = 'q', long)]
    quiet: bool,
    #[command(flatten)]
    target: Target,
}

pub fn run(args: &ExecArgs) -> Result<u8> {
    let Some(pod_name) = &args.pod else {
        bail!("pod name must be specified");
    };
    if !args.old_form.is_empty() {
        bail!("exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead");
    }
    if args.command.is_empty() {
        bail!("you must specify at least one command for the container");
    }
    // Step 1: the pod and the container.
    let client = args.target.client();
    let pod = client.get_json(&args.target.pod_path(pod_name))?;
    if let Some(phase @ ("Succeeded" | "Failed")) = pod["status"]["phase"].as_str() {
        bail!("cannot exec into a container in a completed pod; current phase is {phase}");
    }
    let (container, notice) = choose_container(&pod, args.container.as_deref())?;
    if let Some(notice) = notice.filter(|_| !args.quiet) {
        eprintln!("{notice}");
    }
    // Step 2: a TTY only for a terminal's input (kubectl: `-t` alone is ignored).
    let tty = args.tty && args.stdin && std::io::stdin().is_terminal();
    if args.tty && args.stdin && !tty && !args.quiet {
        eprintln!("Unable to use a TTY - input is not a terminal or the right kind of file");
    }
    // Step 3: the session.
    let path = exec_path(
        &args.target.pod_path(pod_name),
        &container,
        &args.command,
        args.stdin,
        tty,
    );
    let mut session = websocket::connect(&client, &path)?;
    // Step 4: the terminal is raw only inside this block; the guard puts it
    // back on every way out (`?` included) before anything more is printed.
    let outcome = {
        let _raw = tty.then(RawMode::enter).transpose()?;
        let winch = tty.then(Winch::watch).transpose()?;
        pump(&mut session, args.stdin, winch)?
    };
    match outcome {
        Outcome::Success => Ok(exit::OK),
        Outcome::ExitCode(code) => {
            eprintln!("command terminated with exit code {code}");
            Ok(code)
        }
        Outcome::Failed(message) => bail!("{message}"),
    }
}

/// The container to run in, and kubectl's notice when it was picked for
/// the user among several (`Defaulted container "a" out of: a, b, init (init)`).
fn choose_container(pod: &Value, asked: Option<&str>) -> Result<(String, Option<String>)> {
    let names = |list: &str| -> Vec<String> {
        pod["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect()
    };
    let (containers, init, ephemeral) = (
        names("containers"),
        names("initContainers"),
        names("ephemeralContainers"),
    );
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let all = || {
        let mut all = containers.clone();
        all.extend(ephemeral.iter().map(|c| format!("{c} (ephem)")));
        all.extend(init.iter().map(|c| format!("{c} (init)")));
        all.join(", ")
    };
    let annotation = pod["metadata"]["annotations"][DEFAULT_CONTAINER_ANNOTATION]
        .as_str()
        .filter(|a| !a.is_empty());
    if let Some(name) = asked.or(annotation) {
        let known = [&containers, &init, &ephemeral]
            .iter()
            .any(|list| list.iter().any(|c| c == name));
        if !known {
            bail!(
                "container {name} is not valid for pod {pod_name} out of: {}",
                all()
            );
        }
        return Ok((name.to_owned(), None));
    }
    let Some(first) = containers.first() else {
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
        bail!("pod {namespace}/{pod_name} does not have any containers");
    };
    let notice = (containers.len() > 1 || !init.is_empty() || !ephemeral.is_empty())
        .then(|| format!("Defaulted container {first:?} out of: {}", all()));
    Ok((first.clone(), notice))
}

/// `.../pods/NAME/exec?command=..&container=..`: stdout always, stderr
/// unless a TTY merges it into stdout.
fn exec_path(
    pod_path: &str,
    container: &str,
    command: &[String],
    stdin: bool,
    tty: bool,
) -> String {
    let mut query: Vec<String> = command
        .iter()
        .map(|c| format!("command={}", encode(c)))
        .collect();
    query.push(format!("container={}", encode(container)));
    if stdin {
        query.push("stdin=true".into());
    }
    query.push("stdout=true".into());
    if tty {
        query.push("tty=true".into());
    } else {
        query.push("stderr=true".into());
    }
    format!("{pod_path}/exec?{}", query.join("&"))
}

/// Copies stdin to channel 0 (closing it at EOF in v5), channels 1 and 2
/// to stdout and stderr, and terminal sizes to channel 4, until the server
/// has sent the status and closed.
///
/// One thread does it all around poll(2): the websocket (non-blocking, so a
/// read never stops halfway through a frame and a write that does not fit
/// waits in tungstenite's buffer), stdin and SIGWINCH. Stdin is read once
/// per readiness, which does not block even though stdin stays in blocking
/// mode (setting O_NONBLOCK on it would change the file for the shell that
/// shares it); while the socket has unsent data, stdin is not read, so a
/// slow server slows the input instead of growing a buffer. No thread
/// shares the websocket, so no lock is needed.
fn pump(session: &mut Session, stdin: bool, mut winch: Option<Winch>) -> Result<Outcome> {
    let can_close_stdin = session.protocol.can_close_stdin();
    let mut link = Link::new(&mut session.socket)?;
    if winch.is_some() {
        link.send_size();
        link.flush();
    }
    let mut stdin_open = stdin;
    let mut status = None;
    let mut buf = vec![0u8; 32 * 1024];
    let input = std::io::stdin();
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    loop {
        // Nothing more can be sent once sending broke: stdin is left unread.
        let read_stdin = stdin_open && !link.pending && !link.broken;
        let (socket_ready, stdin_ready, winch_ready) = {
            let socket_interest = if link.pending {
                Interest::ReadableOrWritable
            } else {
                Interest::Readable
            };
            let mut fds = vec![(link.ws.get_ref().as_fd(), socket_interest)];
            if read_stdin {
                fds.push((input.as_fd(), Interest::Readable));
            }
            if let Some(w) = &winch {
                fds.push((w.as_fd(), Interest::Readable));
            }
            let events = match poll::wait(&fds) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                result => result.context("waiting for the exec session")?,
            };
            let ready = |i: usize| events.get(i).copied().unwrap_or(false);
            let winch_at = 1 + usize::from(read_stdin);
            (
                ready(0),
                read_stdin && ready(1),
                winch.is_some() && ready(winch_at),
            )
        };
        if socket_ready {
            loop {
                match link.ws.read() {
                    Ok(Message::Binary(data)) => match data.split_first() {
                        Some((&STDOUT, rest)) => write_now(&mut out, rest, "stdout")?,
                        Some((&STDERR, rest)) => write_now(&mut err, rest, "stderr")?,
                        Some((&STATUS, rest)) => status = Some(websocket::parse_status(rest)),
                        _ => {}
                    },
                    Ok(Message::Close(_))
                    | Err(
                        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                    ) => {
                        return status.context(
                            "the connection closed before the command's exit status arrived",
                        );
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        return match status {
                            Some(status) => Ok(status),
                            None => Err(anyhow!(e).context("the exec session broke off")),
                        };
                    }
                }
            }
        }
        if stdin_ready {
            match poll::read_once(input.as_fd(), &mut buf) {
                Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) => {}
                Ok(0) | Err(_) => {
                    stdin_open = false;
                    if can_close_stdin {
                        link.queue(websocket::close_stdin());
                    }
                }
                Ok(n) => link.queue(websocket::frame(STDIN, &buf[..n])),
            }
        }
        if let Some(w) = winch.as_mut().filter(|_| winch_ready)
            && w.take()
        {
            link.send_size();
        }
        link.flush();
    }
}

fn write_now(to: &mut impl Write, data: &[u8], name: &str) -> Result<()> {
    to.write_all(data)
        .and_then(|()| to.flush())
        .with_context(|| format!("writing to {name}"))
}

/// The websocket and the state of its sending side.
struct Link<'a> {
    ws: &'a mut WebSocket<UnixStream>,
    /// Data waits in tungstenite's buffer for the socket to take it.
    pending: bool,
    /// Sending failed (the server is gone or stopped reading): nothing more
    /// is sent, and the receiving side tells how the session ended.
    broken: bool,
}

impl<'a> Link<'a> {
    fn new(ws: &'a mut WebSocket<UnixStream>) -> Result<Link<'a>> {
        ws.get_ref()
            .set_nonblocking(true)
            .context("making the exec socket non-blocking")?;
        Ok(Link {
            ws,
            pending: false,
            broken: false,
        })
    }

    fn queue(&mut self, message: Message) {
        if !self.broken {
            let result = self.ws.write(message);
            self.settle(result);
        }
    }

    fn flush(&mut self) {
        if !self.broken {
            let result = self.ws.flush();
            self.settle(result);
        }
    }

    fn settle(&mut self, result: tungstenite::Result<()>) {
        match result {
            Ok(()) => self.pending = false,
            // Kept in tungstenite's buffer; written when the socket is writable.
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                self.pending = true;
            }
            Err(_) => {
                self.broken = true;
                self.pending = false;
            }
        }
    }

    fn send_size(&mut self) {
        if let Some((width, height)) = terminal::size() {
            self.queue(websocket::resize(width, height));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: Value, annotations: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "default", "annotations": annotations},
               "spec": spec})
    }

    #[test]
    fn one_container_is_taken_quietly() {
        let p = pod(json!({"containers": [{"name": "app"}]}), json!({}));
        assert_eq!(choose_container(&p, None).unwrap(), ("app".into(), None));
    }

    #[test]
    fn the_first_of_several_is_taken_with_kubectls_notice() {
        let p = pod(
            json!({"containers": [{"name": "a"}, {"name": "b"}],
                   "initContainers": [{"name": "setup"}]}),
            json!({}),
        );
        let (name, notice) = choose_container(&p, None).unwrap();
        assert_eq!(name, "a");
        assert_eq!(
            notice.as_deref(),
            Some(r#"Defaulted container "a" out of: a, b, setup (init)"#)
        );
        // An init container alone makes the choice worth saying too.
        let p = pod(
            json!({"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]}),
            json!({}),
        );
        assert!(choose_container(&p, None).unwrap().1.is_some());
    }

    #[test]
    fn the_annotation_and_the_flag_name_it_silently() {
        let spec = json!({"containers": [{"name": "a"}, {"name": "b"}],
                          "initContainers": [{"name": "setup"}]});
        let annotated = pod(spec.clone(), json!({DEFAULT_CONTAINER_ANNOTATION: "b"}));
        assert_eq!(
            choose_container(&annotated, None).unwrap(),
            ("b".into(), None)
        );
        // -c wins over the annotation, and may name an init container.
        assert_eq!(
            choose_container(&annotated, Some("setup")).unwrap(),
            ("setup".into(), None)
        );
    }

    #[test]
    fn an_unknown_name_lists_the_containers() {
        let p = pod(
            json!({"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]}),
            json!({DEFAULT_CONTAINER_ANNOTATION: "gone"}),
        );
        assert_eq!(
            choose_container(&p, Some("x")).unwrap_err().to_string(),
            "container x is not valid for pod web out of: a, i (init)"
        );
        assert_eq!(
            choose_container(&p, None).unwrap_err().to_string(),
            "container gone is not valid for pod web out of: a, i (init)"
        );
    }

    #[test]
    fn the_query_has_kubectls_parameters() {
        let command = vec!["sh".to_owned(), "-c".to_owned(), "echo a b".to_owned()];
        assert_eq!(
            exec_path(
                "/api/v1/namespaces/default/pods/web",
                "app",
                &command,
                true,
                false
            ),
            "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo%20a%20b\
             &container=app&stdin=true&stdout=true&stderr=true"
        );
        assert_eq!(
            exec_path("/p", "app", &command[..1], false, true),
            "/p/exec?command=sh&container=app&stdout=true&tty=true"
        );
    }
}
