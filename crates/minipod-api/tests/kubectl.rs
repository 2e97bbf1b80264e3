//! The API server against the real `kubectl` (and a raw TLS client for the
//! requests kubectl never sends), with the in-memory fake backend.
//!
//! Skipped, with a message, when `kubectl` is not installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use minipod_api::testing::FakeBackend;
use minipod_api::{RunningServer, ServerOptions, start};
use rustls::pki_types::pem::PemObject;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const POD_YAML: &str = "apiVersion: v1
kind: Pod
metadata:
  name: bb
  labels:
    app: bb
spec:
  containers:
  - name: main
    image: busybox
    command: [\"sh\", \"-c\", \"echo hello; sleep 3600\"]
";

fn kubectl_installed() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.arg("30")
            .arg("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        cmd
    }

    /// Runs kubectl off the runtime's threads; returns (status ok, stdout, stderr).
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = self.command(args);
        let out: Output = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args).await;
        assert!(ok, "kubectl {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }
}

async fn start_server(dir: &Path) -> RunningServer {
    start(
        Arc::new(FakeBackend::new()),
        ServerOptions {
            unix_socket: Some(dir.join("api.sock")),
            tcp: Some(([127, 0, 0, 1], 0).into()),
            credentials_dir: dir.join("pki"),
            ..ServerOptions::default()
        },
    )
    .await
    .expect("server starts")
}

/// One raw HTTP/1.1 request over TLS; returns the status code and the body.
async fn raw_tls(
    server: &RunningServer,
    head: &str,
    body: Vec<u8>,
    content_length: Option<usize>,
) -> (u16, String) {
    let creds = server.credentials.as_ref().expect("tcp credentials");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(creds.ca_pem.as_bytes()) {
        roots.add(cert.expect("CA pem")).expect("CA added");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.tcp_addr.expect("addr"))
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let (mut reader, mut writer) = tokio::io::split(tls);
    let length = content_length.unwrap_or(body.len());
    let request = format!(
        "{head}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {length}\r\n\r\n"
    );
    // Written from a task: the server may answer (and close) before reading it all.
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(request.as_bytes()).await;
        let _ = writer.write_all(&body).await;
        let _ = writer.flush().await;
        writer
    });
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut response)).await;
    writing.abort();
    parse_response(&response)
}

fn parse_response(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

fn status_of(body: &str) -> Value {
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map_or(body.len(), |e| e + 1);
    serde_json::from_str(&body[start..end]).unwrap_or_else(|e| panic!("not a Status: {e}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_drives_the_api() {
    if !kubectl_installed() {
        eprintln!("SKIPPED: kubectl is not installed; the real-kubectl test did not run");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_server(dir.path()).await;
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig().expect("kubeconfig")).expect("write");
    let k = Kubectl {
        kubeconfig,
        cache: dir.path().join("cache"),
    };
    let manifest = dir.path().join("bb.yaml");
    std::fs::write(&manifest, POD_YAML).expect("write manifest");
    let manifest = manifest.to_str().expect("utf-8 path");

    // Discovery.
    let version = k.ok(&["version"]).await;
    assert!(
        version.contains("Server Version: v1.32.0-minipod"),
        "{version}"
    );
    let resources = k.ok(&["api-resources"]).await;
    assert!(
        resources.lines().any(
            |l| l.split_whitespace().collect::<Vec<_>>() == ["pods", "po", "v1", "true", "Pod"]
        ),
        "{resources}"
    );
    assert!(resources.contains("events"), "{resources}");

    // Create, then wait for Running.
    let created = k.ok(&["create", "-f", manifest]).await;
    assert_eq!(created.trim(), "pod/bb created");
    let mut table = String::new();
    for _ in 0..50 {
        table = k.ok(&["get", "pods"]).await;
        if table.contains("Running") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0], "NAME   READY   STATUS    RESTARTS   AGE",
        "{table}"
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&row[..4], ["bb", "1/1", "Running", "0"], "{table}");
    assert!(
        lines[1].starts_with("bb     1/1     Running   0          "),
        "kubectl's column layout: {table}"
    );
    let wide = k.ok(&["get", "pods", "-o", "wide"]).await;
    assert!(
        wide.starts_with("NAME   READY   STATUS    RESTARTS   AGE   IP          NODE        NOMINATED NODE   READINESS GATES"),
        "{wide}"
    );
    let selected = k
        .ok(&[
            "get",
            "pods",
            "-l",
            "app in (bb,x)",
            "--field-selector",
            "status.phase=Running",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(selected.trim(), "pod/bb");
    let none = k.ok(&["get", "pods", "-l", "app!=bb"]).await;
    assert!(none.trim().is_empty(), "{none}");

    let json: Value =
        serde_json::from_str(&k.ok(&["get", "pod", "bb", "-o", "json"]).await).expect("pod JSON");
    assert_eq!(json["kind"], "Pod");
    assert_eq!(json["metadata"]["name"], "bb");
    assert_eq!(json["status"]["phase"], "Running");

    // AlreadyExists and NotFound in kubectl's words.
    let (ok, _, stderr) = k.run(&["create", "-f", manifest]).await;
    assert!(!ok);
    assert!(
        stderr.contains("Error from server (AlreadyExists)")
            && stderr.contains("pods \"bb\" already exists"),
        "{stderr}"
    );
    let (ok, _, stderr) = k.run(&["get", "pod", "nope"]).await;
    assert!(!ok);
    assert!(
        stderr.contains("Error from server (NotFound): pods \"nope\" not found"),
        "{stderr}"
    );

    // A watch sees the label change as MODIFIED.
    let mut watch = k.command(&[
        "get",
        "pods",
        "-w",
        "--output-watch-events",
        "--request-timeout=3s",
    ]);
    let watching = tokio::task::spawn_blocking(move || watch.output());
    tokio::time::sleep(Duration::from_millis(800)).await;
    k.ok(&["label", "pod", "bb", "tier=front"]).await;
    let out = watching.await.expect("join").expect("watch ran");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(seen.contains("ADDED"), "{seen}");
    assert!(
        seen.lines()
            .any(|l| l.starts_with("MODIFIED") && l.contains("bb")),
        "{seen}"
    );

    // An image update is allowed, another spec change is refused with a 422.
    k.ok(&["set", "image", "pod/bb", "main=busybox:2"]).await;
    let image = k
        .ok(&[
            "get",
            "pod",
            "bb",
            "-o",
            "jsonpath={.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(image, "busybox:2");
    let (ok, _, stderr) = k
        .run(&[
            "patch",
            "pod",
            "bb",
            "-p",
            "{\"spec\":{\"restartPolicy\":\"Never\"}}",
        ])
        .await;
    assert!(!ok);
    assert!(
        stderr
            .contains("is invalid: spec: Forbidden: pod updates may not change fields other than"),
        "{stderr}"
    );

    // Logs and exec.
    let logs = k.ok(&["logs", "bb"]).await;
    assert_eq!(logs, "hello from minipod (main)\n");
    let exec = k.ok(&["exec", "bb", "--", "echo", "hi"]).await;
    assert_eq!(exec, "echo hi\n");
    // An unknown container: kubectl retries over SPDY when the websocket is
    // refused, and both answers name the container.
    let (ok, _, stderr) = k.run(&["exec", "bb", "-c", "nope", "--", "true"]).await;
    assert!(!ok);
    assert!(
        stderr.contains("container nope is not valid for pod bb"),
        "{stderr}"
    );

    // Events.
    let events = k
        .ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=bb",
        ])
        .await;
    assert!(
        events.starts_with("LAST SEEN   TYPE     REASON"),
        "{events}"
    );
    assert!(events.contains("Scheduled"), "{events}");

    // Validation errors come back as a 422 with the fields.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        POD_YAML
            .replace("name: bb\n", "name: bad\n")
            .replace("    image: busybox\n", ""),
    )
    .expect("write");
    let (ok, _, stderr) = k.run(&["create", "-f", bad.to_str().expect("utf-8")]).await;
    assert!(!ok);
    assert!(
        stderr.contains("The Pod \"bad\" is invalid: spec.containers[0].image: Required value"),
        "{stderr}"
    );

    // Delete (kubectl waits for the pod to be gone).
    let deleted = k.ok(&["delete", "pod", "bb", "--grace-period=1"]).await;
    assert_eq!(deleted.trim(), "pod \"bb\" deleted");
    let (ok, _, stderr) = k.run(&["get", "pod", "bb"]).await;
    assert!(!ok && stderr.contains("NotFound"), "{stderr}");

    // A wrong token.
    let wrong = dir.path().join("wrong-kubeconfig");
    let creds = server.credentials.as_ref().expect("creds");
    std::fs::write(
        &wrong,
        minipod_api::kubeconfig(&server.url().expect("url"), &creds.ca_pem, "wrong-token"),
    )
    .expect("write");
    let bad_token = Kubectl {
        kubeconfig: wrong,
        cache: dir.path().join("cache2"),
    };
    let (ok, _, stderr) = bad_token.run(&["get", "pods"]).await;
    assert!(!ok);
    assert!(
        stderr.contains("You must be logged in to the server"),
        "{stderr}"
    );

    server.shutdown().await;
}

const SECRET_YAML: &str = "apiVersion: v1
kind: Secret
metadata:
  name: plain
  labels:
    app: bb
data:
  user: dQ==
  password: cA==
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_manages_secrets() {
    if !kubectl_installed() {
        eprintln!("SKIPPED: kubectl is not installed; the real-kubectl test did not run");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_server(dir.path()).await;
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig().expect("kubeconfig")).expect("write");
    let k = Kubectl {
        kubeconfig,
        cache: dir.path().join("cache"),
    };

    let resources = k.ok(&["api-resources"]).await;
    assert!(
        resources.lines().any(
            |l| l.split_whitespace().collect::<Vec<_>>() == ["secrets", "v1", "true", "Secret"]
        ),
        "{resources}"
    );

    // kubectl's own docker-registry Secret.
    let created = k
        .ok(&[
            "create",
            "secret",
            "docker-registry",
            "regcred",
            "--docker-server=127.0.0.1:5000",
            "--docker-username=u",
            "--docker-password=p",
        ])
        .await;
    assert_eq!(created.trim(), "secret/regcred created");
    let (ok, _, stderr) = k
        .run(&[
            "create",
            "secret",
            "generic",
            "regcred",
            "--from-literal=a=b",
        ])
        .await;
    assert!(!ok);
    // kubectl's typed client words it so against a cluster too.
    assert_eq!(
        stderr.trim(),
        "error: failed to create secret secrets \"regcred\" already exists"
    );

    let json: Value =
        serde_json::from_str(&k.ok(&["get", "secret", "regcred", "-o", "json"]).await)
            .expect("json");
    assert_eq!(json["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(json["metadata"]["namespace"], "default");
    assert!(json["metadata"]["uid"].is_string());
    use base64::Engine;
    let config = base64::engine::general_purpose::STANDARD
        .decode(json["data"][".dockerconfigjson"].as_str().expect("data"))
        .expect("base64");
    let config: Value = serde_json::from_slice(&config).expect("docker config");
    assert_eq!(config["auths"]["127.0.0.1:5000"]["username"], "u");
    assert_eq!(config["auths"]["127.0.0.1:5000"]["auth"], "dTpw");

    // apply: created, unchanged, configured. (With `stringData` it would be
    // `configured` every time, on a cluster too: the live object never has it.)
    let manifest = dir.path().join("secret.yaml");
    std::fs::write(&manifest, SECRET_YAML).expect("write");
    let manifest = manifest.to_str().expect("utf-8 path");
    assert_eq!(
        k.ok(&["apply", "-f", manifest]).await.trim(),
        "secret/plain created"
    );
    assert_eq!(
        k.ok(&["apply", "-f", manifest]).await.trim(),
        "secret/plain unchanged"
    );
    std::fs::write(
        manifest,
        SECRET_YAML.replace("password: cA==", "password: cQ=="),
    )
    .expect("write");
    assert_eq!(
        k.ok(&["apply", "-f", manifest]).await.trim(),
        "secret/plain configured"
    );
    let password = k
        .ok(&["get", "secret", "plain", "-o", "jsonpath={.data.password}"])
        .await;
    assert_eq!(password, "cQ==");

    // The table, as kubectl prints a cluster's.
    let table = k.ok(&["get", "secrets"]).await;
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAME", "TYPE", "DATA", "AGE"], "{table}");
    assert_eq!(lines[1][..3], ["plain", "Opaque", "2"], "{table}");
    assert_eq!(
        lines[2][..3],
        ["regcred", "kubernetes.io/dockerconfigjson", "1"],
        "{table}"
    );
    let selected = k
        .ok(&["get", "secrets", "-l", "app=bb", "-o", "name"])
        .await;
    assert_eq!(selected.trim(), "secret/plain");
    let typed = k
        .ok(&[
            "get",
            "secrets",
            "--field-selector",
            "type=kubernetes.io/dockerconfigjson",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(typed.trim(), "secret/regcred");

    // Refusals in the API server's words.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: bad}\ntype: kubernetes.io/dockerconfigjson\ndata: {x: e30=}\n",
    )
    .expect("write");
    let (ok, _, stderr) = k.run(&["create", "-f", bad.to_str().expect("utf-8")]).await;
    assert!(!ok);
    assert!(
        stderr.contains("The Secret \"bad\" is invalid: data[.dockerconfigjson]: Required value"),
        "{stderr}"
    );
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: bad}\nspec: {}\n",
    )
    .expect("write");
    let (ok, _, stderr) = k.run(&["create", "-f", bad.to_str().expect("utf-8")]).await;
    assert!(!ok);
    assert!(stderr.contains("unknown field \"spec\""), "{stderr}");

    // Delete: gone, and a second delete is a 404.
    assert_eq!(
        k.ok(&["delete", "secret", "regcred"]).await.trim(),
        "secret \"regcred\" deleted"
    );
    let (ok, _, stderr) = k.run(&["delete", "secret", "regcred"]).await;
    assert!(!ok);
    assert!(stderr.contains("secrets \"regcred\" not found"), "{stderr}");
    let names = k.ok(&["get", "secrets", "-o", "name"]).await;
    assert_eq!(names.trim(), "secret/plain");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_status_errors_and_the_server_stays_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_server(dir.path()).await;
    let token = server.credentials.as_ref().expect("creds").token.clone();
    let auth = format!("Authorization: Bearer {token}");

    // No token, then a wrong one.
    let (code, body) = raw_tls(&server, "GET /api/v1/pods HTTP/1.1", vec![], None).await;
    assert_eq!(code, 401, "{body}");
    assert_eq!(status_of(&body)["reason"], "Unauthorized");
    let (code, _) = raw_tls(
        &server,
        "GET /version HTTP/1.1\r\nAuthorization: Bearer nope",
        vec![],
        None,
    )
    .await;
    assert_eq!(code, 401);

    let cases: Vec<(String, Vec<u8>, u16, &str)> = vec![
        (
            format!("POST /api/v1/namespaces/default/pods HTTP/1.1\r\n{auth}\r\nContent-Type: application/json"),
            b"{\"apiVersion\": \"v1\", \"kind\": ".to_vec(),
            400,
            "BadRequest",
        ),
        (
            format!("GET /api/v1/nothing/here HTTP/1.1\r\n{auth}"),
            vec![],
            404,
            "NotFound",
        ),
        (
            format!("PUT /api/v1/namespaces/default/pods HTTP/1.1\r\n{auth}\r\nContent-Type: application/json"),
            b"{}".to_vec(),
            405,
            "MethodNotAllowed",
        ),
        (
            format!("POST /api/v1/namespaces/default/pods HTTP/1.1\r\n{auth}\r\nContent-Type: text/plain"),
            b"hello".to_vec(),
            415,
            "UnsupportedMediaType",
        ),
        (
            format!("POST /api/v1/namespaces/default/pods HTTP/1.1\r\n{auth}\r\nContent-Type: application/json"),
            br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"c"}]}}"#.to_vec(),
            422,
            "Invalid",
        ),
        (
            format!("POST /api/v1/namespaces/default/pods HTTP/1.1\r\n{auth}\r\nContent-Type: application/json"),
            br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containerz":[]}}"#.to_vec(),
            400,
            "BadRequest",
        ),
        (
            format!("GET /api/v1/pods?labelSelector=a%20in%20(b HTTP/1.1\r\n{auth}"),
            vec![],
            400,
            "BadRequest",
        ),
        (
            format!("GET /api/v1/namespaces/default/pods/ghost HTTP/1.1\r\n{auth}"),
            vec![],
            404,
            "NotFound",
        ),
    ];
    for (head, body, want, reason) in cases {
        let (code, text) = raw_tls(&server, &head, body, None).await;
        assert_eq!(code, want, "{head}: {text}");
        let status = status_of(&text);
        assert_eq!(status["kind"], "Status", "{text}");
        assert_eq!(status["reason"], reason, "{text}");
        assert_eq!(status["code"], want, "{text}");
        if want == 422 {
            assert_eq!(
                status["details"]["causes"][0]["field"], "spec.containers[0].image",
                "{text}"
            );
        }
    }

    // A huge body: announced by Content-Length, and actually sent.
    let head = format!(
        "POST /api/v1/namespaces/default/pods HTTP/1.1\r\n{auth}\r\nContent-Type: application/json"
    );
    let (code, text) = raw_tls(&server, &head, b"{".to_vec(), Some(4 << 20)).await;
    assert_eq!(code, 413, "{text}");
    let mut huge = b"{\"x\": \"".to_vec();
    huge.resize(4 << 20, b'a');
    let (code, text) = raw_tls(&server, &head, huge, None).await;
    assert_eq!(code, 413, "{text}");
    assert_eq!(status_of(&text)["reason"], "RequestEntityTooLarge");

    // Still serving, over TLS and over the unix socket (no token there).
    let (code, text) = raw_tls(
        &server,
        &format!("GET /version HTTP/1.1\r\n{auth}"),
        vec![],
        None,
    )
    .await;
    assert_eq!(code, 200, "{text}");
    let socket = server.unix_socket.clone().expect("socket");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&socket)
            .expect("socket exists")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let mut unix = tokio::net::UnixStream::connect(&socket)
        .await
        .expect("unix connect");
    unix.write_all(
        b"GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("write");
    let mut response = Vec::new();
    unix.read_to_end(&mut response).await.expect("read");
    let (code, text) = parse_response(&response);
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("\"kind\":\"PodList\""), "{text}");

    server.shutdown().await;
    assert!(!socket.exists(), "the socket is removed on shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = start_server(dir.path()).await;
    let token = first.credentials.as_ref().expect("creds").token.clone();
    let ca = first.credentials.as_ref().expect("creds").ca_pem.clone();
    first.shutdown().await;
    let second = start_server(dir.path()).await;
    assert_eq!(second.credentials.as_ref().expect("creds").token, token);
    assert_eq!(second.credentials.as_ref().expect("creds").ca_pem, ca);
    let (code, _) = raw_tls(
        &second,
        &format!("GET /api HTTP/1.1\r\nAuthorization: Bearer {token}"),
        vec![],
        None,
    )
    .await;
    assert_eq!(code, 200);
    second.shutdown().await;
}
