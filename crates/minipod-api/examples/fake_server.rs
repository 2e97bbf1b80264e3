//! Serves the in-memory fake backend, to try kubectl against the API:
//!
//! ```sh
//! cargo run -p minipod-api --example fake_server -- /tmp/minipod-api
//! kubectl --kubeconfig /tmp/minipod-api/kubeconfig get pods
//! ```
//!
//! It listens on 127.0.0.1 (a free port) and on DIR/api.sock, keeps its
//! credentials in DIR/pki and writes DIR/kubeconfig. Ctrl-C stops it.

use std::sync::Arc;

use minipod_api::testing::FakeBackend;
use minipod_api::{ServerOptions, start};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/minipod-api".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let server = start(
        Arc::new(FakeBackend::new()),
        ServerOptions {
            unix_socket: Some(dir.join("api.sock")),
            tcp: Some(([127, 0, 0, 1], 0).into()),
            credentials_dir: dir.join("pki"),
            ..ServerOptions::default()
        },
    )
    .await?;
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig().unwrap_or_default())?;
    println!(
        "serving on {} and {}; kubectl --kubeconfig {}",
        server.url().unwrap_or_default(),
        dir.join("api.sock").display(),
        kubeconfig.display()
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
