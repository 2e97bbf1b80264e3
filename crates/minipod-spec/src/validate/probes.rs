//! Probes (`livenessProbe`, `readinessProbe`, `startupProbe`) and lifecycle
//! hooks (`postStart`, `preStop`, `stopSignal`).
//!
//! Mirrors `validateLivenessProbe`, `validateReadinessProbe`,
//! `validateStartupProbe`, `validateProbe`, `validateHandler`,
//! `validateExecAction`, `validateHTTPGetAction`, `validateTCPSocketAction`,
//! `validateGRPCAction`, `validateSleepAction` and `validateLifecycle` in
//! `pkg/apis/core/validation/validation.go` (Kubernetes 1.33: a `sleep` of
//! zero seconds is allowed, feature `PodLifecycleSleepActionAllowZero`).
//! The stop signal rules follow KEP-4960 (`ContainerStopSignals`).

use super::names::{invalid_each, is_http_header_name};
use super::ports::validate_port_num_or_name;
use crate::enums::UriScheme;
use crate::field_error::FieldError;
use crate::model::{
    ExecAction, GrpcAction, HttpGetAction, IntOrString, Lifecycle, LifecycleHandler, PodOs, Probe,
    SleepAction, TcpSocketAction,
};

/// The handler fields a probe or a hook may set (`commonHandler`).
struct Handler<'a> {
    exec: Option<&'a ExecAction>,
    http_get: Option<&'a HttpGetAction>,
    tcp_socket: Option<&'a TcpSocketAction>,
    grpc: Option<&'a GrpcAction>,
    sleep: Option<&'a SleepAction>,
}

impl<'a> Handler<'a> {
    fn from_probe(probe: &'a Probe) -> Self {
        Handler {
            exec: probe.exec.as_ref(),
            http_get: probe.http_get.as_ref(),
            tcp_socket: probe.tcp_socket.as_ref(),
            grpc: probe.grpc.as_ref(),
            sleep: None,
        }
    }

    fn from_hook(hook: &'a LifecycleHandler) -> Self {
        Handler {
            exec: hook.exec.as_ref(),
            http_get: hook.http_get.as_ref(),
            tcp_socket: hook.tcp_socket.as_ref(),
            grpc: None,
            sleep: hook.sleep.as_ref(),
        }
    }
}

/// `validateLivenessProbe`: `successThreshold` must be 1.
pub(super) fn validate_liveness_probe(
    probe: Option<&Probe>,
    grace_period: Option<i64>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(probe) = probe else { return };
    validate_probe(probe, grace_period, path, errs);
    success_threshold_must_be_one(probe, path, errs);
}

/// `validateReadinessProbe`: no `terminationGracePeriodSeconds`.
pub(super) fn validate_readiness_probe(
    probe: Option<&Probe>,
    grace_period: Option<i64>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(probe) = probe else { return };
    validate_probe(probe, grace_period, path, errs);
    if let Some(seconds) = probe.termination_grace_period_seconds {
        errs.push(FieldError::invalid(
            format!("{path}.terminationGracePeriodSeconds"),
            seconds.to_string(),
            "must not be set for readinessProbes",
        ));
    }
}

/// `validateStartupProbe`: `successThreshold` must be 1.
pub(super) fn validate_startup_probe(
    probe: Option<&Probe>,
    grace_period: Option<i64>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(probe) = probe else { return };
    validate_probe(probe, grace_period, path, errs);
    success_threshold_must_be_one(probe, path, errs);
}

fn success_threshold_must_be_one(probe: &Probe, path: &str, errs: &mut Vec<FieldError>) {
    let threshold = probe.success_threshold.unwrap_or(0);
    if threshold != 1 {
        errs.push(FieldError::invalid(
            format!("{path}.successThreshold"),
            threshold.to_string(),
            "must be 1",
        ));
    }
}

/// `validateProbe`: one handler, non-negative numbers, a positive
/// probe-level grace period.
fn validate_probe(
    probe: &Probe,
    grace_period: Option<i64>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    validate_handler(&Handler::from_probe(probe), grace_period, path, errs);
    let numbers = [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ];
    for (field, value) in numbers {
        let value = value.unwrap_or(0);
        if value < 0 {
            errs.push(FieldError::invalid(
                format!("{path}.{field}"),
                value.to_string(),
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(seconds) = probe.termination_grace_period_seconds
        && seconds <= 0
    {
        errs.push(FieldError::invalid(
            format!("{path}.terminationGracePeriodSeconds"),
            seconds.to_string(),
            "must be greater than 0",
        ));
    }
}

/// `validateLifecycle`: each hook has one handler; a stop signal suits the pod's OS.
pub(super) fn validate_lifecycle(
    lifecycle: &Lifecycle,
    grace_period: Option<i64>,
    os: Option<&PodOs>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if let Some(hook) = &lifecycle.post_start {
        validate_handler(
            &Handler::from_hook(hook),
            grace_period,
            &format!("{path}.postStart"),
            errs,
        );
    }
    if let Some(hook) = &lifecycle.pre_stop {
        validate_handler(
            &Handler::from_hook(hook),
            grace_period,
            &format!("{path}.preStop"),
            errs,
        );
    }
    if let Some(signal) = &lifecycle.stop_signal {
        validate_stop_signal(signal, os, &format!("{path}.stopSignal"), errs);
    }
}

/// `validateHandler`: exactly one of exec, httpGet, tcpSocket, grpc, sleep
/// (checked in that order; the later ones are reported).
fn validate_handler(
    handler: &Handler<'_>,
    grace_period: Option<i64>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let mut count = 0;
    let mut claim = |field: &str, errs: &mut Vec<FieldError>| -> bool {
        if count > 0 {
            errs.push(FieldError::forbidden(
                format!("{path}.{field}"),
                "may not specify more than 1 handler type",
            ));
            return false;
        }
        count += 1;
        true
    };

    if let Some(exec) = handler.exec
        && claim("exec", errs)
        && exec.command.is_empty()
    {
        errs.push(FieldError::required(format!("{path}.exec.command"), ""));
    }
    if let Some(http) = handler.http_get
        && claim("httpGet", errs)
    {
        validate_http_get(http, &format!("{path}.httpGet"), errs);
    }
    if let Some(tcp) = handler.tcp_socket
        && claim("tcpSocket", errs)
    {
        validate_port_num_or_name(&tcp.port, &format!("{path}.tcpSocket.port"), errs);
    }
    if let Some(grpc) = handler.grpc
        && claim("grpc", errs)
    {
        let port = IntOrString::Int(grpc.port);
        validate_port_num_or_name(&port, &format!("{path}.grpc.port"), errs);
    }
    if let Some(sleep) = handler.sleep
        && claim("sleep", errs)
    {
        validate_sleep(sleep, grace_period, &format!("{path}.sleep"), errs);
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
}

/// `validateHTTPGetAction`.
fn validate_http_get(http: &HttpGetAction, path: &str, errs: &mut Vec<FieldError>) {
    if http.path.as_deref().unwrap_or_default().is_empty() {
        errs.push(FieldError::required(format!("{path}.path"), ""));
    }
    validate_port_num_or_name(&http.port, &format!("{path}.port"), errs);
    match &http.scheme {
        Some(UriScheme::Http | UriScheme::Https) => {}
        other => {
            let shown = other.as_ref().map(UriScheme::as_str).unwrap_or_default();
            errs.push(FieldError::not_supported(
                format!("{path}.scheme"),
                shown,
                &["HTTP", "HTTPS"],
            ));
        }
    }
    for header in &http.http_headers {
        errs.extend(invalid_each(
            &format!("{path}.httpHeaders"),
            &header.name,
            is_http_header_name(&header.name),
        ));
    }
}

/// `validateSleepAction`: within the pod's grace period (zero allowed).
fn validate_sleep(
    sleep: &SleepAction,
    grace_period: Option<i64>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(grace) = grace_period else { return };
    if sleep.seconds < 0 || sleep.seconds > grace {
        errs.push(FieldError::invalid(
            path,
            sleep.seconds.to_string(),
            format!("must be non-negative and less than terminationGracePeriodSeconds ({grace})"),
        ));
    }
}

/// Signals a Linux pod may stop with (`supportedStopSignalsLinux`).
const LINUX_STOP_SIGNALS: &[&str] = &[
    "SIGABRT",
    "SIGALRM",
    "SIGBUS",
    "SIGCHLD",
    "SIGCLD",
    "SIGCONT",
    "SIGFPE",
    "SIGHUP",
    "SIGILL",
    "SIGINT",
    "SIGIO",
    "SIGIOT",
    "SIGKILL",
    "SIGPIPE",
    "SIGPOLL",
    "SIGPROF",
    "SIGPWR",
    "SIGQUIT",
    "SIGSEGV",
    "SIGSTKFLT",
    "SIGSTOP",
    "SIGSYS",
    "SIGTERM",
    "SIGTRAP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGUSR1",
    "SIGUSR2",
    "SIGVTALRM",
    "SIGWINCH",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGRTMIN",
    "SIGRTMIN+1",
    "SIGRTMIN+2",
    "SIGRTMIN+3",
    "SIGRTMIN+4",
    "SIGRTMIN+5",
    "SIGRTMIN+6",
    "SIGRTMIN+7",
    "SIGRTMIN+8",
    "SIGRTMIN+9",
    "SIGRTMIN+10",
    "SIGRTMIN+11",
    "SIGRTMIN+12",
    "SIGRTMIN+13",
    "SIGRTMIN+14",
    "SIGRTMIN+15",
    "SIGRTMAX-14",
    "SIGRTMAX-13",
    "SIGRTMAX-12",
    "SIGRTMAX-11",
    "SIGRTMAX-10",
    "SIGRTMAX-9",
    "SIGRTMAX-8",
    "SIGRTMAX-7",
    "SIGRTMAX-6",
    "SIGRTMAX-5",
    "SIGRTMAX-4",
    "SIGRTMAX-3",
    "SIGRTMAX-2",
    "SIGRTMAX-1",
    "SIGRTMAX",
];

/// Signals a Windows pod may stop with (`supportedStopSignalsWindows`).
const WINDOWS_STOP_SIGNALS: &[&str] = &["SIGKILL", "SIGTERM"];

/// The stop signal needs `spec.os.name` and must be one that OS supports.
fn validate_stop_signal(signal: &str, os: Option<&PodOs>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(os) = os else {
        errs.push(FieldError::forbidden(
            path,
            "may not be set for containers with empty `spec.os.name`",
        ));
        return;
    };
    let supported = match os.name.as_str() {
        "linux" => LINUX_STOP_SIGNALS,
        "windows" => WINDOWS_STOP_SIGNALS,
        // An unknown OS is reported by `spec.os` validation.
        _ => return,
    };
    if !supported.contains(&signal) {
        let mut sorted = supported.to_vec();
        sorted.sort_unstable();
        errs.push(FieldError::not_supported(path, signal, &sorted));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{
        GrpcAction, HttpHeader, IntOrString, Lifecycle, LifecycleHandler, PodOs, SleepAction,
    };
    use crate::validate::fixture::{
        Case, check, defaulted_probe, exec_probe, http_get, http_probe, tcp_probe,
    };

    fn sleep_hook(seconds: i64) -> Option<Lifecycle> {
        Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                sleep: Some(SleepAction { seconds }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        })
    }

    #[test]
    fn probe_rules() {
        check(&[
            Case {
                name: "probe_must_specify_a_handler_type",
                mutate: |p| p.spec.containers[0].liveness_probe = Some(defaulted_probe()),
                want: &[
                    "spec.containers[0].livenessProbe: Required value: must specify a handler type",
                ],
            },
            Case {
                name: "probe_may_not_specify_more_than_1_handler_type",
                mutate: |p| {
                    let mut probe = exec_probe();
                    probe.http_get = Some(http_get(IntOrString::Int(80)));
                    probe.grpc = Some(GrpcAction {
                        port: 9090,
                        service: None,
                    });
                    p.spec.containers[0].readiness_probe = Some(probe);
                },
                want: &[
                    "spec.containers[0].readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type",
                    "spec.containers[0].readinessProbe.grpc: Forbidden: may not specify more than 1 handler type",
                ],
            },
            Case {
                name: "exec_probe_command_is_required",
                mutate: |p| {
                    let mut probe = exec_probe();
                    if let Some(exec) = probe.exec.as_mut() {
                        exec.command.clear();
                    }
                    p.spec.containers[0].liveness_probe = Some(probe);
                },
                want: &["spec.containers[0].livenessProbe.exec.command: Required value"],
            },
            Case {
                name: "liveness_and_startup_success_threshold_must_be_1",
                mutate: |p| {
                    let mut probe = exec_probe();
                    probe.success_threshold = Some(3);
                    p.spec.containers[0].liveness_probe = Some(probe.clone());
                    p.spec.containers[0].startup_probe = Some(probe.clone());
                    p.spec.containers[0].readiness_probe = Some(probe);
                },
                want: &[
                    "spec.containers[0].livenessProbe.successThreshold: Invalid value: 3: must be 1",
                    "spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1",
                ],
            },
            Case {
                name: "probe_numbers_must_not_be_negative",
                mutate: |p| {
                    let mut probe = exec_probe();
                    probe.initial_delay_seconds = Some(-1);
                    probe.timeout_seconds = Some(-2);
                    probe.period_seconds = Some(-3);
                    probe.success_threshold = Some(-4);
                    probe.failure_threshold = Some(-5);
                    p.spec.containers[0].readiness_probe = Some(probe);
                },
                want: &[
                    "spec.containers[0].readinessProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0",
                    "spec.containers[0].readinessProbe.timeoutSeconds: Invalid value: -2: must be greater than or equal to 0",
                    "spec.containers[0].readinessProbe.periodSeconds: Invalid value: -3: must be greater than or equal to 0",
                    "spec.containers[0].readinessProbe.successThreshold: Invalid value: -4: must be greater than or equal to 0",
                    "spec.containers[0].readinessProbe.failureThreshold: Invalid value: -5: must be greater than or equal to 0",
                ],
            },
            Case {
                name: "probe_termination_grace_period_must_be_positive",
                mutate: |p| {
                    let mut probe = exec_probe();
                    probe.termination_grace_period_seconds = Some(0);
                    p.spec.containers[0].liveness_probe = Some(probe);
                },
                want: &[
                    "spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0",
                ],
            },
            Case {
                name: "readiness_probe_termination_grace_period_is_invalid",
                mutate: |p| {
                    let mut probe = exec_probe();
                    probe.termination_grace_period_seconds = Some(10);
                    p.spec.containers[0].readiness_probe = Some(probe);
                },
                want: &[
                    "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 10: must not be set for readinessProbes",
                ],
            },
            Case {
                name: "http_get_port_number_range",
                mutate: |p| {
                    p.spec.containers[0].liveness_probe = Some(http_probe(IntOrString::Int(0)))
                },
                want: &[
                    "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
                ],
            },
            Case {
                name: "tcp_socket_port_name_must_be_an_iana_svc_name",
                mutate: |p| {
                    p.spec.containers[0].liveness_probe =
                        Some(tcp_probe(IntOrString::String("8080".into())));
                },
                want: &[
                    r#"spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: "8080": must contain at least one letter (a-z)"#,
                ],
            },
            Case {
                name: "grpc_port_number_range",
                mutate: |p| {
                    let mut probe = defaulted_probe();
                    probe.grpc = Some(GrpcAction {
                        port: 65536,
                        service: None,
                    });
                    p.spec.containers[0].readiness_probe = Some(probe);
                },
                want: &[
                    "spec.containers[0].readinessProbe.grpc.port: Invalid value: 65536: must be between 1 and 65535, inclusive",
                ],
            },
            Case {
                name: "http_get_path_scheme_and_headers",
                mutate: |p| {
                    let mut probe = http_probe(IntOrString::String("http".into()));
                    if let Some(http) = probe.http_get.as_mut() {
                        http.path = None;
                        http.scheme = Some(crate::enums::UriScheme::Unknown("FTP".into()));
                        http.http_headers.push(HttpHeader {
                            name: "X Bad".into(),
                            value: "v".into(),
                        });
                    }
                    p.spec.containers[0].liveness_probe = Some(probe);
                },
                want: &[
                    "spec.containers[0].livenessProbe.httpGet.path: Required value",
                    r#"spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS""#,
                    r#"spec.containers[0].livenessProbe.httpGet.httpHeaders: Invalid value: "X Bad": a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')"#,
                ],
            },
        ]);
    }

    #[test]
    fn lifecycle_rules() {
        check(&[
            Case {
                name: "hook_must_specify_a_handler_type",
                mutate: |p| {
                    p.spec.containers[0].lifecycle = Some(Lifecycle {
                        post_start: Some(LifecycleHandler::default()),
                        ..Lifecycle::default()
                    });
                },
                want: &[
                    "spec.containers[0].lifecycle.postStart: Required value: must specify a handler type",
                ],
            },
            Case {
                name: "hook_may_not_specify_more_than_1_handler_type",
                mutate: |p| {
                    p.spec.containers[0].lifecycle = Some(Lifecycle {
                        pre_stop: Some(LifecycleHandler {
                            http_get: Some(http_get(IntOrString::Int(80))),
                            sleep: Some(SleepAction { seconds: 5 }),
                            ..LifecycleHandler::default()
                        }),
                        ..Lifecycle::default()
                    });
                },
                want: &[
                    "spec.containers[0].lifecycle.preStop.sleep: Forbidden: may not specify more than 1 handler type",
                ],
            },
            Case {
                name: "sleep_may_be_zero",
                mutate: |p| p.spec.containers[0].lifecycle = sleep_hook(0),
                want: &[],
            },
            Case {
                name: "sleep_within_the_grace_period",
                mutate: |p| p.spec.containers[0].lifecycle = sleep_hook(31),
                want: &[
                    "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 31: must be non-negative and less than terminationGracePeriodSeconds (30)",
                ],
            },
            Case {
                name: "sleep_must_not_be_negative",
                mutate: |p| p.spec.containers[0].lifecycle = sleep_hook(-1),
                want: &[
                    "spec.containers[0].lifecycle.preStop.sleep: Invalid value: -1: must be non-negative and less than terminationGracePeriodSeconds (30)",
                ],
            },
            Case {
                name: "stop_signal_needs_spec_os_name",
                mutate: |p| {
                    p.spec.containers[0].lifecycle = Some(Lifecycle {
                        stop_signal: Some("SIGUSR1".into()),
                        ..Lifecycle::default()
                    });
                },
                want: &[
                    "spec.containers[0].lifecycle.stopSignal: Forbidden: may not be set for containers with empty `spec.os.name`",
                ],
            },
            Case {
                name: "stop_signal_on_linux",
                mutate: |p| {
                    p.spec.os = Some(PodOs {
                        name: "linux".into(),
                    });
                    p.spec.containers[0].lifecycle = Some(Lifecycle {
                        stop_signal: Some("SIGUSR1".into()),
                        ..Lifecycle::default()
                    });
                },
                want: &[],
            },
            Case {
                name: "stop_signal_on_windows_is_term_or_kill",
                mutate: |p| {
                    p.spec.os = Some(PodOs {
                        name: "windows".into(),
                    });
                    p.spec.containers[0].lifecycle = Some(Lifecycle {
                        stop_signal: Some("SIGUSR1".into()),
                        ..Lifecycle::default()
                    });
                },
                want: &[
                    r#"spec.containers[0].lifecycle.stopSignal: Unsupported value: "SIGUSR1": supported values: "SIGKILL", "SIGTERM""#,
                ],
            },
        ]);
    }
}
