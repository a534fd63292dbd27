//! The typed async HTTP client: configuration, the connection (rustls, custom CA, client
//! certificate), the token, and retries. Typed calls (`calls/*.rs`) sit on top of
//! [`Client::call`]; everything reaches the network through one loop, `send_with_retries`.
//!
//! # Configuration and environment
//!
//! Values set on the [`ClientBuilder`] win; [`ClientBuilder::from_env`] fills only the
//! unset ones, each from the first non-empty variable listed:
//!
//! | setting | variables | default |
//! |---|---|---|
//! | address | `STRONGROOM_ADDR`, `VAULT_ADDR` | `https://127.0.0.1:8200` |
//! | token | `STRONGROOM_TOKEN`, `VAULT_TOKEN` | none |
//! | CA bundle (PEM file) | `STRONGROOM_CACERT`, `VAULT_CACERT` | none: no server certificate is trusted |
//! | client certificate + key (PEM files) | `STRONGROOM_CLIENT_CERT` + `STRONGROOM_CLIENT_KEY`, else `VAULT_CLIENT_CERT` + `VAULT_CLIENT_KEY` | none |
//! | retries | `STRONGROOM_MAX_RETRIES`, `VAULT_MAX_RETRIES` | 2 |
//!
//! The client certificate and key are taken as a pair from one family: when either
//! `STRONGROOM_CLIENT_*` variable is set, both must be, and the `VAULT_*` pair is not
//! looked at (a certificate is never matched with another family's key).
//!
//! TLS is rustls. Without a CA file the server's certificate is checked against the
//! operating system's trust store; with [`ClientBuilder::ca_pem`] (or the CA file) only
//! the CA certificates given are trusted, as with Vault's `VAULT_CACERT`.
//!
//! # Retries
//!
//! A request is attempted at most `1 + max_retries` times (default 2 retries, like
//! Vault's `VAULT_MAX_RETRIES`; 0 disables retrying). What is retried depends on the
//! entry point:
//!
//! - **Connection errors**, on every entry point ([`Client::raw`] included): the
//!   connection could not be made, it broke before the answer's status line arrived, or
//!   the request timed out before that. As with Vault's client this also applies to
//!   writes, so a write whose connection broke after the server received it may be
//!   applied twice. A failure while reading the body of an answer already received is
//!   not retried (the server has acted on the request).
//! - **429 and 5xx answers** (except 501 Not Implemented, which is definitive), on typed
//!   calls and [`Client::call_json`] only. [`Client::raw`] returns every status as it
//!   is, so callers that read statuses as answers see them on the first try. So do
//!   `sys/health` and `sys/seal-status` even through typed calls: their status codes are
//!   answers (sealed, standby, uninitialised), not failures.
//! - **Never** on a failed TLS handshake (e.g. an untrusted or mismatched server
//!   certificate): it would fail the same way again.
//! - **Never** on other 4xx answers: the server has refused the request and would do so
//!   again.
//!
//! Waits grow exponentially from the minimum backoff (default 500 ms, doubling each
//! retry, capped at the maximum, default 5 s) with jitter (a random point in the upper
//! half of the step), so many clients do not retry in lockstep. A `Retry-After` header
//! (in seconds) on a 429 or 503 is honoured instead, up to [`MAX_RETRY_AFTER`]; a server
//! asking for a longer wait gets its answer returned at once rather than a retry.
//!
//! # The token
//!
//! The token is held in a zeroizing buffer shared by clones, sent as a *sensitive*
//! `X-Vault-Token` header (hidden from header debug output), and never printed by any
//! `Debug` implementation here.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::api::{AuthInfo, ErrorBody};
use crate::error::TransportError;
use crate::ClientError;

/// Retries after the first attempt when neither the builder nor the environment says.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// The longest `Retry-After` the client waits for before retrying (30 s).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_MIN_BACKOFF: Duration = Duration::from_millis(500);
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Endpoints whose status codes are answers rather than failures: a typed call there
/// retries connection errors only.
const STATUS_ANSWER_PATHS: [&str; 2] = ["sys/health", "sys/seal-status"];

/// Builds a [`Client`]. See the module documentation for the environment variables and
/// their precedence.
#[derive(Default)]
pub struct ClientBuilder {
    address: Option<String>,
    token: Option<Zeroizing<String>>,
    ca_pem: Option<Vec<u8>>,
    identity: Option<Zeroizing<Vec<u8>>>,
    timeout: Option<Duration>,
    max_retries: Option<u32>,
    backoff: Option<(Duration, Duration)>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("address", &self.address)
            .field("token", &self.token.as_ref().map(|_| ".."))
            .field("ca_pem", &self.ca_pem.is_some())
            .field("client_identity", &self.identity.is_some())
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

fn env_first_in(lookup: &dyn Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| lookup(n).filter(|v| !v.trim().is_empty()))
}

fn read_file(what: &str, path: &str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|e| ClientError::Config(format!("reading {what} {path}: {e}")))
}

impl ClientBuilder {
    /// Server address, e.g. `https://127.0.0.1:8200`.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    /// Token sent as `X-Vault-Token`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Zeroizing::new(token.into()));
        self
    }

    /// PEM CA certificates (one or several) to trust for the server's certificate.
    pub fn ca_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_pem = Some(pem);
        self
    }

    /// A client certificate (PEM; may be followed by its intermediates) and its private
    /// key (PEM, PKCS#8, PKCS#1 or SEC1), presented when the server asks for one: needed
    /// by [`Client::login_cert`] and by listeners that require mutual TLS. The key is
    /// held in a zeroizing buffer until the connection pool is built.
    pub fn client_identity_pem(mut self, cert_pem: &[u8], key_pem: &[u8]) -> Self {
        let mut both = Zeroizing::new(Vec::with_capacity(cert_pem.len() + key_pem.len() + 1));
        both.extend_from_slice(cert_pem);
        both.push(b'\n');
        both.extend_from_slice(key_pem);
        self.identity = Some(both);
        self
    }

    /// Per-attempt timeout, connection to last byte (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries after a failed first attempt (default [`DEFAULT_MAX_RETRIES`]); 0
    /// disables retrying. See the module documentation for what is retried.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// The wait before the first retry (`min`, doubled for each further retry) and its
    /// cap (`max`). Defaults: 500 ms and 5 s. Jitter keeps each wait in the upper half
    /// of its step.
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = Some((min, max.max(min)));
        self
    }

    /// Fills unset fields from the `STRONGROOM_*` then `VAULT_*` environment variables
    /// (see the module documentation). Fails when a named file cannot be read, a
    /// client certificate comes without its key (or the reverse), or the retry count is
    /// not a number.
    pub fn from_env(self) -> Result<Self, ClientError> {
        self.from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ClientBuilder::from_env`], with the variables read through `lookup`
    /// (a variable is unset when it returns `None`). Useful to configure a client from
    /// a map, or in tests, without touching the process environment.
    pub fn from_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientError> {
        let lookup: &dyn Fn(&str) -> Option<String> = &lookup;
        if self.address.is_none() {
            self.address = env_first_in(lookup, &["STRONGROOM_ADDR", "VAULT_ADDR"]);
        }
        if self.token.is_none() {
            self.token = env_first_in(lookup, &["STRONGROOM_TOKEN", "VAULT_TOKEN"])
                .map(|t| Zeroizing::new(t.trim().to_string()));
        }
        if self.ca_pem.is_none() {
            if let Some(path) = env_first_in(lookup, &["STRONGROOM_CACERT", "VAULT_CACERT"]) {
                self.ca_pem = Some(read_file("the CA file", &path)?);
            }
        }
        if self.identity.is_none() {
            for prefix in ["STRONGROOM", "VAULT"] {
                let cert = env_first_in(lookup, &[&format!("{prefix}_CLIENT_CERT")]);
                let key = env_first_in(lookup, &[&format!("{prefix}_CLIENT_KEY")]);
                match (cert, key) {
                    (None, None) => continue,
                    (Some(cert), Some(key)) => {
                        let cert_pem = read_file("the client certificate", &cert)?;
                        let key_pem = Zeroizing::new(read_file("the client key", &key)?);
                        self = self.client_identity_pem(&cert_pem, &key_pem);
                    }
                    (Some(_), None) => {
                        return Err(ClientError::Config(format!(
                            "{prefix}_CLIENT_CERT is set but {prefix}_CLIENT_KEY is not"
                        )))
                    }
                    (None, Some(_)) => {
                        return Err(ClientError::Config(format!(
                            "{prefix}_CLIENT_KEY is set but {prefix}_CLIENT_CERT is not"
                        )))
                    }
                }
                break;
            }
        }
        if self.max_retries.is_none() {
            let names = ["STRONGROOM_MAX_RETRIES", "VAULT_MAX_RETRIES"];
            if let Some(raw) = env_first_in(lookup, &names) {
                let retries = raw.trim().parse::<u32>().map_err(|_| {
                    ClientError::Config(format!(
                        "the retry count from the environment ({}) is not a non-negative \
                         integer: {raw:?}",
                        names.join(" / ")
                    ))
                })?;
                self.max_retries = Some(retries);
            }
        }
        Ok(self)
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, ClientError> {
        let address = self
            .address
            .unwrap_or_else(|| "https://127.0.0.1:8200".to_string());
        let mut base = url::Url::parse(address.trim())
            .map_err(|e| ClientError::Config(format!("invalid address {address:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!(
                "invalid address {address:?}: the scheme must be http or https"
            )));
        }
        if !base.path().ends_with('/') {
            // `https://host/prefix` serves `/prefix/v1/...`: keep the prefix when joining.
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout.unwrap_or(DEFAULT_TIMEOUT))
            .use_rustls_tls();
        if let Some(pem) = &self.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ClientError::Config(format!("invalid CA PEM: {e}")))?;
            if certs.is_empty() {
                return Err(ClientError::Config(
                    "the CA PEM holds no certificate".to_string(),
                ));
            }
            // As with VAULT_CACERT: a given CA replaces the system store, it does not add
            // to it.
            http = http.tls_built_in_root_certs(false);
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        if let Some(pem) = &self.identity {
            // The error text of a bad identity never quotes the key.
            let identity = reqwest::Identity::from_pem(pem).map_err(|_| {
                ClientError::Config(
                    "invalid client certificate or key: expected a PEM certificate and a \
                     PEM private key (PKCS#8, PKCS#1 or SEC1)"
                        .to_string(),
                )
            })?;
            http = http.identity(identity);
        }
        let http = http.build().map_err(TransportError::from_reqwest(0))?;
        let (min_backoff, max_backoff) = self
            .backoff
            .unwrap_or((DEFAULT_MIN_BACKOFF, DEFAULT_MAX_BACKOFF));
        Ok(Client {
            http,
            base,
            has_identity: self.identity.is_some(),
            token: self.token.map(Arc::new),
            retry: RetryPolicy {
                max_retries: self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
                min_backoff,
                max_backoff,
            },
        })
    }
}

/// How often and how long to retry (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RetryPolicy {
    max_retries: u32,
    min_backoff: Duration,
    max_backoff: Duration,
}

impl RetryPolicy {
    /// The jittered wait before retry number `retry` (1-based).
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        let step = self
            .min_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let half = step / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if nanos == 0 { 0 } else { random_u64() % nanos };
        half + Duration::from_nanos(jitter)
    }
}

/// The mount path of an auth method for a request path: `mount` trimmed of slashes, or
/// `default` when `None`. Refuses an empty path, empty, `.` or `..` segments, and
/// characters that would change the URL's meaning (`?`, `#`, `%`, whitespace).
pub(crate) fn mount_path(mount: Option<&str>, default: &str) -> Result<String, ClientError> {
    let mount = mount.unwrap_or(default).trim().trim_matches('/');
    let invalid = |why: &str| {
        Err(ClientError::InvalidArgument(format!(
            "invalid mount path {mount:?}: {why}"
        )))
    };
    if mount.is_empty() {
        return invalid("it is empty");
    }
    if mount
        .chars()
        .any(|c| matches!(c, '?' | '#' | '%' | '\\') || c.is_whitespace() || c.is_control())
    {
        return invalid("it holds a character not allowed in a path");
    }
    if mount.split('/').any(|seg| matches!(seg, "" | "." | "..")) {
        return invalid("it has an empty, `.` or `..` segment");
    }
    Ok(mount.to_string())
}

/// One path segment (a user or role name) for a request path, percent-encoded; `what`
/// names it in the error for an empty, `.` or `..` value.
pub(crate) fn path_segment(value: &str, what: &str) -> Result<String, ClientError> {
    if matches!(value.trim(), "" | "." | "..") {
        return Err(ClientError::InvalidArgument(format!(
            "the {what} must not be empty, `.` or `..`"
        )));
    }
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}

/// A random number for jitter (not for anything secret): std's per-process random
/// hasher keys, advanced on every call.
fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos().into())
            .unwrap_or(0),
    );
    hasher.finish()
}

/// What a request may be retried on, besides connection errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryOn {
    /// Connection errors only: every status is returned to the caller.
    ConnectionErrors,
    /// Connection errors, 429 and 5xx (but 501).
    ConnectionErrorsAndBusy,
}

/// Whether an answer with `status` is worth another attempt.
fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED)
}

/// Whether a failure to get an answer is worth another attempt: no connection, a
/// connection lost before the answer, or a timeout. Building or redirect errors are
/// not, nor is a failed TLS handshake (an untrusted or mismatched certificate would
/// fail the same way again).
fn retryable_error(err: &reqwest::Error) -> bool {
    let transient = err.is_connect() || err.is_timeout() || (err.is_request() && !err.is_builder());
    transient && !is_tls_failure(err)
}

/// Whether `err` comes from the TLS layer: rustls reports handshake failures (bad
/// certificate, no common protocol) as an I/O error of kind `InvalidData`, which the
/// connector may wrap in another I/O error.
fn is_tls_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::InvalidData {
                return true;
            }
            // `io::Error::source` skips the wrapped error itself: look at it directly.
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        next = e.source();
    }
    false
}

/// The server's `Retry-After` in seconds, on the statuses where it means "come back".
fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A typed client for the Vault-compatible API. Cheap to clone (clones share the
/// connection pool and the token).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    has_identity: bool,
    token: Option<Arc<Zeroizing<String>>>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| ".."))
            .field("max_retries", &self.retry.max_retries)
            .finish()
    }
}

/// A raw answer: status and parsed JSON body (`Value::Null` when there was none).
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Parsed body.
    pub body: Value,
}

/// The last answer of a request: its status and JSON body.
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Client {
    /// Starts a builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A copy of this client using another token (same connection pool and settings).
    pub fn with_token(&self, token: impl Into<String>) -> Client {
        Client {
            token: Some(Arc::new(Zeroizing::new(token.into()))),
            ..self.clone()
        }
    }

    /// A copy of this client using the token of a login or token-creation answer:
    /// `client.with_auth(&client.login_userpass(None, "alice", &pw).await?)`.
    pub fn with_auth(&self, auth: &AuthInfo) -> Client {
        self.with_token(auth.client_token.as_str())
    }

    /// A copy of this client without a token.
    pub fn without_token(&self) -> Client {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// Whether the client has a token to send.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether the client presents a client certificate when the server asks for one.
    pub fn has_client_identity(&self) -> bool {
        self.has_identity
    }

    /// The server address.
    pub fn address(&self) -> &str {
        self.base.as_str()
    }

    /// Retries after a failed first attempt (see the module documentation).
    pub fn max_retries(&self) -> u32 {
        self.retry.max_retries
    }

    fn url(&self, path: &str) -> Result<url::Url, ClientError> {
        self.base
            .join(&format!("v1/{}", path.trim_start_matches('/')))
            .map_err(|e| ClientError::Config(format!("invalid path {path:?}: {e}")))
    }

    /// Sends one request, retrying as `retry_on` allows, and returns the last answer.
    async fn send_with_retries(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry_on: RetryOn,
    ) -> Result<Answer, ClientError> {
        let url = self.url(path)?;
        let token = match &self.token {
            Some(token) => {
                let mut value = HeaderValue::from_str(token.as_str()).map_err(|_| {
                    ClientError::Config(
                        "the token contains characters not allowed in an HTTP header".into(),
                    )
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("X-Vault-Request", "true");
            if let Some(token) = &token {
                req = req.header("X-Vault-Token", token.clone());
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            let may_retry = attempt <= self.retry.max_retries;
            let resp = match req.send().await {
                Ok(resp) => resp,
                Err(err) if may_retry && retryable_error(&err) => {
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    continue;
                }
                Err(err) => return Err(TransportError::from_reqwest(attempt)(err).into()),
            };
            let status = resp.status();
            if may_retry && retry_on == RetryOn::ConnectionErrorsAndBusy && retryable_status(status)
            {
                let wait = match retry_after(status, resp.headers()) {
                    Some(asked) if asked > MAX_RETRY_AFTER => None,
                    Some(asked) => Some(asked),
                    None => Some(self.retry.backoff(attempt)),
                };
                if let Some(wait) = wait {
                    // Read the body so the connection can be reused; its content is moot.
                    let _ = resp.bytes().await;
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            let bytes = resp
                .bytes()
                .await
                .map_err(TransportError::from_reqwest(attempt))?;
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                match serde_json::from_slice(&bytes) {
                    Ok(body) => body,
                    // An error page from something in front of the server (a proxy's
                    // HTML 502): the status says what happened.
                    Err(_) if !status.is_success() => Value::Null,
                    Err(e) => {
                        return Err(ClientError::Decode(format!(
                            "the answer ({status}) is not JSON: {e}"
                        )))
                    }
                }
            };
            return Ok(Answer { status, body });
        }
    }

    /// Sends any request to `/v1/<path>` and returns the status and JSON body, without
    /// treating error statuses as errors, and without retrying on them: only connection
    /// errors are retried (see the module documentation). For tests, generic CLI
    /// commands and endpoints whose status is the answer (`sys/health`).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, ClientError> {
        let answer = self
            .send_with_retries(method, path, body, RetryOn::ConnectionErrors)
            .await?;
        Ok(RawResponse {
            status: answer.status,
            body: answer.body,
        })
    }

    /// Sends a typed request: connection errors, 429 and 5xx are retried (except on the
    /// status-answer endpoints), an error status becomes [`ClientError::Api`] with the
    /// server's messages, and 204 or an empty body is `None`.
    pub(crate) async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Option<T>, ClientError> {
        let body = body
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let logical = path.trim_start_matches('/');
        let retry_on = if STATUS_ANSWER_PATHS
            .iter()
            .any(|p| logical == *p || logical.starts_with(&format!("{p}?")))
        {
            RetryOn::ConnectionErrors
        } else {
            RetryOn::ConnectionErrorsAndBusy
        };
        let answer = self
            .send_with_retries(method, path, body.as_ref(), retry_on)
            .await?;
        if !answer.status.is_success() {
            let errors = serde_json::from_value::<ErrorBody>(answer.body)
                .map(|b| b.errors)
                .unwrap_or_default();
            return Err(ClientError::Api {
                status: answer.status.as_u16(),
                errors,
            });
        }
        if answer.status == StatusCode::NO_CONTENT || answer.body.is_null() {
            return Ok(None);
        }
        serde_json::from_value(answer.body)
            .map(Some)
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Like [`Client::raw`], but with the retries of typed calls (429 and 5xx too), and
    /// an error status becomes [`ClientError::Api`]. Returns the JSON body, or `None`
    /// for an empty answer (204). Useful for generic CLI commands that print the
    /// server's JSON as it is.
    pub async fn call_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ClientError> {
        self.call(method, path, body).await
    }

    pub(crate) async fn call_some<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        self.call(method, path, body)
            .await?
            .ok_or_else(|| ClientError::Decode(format!("empty response from {path}")))
    }

    /// `PATCH /v1/<path>` with a JSON merge patch (RFC 7386) sent as
    /// `Content-Type: application/merge-patch+json`, as KV v2 requires. An error status
    /// becomes [`ClientError::Api`]; an empty answer is `None`. Never retried: a patch
    /// creates a new version each time it is applied.
    pub(crate) async fn call_merge_patch<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<Option<T>, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Decode(e.to_string()))?;
        let mut req = self
            .http
            .request(Method::PATCH, self.url(path)?)
            .header("X-Vault-Request", "true")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/merge-patch+json",
            )
            .body(bytes);
        if let Some(token) = &self.token {
            let mut value =
                reqwest::header::HeaderValue::from_str(token.as_str()).map_err(|_| {
                    ClientError::Config(
                        "the token contains characters not allowed in an HTTP header".into(),
                    )
                })?;
            value.set_sensitive(true);
            req = req.header("X-Vault-Token", value);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))?
        };
        if !status.is_success() {
            let errors = serde_json::from_value::<ErrorBody>(body)
                .map(|b| b.errors)
                .unwrap_or_default();
            return Err(ClientError::Api {
                status: status.as_u16(),
                errors,
            });
        }
        if status == StatusCode::NO_CONTENT || body.is_null() {
            return Ok(None);
        }
        serde_json::from_value(body)
            .map(Some)
            .map_err(|e| ClientError::Decode(e.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = policy(10);
        for _ in 0..200 {
            let first = p.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = p.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = p.backoff(40);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1000));
        }
        let distinct: std::collections::BTreeSet<Duration> =
            (0..50).map(|_| p.backoff(5)).collect();
        assert!(distinct.len() > 10, "jitter varies: {distinct:?}");
        assert!(policy(1).backoff(1) <= Duration::from_millis(100));
        let zero = RetryPolicy {
            max_retries: 1,
            min_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        };
        assert_eq!(zero.backoff(3), Duration::ZERO);
    }

    #[test]
    fn mount_paths_and_segments() {
        assert_eq!(mount_path(None, "userpass").unwrap(), "userpass");
        assert_eq!(
            mount_path(Some("/team/up/"), "userpass").unwrap(),
            "team/up"
        );
        for bad in [
            "", "/", "a//b", "../sys", "a/./b", "a?b", "a#b", "a b", "a%2e",
        ] {
            let err = mount_path(Some(bad), "x").unwrap_err();
            assert!(
                matches!(err, ClientError::InvalidArgument(_)),
                "{bad}: {err}"
            );
        }
        assert_eq!(path_segment("alice", "user name").unwrap(), "alice");
        assert_eq!(
            path_segment("a/b?c d", "user name").unwrap(),
            "a%2Fb%3Fc%20d"
        );
        for bad in ["", " ", ".", ".."] {
            let err = path_segment(bad, "user name").unwrap_err();
            assert!(err.to_string().contains("user name"), "{err}");
        }
    }

    #[test]
    fn which_statuses_are_retried() {
        for code in [429, 500, 502, 503, 504] {
            assert!(
                retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [200, 204, 400, 401, 403, 404, 405, 412, 473, 501] {
            assert!(
                !retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    #[test]
    fn tls_failures_are_found_inside_wrapped_io_errors() {
        use std::io::{Error, ErrorKind};
        let tls = Error::other(Error::new(ErrorKind::InvalidData, "bad cert"));
        assert!(is_tls_failure(&tls));
        assert!(is_tls_failure(&Error::new(ErrorKind::InvalidData, "x")));
        assert!(!is_tls_failure(&Error::new(
            ErrorKind::ConnectionRefused,
            "refused"
        )));
        let reset = Error::other(Error::new(ErrorKind::ConnectionReset, "reset"));
        assert!(!is_tls_failure(&reset));
    }

    #[test]
    fn retry_after_only_on_429_and_503_in_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            retry_after(StatusCode::TOO_MANY_REQUESTS, &h),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(StatusCode::SERVICE_UNAVAILABLE, &h),
            Some(Duration::from_secs(3))
        );
        assert_eq!(retry_after(StatusCode::BAD_GATEWAY, &h), None);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(StatusCode::TOO_MANY_REQUESTS, &h), None);
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn env_precedence_and_builder_wins() {
        let env = vars(&[
            ("STRONGROOM_ADDR", "http://sr:1"),
            ("VAULT_ADDR", "http://vault:2"),
            ("VAULT_TOKEN", "vt"),
            ("STRONGROOM_TOKEN", " "),
            ("VAULT_MAX_RETRIES", "7"),
        ]);
        let c = Client::builder()
            .from_lookup(&env)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(c.address(), "http://sr:1/");
        assert_eq!(c.token.as_deref().map(|t| t.as_str()), Some("vt"));
        assert_eq!(c.max_retries(), 7);
        let c = Client::builder()
            .address("http://mine:3")
            .max_retries(0)
            .token("mine")
            .from_lookup(&env)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(c.address(), "http://mine:3/");
        assert_eq!(c.max_retries(), 0);
        assert_eq!(c.token.as_deref().map(|t| t.as_str()), Some("mine"));
        let c = Client::builder()
            .from_lookup(vars(&[
                ("STRONGROOM_MAX_RETRIES", "1"),
                ("VAULT_MAX_RETRIES", "9"),
            ]))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(c.max_retries(), 1);
        assert_eq!(c.address(), "https://127.0.0.1:8200/");
        assert_eq!(
            Client::builder().build().unwrap().max_retries(),
            DEFAULT_MAX_RETRIES
        );
    }

    #[test]
    fn bad_environment_is_a_config_error() {
        let err = Client::builder()
            .from_lookup(vars(&[("STRONGROOM_MAX_RETRIES", "many")]))
            .unwrap_err();
        assert!(
            matches!(err, ClientError::Config(ref m) if m.contains("\"many\"")),
            "{err}"
        );
        let err = Client::builder()
            .from_lookup(vars(&[("STRONGROOM_CLIENT_CERT", "/nonexistent/c.pem")]))
            .unwrap_err();
        assert!(
            err.to_string().contains("STRONGROOM_CLIENT_KEY is not"),
            "{err}"
        );
        // A STRONGROOM_ half pair is not completed from VAULT_.
        let err = Client::builder()
            .from_lookup(vars(&[
                ("STRONGROOM_CLIENT_KEY", "/nonexistent/k.pem"),
                ("VAULT_CLIENT_CERT", "/nonexistent/c.pem"),
                ("VAULT_CLIENT_KEY", "/nonexistent/k.pem"),
            ]))
            .unwrap_err();
        assert!(
            err.to_string().contains("STRONGROOM_CLIENT_CERT is not"),
            "{err}"
        );
        let err = Client::builder()
            .from_lookup(vars(&[("VAULT_CACERT", "/nonexistent/ca.pem")]))
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn bad_addresses_and_pems_are_config_errors() {
        for addr in ["not a url", "ftp://x:1", ""] {
            let err = Client::builder().address(addr).build().unwrap_err();
            assert!(matches!(err, ClientError::Config(_)), "{addr}: {err}");
        }
        let err = Client::builder()
            .ca_pem(b"nothing".to_vec())
            .build()
            .unwrap_err();
        assert!(matches!(err, ClientError::Config(_)), "{err}");
        let key = b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0a2V5\n-----END PRIVATE KEY-----\n";
        let err = Client::builder()
            .client_identity_pem(b"not a cert", key)
            .build()
            .unwrap_err();
        assert!(matches!(err, ClientError::Config(_)), "{err}");
        assert!(!err.to_string().contains("c2VjcmV0a2V5"), "{err}");
    }

    #[test]
    fn address_prefix_is_kept_and_debug_hides_the_token() {
        let c = Client::builder()
            .address("https://h:8200/vault")
            .token("s.supersecret")
            .build()
            .unwrap();
        assert_eq!(
            c.url("sys/health").unwrap().as_str(),
            "https://h:8200/vault/v1/sys/health"
        );
        assert_eq!(
            c.url("/sys/health").unwrap().as_str(),
            "https://h:8200/vault/v1/sys/health"
        );
        let debug = format!("{c:?} {:?}", Client::builder().token("s.supersecret"));
        assert!(!debug.contains("supersecret"), "{debug}");
        assert!(c.has_token());
        assert!(!c.without_token().has_token());
    }
}
