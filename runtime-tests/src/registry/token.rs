//! A token server for a test registry with token auth (distribution's
//! `auth: token`): the "realm" a client is sent to by the registry's
//! `401` with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`.
//!
//! It is a thread with a `TcpListener` on `127.0.0.1:<free port>` that
//! answers `GET /token?service=S&scope=repository:REPO:ACTIONS` (any
//! number of `scope`s, or none) with HTTP/1.1, one request per
//! connection, one connection at a time:
//! - with the right Basic credentials: `200` and
//!   `{"token": JWT, "access_token": JWT, "expires_in": 300, "issued_at": RFC 3339}`;
//! - with wrong or missing ones: `401` (`WWW-Authenticate: Basic`).
//!
//! The JWT is what distribution 2.8 verifies (`registry/auth/token`):
//! header `{"typ":"JWT","alg":"ES256","x5c":[base64 DER]}`, where the one
//! certificate is self-signed and is the registry's `rootcertbundle`
//! (the registry takes an `x5c` chain that verifies against that bundle;
//! no `kid` is needed); claims `iss` (the registry's `issuer`), `sub` (the
//! user), `aud` (the registry's `service`: one string, as 2.8 wants),
//! `exp`, `nbf`, `iat`, `jti` and `access`, which grants `pull` and
//! `push` on each repository scope asked for. The signature is ECDSA P-256
//! SHA-256 in JOSE's fixed `r || s` form. The key and the certificate are
//! made afresh for each server (`rcgen`), signed with `ring`.
//!
//! Each request is recorded ([`TokenServer::requests`]), so a test can
//! tell that a client went through the token dance. The thread stops, and
//! is joined, when the server drops.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};

/// How long a token is good for, in seconds (`expires_in`).
pub const TOKEN_LIFETIME: u64 = 300;

/// One request the token server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The user of the request's Basic credentials, if it had any.
    pub user: Option<String>,
    /// The `scope` parameters, decoded (`repository:busybox:pull`).
    pub scopes: Vec<String>,
    /// The `service` parameter.
    pub service: Option<String>,
    /// The status answered: 200, or 401 for wrong or missing credentials.
    pub status: u16,
}

/// What the serving thread needs.
struct Signer {
    user: String,
    password: String,
    issuer: String,
    service: String,
    key: EcdsaKeyPair,
    /// The certificate's DER, base64 (standard, padded): the `x5c` entry.
    x5c: String,
    rng: SystemRandom,
}

/// A token server on loopback. See the module's documentation.
pub struct TokenServer {
    address: String,
    root_pem: String,
    signer: Arc<Signer>,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TokenServer {
    // Never print the password or the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenServer")
            .field("address", &self.address)
            .field("user", &self.signer.user)
            .field("issuer", &self.signer.issuer)
            .field("service", &self.signer.service)
            .finish_non_exhaustive()
    }
}

impl TokenServer {
    /// Starts a token server for the one user `user`/`password`, whose
    /// tokens name `issuer` and `service` (the registry's settings).
    pub fn start(user: &str, password: &str, issuer: &str, service: &str) -> TokenServer {
        let key_pair = rcgen::KeyPair::generate().expect("a P-256 key");
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).expect("certificate params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "minipod test token signer");
        let cert = params.self_signed(&key_pair).expect("a self-signed cert");
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &key_pair.serialize_der(),
            &rng,
        )
        .expect("rcgen's PKCS#8 key for ring");
        let signer = Arc::new(Signer {
            user: user.to_owned(),
            password: password.to_owned(),
            issuer: issuer.to_owned(),
            service: service.to_owned(),
            key,
            x5c: STANDARD.encode(cert.der()),
            rng,
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the token server");
        let address = listener.local_addr().expect("local addr").to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (signer, requests, stop) = (
                Arc::clone(&signer),
                Arc::clone(&requests),
                Arc::clone(&stop),
            );
            std::thread::Builder::new()
                .name("token-server".into())
                .spawn(move || serve(&listener, &signer, &requests, &stop))
                .expect("spawn the token server")
        };
        TokenServer {
            address,
            root_pem: cert.pem(),
            signer,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// "127.0.0.1:PORT"
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The registry's `realm`: `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.address)
    }

    /// The signing certificate, PEM: the registry's `rootcertbundle`.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The requests answered so far, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the thread's accept(); it sees the flag and returns.
        let _ = TcpStream::connect(&self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: &TcpListener,
    signer: &Signer,
    requests: &Mutex<Vec<TokenRequest>>,
    stop: &AtomicBool,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else { continue };
        // A client that connects and says nothing holds no one up for long.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let Some(head) = read_head(&mut stream) else {
            continue;
        };
        let (status, headers, body) = answer(&head, signer, requests);
        let mut response = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            reason(status),
            body.len()
        );
        for (name, value) in headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&body);
        let _ = stream.write_all(response.as_bytes());
        let _ = stream.flush();
    }
}

/// The request line and headers (a GET has no body).
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "",
    }
}

/// The status, extra headers and JSON body for one request.
fn answer(
    head: &str,
    signer: &Signer,
    requests: &Mutex<Vec<TokenRequest>>,
) -> (u16, Vec<(&'static str, String)>, String) {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
    );
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/token" {
        return (404, Vec::new(), error_body("NOT_FOUND", "no such path"));
    }
    if method != "GET" {
        return (
            405,
            vec![("Allow", "GET".into())],
            error_body("UNSUPPORTED", "GET only"),
        );
    }
    let basic = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| {
            let (scheme, credentials) = value.trim().split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return None;
            }
            let decoded = STANDARD.decode(credentials.trim()).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (user, password) = text.split_once(':')?;
            Some((user.to_owned(), password.to_owned()))
        });
    let mut scopes = Vec::new();
    let mut service = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match name {
            // One parameter may hold several scopes, separated by spaces.
            "scope" => scopes.extend(value.split(' ').filter(|s| !s.is_empty()).map(String::from)),
            "service" => service = Some(value),
            _ => {}
        }
    }
    let accepted = basic
        .as_ref()
        .is_some_and(|(u, p)| *u == signer.user && *p == signer.password);
    let status = if accepted { 200 } else { 401 };
    requests.lock().expect("requests lock").push(TokenRequest {
        user: basic.map(|(u, _)| u),
        scopes: scopes.clone(),
        service,
        status,
    });
    if !accepted {
        return (
            401,
            vec![(
                "WWW-Authenticate",
                "Basic realm=\"minipod-test-token\"".into(),
            )],
            error_body("UNAUTHORIZED", "wrong or missing credentials"),
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let token = signer.token(&scopes, now);
    let body = json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_LIFETIME,
        "issued_at": rfc3339(now),
    });
    (200, Vec::new(), body.to_string())
}

fn error_body(code: &str, message: &str) -> String {
    json!({"errors": [{"code": code, "message": message}]}).to_string()
}

impl Signer {
    /// A signed JWT granting pull and push on each repository scope.
    fn token(&self, scopes: &[String], now: u64) -> String {
        let access: Vec<Value> = scopes
            .iter()
            .filter_map(|scope| {
                // repository:NAME:ACTIONS (NAME has no ':'; a registry
                // plugin's `repository(plugin):NAME` type is not granted).
                let (kind, rest) = scope.split_once(':')?;
                let (name, _actions) = rest.rsplit_once(':')?;
                (kind == "repository").then(
                    || json!({"type": "repository", "name": name, "actions": ["pull", "push"]}),
                )
            })
            .collect();
        let mut jti = [0u8; 16];
        self.rng.fill(&mut jti).expect("random bytes");
        let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [self.x5c]});
        let claims = json!({
            "iss": self.issuer,
            "sub": self.user,
            "aud": self.service,
            "exp": now + TOKEN_LIFETIME,
            "nbf": now,
            "iat": now,
            "jti": hex::encode(jti),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .expect("ECDSA signing");
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        )
    }
}

/// `%XX` and `+` (a space) of a query value.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Seconds since the epoch as RFC 3339 UTC (`2024-05-01T12:00:00Z`):
/// what Docker's clients parse `issued_at` as.
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), by
    // 400-year eras of 146097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_query_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_714_564_800), "2024-05-01T12:00:00Z");
        assert_eq!(
            percent_decode("repository%3Ateam%2Fapp%3Apull%2Cpush+x"),
            "repository:team/app:pull,push x"
        );
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn tokens_are_es256_jwts_with_the_scopes_asked_for() {
        let server = TokenServer::start("alice", "pw", "issuer", "service");
        let token = server
            .signer
            .token(&["repository:team/app:pull".to_owned()], 1000);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |p: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
        };
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["x5c"][0], server.signer.x5c.as_str());
        let claims = decode(parts[1]);
        assert_eq!(claims["aud"], "service");
        assert_eq!(claims["exp"], 1300);
        assert_eq!(claims["access"][0]["name"], "team/app");
        // r || s, 32 bytes each.
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 64);
    }
}
