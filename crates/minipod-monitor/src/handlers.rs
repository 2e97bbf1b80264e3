//! Probes and hooks, carried out: each runs on a thread of its own and
//! reports back to the monitor's loop.
//!
//! A probe and a hook are the same four handlers (the kubelet's
//! `pkg/kubelet/prober` and `pkg/kubelet/lifecycle/handlers.go`): `exec`
//! inside the container, `httpGet` and `tcpSocket` from inside the pod's
//! network namespace, and (hooks only) `sleep`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use minipod_linux::container::Container as Process;
use minipod_runtime::exec::{AttachOptions, Attached};
use minipod_runtime::pod::{PodRuntime, RunningPod};
use minipod_runtime::probe::{self, HttpGetRequest};
use minipod_spec::enums::UriScheme;
use minipod_spec::model::{
    Container, ExecAction, HttpGetAction, IntOrString, LifecycleHandler, Probe, TcpSocketAction,
};

/// Why a probe's or hook's handler could not be resolved against its
/// container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ResolveError {
    #[error("gRPC probes are not supported by minipod")]
    GrpcUnsupported,
    #[error("the handler has no action")]
    NoAction,
    /// The kubelet's `findPortByName` message.
    #[error("couldn't find port: {0:?} in container")]
    NoSuchPort(String),
    #[error("invalid port number: {0}")]
    InvalidPort(i32),
}

/// Why a probe or hook failed: the text of its event (the kubelet's
/// `Unhealthy` and `FailedPostStartHook`/`FailedPreStopHook` messages).
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandlerError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("container {0:?} has no such handler or no process")]
    NoProcess(String),
    #[error("the pod is being removed")]
    PodRemoved,
    #[error("command {command:?} timed out after {seconds}s")]
    TimedOut { command: String, seconds: u64 },
    /// The command exited non-zero: the kubelet shows its output, as is.
    #[error("{output}")]
    CommandFailed { output: String },
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// An `httpGet` or `tcpSocket` check got no response.
    #[error(transparent)]
    Network(#[from] minipod_runtime::probe::ProbeError),
    /// An `httpGet` check got a response that counts as a failure, in the
    /// kubelet's words.
    #[error("{0}")]
    BadResponse(String),
}

/// Why an exec in a container (`kubectl exec`, an exec probe or hook)
/// could not run.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("container {0:?} is not running")]
    NotRunning(String),
    #[error("the pod is being removed")]
    PodRemoved,
    #[error(transparent)]
    Runtime(#[from] minipod_runtime::exec::ExecError),
}

/// How an exec through the monitor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// The command's exit code (128 + signal when killed).
    pub exit_code: i32,
    /// Its stdout and stderr together (at most 10 KiB).
    pub output: Vec<u8>,
    /// It ran out of time and was killed.
    pub timed_out: bool,
}

/// What to run, resolved against the container (named ports looked up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Handler {
    Exec(Vec<String>),
    HttpGet(HttpGetRequest),
    Tcp { host: Option<String>, port: u16 },
    Sleep(Duration),
}

impl Handler {
    /// A probe's handler.
    pub fn of_probe(probe: &Probe, container: &Container) -> Result<Handler, ResolveError> {
        if probe.grpc.is_some() {
            return Err(ResolveError::GrpcUnsupported);
        }
        resolve(
            probe.exec.as_ref(),
            probe.http_get.as_ref(),
            probe.tcp_socket.as_ref(),
            container,
        )
    }

    /// A hook's handler.
    pub fn of_hook(
        hook: &LifecycleHandler,
        container: &Container,
    ) -> Result<Handler, ResolveError> {
        if let Some(sleep) = &hook.sleep {
            let seconds = u64::try_from(sleep.seconds).unwrap_or(0);
            return Ok(Handler::Sleep(Duration::from_secs(seconds)));
        }
        resolve(
            hook.exec.as_ref(),
            hook.http_get.as_ref(),
            hook.tcp_socket.as_ref(),
            container,
        )
    }
}

fn resolve(
    exec: Option<&ExecAction>,
    http_get: Option<&HttpGetAction>,
    tcp: Option<&TcpSocketAction>,
    container: &Container,
) -> Result<Handler, ResolveError> {
    if let Some(exec) = exec {
        return Ok(Handler::Exec(exec.command.clone()));
    }
    if let Some(http) = http_get {
        return Ok(Handler::HttpGet(HttpGetRequest {
            host: http.host.clone(),
            port: port(&http.port, container)?,
            path: http.path.clone().unwrap_or_default(),
            scheme: http.scheme.clone().unwrap_or(UriScheme::Http),
            headers: http
                .http_headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        }));
    }
    if let Some(tcp) = tcp {
        return Ok(Handler::Tcp {
            host: tcp.host.clone(),
            port: port(&tcp.port, container)?,
        });
    }
    Err(ResolveError::NoAction)
}

/// A port by number, or by the name of one of the container's ports
/// (`findPortByName`).
fn port(port: &IntOrString, container: &Container) -> Result<u16, ResolveError> {
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => match name.parse::<i32>() {
            Ok(n) => n,
            Err(_) => container
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port)
                .ok_or_else(|| ResolveError::NoSuchPort(name.clone()))?,
        },
    };
    u16::try_from(number)
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ResolveError::InvalidPort(number))
}

/// What a handler needs of the pod.
#[derive(Clone)]
pub(crate) struct PodAccess {
    pub runtime: Arc<PodRuntime>,
    /// `None` once the pod is being removed. Probes and hooks read it; only
    /// starting a container and removing the pod write it.
    pub pod: Arc<RwLock<Option<RunningPod>>>,
}

/// Runs `handler` for `container` (whose pid 1 is `process`) within
/// `timeout`: `Ok` on success, else why (the event's text).
pub(crate) fn run(
    access: &PodAccess,
    container: &str,
    process: &Process,
    handler: &Handler,
    timeout: Duration,
) -> Result<(), HandlerError> {
    let guard = access.pod.read().unwrap_or_else(|p| p.into_inner());
    let Some(pod) = guard.as_ref() else {
        return Err(HandlerError::PodRemoved);
    };
    match handler {
        Handler::Sleep(duration) => {
            // Without the pod: a sleep must not hold anything.
            drop(guard);
            std::thread::sleep((*duration).min(timeout));
            Ok(())
        }
        Handler::Exec(argv) => {
            drop(guard);
            let outcome = exec(access, container, process, argv, timeout)?;
            let output = String::from_utf8_lossy(&outcome.output).into_owned();
            if outcome.timed_out {
                Err(HandlerError::TimedOut {
                    command: argv.join(" "),
                    seconds: timeout.as_secs(),
                })
            } else if outcome.exit_code != 0 {
                Err(HandlerError::CommandFailed { output })
            } else {
                Ok(())
            }
        }
        Handler::HttpGet(request) => {
            let response = probe::http_get(pod, request, timeout).map_err(HandlerError::Network)?;
            if response.is_success() {
                Ok(())
            } else {
                Err(HandlerError::BadResponse(response.failure_message()))
            }
        }
        Handler::Tcp { host, port } => {
            probe::tcp_check(pod, host.as_deref(), *port, timeout).map_err(HandlerError::Network)
        }
    }
}

/// Runs `argv` in `container` (`kubectl exec`): its exit code and output.
pub(crate) fn exec(
    access: &PodAccess,
    container: &str,
    process: &Process,
    argv: &[String],
    timeout: Duration,
) -> Result<ExecResult, ExecError> {
    let guard = access.pod.read().unwrap_or_else(|p| p.into_inner());
    let pod = guard.as_ref().ok_or(ExecError::PodRemoved)?;
    let outcome = access
        .runtime
        .exec_in_container(pod, container, process, argv, timeout)?;
    Ok(ExecResult {
        exit_code: outcome.exit_code,
        output: outcome.output,
        timed_out: outcome.timed_out,
    })
}

/// Starts `argv` in `container` with its streams attached (`kubectl exec
/// -i/-t`). The pod is held only while the command starts.
pub(crate) fn exec_attached(
    access: &PodAccess,
    container: &str,
    process: &Process,
    argv: &[String],
    options: AttachOptions,
) -> Result<Attached, ExecError> {
    let guard = access.pod.read().unwrap_or_else(|p| p.into_inner());
    let pod = guard.as_ref().ok_or(ExecError::PodRemoved)?;
    Ok(access
        .runtime
        .exec_attached(pod, container, process, argv, options)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(yaml: &str) -> Container {
        yaml_serde_free::container(yaml)
    }

    mod yaml_serde_free {
        use minipod_spec::model::{Container, ContainerPort};

        /// A container with the named ports listed as `name=number`.
        pub fn container(ports: &str) -> Container {
            Container {
                name: "c".into(),
                ports: ports
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (name, number) = p.split_once('=').unwrap();
                        ContainerPort {
                            name: Some(name.into()),
                            container_port: number.parse().unwrap(),
                            ..ContainerPort::default()
                        }
                    })
                    .collect(),
                ..Container::default()
            }
        }
    }

    #[test]
    fn ports_are_numbers_or_the_names_of_container_ports() {
        let c = container("http=8080,metrics=9090");
        assert_eq!(port(&IntOrString::Int(80), &c), Ok(80));
        assert_eq!(port(&IntOrString::String("metrics".into()), &c), Ok(9090));
        assert_eq!(port(&IntOrString::String("8081".into()), &c), Ok(8081));
        let missing = port(&IntOrString::String("admin".into()), &c);
        assert_eq!(missing, Err(ResolveError::NoSuchPort("admin".into())));
        assert_eq!(
            missing.unwrap_err().to_string(),
            "couldn't find port: \"admin\" in container"
        );
        assert!(port(&IntOrString::Int(70000), &c).is_err());
    }

    #[test]
    fn a_sleep_hook_sleeps_its_seconds() {
        let hook = LifecycleHandler {
            sleep: Some(minipod_spec::model::SleepAction { seconds: 5 }),
            ..LifecycleHandler::default()
        };
        assert_eq!(
            Handler::of_hook(&hook, &container("")),
            Ok(Handler::Sleep(Duration::from_secs(5)))
        );
    }
}
