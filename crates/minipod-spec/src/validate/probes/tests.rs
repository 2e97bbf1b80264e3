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
            mutate: |p| p.spec.containers[0].liveness_probe = Some(http_probe(IntOrString::Int(0))),
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
