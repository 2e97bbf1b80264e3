//! `minipod apply/get/delete` of Secrets, and `minipod plan` of a file that
//! holds one, against the real API server (`minipod-api`) with its fake
//! backend on a unix socket: the built binary, run as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: a failure should panic loudly

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use minipod_api::testing::FakeBackend;
use minipod_api::{RunningServer, ServerOptions, start};

const BIN: &str = env!("CARGO_BIN_EXE_minipod");

const MANIFEST: &str = "apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  imagePullSecrets: [{name: regcred}]
  containers: [{name: app, image: busybox:1.36, imagePullPolicy: Never}]
---
apiVersion: v1
kind: Secret
metadata: {name: regcred}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{\"auths\": {\"127.0.0.1:5000\": {\"auth\": \"dTpw\"}}}'
";

struct Server {
    runtime: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(async {
            start(
                Arc::new(FakeBackend::new()),
                ServerOptions {
                    unix_socket: Some(socket.clone()),
                    tcp: None,
                    credentials_dir: dir.path().join("pki"),
                    ..ServerOptions::default()
                },
            )
            .await
            .unwrap()
        });
        Server {
            runtime,
            server: Some(server),
            socket,
            dir,
        }
    }

    fn minipod(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(BIN)
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .unwrap();
        (
            output.status.code().expect("exited normally"),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

fn lines(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect())
        .collect()
}

#[test]
fn secrets_are_applied_before_pods_listed_and_deleted() {
    let server = Server::start();
    let manifest = server.file("web.yaml", MANIFEST);

    // The Secret first, though the file has it second.
    let (code, stdout, stderr) = server.minipod(&["apply", "-f", &manifest]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "secret/regcred created\npod/web created\n");

    // Again: nothing changes (stringData merges into the same data; kubectl
    // would say `configured` here, its patch always re-adds stringData).
    let (code, stdout, _) = server.minipod(&["apply", "-f", &manifest]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "secret/regcred unchanged\npod/web unchanged\n")
    );
    // The same Secret written as data.
    let data_only = server.file(
        "regcred.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: eyJhdXRocyI6IHsiMTI3LjAuMC4xOjUwMDAiOiB7ImF1dGgiOiAiZFRwdyJ9fX0=\n",
    );
    let (code, stdout, _) = server.minipod(&["apply", "-f", &data_only]);
    assert_eq!((code, stdout.as_str()), (0, "secret/regcred unchanged\n"));
    let changed = server.file(
        "changed.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: e30=\n",
    );
    let (code, stdout, _) = server.minipod(&["apply", "-f", &changed]);
    assert_eq!((code, stdout.as_str()), (0, "secret/regcred configured\n"));

    let (code, stdout, _) = server.minipod(&["get", "secrets"]);
    assert_eq!(code, 0);
    let table = lines(&stdout);
    assert_eq!(table[0], ["NAME", "TYPE", "DATA", "AGE"]);
    assert_eq!(
        table[1][..3],
        ["regcred", "kubernetes.io/dockerconfigjson", "1"]
    );
    let (_, stdout, _) = server.minipod(&["get", "secret", "regcred", "-o", "name"]);
    assert_eq!(stdout, "secret/regcred\n");
    let (_, stdout, _) = server.minipod(&["get", "secret", "regcred", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["data"][".dockerconfigjson"], "e30=");

    // Refused by the server, in kubectl's words.
    let bad = server.file(
        "bad.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: bad}\ntype: kubernetes.io/dockerconfigjson\n",
    );
    let (code, _, stderr) = server.minipod(&["apply", "-f", &bad]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        "Error from server (Invalid): Secret \"bad\" is invalid: data[.dockerconfigjson]: Required value"
    );

    let (code, stdout, _) = server.minipod(&["delete", "secret", "regcred"]);
    assert_eq!((code, stdout.as_str()), (0, "secret \"regcred\" deleted\n"));
    let (code, _, stderr) = server.minipod(&["delete", "secret/regcred"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("secrets \"regcred\" not found"), "{stderr}");

    // delete -f takes both kinds.
    let (code, _, _) = server.minipod(&["apply", "-f", &manifest]);
    assert_eq!(code, 0);
    let (code, stdout, stderr) = server.minipod(&["delete", "-f", &manifest, "--now"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "pod \"web\" deleted\nsecret \"regcred\" deleted\n");
    let (_, _, stderr) = server.minipod(&["get", "secrets"]);
    assert_eq!(stderr, "No resources found in default namespace.\n");
}

#[test]
fn plan_ignores_the_secrets_of_a_file_but_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("web.yaml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let plan = |file: &Path| {
        Command::new(BIN)
            .arg("plan")
            .arg("-f")
            .arg(file)
            .output()
            .unwrap()
    };
    let output = plan(&manifest);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("web"));

    std::fs::write(
        &manifest,
        MANIFEST.replace("stringData:", "stringData: {}\nx:"),
    )
    .unwrap();
    let output = plan(&manifest);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown field \"x\""), "{stderr}");
}
