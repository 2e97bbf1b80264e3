//! The record's files: their formats and the API over them (no root
//! needed; the real monitor is exercised by `runtime-tests/tests/records.rs`).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minipod_lifecycle::status::PodPhase;
use minipod_runtime::pod::NodeConfig;
use minipod_spec::{AdmittedPod, ServerAssigned, admit};
use serde_json::{Value, json};

use super::*;
use crate::PodEvent;
use crate::convert::timestamp;

const POD: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  initContainers: [{name: side, image: busybox, restartPolicy: Always}]
  containers: [{name: app, image: busybox, resources: {requests: {cpu: 100m}}}]
";

fn admitted() -> AdmittedPod {
    let loaded = minipod_spec::load::parse_manifests(POD.as_bytes(), "pod.yaml").unwrap();
    let pod = loaded.into_iter().next().unwrap().pod;
    let assigned = ServerAssigned {
        uid: "0b7c2a4e-0000-4000-8000-000000000001".into(),
        name_suffix: "abcde".into(),
    };
    admit(pod, &assigned).unwrap()
}

fn created() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn new_record() -> (tempfile::TempDir, Records, PodRecord) {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::new(dir.path());
    let record = records.create(&admitted(), created()).unwrap();
    (dir, records, record)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_new_record_holds_the_admitted_pod_and_a_pending_status() {
    let (dir, _records, record) = new_record();
    assert_eq!(
        record.dir(),
        dir.path()
            .join("records/0b7c2a4e-0000-4000-8000-000000000001")
    );
    assert_eq!(mode(record.dir()), 0o700);
    let pod = record.pod_json().unwrap();
    assert_eq!(
        pod["metadata"]["uid"],
        "0b7c2a4e-0000-4000-8000-000000000001"
    );
    assert_eq!(pod["metadata"]["namespace"], "default");
    assert_eq!(pod["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
    // Defaulted, as the API server stores it.
    assert_eq!(pod["spec"]["restartPolicy"], "Always");
    assert!(pod.get("status").is_none());
    let status = record.status_json().unwrap();
    assert_eq!(status["metadata"], pod["metadata"]);
    assert_eq!(
        status["status"],
        json!({"phase": "Pending", "qosClass": "Burstable"})
    );
    assert_eq!(record.phase().unwrap(), Some(PodPhase::Pending));
    assert_eq!(mode(&record.path(STATUS_FILE)), 0o600);
    assert_eq!(record.created().unwrap(), timestamp(created()));
    // Read back, it is the same admitted pod.
    assert_eq!(record.admitted().unwrap(), admitted());
    assert_eq!(record.events().unwrap(), Vec::<Value>::new());
    assert_eq!(record.containers().unwrap(), vec![]);
    assert_eq!(record.monitor_state().unwrap(), MonitorState::NotStarted);
}

#[test]
fn a_pod_has_one_record_and_records_are_listed_by_uid() {
    let (_dir, records, record) = new_record();
    assert!(matches!(
        records.create(&admitted(), created()),
        Err(RecordError::Exists { .. })
    ));
    assert_eq!(records.list().unwrap(), vec![record.clone()]);
    assert_eq!(records.open(record.uid()).unwrap(), record);
    assert!(matches!(
        records.open("nope"),
        Err(RecordError::NotFound { .. })
    ));
    assert!(matches!(
        records.open("../x"),
        Err(RecordError::NotFound { .. })
    ));
    // A half-made directory (no pod.json) is not a record.
    fs::create_dir(records.dir().join("half-made")).unwrap();
    assert_eq!(records.list().unwrap().len(), 1);
    record.remove().unwrap();
    assert_eq!(records.list().unwrap(), vec![]);
}

#[test]
fn events_are_appended_one_json_object_per_line() {
    let (_dir, _records, record) = new_record();
    let observer = RecordObserver::new(
        record.clone(),
        EventSource {
            pod: "web".into(),
            namespace: "default".into(),
            uid: record.uid().into(),
            node: "node-1".into(),
        },
        timestamp(created()),
    );
    let event = PodEvent {
        event_type: "Normal",
        reason: "Started",
        message: "Started container app".into(),
        container: Some("app".into()),
        field_path: Some("spec.containers{app}".into()),
    };
    crate::Observer::event(&observer, created(), &event);
    crate::Observer::event(&observer, created(), &event);
    let text = fs::read_to_string(record.path(EVENTS_FILE)).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.ends_with('\n'));
    let events = record.events().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["reason"], "Started");
    assert_eq!(
        events[0]["involvedObject"]["fieldPath"],
        "spec.containers{app}"
    );
    assert_eq!(events[0]["source"]["host"], "node-1");
    // The same event again is the same Event, counted twice (the kubelet's
    // event correlator); another one is an Event of its own.
    assert_eq!(events[0]["metadata"]["name"], events[1]["metadata"]["name"]);
    assert_eq!(
        (&events[0]["count"], &events[1]["count"]),
        (&1.into(), &2.into())
    );
    let killing = PodEvent {
        reason: "Killing",
        message: "Stopping container app".into(),
        ..event.clone()
    };
    crate::Observer::event(&observer, created(), &killing);
    let events = record.events().unwrap();
    assert_ne!(events[2]["metadata"]["name"], events[0]["metadata"]["name"]);
    assert_eq!(events[2]["count"], 1);
    // A line cut short by a crash is skipped, the rest still read.
    fs::OpenOptions::new()
        .append(true)
        .open(record.path(EVENTS_FILE))
        .unwrap()
        .write_all(b"{\"kind\":\"Ev")
        .unwrap();
    assert_eq!(record.events().unwrap().len(), 3);
}

#[test]
fn the_status_keeps_the_records_creation_time() {
    let (_dir, _records, record) = new_record();
    let observer = RecordObserver::new(
        record.clone(),
        EventSource {
            pod: "web".into(),
            namespace: "default".into(),
            uid: record.uid().into(),
            node: "n".into(),
        },
        timestamp(created()),
    );
    let mut pod = record.pod_json().unwrap();
    pod["metadata"]["creationTimestamp"] = json!("2030-01-01T00:00:00Z");
    pod["status"] = json!({"phase": "Running"});
    crate::Observer::pod_changed(&observer, &pod);
    let status = record.status_json().unwrap();
    assert_eq!(
        status["metadata"]["creationTimestamp"],
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(record.phase().unwrap(), Some(PodPhase::Running));
    // Written through a temporary file and a rename: nothing else is left.
    let names: Vec<String> = fs::read_dir(record.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn container_instances_name_their_process_by_pid_and_start_time() {
    let (_dir, _records, record) = new_record();
    let observer = RecordObserver::new(
        record.clone(),
        EventSource {
            pod: "web".into(),
            namespace: "default".into(),
            uid: record.uid().into(),
            node: "n".into(),
        },
        timestamp(created()),
    );
    let me = std::process::id() as i32;
    crate::Observer::container_started(
        &observer,
        &crate::ContainerStarted {
            name: "app".into(),
            attempt: 2,
            pid: me,
            container_id: "minipod://u-app-2".into(),
            started_at: created(),
            log_path: "/var/log/pods/default_web_u/app/2.log".into(),
            cgroup: "minipod/burstable/podu/app".into(),
        },
    );
    let text = fs::read_to_string(record.path(CONTAINERS_DIR).join("app.json")).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value,
        json!({
            "name": "app",
            "attempt": 2,
            "pid": me,
            "pidStartTime": ProcessId::current().unwrap().start_time,
            "containerID": "minipod://u-app-2",
            "startedAt": "2023-11-14T22:13:20Z",
            "logPath": "/var/log/pods/default_web_u/app/2.log",
            "cgroup": "minipod/burstable/podu/app",
        })
    );
    let instance = record.container("app").unwrap().unwrap();
    assert!(instance.process().is_alive());
    assert_eq!(record.containers().unwrap(), vec![instance]);
    assert_eq!(record.container("side").unwrap(), None);
    assert_eq!(record.container("../app").unwrap(), None);
}

#[test]
fn the_monitor_is_known_by_pid_and_start_time() {
    let (_dir, _records, record) = new_record();
    let me = ProcessId::current().unwrap();
    write_json_atomically(
        &record.path(MONITOR_FILE),
        &serde_json::to_value(me).unwrap(),
    )
    .unwrap();
    let text = fs::read_to_string(record.path(MONITOR_FILE)).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"pid": me.pid, "startTime": me.start_time})
    );
    assert_eq!(record.monitor_state().unwrap(), MonitorState::Running(me));
    // A record whose monitor runs is not removed.
    assert!(matches!(
        record.clone().remove(),
        Err(RecordError::MonitorRunning { .. })
    ));
    // The same pid with another start time is another process.
    let recycled = ProcessId {
        start_time: me.start_time + 1,
        ..me
    };
    write_json_atomically(
        &record.path(MONITOR_FILE),
        &serde_json::to_value(recycled).unwrap(),
    )
    .unwrap();
    assert_eq!(
        record.monitor_state().unwrap(),
        MonitorState::Gone(recycled)
    );
    assert!(matches!(
        record.stop(None),
        Err(RecordError::MonitorGone { .. })
    ));
}

#[test]
fn a_failed_record_says_why_in_its_status_and_a_warning_event() {
    let (_dir, _records, record) = new_record();
    let mut pod = record.status_json().unwrap();
    pod["status"] = json!({
        "phase": "Running",
        "containerStatuses": [{
            "name": "app", "ready": true, "restartCount": 0, "image": "busybox", "imageID": "",
            "started": true, "state": {"running": {"startedAt": "2023-11-14T22:13:21Z"}},
            "lastState": {},
        }],
        "initContainerStatuses": [{
            "name": "side", "ready": true, "restartCount": 0, "image": "busybox", "imageID": "",
            "started": true, "state": {"running": {"startedAt": "2023-11-14T22:13:20Z"}},
            "lastState": {},
        }],
    });
    write_json_atomically(&record.path(STATUS_FILE), &pod).unwrap();
    assert!(
        record
            .mark_failed(MONITOR_LOST, "it died", "node-1")
            .unwrap()
    );
    let status = record.status().unwrap();
    assert_eq!(status.phase, Some(PodPhase::Failed));
    assert_eq!(status.reason.as_deref(), Some(MONITOR_LOST));
    assert_eq!(status.message.as_deref(), Some("it died"));
    for s in status
        .init_container_statuses
        .iter()
        .chain(&status.container_statuses)
    {
        let t = s.state.terminated.as_ref().unwrap();
        assert_eq!(
            (t.exit_code, t.reason.as_deref()),
            (137, Some(CONTAINER_STATUS_UNKNOWN))
        );
    }
    let events = record.events().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "Warning");
    assert_eq!(events[0]["reason"], MONITOR_LOST);
    assert_eq!(events[0]["message"], "it died");
    // Once terminal, it stays as it is.
    assert!(!record.mark_failed(MONITOR_LOST, "again", "node-1").unwrap());
    assert_eq!(record.events().unwrap().len(), 1);
}

#[test]
fn commands_reach_the_monitor_through_its_socket() {
    // A path too long for `sun_path` (108 bytes): reached through /proc/self/fd.
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("d".repeat(80));
    let record = Records::new(&deep).create(&admitted(), created()).unwrap();
    assert!(record.path(SOCKET_FILE).as_os_str().len() > 108);
    let me = ProcessId::current().unwrap();
    write_json_atomically(
        &record.path(MONITOR_FILE),
        &serde_json::to_value(me).unwrap(),
    )
    .unwrap();
    struct Quiet;
    impl crate::Observer for Quiet {
        fn event(&self, _: SystemTime, _: &PodEvent) {}
        fn output(&self, _: &str, _: crate::Stream, _: &[u8]) {}
        fn pod_changed(&self, _: &Value) {}
    }
    let pod = admitted();
    let plan = minipod_plan::plan(
        &pod,
        &minipod_plan::NodeFacts {
            memory_capacity_bytes: 1 << 30,
        },
    );
    let monitor = crate::Monitor::new(
        pod,
        plan,
        NodeConfig::new("/bin/true", "n"),
        Default::default(),
        Arc::new(Quiet),
    );
    let listener = server::bind(&record).unwrap();
    assert_eq!(mode(&record.path(SOCKET_FILE)), 0o600);
    let controller = monitor.controller();
    let served = record.clone();
    std::thread::spawn(move || server::serve(listener, controller, served));
    record.stop(Some(5)).unwrap();
    record.kill().unwrap();
    // Once the monitor is gone, its loop no longer takes commands.
    drop(monitor);
    assert!(matches!(
        record.stop(None),
        Err(RecordError::Refused { .. })
    ));
}
