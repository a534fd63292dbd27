//! Typed calls of the login endpoints: token, userpass, approle, cert.
//!
//! Every login returns the `auth` block ([`AuthInfo`]) with the new token; the client
//! itself is not changed (calls take `&self`): adopt the token with
//! [`Client::with_auth`]. Logins are unauthenticated, so the client's own token, if any,
//! is not sent.
//!
//! The mount is an `Option<&str>`: `None` is the method's default path (`userpass`,
//! `approle`, `cert`), `Some("team/up")` a method enabled elsewhere. Passwords and
//! secret ids are `&str` parameters: callers keep them in zeroizing buffers; the
//! request body built here is dropped right after sending and no error quotes it.

use reqwest::Method;
use serde_json::{json, Value};

use crate::api::{AuthInfo, Envelope};
use crate::client::{mount_path, path_segment};
use crate::{Client, ClientError};

/// Default mount of the userpass method.
pub(crate) const USERPASS_MOUNT: &str = "userpass";
/// Default mount of the AppRole method.
pub(crate) const APPROLE_MOUNT: &str = "approle";
/// Default mount of the TLS certificate method.
pub(crate) const CERT_MOUNT: &str = "cert";

impl Client {
    /// "Logs in" with an existing token: checks it with `auth/token/lookup-self` and
    /// returns its properties as an `auth` block (`client_token` = `token`,
    /// `lease_duration` = its remaining TTL, `metadata` = its `meta`), as `bao login`
    /// does. A revoked, expired or unknown token fails with 403.
    pub async fn login_token(&self, token: &str) -> Result<AuthInfo, ClientError> {
        if token.trim().is_empty() {
            return Err(ClientError::InvalidArgument("the token is empty".into()));
        }
        let lookup = self.with_token(token.trim()).lookup_self().await?;
        Ok(AuthInfo {
            client_token: token.trim().to_string(),
            accessor: lookup.accessor,
            token_policies: lookup.policies.clone(),
            policies: lookup.policies,
            metadata: lookup.meta,
            lease_duration: lookup.ttl,
            renewable: lookup.renewable,
            entity_id: lookup.entity_id,
            token_type: lookup.token_type,
            orphan: lookup.orphan,
            mfa_requirement: None,
            num_uses: lookup.num_uses,
        })
    }

    /// `POST auth/<mount>/login/<username> {"password"}`. A wrong password and an
    /// unknown user both fail with 400 `invalid username or password`; a locked-out
    /// user with 403.
    pub async fn login_userpass(
        &self,
        mount: Option<&str>,
        username: &str,
        password: &str,
    ) -> Result<AuthInfo, ClientError> {
        let path = format!(
            "auth/{}/login/{}",
            mount_path(mount, USERPASS_MOUNT)?,
            path_segment(username.trim(), "user name")?
        );
        self.login(&path, &json!({ "password": password })).await
    }

    /// `POST auth/<mount>/login {"role_id", "secret_id"}`. `secret_id` may be `None`
    /// for a role created with `bind_secret_id=false`. A wrong role or secret id fails
    /// with 400 `invalid role or secret ID`.
    pub async fn login_approle(
        &self,
        mount: Option<&str>,
        role_id: &str,
        secret_id: Option<&str>,
    ) -> Result<AuthInfo, ClientError> {
        if role_id.trim().is_empty() {
            return Err(ClientError::InvalidArgument("the role id is empty".into()));
        }
        let mut body = json!({ "role_id": role_id.trim() });
        if let Some(secret_id) = secret_id {
            body["secret_id"] = json!(secret_id);
        }
        let path = format!("auth/{}/login", mount_path(mount, APPROLE_MOUNT)?);
        self.login(&path, &body).await
    }

    /// `POST auth/<mount>/login`, optionally `{"name": role}` to try that certificate
    /// role only. The client must have been built with a client certificate
    /// ([`ClientBuilder::client_identity_pem`](crate::ClientBuilder::client_identity_pem)
    /// or the `*_CLIENT_CERT`/`*_CLIENT_KEY` variables) and talk to a TLS listener that
    /// asks for one; without it the server answers 400 `no client certificate found`.
    pub async fn login_cert(
        &self,
        mount: Option<&str>,
        name: Option<&str>,
    ) -> Result<AuthInfo, ClientError> {
        let body = match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => json!({ "name": name }),
            None => json!({}),
        };
        let path = format!("auth/{}/login", mount_path(mount, CERT_MOUNT)?);
        self.login(&path, &body).await
    }

    /// Sends a login without the client's token and returns the `auth` block.
    async fn login(&self, path: &str, body: &Value) -> Result<AuthInfo, ClientError> {
        let env: Envelope<Value> = self
            .without_token()
            .call_some(Method::PUT, path, Some(body))
            .await?;
        env.auth
            .ok_or_else(|| ClientError::Decode(format!("the answer of {path} has no auth block")))
    }
}
