//! Typed calls of the token store (`auth/token/*`) and of the capability checks
//! (`sys/capabilities*`).
//!
//! A token other than the caller's always travels in the request body (`lookup`,
//! `renew`, `revoke`, `revoke-orphan`, `capabilities`), never in the URL, where it would
//! end up in access logs. Calls that create or renew a token answer with its `auth`
//! block ([`AuthInfo`]); lookups with [`TokenLookup`] (whose `id` is empty when looked
//! up by accessor).

use reqwest::Method;
use serde_json::{json, Value};

use super::{body_of, data_of};
use crate::api::{AuthInfo, Envelope, PathCapabilities, TokenCreateRequest, TokenLookup};
use crate::client::path_segment;
use crate::{Client, ClientError};

impl Client {
    /// `GET auth/token/lookup-self`.
    pub async fn lookup_self(&self) -> Result<TokenLookup, ClientError> {
        let env: Envelope<TokenLookup> = self
            .call_some::<(), _>(Method::GET, "auth/token/lookup-self", None)
            .await?;
        data_of(env, "lookup-self")
    }

    /// `PUT auth/token/renew-self`: extends the caller's token by `increment` seconds (the
    /// server's default when `None`) and returns the new `auth` block.
    pub async fn renew_self(&self, increment: Option<u64>) -> Result<AuthInfo, ClientError> {
        self.token_auth(
            "auth/token/renew-self",
            increment_body(json!({}), increment),
        )
        .await
    }

    /// Creates a token: `POST auth/token/create`, or `create-orphan` when
    /// `request.orphan`, or `create/<role>` when `request.role` is set (both at once is
    /// an [`ClientError::InvalidArgument`]). Returns the new token's `auth` block.
    pub async fn create_token(
        &self,
        request: &TokenCreateRequest,
    ) -> Result<AuthInfo, ClientError> {
        let path = match (&request.role, request.orphan) {
            (Some(_), true) => {
                return Err(ClientError::InvalidArgument(
                    "a token is created either from a role or as an orphan, not both (the \
                     role decides whether its tokens are orphans)"
                        .into(),
                ))
            }
            (Some(role), false) => {
                format!(
                    "auth/token/create/{}",
                    path_segment(role.trim(), "role name")?
                )
            }
            (None, true) => "auth/token/create-orphan".to_string(),
            (None, false) => "auth/token/create".to_string(),
        };
        let body = body_of(request, "token create request")?;
        self.token_auth(&path, body).await
    }

    /// `POST auth/token/lookup {"token"}`: the properties of another token (403 `bad
    /// token` when it does not exist).
    pub async fn lookup_token(&self, token: &str) -> Result<TokenLookup, ClientError> {
        let token = non_empty(token, "token")?;
        self.token_lookup("auth/token/lookup", json!({ "token": token }))
            .await
    }

    /// `POST auth/token/lookup-accessor {"accessor"}`: the properties of the token with
    /// that accessor; its `id` is empty.
    pub async fn lookup_accessor(&self, accessor: &str) -> Result<TokenLookup, ClientError> {
        let accessor = non_empty(accessor, "accessor")?;
        self.token_lookup(
            "auth/token/lookup-accessor",
            json!({ "accessor": accessor }),
        )
        .await
    }

    /// `POST auth/token/renew {"token", "increment"}`: renews another token.
    pub async fn renew_token(
        &self,
        token: &str,
        increment: Option<u64>,
    ) -> Result<AuthInfo, ClientError> {
        let token = non_empty(token, "token")?;
        self.token_auth(
            "auth/token/renew",
            increment_body(json!({ "token": token }), increment),
        )
        .await
    }

    /// `POST auth/token/renew-accessor {"accessor", "increment"}`: renews the token with
    /// that accessor; the answer's `client_token` is empty.
    pub async fn renew_accessor(
        &self,
        accessor: &str,
        increment: Option<u64>,
    ) -> Result<AuthInfo, ClientError> {
        let accessor = non_empty(accessor, "accessor")?;
        self.token_auth(
            "auth/token/renew-accessor",
            increment_body(json!({ "accessor": accessor }), increment),
        )
        .await
    }

    /// `POST auth/token/revoke {"token"}`: revokes the token, its descendants and their
    /// leases. An unknown token is not an error (it is as revoked as can be).
    pub async fn revoke_token(&self, token: &str) -> Result<(), ClientError> {
        let token = non_empty(token, "token")?;
        self.token_no_answer("auth/token/revoke", json!({ "token": token }))
            .await
    }

    /// `POST auth/token/revoke-self`: revokes the caller's own token (and its children).
    /// The client cannot be used with that token afterwards.
    pub async fn revoke_self(&self) -> Result<(), ClientError> {
        self.token_no_answer("auth/token/revoke-self", json!({}))
            .await
    }

    /// `POST auth/token/revoke-accessor {"accessor"}`: revokes the token with that
    /// accessor and its descendants. An unknown accessor is not an error.
    pub async fn revoke_accessor(&self, accessor: &str) -> Result<(), ClientError> {
        let accessor = non_empty(accessor, "accessor")?;
        self.token_no_answer(
            "auth/token/revoke-accessor",
            json!({ "accessor": accessor }),
        )
        .await
    }

    /// `POST auth/token/revoke-orphan {"token"}` (needs sudo): revokes the token only;
    /// its children become orphans and live on.
    pub async fn revoke_orphan(&self, token: &str) -> Result<(), ClientError> {
        let token = non_empty(token, "token")?;
        self.token_no_answer("auth/token/revoke-orphan", json!({ "token": token }))
            .await
    }

    /// `LIST auth/token/accessors` (needs sudo): the accessors of every token. Empty
    /// when there are none.
    pub async fn list_accessors(&self) -> Result<Vec<String>, ClientError> {
        self.list_keys("auth/token/accessors").await
    }

    /// `POST sys/capabilities-self {"paths"}`: what the caller's token may do on each
    /// of `paths`, keyed by path (leading `/` removed).
    pub async fn capabilities_self(&self, paths: &[&str]) -> Result<PathCapabilities, ClientError> {
        self.capabilities("sys/capabilities-self", json!({}), paths)
            .await
    }

    /// `POST sys/capabilities {"token", "paths"}`: what `token` may do on each of
    /// `paths`.
    pub async fn capabilities_of_token(
        &self,
        token: &str,
        paths: &[&str],
    ) -> Result<PathCapabilities, ClientError> {
        let token = non_empty(token, "token")?;
        self.capabilities("sys/capabilities", json!({ "token": token }), paths)
            .await
    }

    /// `POST sys/capabilities-accessor {"accessor", "paths"}`: what the token with that
    /// accessor may do on each of `paths`.
    pub async fn capabilities_of_accessor(
        &self,
        accessor: &str,
        paths: &[&str],
    ) -> Result<PathCapabilities, ClientError> {
        let accessor = non_empty(accessor, "accessor")?;
        self.capabilities(
            "sys/capabilities-accessor",
            json!({ "accessor": accessor }),
            paths,
        )
        .await
    }

    async fn token_auth(&self, path: &str, body: Value) -> Result<AuthInfo, ClientError> {
        let env: Envelope<Value> = self.call_some(Method::PUT, path, Some(&body)).await?;
        env.auth
            .ok_or_else(|| ClientError::Decode(format!("the answer of {path} has no auth block")))
    }

    async fn token_lookup(&self, path: &str, body: Value) -> Result<TokenLookup, ClientError> {
        let env: Envelope<TokenLookup> = self.call_some(Method::PUT, path, Some(&body)).await?;
        data_of(env, path)
    }

    async fn token_no_answer(&self, path: &str, body: Value) -> Result<(), ClientError> {
        self.call_unit(Method::PUT, path, Some(&body)).await
    }

    async fn capabilities(
        &self,
        path: &str,
        mut body: Value,
        paths: &[&str],
    ) -> Result<PathCapabilities, ClientError> {
        let asked: Vec<&str> = paths
            .iter()
            .map(|p| p.trim().trim_start_matches('/'))
            .filter(|p| !p.is_empty())
            .collect();
        if asked.is_empty() {
            return Err(ClientError::InvalidArgument(
                "no path to check capabilities on".into(),
            ));
        }
        body["paths"] = json!(asked);
        let env: Envelope<PathCapabilities> =
            self.call_some(Method::PUT, path, Some(&body)).await?;
        let mut data = data_of(env, path)?;
        asked
            .into_iter()
            .map(|p| match data.remove(p) {
                Some(caps) => Ok((p.to_string(), caps)),
                None => Err(ClientError::Decode(format!(
                    "the answer of {path} does not mention {p:?}"
                ))),
            })
            .collect()
    }
}

/// `value` trimmed, or an [`ClientError::InvalidArgument`] naming `what` when empty
/// (an empty token would make the server look up the caller instead).
fn non_empty<'a>(value: &'a str, what: &str) -> Result<&'a str, ClientError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ClientError::InvalidArgument(format!("the {what} is empty")));
    }
    Ok(value)
}

fn increment_body(mut body: Value, increment: Option<u64>) -> Value {
    if let Some(seconds) = increment {
        body["increment"] = json!(seconds);
    }
    body
}
