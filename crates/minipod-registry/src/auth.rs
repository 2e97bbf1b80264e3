//! Registry credentials in Docker's `config.json` format: what a
//! `kubernetes.io/dockerconfigjson` Secret holds (`.dockerconfigjson`), what
//! `docker login` writes, and the node's auth file.
//!
//! ```json
//! {"auths": {"127.0.0.1:5000": {"auth": "<base64 of user:password>"},
//!            "https://index.docker.io/v1/": {"username": "u", "password": "p"}}}
//! ```
//!
//! Matching follows the kubelet's keyring (`pkg/credentialprovider/keyring.go`):
//! a key is a registry host (with its port, if any) and optionally a path
//! prefix; it matches an image whose registry is that host and whose
//! repository lies under the path. Longer, more specific keys come first.
//! Docker Hub's keys (`https://index.docker.io/v1/`, `index.docker.io`,
//! `docker.io`) all stand for `docker.io`. The older `.dockercfg` format
//! (the entries without the `auths` wrapper) is read too.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use serde::Deserialize;

/// One registry login.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic {
        username: String,
        password: String,
    },
    /// An identity token (from a credential helper): sent as the password
    /// of the token request, as Docker does.
    IdentityToken(String),
}

impl Credentials {
    /// The user name and password sent for it (basic auth, or to a token
    /// server): Docker sends an identity token as the password of the
    /// user `<token>`.
    pub fn basic(&self) -> (&str, &str) {
        match self {
            Credentials::Basic { username, password } => (username, password),
            Credentials::IdentityToken(token) => ("<token>", token),
        }
    }
}

impl std::fmt::Debug for Credentials {
    // Never print a password or a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credentials::IdentityToken(_) => write!(f, "IdentityToken(***)"),
        }
    }
}

/// Why an auth file or secret cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct AuthError {
    /// The file or secret, for the message.
    pub source_name: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

/// The logins of one Docker config, by the registry (and path) they are for.
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    /// `(host, path prefix, credentials)`.
    entries: Vec<(String, String, Credentials)>,
}

impl DockerConfig {
    /// Parses a Docker config (`{"auths": {...}}`, or the older format
    /// without `auths`). `source_name` names it in errors (a file, or
    /// `secret default/regcred`).
    pub fn parse(bytes: &[u8], source_name: &str) -> Result<DockerConfig, AuthError> {
        let error = |message: String| AuthError {
            source_name: source_name.to_owned(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| error(format!("not JSON: {e}")))?;
        let auths = match value.get("auths") {
            Some(auths) => auths.clone(),
            None => value,
        };
        let map: BTreeMap<String, Entry> = serde_json::from_value(auths)
            .map_err(|e| error(format!("not a Docker config (auths by registry): {e}")))?;
        let mut entries = Vec::new();
        for (key, entry) in map {
            let credentials = entry.credentials().map_err(|problem| {
                let problem = minipod_spec::error_chain(&problem);
                error(format!("auths[{key:?}]: {problem}"))
            })?;
            let Some(credentials) = credentials else {
                continue;
            };
            let (host, path) = parse_key(&key);
            entries.push((host, path, credentials));
        }
        // The most specific first: a longer path prefix, then the key itself.
        entries.sort_by(|a, b| (b.1.len(), &b.0, &b.1).cmp(&(a.1.len(), &a.0, &a.1)));
        Ok(DockerConfig { entries })
    }

    /// Reads the Docker config at `path`; `None` if there is no such file.
    pub fn load(path: &Path) -> Result<Option<DockerConfig>, AuthError> {
        match std::fs::read(path) {
            Ok(bytes) => DockerConfig::parse(&bytes, &path.display().to_string()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AuthError {
                source_name: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// The logins for `repository` on `registry`, most specific first.
    pub fn lookup(&self, registry: &str, repository: &str) -> Vec<&Credentials> {
        let registry = canonical_host(registry);
        self.entries
            .iter()
            .filter(|(host, path, _)| {
                *host == registry
                    && (path.is_empty()
                        || repository == path
                        || repository.starts_with(&format!("{path}/")))
            })
            .map(|(_, _, c)| c)
            .collect()
    }
}

/// Why an entry of `auths` gives no login.
#[derive(Debug, thiserror::Error)]
enum EntryProblem {
    #[error("auth is not base64")]
    NotBase64(#[source] base64::DecodeError),
    #[error("auth is not UTF-8 text")]
    NotUtf8,
    #[error("auth is not base64 of username:password")]
    NoSeparator,
}

impl Entry {
    fn credentials(&self) -> Result<Option<Credentials>, EntryProblem> {
        if let Some(token) = self.identity_token.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials::IdentityToken(token.clone())));
        }
        if let Some(auth) = self.auth.as_ref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(EntryProblem::NotBase64)?;
            let text = String::from_utf8(decoded).map_err(|_| EntryProblem::NotUtf8)?;
            let (username, password) = text.split_once(':').ok_or(EntryProblem::NoSeparator)?;
            return Ok(Some(Credentials::Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            }));
        }
        match (&self.username, &self.password) {
            (Some(username), Some(password)) if !username.is_empty() => {
                Ok(Some(Credentials::Basic {
                    username: username.clone(),
                    password: password.clone(),
                }))
            }
            _ => Ok(None),
        }
    }
}

/// `https://index.docker.io/v1/` → (`docker.io`, ``);
/// `registry.example:5000/team` → (`registry.example:5000`, `team`).
fn parse_key(key: &str) -> (String, String) {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.trim_matches('/');
    // Docker's own API version suffixes are not repository paths.
    let path = match path {
        "v1" | "v2" => "",
        other => other,
    };
    (canonical_host(host), path.to_owned())
}

/// Docker Hub's several names are one.
fn canonical_host(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_owned(),
        other => other.to_owned(),
    }
}

/// Where a pull's credentials come from, in the order they are tried: the
/// pod's `imagePullSecrets` (in the pod's order), then the node's file.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub sources: Vec<DockerConfig>,
}

impl AuthConfig {
    /// Every login that matches, in order, without repeats.
    pub fn candidates(&self, registry: &str, repository: &str) -> Vec<Credentials> {
        let mut out: Vec<Credentials> = Vec::new();
        for source in &self.sources {
            for c in source.lookup(registry, repository) {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(u: &str, p: &str) -> Credentials {
        Credentials::Basic {
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn auths_match_by_registry_and_path_most_specific_first() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let json = format!(
            r#"{{"auths": {{
                "https://index.docker.io/v1/": {{"auth": "{}"}},
                "127.0.0.1:5000": {{"username": "any", "password": "x"}},
                "127.0.0.1:5000/team": {{"auth": "{}"}},
                "http://other.example": {{"identitytoken": "tok"}},
                "empty.example": {{}}
            }}}}"#,
            b64("hub:secret"),
            b64("team:pw:with:colons")
        );
        let config = DockerConfig::parse(json.as_bytes(), "test").unwrap();
        assert_eq!(
            config.lookup("docker.io", "library/busybox"),
            [&basic("hub", "secret")]
        );
        assert_eq!(
            config.lookup("127.0.0.1:5000", "team/app"),
            [&basic("team", "pw:with:colons"), &basic("any", "x")]
        );
        assert_eq!(
            config.lookup("127.0.0.1:5000", "teamx/app"),
            [&basic("any", "x")]
        );
        assert!(config.lookup("127.0.0.1:5001", "team/app").is_empty());
        assert_eq!(
            config.lookup("other.example", "a"),
            [&Credentials::IdentityToken("tok".into())]
        );
        assert!(config.lookup("empty.example", "a").is_empty());
        assert_eq!(format!("{:?}", basic("u", "p")), "Basic(u, ***)");
    }

    #[test]
    fn the_older_dockercfg_format_and_bad_input() {
        let old = br#"{"127.0.0.1:5000": {"username": "u", "password": "p"}}"#;
        let config = DockerConfig::parse(old, "old").unwrap();
        assert_eq!(config.lookup("127.0.0.1:5000", "x"), [&basic("u", "p")]);

        let bad = DockerConfig::parse(
            br#"{"auths": {"r": {"auth": "%%%"}}}"#,
            "secret default/regcred",
        )
        .unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("secret default/regcred: auths[\"r\"]: auth is not base64"),
            "{bad}"
        );
        assert!(DockerConfig::parse(b"[", "f").is_err());
    }

    #[test]
    fn sources_are_tried_in_order_without_repeats() {
        let a = DockerConfig::parse(
            br#"{"auths": {"r": {"username": "a", "password": "1"}}}"#,
            "a",
        )
        .unwrap();
        let b = DockerConfig::parse(
            br#"{"auths": {"r": {"username": "b", "password": "2"}, "r/x": {"username": "a", "password": "1"}}}"#,
            "b",
        )
        .unwrap();
        let auth = AuthConfig {
            sources: vec![a, b],
        };
        assert_eq!(
            auth.candidates("r", "x/y"),
            [basic("a", "1"), basic("b", "2")]
        );
    }
}
