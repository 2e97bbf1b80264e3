//! The TCP listener's credentials: a self-signed CA, a server certificate for
//! `127.0.0.1`/`localhost` (and the listen address, when it is another one)
//! signed by it, and a bearer token; and the kubeconfig that hands them to
//! kubectl. The server certificate must name the listen address, or a client
//! checking it (kubectl does) could not connect; that is checked on start.
//!
//! [`Credentials::load_or_create`] makes them on first start and keeps them
//! in a directory (`ca.crt`, `ca.key`, `server.crt`, `server.key`, `token`;
//! keys and token mode 0600), so a kubeconfig printed once keeps working
//! across restarts. Deleting the directory rotates everything.

use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use ring::rand::SecureRandom;
use rustls::ServerConfig;
use rustls::client::verify_server_name;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ParsedCertificate;

const CA_CERT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const SERVER_CERT: &str = "server.crt";
const SERVER_KEY: &str = "server.key";
const TOKEN: &str = "token";

/// What the TCP listener serves with and what clients need to trust it.
#[derive(Clone)]
pub struct Credentials {
    /// The CA certificate (PEM): the kubeconfig's `certificate-authority-data`.
    pub ca_pem: String,
    /// The server certificate (PEM), signed by the CA.
    pub server_cert_pem: String,
    /// The server's private key (PKCS#8 PEM).
    pub server_key_pem: String,
    /// The bearer token clients must send over TCP.
    pub token: String,
    /// Where they are kept.
    pub dir: PathBuf,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("dir", &self.dir)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

fn other(why: impl std::fmt::Display) -> io::Error {
    io::Error::other(why.to_string())
}

/// Writes `contents` to `dir/name` atomically (a temporary file renamed),
/// with `mode`.
fn write_file(dir: &Path, name: &str, contents: &str, mode: u32) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, dir.join(name))
}

/// 32 random bytes as URL-safe base64, from the OS generator.
fn random_token() -> io::Result<String> {
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| other("the system random generator failed"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl Credentials {
    /// Reads the credentials kept in `dir`, or makes and keeps new ones when
    /// any file is missing (the directory is created with mode 0700). The
    /// server certificate must name `address`, the address clients connect
    /// to: a new one does; a kept one that does not is refused, with what to do.
    pub fn load_or_create(dir: &Path, address: IpAddr) -> io::Result<Self> {
        let creds = Self::load_or_generate(dir, address)?;
        creds.check_names(address)?;
        Ok(creds)
    }

    /// Checks that the server certificate is valid for `address`, as a
    /// client checks it (its subject alternative names).
    pub fn check_names(&self, address: IpAddr) -> io::Result<()> {
        let file = self.dir.join(SERVER_CERT);
        let der = CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
            .next()
            .ok_or_else(|| other(format!("{}: no certificate in it", file.display())))?
            .map_err(|e| other(format!("{}: not a PEM certificate: {e}", file.display())))?;
        let parsed = ParsedCertificate::try_from(&der)
            .map_err(|e| other(format!("{}: not a valid certificate: {e}", file.display())))?;
        let name = ServerName::IpAddress(address.into());
        verify_server_name(&parsed, &name).map_err(|_| {
            other(format!(
                "{} does not name {address}, the API's listen address, so no client could trust it: \
                 remove {} to make new credentials that name it, or put there a certificate for {address}",
                file.display(),
                self.dir.display()
            ))
        })
    }

    fn load_or_generate(dir: &Path, address: IpAddr) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        let read = |name: &str| fs::read_to_string(dir.join(name));
        if let (Ok(ca_pem), Ok(server_cert_pem), Ok(server_key_pem), Ok(token)) = (
            read(CA_CERT),
            read(SERVER_CERT),
            read(SERVER_KEY),
            read(TOKEN),
        ) {
            let token = token.trim().to_owned();
            if !token.is_empty() {
                return Ok(Credentials {
                    ca_pem,
                    server_cert_pem,
                    server_key_pem,
                    token,
                    dir: dir.to_owned(),
                });
            }
        }
        let creds = Self::generate(dir, address)?;
        write_file(dir, CA_CERT, &creds.ca_pem, 0o644)?;
        write_file(dir, SERVER_CERT, &creds.server_cert_pem, 0o644)?;
        write_file(dir, SERVER_KEY, &creds.server_key_pem, 0o600)?;
        write_file(dir, TOKEN, &format!("{}\n", creds.token), 0o600)?;
        Ok(creds)
    }

    /// New credentials (the CA key is written to `dir` as it is made), the
    /// server certificate naming loopback and `address`.
    fn generate(dir: &Path, address: IpAddr) -> io::Result<Self> {
        let ca_key = KeyPair::generate().map_err(other)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "minipod-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(other)?;
        write_file(dir, CA_KEY, &ca_key.serialize_pem(), 0o600)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(other)?;
        let mut names = vec!["127.0.0.1".to_owned(), "localhost".into()];
        if !names.contains(&address.to_string()) {
            names.push(address.to_string());
        }
        let mut params = CertificateParams::new(names).map_err(other)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "minipod-apiserver");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = params.signed_by(&server_key, &issuer).map_err(other)?;
        Ok(Credentials {
            ca_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            token: random_token()?,
            dir: dir.to_owned(),
        })
    }

    /// The rustls server configuration (ring provider, HTTP/1.1 only: watch
    /// and log streams are chunked, exec is a websocket upgrade).
    pub fn server_config(&self) -> io::Result<Arc<ServerConfig>> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(other)?;
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes()).map_err(other)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(other)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(other)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A kubeconfig (YAML) for kubectl: cluster, user and context all named
/// `minipod`, the CA inline, the bearer token inline.
pub fn kubeconfig(server_url: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    // The values are plain (URL, base64, URL-safe base64); JSON strings are
    // valid YAML scalars, which keeps any odd character harmless.
    let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: minipod
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: minipod
  user:
    token: {token}
contexts:
- name: minipod
  context:
    cluster: minipod
    user: minipod
    namespace: default
current-context: minipod
preferences: {{}}
",
        server = q(server_url),
        ca = q(&ca),
        token = q(token),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_has_everything() {
        let k = kubeconfig("https://127.0.0.1:6443", "PEM", "tok");
        assert!(k.contains("server: \"https://127.0.0.1:6443\""));
        assert!(k.contains("certificate-authority-data: \"UEVN\""));
        assert!(k.contains("token: \"tok\""));
        assert!(k.contains("current-context: minipod"));
        assert!(k.contains("- name: minipod\n  context:"));
    }

    const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_server_certificate_must_name_the_listen_address() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pki");
        let other_address: IpAddr = "192.0.2.7".parse().unwrap();
        let loopback_only = Credentials::load_or_create(&path, LOOPBACK).expect("create");
        let error = Credentials::load_or_create(&path, other_address)
            .expect_err("the kept certificate names loopback only");
        assert!(
            error
                .to_string()
                .contains("server.crt does not name 192.0.2.7"),
            "{error}"
        );
        // New credentials name the address, and loopback still.
        fs::remove_dir_all(&path).unwrap();
        let named = Credentials::load_or_create(&path, other_address).expect("new");
        named.check_names(LOOPBACK).expect("loopback too");
        assert_ne!(named.server_cert_pem, loopback_only.server_cert_pem);
        // A certificate that is not one is named as such, not printed.
        fs::write(path.join(SERVER_CERT), "secret-looking garbage").unwrap();
        let error = Credentials::load_or_create(&path, LOOPBACK).expect_err("garbage");
        assert!(
            error.to_string().contains("no certificate in it"),
            "{error}"
        );
        assert!(!error.to_string().contains("garbage"), "{error}");
    }

    #[test]
    fn credentials_are_made_once_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pki");
        let first = Credentials::load_or_create(&path, LOOPBACK).expect("create");
        assert!(first.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(first.token.len() >= 40);
        for key in [SERVER_KEY, CA_KEY, TOKEN] {
            let mode = fs::metadata(path.join(key))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
        let second = Credentials::load_or_create(&path, LOOPBACK).expect("load");
        assert_eq!(first.ca_pem, second.ca_pem);
        assert_eq!(first.token, second.token);
        assert_eq!(first.server_key_pem, second.server_key_pem);
        first.server_config().expect("rustls accepts the pair");
    }
}
