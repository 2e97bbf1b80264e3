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
use minipod_runtime::pod::{PodRuntime, RunningPod};
use minipod_runtime::probe::{self, HttpGetRequest};
use minipod_spec::enums::UriScheme;
use minipod_spec::model::{
    Container, ExecAction, HttpGetAction, IntOrString, LifecycleHandler, Probe, TcpSocketAction,
};

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
    pub fn of_probe(probe: &Probe, container: &Container) -> Result<Handler, String> {
        if probe.grpc.is_some() {
            return Err("gRPC probes are not supported by minipod".into());
        }
        resolve(
            probe.exec.as_ref(),
            probe.http_get.as_ref(),
            probe.tcp_socket.as_ref(),
            container,
        )
    }

    /// A hook's handler.
    pub fn of_hook(hook: &LifecycleHandler, container: &Container) -> Result<Handler, String> {
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
) -> Result<Handler, String> {
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
    Err("the handler has no action".into())
}

/// A port by number, or by the name of one of the container's ports
/// (`findPortByName`).
fn port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => match name.parse::<i32>() {
            Ok(n) => n,
            Err(_) => container
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port)
                .ok_or_else(|| format!("couldn't find port: {name:?} in container"))?,
        },
    };
    u16::try_from(number)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid port number: {number}"))
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
/// `timeout`: `Ok` on success, else the text for the event.
pub(crate) fn run(
    access: &PodAccess,
    container: &str,
    process: &Process,
    handler: &Handler,
    timeout: Duration,
) -> Result<(), String> {
    let guard = access.pod.read().unwrap_or_else(|p| p.into_inner());
    let Some(pod) = guard.as_ref() else {
        return Err("the pod is being removed".into());
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
                Err(format!(
                    "command {:?} timed out after {}s",
                    argv.join(" "),
                    timeout.as_secs()
                ))
            } else if outcome.exit_code != 0 {
                // The kubelet shows the command's output, as is.
                Err(output)
            } else {
                Ok(())
            }
        }
        Handler::HttpGet(request) => {
            let response = probe::http_get(pod, request, timeout)?;
            if response.is_success() {
                Ok(())
            } else {
                Err(response.failure_message())
            }
        }
        Handler::Tcp { host, port } => {
            probe::tcp_check(pod, host.as_deref(), *port, timeout).map_err(String::from)
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
) -> Result<crate::ExecResult, String> {
    let guard = access.pod.read().unwrap_or_else(|p| p.into_inner());
    let pod = guard.as_ref().ok_or("the pod is being removed")?;
    let outcome = access
        .runtime
        .exec_in_container(pod, container, process, argv, timeout)
        .map_err(String::from)?;
    Ok(crate::ExecResult {
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
    options: crate::AttachOptions,
) -> Result<crate::Attached, String> {
    let guard = access.pod.read().unwrap_or_else(|p| p.into_inner());
    let pod = guard.as_ref().ok_or("the pod is being removed")?;
    access
        .runtime
        .exec_attached(pod, container, process, argv, options)
        .map_err(String::from)
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
        assert_eq!(
            port(&IntOrString::String("admin".into()), &c),
            Err("couldn't find port: \"admin\" in container".into())
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
