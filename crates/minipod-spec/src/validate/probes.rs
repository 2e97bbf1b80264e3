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
mod tests;
