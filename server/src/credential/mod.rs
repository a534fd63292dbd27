//! Auth methods (Vault's credential backends) mounted under `auth/`: `userpass`,
//! `approle`, `cert`. The token method (`auth/token/`) is built into the core (`auth`).
//!
//! A method sees one [`CredentialRequest`] (its mount's storage view, the path relative
//! to the mount, the request data, the client's address and TLS certificate chain) and
//! answers either an ordinary response (user or role management, behind the ACL) or, for
//! its login paths, a [`LoginGrant`]: who logged in and what token they get. The core
//! turns the grant into a token (always an orphan), so no method ever touches the token
//! store. Login paths ([`is_login_path`]) are the only requests the core serves without
//! a token.

pub mod approle;
pub mod cert;
pub mod lockout;
pub mod token_fields;
pub mod userpass;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

pub use token_fields::TokenFields;

use crate::core::request::{CertChain, Operation};
use crate::engines::{EngineError, EngineResponse, MountContext};
use crate::mount::MountType;

/// One request for an auth method. `Debug` shows field names only: logins carry
/// passwords and secret ids.
pub struct CredentialRequest<'a> {
    /// What to do.
    pub operation: Operation,
    /// Path relative to the mount (`login/alice`, `users/`, `role/r/secret-id`).
    pub path: &'a str,
    /// Request data (body for writes, query for reads/lists).
    pub data: &'a Map<String, Value>,
    /// The mount: storage view (confined to the mount), path (`auth/userpass/`),
    /// accessor, TTL limits.
    pub ctx: &'a MountContext,
    /// The client's address, when known (CIDR bindings).
    pub remote_addr: Option<IpAddr>,
    /// The certificate chain the client presented in the TLS handshake (leaf first),
    /// already verified by the listener against its client CA bundle; `None` without TLS
    /// or without a client certificate.
    pub client_certs: Option<CertChain>,
}

impl std::fmt::Debug for CredentialRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRequest")
            .field("operation", &self.operation)
            .field("path", &self.path)
            .field("data_keys", &crate::core::request::redacted_keys(self.data))
            .field("mount", &self.ctx.mount_path)
            .field("remote_addr", &self.remote_addr)
            .field("client_certs", &self.client_certs.as_ref().map(|c| c.len()))
            .finish()
    }
}

/// A successful login: the core creates an orphan token from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginGrant {
    /// The principal (user name, role name): the token's display name is
    /// `<mount name>-<principal>`, its path `auth/<mount>/<login_path>`.
    pub principal: String,
    /// The login path relative to the mount (`login/alice`, `login`).
    pub login_path: String,
    /// Token metadata (`username`, `role_name`, ...).
    pub metadata: BTreeMap<String, String>,
    /// The token's settings (policies, TTLs, uses, period, CIDR bindings).
    pub token: TokenFields,
}

/// What a method answers.
#[derive(Debug)]
pub enum CredentialResponse {
    /// An ordinary response.
    Engine(EngineResponse),
    /// A login: issue a token.
    Login(LoginGrant),
}

impl From<EngineResponse> for CredentialResponse {
    fn from(r: EngineResponse) -> Self {
        CredentialResponse::Engine(r)
    }
}

/// Whether `rel` (relative to a mount of `kind`) is a login path, served without a token.
pub fn is_login_path(kind: MountType, rel: &str) -> bool {
    match kind {
        MountType::Userpass => rel.starts_with("login/") && rel.len() > "login/".len(),
        MountType::Approle | MountType::Cert => rel == "login",
        _ => false,
    }
}

/// The name a login is accounted under for lockout: userpass's lower-cased user name,
/// approle's role id. `None` when the request names nobody (it fails anyway).
pub fn lockout_alias(kind: MountType, rel: &str, data: &Map<String, Value>) -> Option<String> {
    let alias = match kind {
        MountType::Userpass => rel.strip_prefix("login/")?.trim().to_lowercase(),
        MountType::Approle => data.get("role_id")?.as_str()?.trim().to_string(),
        _ => return None,
    };
    (!alias.is_empty()).then_some(alias)
}

/// Dispatches a request to the method of a mount of `kind`.
pub async fn handle(
    kind: MountType,
    req: &CredentialRequest<'_>,
) -> Result<CredentialResponse, EngineError> {
    match kind {
        MountType::Userpass => userpass::handle(req).await,
        MountType::Approle => approle::handle(req).await,
        MountType::Cert => cert::handle(req).await,
        _ => Err(EngineError::UnsupportedPath),
    }
}

/// Existence check for the ACL's create-vs-update decision.
pub async fn exists(
    kind: MountType,
    req: &CredentialRequest<'_>,
) -> Result<Option<bool>, EngineError> {
    match kind {
        MountType::Userpass => userpass::exists(req).await,
        MountType::Approle => approle::exists(req).await,
        MountType::Cert => cert::exists(req).await,
        _ => Ok(None),
    }
}
