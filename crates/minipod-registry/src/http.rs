//! The registry's HTTP side, every answer bounded (see [`crate::limits`]):
//! the auth probe and token (`GET /v2/`, then the realm), manifests, blobs.
//!
//! Written on reqwest directly rather than through `oci-client`, whose
//! calls read manifests and token answers whole, with no size limit, and
//! follow any token realm (docs/decisions/0012-registry-limits.md).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use sha2::Digest as _;

use crate::auth::Credentials;
use crate::challenge::{self, Challenge};
use crate::error::{PullError, io};
use crate::limits::{ERROR_BODY_LIMIT, ProgressWindow, TOKEN_LIMIT};
use crate::options::PullOptions;
use crate::target::Target;

/// How many redirects a request may follow (reqwest's default too).
const MAX_REDIRECTS: usize = 10;

/// What requests carry to prove who is asking.
#[derive(Clone)]
enum Authorization {
    Basic(String, String),
    Bearer(String),
}

/// One login's conversation with one registry.
pub(crate) struct Session {
    http: reqwest::Client,
    /// `http://127.0.0.1:5000` or `https://index.docker.io`.
    base: String,
    /// The registry as named, and the image, for messages.
    registry: String,
    shown: String,
    repository: String,
    authorization: Option<Authorization>,
    progress_timeout: Duration,
}

impl Session {
    /// Connects as `login` (`None`: anonymous): probes `/v2/` and, if the
    /// registry asks for a token, fetches one for pulling the repository.
    pub async fn open(
        target: &Target,
        options: &PullOptions,
        login: Option<&Credentials>,
    ) -> Result<Session, PullError> {
        let scheme = if target.plain_http { "http" } else { "https" };
        let shown = target.name.to_string();
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .redirect(redirect_policy())
            .build()
            .map_err(|e| PullError::Registry {
                reference: shown.clone(),
                message: format!("an HTTP client: {}", minipod_spec::error_chain(&e)),
            })?;
        let mut session = Session {
            http,
            base: format!("{scheme}://{}", target.reference.resolve_registry()),
            registry: target.registry.clone(),
            shown,
            repository: target.repository.clone(),
            authorization: None,
            progress_timeout: options.progress_timeout,
        };
        let probe = format!("{}/v2/", session.base);
        let what = format!("the auth probe GET {probe}");
        let answer = session.send(&what, session.http.get(&probe)).await?;
        // Only the headers matter; the body is never read.
        let challenges: Vec<Challenge> = answer
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(challenge::parse)
            .collect();
        if answer.status() != StatusCode::UNAUTHORIZED {
            return Ok(session);
        }
        let bearer = challenges.iter().find_map(|c| match c {
            Challenge::Bearer { realm, service } => Some((realm, service)),
            Challenge::Basic => None,
        });
        session.authorization = match (bearer, login) {
            (Some((realm, service)), _) => {
                let realm =
                    challenge::check_realm(realm, target.plain_http, &options.insecure_registries)
                        .map_err(|why| PullError::Realm {
                            reference: session.shown.clone(),
                            registry: session.registry.clone(),
                            why,
                        })?;
                Some(Authorization::Bearer(
                    session.token(realm, service.as_deref(), login).await?,
                ))
            }
            (None, Some(credentials)) => {
                let (user, password) = credentials.basic();
                Some(Authorization::Basic(user.to_owned(), password.to_owned()))
            }
            (None, None) => None,
        };
        Ok(session)
    }

    /// A token from `realm` for pulling the repository.
    async fn token(
        &self,
        mut realm: reqwest::Url,
        service: Option<&str>,
        login: Option<&Credentials>,
    ) -> Result<String, PullError> {
        let origin = challenge::origin(&realm);
        {
            let mut query = realm.query_pairs_mut();
            query.append_pair("scope", &format!("repository:{}:pull", self.repository));
            if let Some(service) = service {
                query.append_pair("service", service);
            }
        }
        let mut request = self.http.get(realm);
        if let Some(credentials) = login {
            let (user, password) = credentials.basic();
            request = request.basic_auth(user, Some(password));
        }
        let what = format!("the token from {origin}");
        let answer = self.send(&what, request).await?;
        if matches!(
            answer.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Err(PullError::Unauthorized {
                reference: self.shown.clone(),
                message: format!("the token server {origin} answered {}", answer.status()),
            });
        }
        let answer = self.check(&what, answer).await?;
        let body = self.read(&what, answer, TOKEN_LIMIT).await?;
        #[derive(Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let parsed: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| PullError::Registry {
                reference: self.shown.clone(),
                message: format!("{what}: not a token answer: {e}"),
            })?;
        parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| PullError::Registry {
                reference: self.shown.clone(),
                message: format!("{what}: the answer holds no token"),
            })
    }

    /// The manifest (or index) `reference` (a tag or digest), at most
    /// `limit` bytes.
    pub async fn manifest(
        &self,
        reference: &str,
        accept: &[&str],
        limit: u64,
    ) -> Result<Vec<u8>, PullError> {
        let url = format!("{}/v2/{}/manifests/{reference}", self.base, self.repository);
        // `team/app:1.4` or `team/app@sha256:...`, as a person names it.
        let separator = if reference.contains(':') { '@' } else { ':' };
        let what = format!("the manifest {}{separator}{reference}", self.repository);
        let request = self
            .authorized(self.http.get(&url))
            .header(ACCEPT, accept.join(", "));
        let answer = self.send(&what, request).await?;
        let answer = self.check(&what, answer).await?;
        self.read(&what, answer, limit).await
    }

    /// Streams blob `digest` into the file `dest`: no more than its
    /// declared `size`, hashed as it arrives. `progress` is told the bytes
    /// so far. On error the caller removes `dest`.
    pub async fn blob(
        &self,
        digest: &str,
        size: u64,
        dest: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), PullError> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base, self.repository);
        let what = format!("blob {digest}");
        let answer = self
            .send(&what, self.authorized(self.http.get(&url)))
            .await?;
        let answer = self.check(&what, answer).await?;
        let mut file = std::fs::File::create(dest).map_err(io(dest))?;
        let mut hasher = sha2::Sha256::new();
        let mut done = 0u64;
        self.pump(&what, answer, size, &mut |chunk| {
            file.write_all(chunk).map_err(io(dest))?;
            hasher.update(chunk);
            done += chunk.len() as u64;
            progress(done);
            Ok(())
        })
        .await?;
        if done < size {
            return Err(PullError::Registry {
                reference: self.shown.clone(),
                message: format!("{what} ended after {done} of its {size} bytes"),
            });
        }
        let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
        if actual != digest {
            return Err(PullError::Digest {
                reference: self.shown.clone(),
                digest: digest.to_owned(),
                actual,
            });
        }
        file.sync_all().map_err(io(dest))
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.authorization {
            Some(Authorization::Basic(user, password)) => request.basic_auth(user, Some(password)),
            Some(Authorization::Bearer(token)) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `request`; its answer's headers must come within the progress
    /// timeout.
    async fn send(&self, what: &str, request: RequestBuilder) -> Result<Response, PullError> {
        match tokio::time::timeout(self.progress_timeout, request.send()).await {
            Err(_) => Err(self.stalled(what)),
            Ok(Err(e)) => Err(PullError::Registry {
                reference: self.shown.clone(),
                message: format!("{what}: {}", minipod_spec::error_chain(&e)),
            }),
            Ok(Ok(answer)) => Ok(answer),
        }
    }

    /// A success passes; an error answer becomes the kubelet's words for it
    /// (not found, unauthorized, or the registry's own error codes).
    async fn check(&self, what: &str, answer: Response) -> Result<Response, PullError> {
        let status = answer.status();
        if status.is_success() {
            return Ok(answer);
        }
        let body = self
            .read(what, answer, ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        let codes = error_codes(&body);
        let said = if codes.is_empty() {
            status.to_string()
        } else {
            format!("{status} ({})", codes.join(", "))
        };
        let not_found = [
            "MANIFEST_UNKNOWN",
            "NAME_UNKNOWN",
            "BLOB_UNKNOWN",
            "NOT_FOUND",
        ];
        let refused = ["UNAUTHORIZED", "DENIED"];
        Err(
            if status == StatusCode::NOT_FOUND
                || codes.iter().any(|c| not_found.contains(&c.as_str()))
            {
                PullError::NotFound {
                    reference: self.shown.clone(),
                }
            } else if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                || codes.iter().any(|c| refused.contains(&c.as_str()))
            {
                PullError::Unauthorized {
                    reference: self.shown.clone(),
                    message: format!("{what}: {said}"),
                }
            } else {
                PullError::Registry {
                    reference: self.shown.clone(),
                    message: format!("{what}: {said}"),
                }
            },
        )
    }

    /// The whole body, refused past `limit` bytes.
    async fn read(&self, what: &str, answer: Response, limit: u64) -> Result<Vec<u8>, PullError> {
        let mut body = Vec::new();
        self.pump(what, answer, limit, &mut |chunk| {
            body.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        Ok(body)
    }

    /// Feeds the body to `sink` chunk by chunk: an error as soon as it
    /// declares or passes `limit` bytes, or stalls (see [`ProgressWindow`]).
    async fn pump(
        &self,
        what: &str,
        mut answer: Response,
        limit: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), PullError>,
    ) -> Result<(), PullError> {
        let too_large = || PullError::TooLarge {
            reference: self.shown.clone(),
            what: what.to_owned(),
            limit,
        };
        if answer.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut window = ProgressWindow::new(Instant::now(), self.progress_timeout);
        let mut total = 0u64;
        loop {
            let deadline = tokio::time::Instant::from_std(window.deadline());
            let chunk = match tokio::time::timeout_at(deadline, answer.chunk()).await {
                Err(_) => return Err(self.stalled(what)),
                Ok(Err(e)) => {
                    return Err(PullError::Registry {
                        reference: self.shown.clone(),
                        message: format!("{what}: {}", minipod_spec::error_chain(&e)),
                    });
                }
                Ok(Ok(None)) => return Ok(()),
                Ok(Ok(Some(chunk))) => chunk,
            };
            total += chunk.len() as u64;
            if total > limit {
                return Err(too_large());
            }
            window.record(Instant::now(), chunk.len());
            sink(&chunk)?;
        }
    }

    fn stalled(&self, what: &str) -> PullError {
        PullError::Stalled {
            reference: self.shown.clone(),
            registry: self.registry.clone(),
            what: what.to_owned(),
            timeout: self.progress_timeout,
        }
    }
}

/// Redirects (blob storage elsewhere is common) are followed, but never
/// from https down to plain http. reqwest drops `Authorization` itself when
/// a redirect leaves the host.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https")
        {
            attempt.error("a redirect from https down to plain http")
        } else {
            attempt.follow()
        }
    })
}

/// The distribution error codes of an error body
/// (`{"errors": [{"code": "MANIFEST_UNKNOWN", ...}]}`); the registry's free
/// text is not repeated.
fn error_codes(body: &[u8]) -> Vec<String> {
    #[derive(Deserialize)]
    struct Envelope {
        errors: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        code: String,
    }
    serde_json::from_slice::<Envelope>(body)
        .map(|e| {
            e.errors
                .into_iter()
                .map(|e| e.code.chars().take(64).collect())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_give_their_codes_only() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"secret text"},{"code":"DENIED"}]}"#;
        assert_eq!(error_codes(body), ["MANIFEST_UNKNOWN", "DENIED"]);
        assert!(error_codes(b"<html>").is_empty());
    }
}
