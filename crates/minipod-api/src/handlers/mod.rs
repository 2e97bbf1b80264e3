//! Routing: one request in, one response out, a module per resource.
//!
//! [`App::handle`] never fails: every error becomes a `Status` response.
//! [`App`] authenticates and routes; the handlers of each resource live in
//! their own module ([`pods`], [`pod_subresources`], [`secrets`],
//! [`events`], [`discovery`]), lists and watches of every resource in
//! [`list_watch`], and what they share of a request and a response in
//! [`request`] and [`response`].

mod discovery;
mod events;
mod list_watch;
mod pod_subresources;
mod pods;
mod request;
mod response;
mod secrets;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header;
use hyper::{Method, Request, Response};

use crate::backend::{Backend, Resource};
use crate::body::{self, ResponseBody};
use crate::discovery as docs;
use crate::error::ApiError;
use crate::limits::{Counters, ServerLimits};
use request::{Ctx, Query, negotiate, only};
use response::error_response;
pub use response::now;

/// Which listener a request came in on.
#[derive(Debug, Clone)]
pub enum Transport {
    /// The unix socket: its file mode is the access control.
    Unix,
    /// TCP with TLS: every request needs `Authorization: Bearer <token>`.
    Tcp { token: String },
}

/// The router with its backend.
#[derive(Debug)]
pub struct App<B> {
    backend: Arc<B>,
    transport: Transport,
    server_address: String,
    counters: Counters,
}

/// Compares without an early exit, so timing reveals nothing of the token.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<B: Backend> App<B> {
    /// A router over `backend` for one listener, within `limits`.
    pub fn new(
        backend: Arc<B>,
        transport: Transport,
        server_address: String,
        limits: ServerLimits,
    ) -> Self {
        App {
            backend,
            transport,
            server_address,
            counters: Counters::new(limits),
        }
    }

    /// This listener's counters (connections, long-running streams).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Serves one request.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<ResponseBody> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let result = self.authorize(&req);
        let response = match result {
            Err(e) => error_response(&e),
            Ok(()) => match self.route(req).await {
                Ok(resp) => resp,
                Err(e) => error_response(&e),
            },
        };
        tracing::debug!("{method} {path} -> {}", response.status());
        response
    }

    fn authorize(&self, req: &Request<Incoming>) -> Result<(), ApiError> {
        let Transport::Tcp { token } = &self.transport else {
            return Ok(());
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            });
        match given {
            Some(given) if same_secret(given.as_bytes(), token.as_bytes()) => Ok(()),
            _ => Err(ApiError::Unauthorized),
        }
    }

    async fn route(&self, req: Request<Incoming>) -> Result<Response<ResponseBody>, ApiError> {
        let path = req.uri().path().to_owned();
        let header = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let accept = header(header::ACCEPT);
        let content_type = header(header::CONTENT_TYPE);
        let upgrade = header(header::UPGRADE).is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
        if let Some(len) = header(header::CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok())
            && len > body::MAX_BODY as u64
        {
            return Err(ApiError::TooLarge {
                limit: body::MAX_BODY,
            });
        }
        let (parts, incoming) = req.into_parts();
        let method = parts.method.clone();
        let query = Query::parse(parts.uri.query());
        let request = upgrade.then(|| Request::from_parts(parts, ()));
        let mut ctx = Ctx {
            method,
            query,
            output: negotiate(accept.as_deref()),
            content_type,
            body: Some(incoming),
            body_read_timeout: self.counters.limits().body_read_timeout,
            upgrade,
            request,
        };
        let (backend, counters) = (&*self.backend, &self.counters);
        let segments: Vec<&str> = path
            .trim_end_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match segments.as_slice() {
            ["version"] => discovery::document(&ctx, docs::version()),
            ["api"] => discovery::document(&ctx, docs::api_versions(&self.server_address)),
            ["apis"] => discovery::document(&ctx, docs::api_groups()),
            ["openapi", "v3"] => discovery::document(&ctx, docs::openapi_v3_root()),
            ["openapi", "v3", "api", "v1"] => discovery::document(&ctx, docs::openapi_v3_core()),
            ["api", "v1"] => discovery::document(&ctx, docs::core_v1_resources()),
            ["healthz"] | ["livez"] | ["readyz"] => discovery::health(&ctx),
            ["api", "v1", "pods"] => {
                only(&ctx, &[Method::GET])?;
                list_watch::list_or_watch(backend, counters, &ctx, Resource::Pods, None).await
            }
            ["api", "v1", "events"] => {
                only(&ctx, &[Method::GET])?;
                list_watch::list_or_watch(backend, counters, &ctx, Resource::Events, None).await
            }
            ["api", "v1", "secrets"] => {
                only(&ctx, &[Method::GET])?;
                list_watch::list_or_watch(backend, counters, &ctx, Resource::Secrets, None).await
            }
            ["api", "v1", "namespaces", ns, "secrets"] => match ctx.method {
                Method::GET => {
                    list_watch::list_or_watch(backend, counters, &ctx, Resource::Secrets, Some(ns))
                        .await
                }
                Method::POST => secrets::create(backend, &mut ctx, ns).await,
                _ => Err(ApiError::MethodNotAllowed),
            },
            ["api", "v1", "namespaces", ns, "secrets", name] => {
                secrets::one(backend, &mut ctx, ns, name).await
            }
            ["api", "v1", "namespaces"] => {
                only(&ctx, &[Method::GET])?;
                discovery::namespaces(backend, &ctx, None).await
            }
            ["api", "v1", "namespaces", ns] => {
                only(&ctx, &[Method::GET])?;
                discovery::namespaces(backend, &ctx, Some(ns)).await
            }
            ["api", "v1", "namespaces", ns, "pods"] => match ctx.method {
                Method::GET => {
                    list_watch::list_or_watch(backend, counters, &ctx, Resource::Pods, Some(ns))
                        .await
                }
                Method::POST => pods::create(backend, &mut ctx, ns).await,
                _ => Err(ApiError::MethodNotAllowed),
            },
            ["api", "v1", "namespaces", ns, "pods", name] => {
                pods::one(backend, &mut ctx, ns, name).await
            }
            ["api", "v1", "namespaces", ns, "pods", name, "status"] => {
                only(&ctx, &[Method::GET])?;
                pod_subresources::status(backend, &ctx, ns, name).await
            }
            ["api", "v1", "namespaces", ns, "pods", name, "log"] => {
                only(&ctx, &[Method::GET])?;
                pod_subresources::logs(backend, counters, &ctx, ns, name).await
            }
            ["api", "v1", "namespaces", ns, "pods", name, "exec"] => {
                only(&ctx, &[Method::GET, Method::POST])?;
                pod_subresources::exec(&self.backend, &mut ctx, ns, name).await
            }
            ["api", "v1", "namespaces", ns, "events"] => {
                only(&ctx, &[Method::GET])?;
                list_watch::list_or_watch(backend, counters, &ctx, Resource::Events, Some(ns)).await
            }
            ["api", "v1", "namespaces", ns, "events", name] => {
                only(&ctx, &[Method::GET])?;
                events::get(backend, &ctx, ns, name).await
            }
            _ => Err(ApiError::UnknownPath),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }
}
