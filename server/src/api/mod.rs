//! The HTTP edge: HTTP request → logical request → envelope.
//!
//! Everything under `/v1/` lands in one handler, [`entry`], because Vault's routing is
//! dynamic (mounts). It assigns the request id, applies the body limit, JSON depth limit
//! and timeout, cleans the path (307 when unclean), maps the verb (`LIST` ≡
//! `GET ?list=true`, `PUT` ≡ `POST`, PATCH needs merge-patch), answers the
//! unauthenticated pre-unseal endpoints itself, refuses everything else with 503 while
//! sealed, and hands the rest to the core. Every response gets `Content-Type:
//! application/json`, `Cache-Control: no-store`, `nosniff`, HSTS under TLS, and the
//! request id.

mod body;
mod error;
mod path;
mod response;
mod sys_health;
mod sys_init;
mod sys_rekey;
mod sys_unseal;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::Router;
use http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use serde_json::{Map, Value};
use tracing::Instrument;

pub use error::ApiError;

use crate::auth::ClientToken;
use crate::core::fields::parse_bool;
use crate::core::request::{LogicalRequest, Operation};
use crate::core::{Core, CoreError};
use crate::error::ErrorKind;
use path::PathDecision;
use strongroom_client::api::ErrorBody;

/// Limits and listener facts the edge needs.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Largest accepted body, bytes (Vault's default: 32 MiB).
    pub max_request_size: usize,
    /// Deepest accepted JSON nesting.
    pub max_json_depth: usize,
    /// Time limit for one request.
    pub request_timeout: Duration,
    /// Whether the listener is TLS (adds HSTS).
    pub tls: bool,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub forwarded_for_trusted: std::sync::Arc<[crate::credential::token_fields::Cidr]>,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_request_size: 32 * 1024 * 1024,
            max_json_depth: 64,
            request_timeout: Duration::from_secs(90),
            tls: false,
            forwarded_for_trusted: std::sync::Arc::from(Vec::new()),
        }
    }
}

/// Shared state of the HTTP edge.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The vault.
    pub core: Arc<Core>,
    /// Limits.
    pub limits: ApiLimits,
    /// The global request quota, when configured.
    pub quota: Option<Arc<crate::limits::GlobalLimiter>>,
}

/// The axum router.
pub fn router(state: ApiState) -> Router {
    Router::new().fallback(entry).with_state(state)
}

async fn entry(State(app): State<ApiState>, req: Request<Body>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let started = std::time::Instant::now();
    let result = async {
        if let Some(quota) = &app.quota {
            quota.check().map_err(|wait| ApiError::QuotaExceeded {
                retry_after: crate::limits::retry_after_secs(wait),
            })?;
        }
        match tokio::time::timeout(app.limits.request_timeout, serve(&app, &request_id, req)).await
        {
            Ok(result) => result,
            Err(_) => Err(ApiError::Timeout),
        }
    }
    .instrument(span.clone())
    .await;
    let resp = match result {
        Ok(resp) => resp,
        Err(err) => {
            let _enter = span.enter();
            match err.kind() {
                ErrorKind::Internal | ErrorKind::Unavailable => {
                    tracing::error!(error = %err, "request failed");
                }
                _ => tracing::debug!(error = %err, "request refused"),
            }
            response::error(&err)
        }
    };
    {
        let _enter = span.enter();
        tracing::debug!(
            status = resp.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "done"
        );
    }
    response::finish(resp, &request_id, app.limits.tls)
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy that sent
/// `X-Forwarded-For`, the last address in that header (the one the proxy itself saw).
fn client_addr(
    peer: Option<std::net::IpAddr>,
    headers: &axum::http::HeaderMap,
    trusted: &[crate::credential::token_fields::Cidr],
) -> Result<Option<std::net::IpAddr>, ApiError> {
    let Some(peer) = peer else {
        return Ok(None);
    };
    if !trusted.iter().any(|c| c.contains(peer)) {
        return Ok(Some(peer));
    }
    let Some(forwarded) = header_str(headers, "x-forwarded-for") else {
        return Ok(Some(peer));
    };
    forwarded
        .rsplit(',')
        .next()
        .map(str::trim)
        .and_then(|last| last.parse().ok())
        .map(Some)
        .ok_or(ApiError::BadForwardedFor)
}

/// The verb as the edge understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Head,
    List,
    Write,
    Delete,
    Patch,
}

fn verb(method: &Method) -> Result<Verb, ApiError> {
    match method.as_str() {
        "GET" => Ok(Verb::Get),
        "HEAD" => Ok(Verb::Head),
        "LIST" => Ok(Verb::List),
        "POST" | "PUT" => Ok(Verb::Write),
        "DELETE" => Ok(Verb::Delete),
        "PATCH" => Ok(Verb::Patch),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `X-Vault-Token`, else `Authorization: Bearer`.
fn token_from(headers: &HeaderMap) -> Option<ClientToken> {
    if let Some(t) = header_str(headers, "x-vault-token") {
        return ClientToken::parse(t);
    }
    let auth = header_str(headers, header::AUTHORIZATION)?;
    let (scheme, rest) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| ClientToken::parse(rest))
        .flatten()
}

fn redirect(location: String, query: Option<&str>) -> Response {
    let target = match query {
        Some(q) => format!("{location}?{q}"),
        None => location,
    };
    let mut resp = response::empty(StatusCode::TEMPORARY_REDIRECT);
    if let Ok(v) = HeaderValue::from_str(&target) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

async fn serve(app: &ApiState, request_id: &str, req: Request<Body>) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let verb = verb(&parts.method)?;
    let logical_path = match path::decide(parts.uri.path())? {
        PathDecision::Serve(p) => p,
        PathDecision::Redirect(location) => return Ok(redirect(location, parts.uri.query())),
        PathDecision::NotApi => {
            return Ok(response::json(StatusCode::NOT_FOUND, &ErrorBody::default()));
        }
    };
    match header_str(&parts.headers, "x-vault-namespace").map(str::trim) {
        None | Some("" | "root" | "root/") => {}
        Some(_) => return Err(ApiError::NamespaceNotFound),
    }

    let mut query = body::decode_query(parts.uri.query());
    let list_flag = query
        .remove("list")
        .and_then(|v| v.as_str().and_then(parse_bool))
        .unwrap_or(false);
    let scan_flag = query
        .remove("scan")
        .and_then(|v| v.as_str().and_then(parse_bool))
        .unwrap_or(false);
    if list_flag && scan_flag {
        return Err(ApiError::ListAndScan);
    }
    if scan_flag {
        return Err(ApiError::BadQuery(
            "recursive scan (?scan=true) is not supported".to_string(),
        ));
    }

    let operation = match verb {
        Verb::Get | Verb::Head if list_flag => Operation::List,
        Verb::Get | Verb::Head => Operation::Read,
        Verb::List => Operation::List,
        Verb::Write => Operation::Update,
        Verb::Delete => Operation::Delete,
        Verb::Patch => Operation::Patch,
    };
    if verb == Verb::Patch {
        let ct = header_str(&parts.headers, header::CONTENT_TYPE).unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/merge-patch+json") {
            return Err(ApiError::PatchContentType(ct.to_string()));
        }
    }
    let data: Map<String, Value> = match verb {
        Verb::Write | Verb::Patch => {
            let bytes = body::read_limited(body, app.limits.max_request_size).await?;
            body::decode(
                &bytes,
                header_str(&parts.headers, header::CONTENT_TYPE),
                app.limits.max_json_depth,
            )?
        }
        Verb::Get | Verb::Head | Verb::List | Verb::Delete => {
            // Bodies on these verbs are not used, but their size still counts.
            body::read_limited(body, app.limits.max_request_size).await?;
            query
        }
    };

    let core = &app.core;
    // Unauthenticated endpoints answered here, sealed or not; tokens are ignored.
    match logical_path.as_str() {
        "sys/init" => return sys_init::handle(core, operation, &data).await,
        "sys/seal-status" => return sys_unseal::seal_status(core, operation).await,
        "sys/unseal" => return sys_unseal::unseal(core, operation, &data).await,
        "sys/health" => {
            return match operation {
                Operation::Read => sys_health::health(core, &data, verb == Verb::Head),
                _ => Err(ApiError::MethodNotAllowed),
            };
        }
        "sys/leader" => {
            return match operation {
                Operation::Read => sys_health::leader(core),
                _ => Err(ApiError::MethodNotAllowed),
            };
        }
        p => {
            if let Some(endpoint) = sys_rekey::RekeyEndpoint::from_path(p) {
                return sys_rekey::handle(core, endpoint, operation, &data).await;
            }
        }
    }
    if verb == Verb::Head {
        return Err(ApiError::MethodNotAllowed);
    }
    if core.is_sealed() {
        return Err(CoreError::Sealed.into());
    }
    let wrap_ttl = match header_str(&parts.headers, "x-vault-wrap-ttl") {
        Some(ttl) => Some(
            crate::core::duration::parse_seconds(ttl)
                .map_err(|e| ApiError::BadWrapTtl(e.to_string()))?,
        )
        .filter(|&s| s > 0),
        None => None,
    };
    let path = if operation == Operation::List && !logical_path.ends_with('/') {
        format!("{logical_path}/")
    } else {
        logical_path
    };
    let logical = LogicalRequest {
        id: request_id.to_string(),
        operation,
        path,
        data,
        token: token_from(&parts.headers),
        remote_addr: client_addr(
            parts
                .extensions
                .get::<crate::server::ClientAddr>()
                .map(|a| a.0.ip()),
            &parts.headers,
            &app.limits.forwarded_for_trusted,
        )?,
        client_certs: parts
            .extensions
            .get::<crate::server::ClientCerts>()
            .map(|c| std::sync::Arc::clone(&c.0)),
        wrap_ttl,
    };
    // The request runs to completion in its own task: a client that goes away cannot cut
    // it off between two of its effects (a database user created, its lease not yet
    // stored — which nothing would ever revoke).
    let core = Arc::clone(core);
    let resp = tokio::spawn(async move { core.handle(&logical).await })
        .await
        .map_err(|_| CoreError::Aborted)??;
    Ok(response::envelope(request_id, resp))
}
