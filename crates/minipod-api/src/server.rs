//! The listeners: a unix socket (no auth, mode 0600) and a loopback TCP port
//! with TLS and a bearer token, both serving the same [`App`], each within
//! its own [`ServerLimits`](crate::limits).

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::backend::Backend;
use crate::handlers::{App, Transport};
use crate::limits::ServerLimits;
use crate::tls::{Credentials, kubeconfig};

/// Where to listen, and within which limits.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The unix socket to create (replacing a stale one), mode 0600. `None`: none.
    pub unix_socket: Option<PathBuf>,
    /// The TCP address (normally `127.0.0.1:PORT`; port 0 picks one). `None`: no TCP.
    pub tcp: Option<SocketAddr>,
    /// Allow `tcp` on an address other than loopback, where other hosts can
    /// reach it. Off by default: the bearer token then travels the network,
    /// and the server certificate must name that address.
    pub listen_beyond_loopback: bool,
    /// Where the CA, server certificate and token are kept (made on first start).
    /// Needed only with `tcp`.
    pub credentials_dir: PathBuf,
    /// Timeouts and caps, for each listener.
    pub limits: ServerLimits,
}

/// A started server. Dropping it does not stop it; call [`RunningServer::shutdown`].
#[derive(Debug)]
pub struct RunningServer {
    /// The bound TCP address (the real port when 0 was asked for).
    pub tcp_addr: Option<SocketAddr>,
    /// The unix socket's path.
    pub unix_socket: Option<PathBuf>,
    /// The TCP listener's credentials.
    pub credentials: Option<Credentials>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// `https://127.0.0.1:PORT` of the TCP listener.
    pub fn url(&self) -> Option<String> {
        self.tcp_addr.map(|a| format!("https://{a}"))
    }

    /// A kubeconfig for the TCP listener.
    pub fn kubeconfig(&self) -> Option<String> {
        let creds = self.credentials.as_ref()?;
        Some(kubeconfig(&self.url()?, &creds.ca_pem, &creds.token))
    }

    /// Stops accepting connections (open ones finish on their own) and
    /// removes the unix socket.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some(path) = &self.unix_socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Binds the listeners and serves `backend` on them until
/// [`RunningServer::shutdown`]. Must be called inside a tokio runtime.
pub async fn start<B: Backend>(
    backend: Arc<B>,
    options: ServerOptions,
) -> io::Result<RunningServer> {
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut tcp_addr = None;
    let mut credentials = None;

    options
        .limits
        .check()
        .map_err(|zero| io::Error::new(io::ErrorKind::InvalidInput, zero))?;
    if let Some(addr) = options.tcp {
        check_listen_address(addr.ip(), options.listen_beyond_loopback)?;
        let creds = Credentials::load_or_create(&options.credentials_dir, addr.ip())?;
        let acceptor = TlsAcceptor::from(creds.server_config()?);
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let app = Arc::new(App::new(
            backend.clone(),
            Transport::Tcp {
                token: creds.token.clone(),
            },
            bound.to_string(),
            options.limits.clone(),
        ));
        tasks.push(tokio::spawn(accept_tcp(
            listener,
            acceptor,
            app,
            stopped.clone(),
        )));
        tcp_addr = Some(bound);
        credentials = Some(creds);
    }

    if let Some(path) = &options.unix_socket {
        let listener = bind_unix(path)?;
        let app = Arc::new(App::new(
            backend.clone(),
            Transport::Unix,
            tcp_addr.map_or_else(|| "localhost".into(), |a| a.to_string()),
            options.limits.clone(),
        ));
        tasks.push(tokio::spawn(accept_unix(listener, app, stopped.clone())));
    }

    Ok(RunningServer {
        tcp_addr,
        unix_socket: options.unix_socket,
        credentials,
        stop,
        tasks,
    })
}

fn invalid_input(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.into())
}

/// Refuses a TCP address other hosts could reach unless `beyond_loopback`
/// says so, and every "any address" (`0.0.0.0`, `::`), which no certificate
/// can name. The kubelet's own API is reachable on the node's addresses, but
/// it checks client certificates; this API's single bearer token is meant
/// for one host (see docs/security/api.md).
pub fn check_listen_address(ip: IpAddr, beyond_loopback: bool) -> io::Result<()> {
    if ip.is_unspecified() {
        return Err(invalid_input(format!(
            "the API's listen address {ip} means every address, which the server certificate cannot name: give one address"
        )));
    }
    if !ip.is_loopback() && !beyond_loopback {
        return Err(invalid_input(format!(
            "the API's listen address {ip} is not a loopback address, so other hosts could reach the API: refused unless allowed explicitly (minipodd --listen-beyond-loopback)"
        )));
    }
    Ok(())
}

/// Binds the socket under a temporary name, makes it 0600, then renames it
/// into place, so it is never reachable with looser permissions.
fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::other("the socket path has no file name"))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    // Bind in a private directory-less way: the temporary name is ours alone.
    let listener = UnixListener::bind(&tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, path)?;
    Ok(listener)
}

async fn accept_tcp<B: Backend>(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Arc<App<B>>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        // Past the connection cap, wait here: new connections queue in the
        // kernel's listen backlog, costing this process nothing.
        let place = tokio::select! {
            p = app.counters().connection() => p,
            _ = stopped.changed() => return,
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopped.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _place = place; // held until the connection ends
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                .await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!("TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => return,
            };
            serve_connection(tls, app).await;
        });
    }
}

async fn accept_unix<B: Backend>(
    listener: UnixListener,
    app: Arc<App<B>>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let place = tokio::select! {
            p = app.counters().connection() => p,
            _ = stopped.changed() => return,
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopped.changed() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let app = app.clone();
                tokio::spawn(async move {
                    let _place = place; // held until the connection ends
                    serve_connection(stream, app).await;
                });
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One HTTP/1.1 connection (keep-alive, upgrades for exec).
async fn serve_connection<S, B>(stream: S, app: Arc<App<B>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: Backend,
{
    let header_read_timeout = app.counters().limits().header_read_timeout;
    let service = service_fn(move |req| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(req).await) }
    });
    let result = http1::Builder::new()
        .timer(TokioTimer::new())
        // Also how long a keep-alive connection may sit idle: hyper starts
        // this timer whenever it waits for a request's first byte.
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
    if let Err(e) = result {
        tracing::debug!("connection ended: {e}");
    }
}
