//! The typed async HTTP client.
//!
//! Configuration comes from the builder or the environment: `STRONGROOM_ADDR`,
//! `STRONGROOM_TOKEN`, `STRONGROOM_CACERT`, falling back to `VAULT_ADDR`, `VAULT_TOKEN`,
//! `VAULT_CACERT`. The token is held privately and never printed.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::api::ErrorBody;
use crate::ClientError;

/// Builds a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    address: Option<String>,
    token: Option<String>,
    ca_pem: Option<Vec<u8>>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("address", &self.address)
            .field("token", &self.token.as_ref().map(|_| ".."))
            .finish_non_exhaustive()
    }
}

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl ClientBuilder {
    /// Server address, e.g. `https://127.0.0.1:8200`.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    /// Token sent as `X-Vault-Token`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// A PEM CA certificate to trust (added to the system roots).
    pub fn ca_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_pem = Some(pem);
        self
    }

    /// Per-request timeout (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Fills unset fields from `STRONGROOM_*` then `VAULT_*` environment variables.
    pub fn from_env(mut self) -> Result<Self, ClientError> {
        if self.address.is_none() {
            self.address = env_first(&["STRONGROOM_ADDR", "VAULT_ADDR"]);
        }
        if self.token.is_none() {
            self.token = env_first(&["STRONGROOM_TOKEN", "VAULT_TOKEN"]);
        }
        if self.ca_pem.is_none() {
            if let Some(path) = env_first(&["STRONGROOM_CACERT", "VAULT_CACERT"]) {
                let pem = std::fs::read(&path)
                    .map_err(|e| ClientError::Config(format!("reading CA file {path}: {e}")))?;
                self.ca_pem = Some(pem);
            }
        }
        Ok(self)
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, ClientError> {
        let address = self
            .address
            .unwrap_or_else(|| "https://127.0.0.1:8200".to_string());
        let base = url::Url::parse(&address)
            .map_err(|e| ClientError::Config(format!("invalid address {address:?}: {e}")))?;
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout.unwrap_or(Duration::from_secs(60)))
            .use_rustls_tls();
        if let Some(pem) = &self.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ClientError::Config(format!("invalid CA PEM: {e}")))?;
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        Ok(Client {
            http: http.build()?,
            base,
            token: self.token,
        })
    }
}

/// A typed client for the Vault-compatible API.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    token: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| ".."))
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

impl Client {
    /// Starts a builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A copy of this client using another token.
    pub fn with_token(&self, token: impl Into<String>) -> Client {
        Client {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The server address.
    pub fn address(&self) -> &str {
        self.base.as_str()
    }

    fn url(&self, path: &str) -> Result<url::Url, ClientError> {
        self.base
            .join(&format!("v1/{}", path.trim_start_matches('/')))
            .map_err(|e| ClientError::Config(format!("invalid path {path:?}: {e}")))
    }

    /// Sends any request to `/v1/<path>` and returns the status and JSON body, without
    /// treating error statuses as errors. Useful for tests and generic CLI commands.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, ClientError> {
        let mut req = self
            .http
            .request(method, self.url(path)?)
            .header("X-Vault-Request", "true");
        if let Some(token) = &self.token {
            req = req.header("X-Vault-Token", token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))?
        };
        Ok(RawResponse { status, body })
    }

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
        let raw = self.raw(method, path, body.as_ref()).await?;
        if !raw.status.is_success() {
            let errors = serde_json::from_value::<ErrorBody>(raw.body)
                .map(|b| b.errors)
                .unwrap_or_default();
            return Err(ClientError::Api {
                status: raw.status.as_u16(),
                errors,
            });
        }
        if raw.status == StatusCode::NO_CONTENT || raw.body.is_null() {
            return Ok(None);
        }
        serde_json::from_value(raw.body)
            .map(Some)
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Like [`Client::raw`], but an error status becomes [`ClientError::Api`]. Returns the
    /// JSON body, or `None` for an empty answer (204). Useful for generic CLI commands
    /// that print the server's JSON as it is.
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
