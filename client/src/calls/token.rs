//! Typed calls of the token store (`auth/token/*`).

use reqwest::Method;
use serde_json::json;

use crate::api::{AuthInfo, Envelope, TokenLookup};
use crate::{Client, ClientError};

impl Client {
    /// `GET auth/token/lookup-self`.
    pub async fn lookup_self(&self) -> Result<TokenLookup, ClientError> {
        let env: Envelope<TokenLookup> = self
            .call_some::<(), _>(Method::GET, "auth/token/lookup-self", None)
            .await?;
        env.data
            .ok_or_else(|| ClientError::Decode("lookup-self without data".into()))
    }

    /// `PUT auth/token/renew-self`: extends the caller's token by `increment` seconds (the
    /// server's default when `None`) and returns the new `auth` block.
    pub async fn renew_self(&self, increment: Option<u64>) -> Result<AuthInfo, ClientError> {
        let body = match increment {
            Some(seconds) => json!({ "increment": seconds }),
            None => json!({}),
        };
        let env: Envelope<serde_json::Value> = self
            .call_some(Method::PUT, "auth/token/renew-self", Some(&body))
            .await?;
        env.auth
            .ok_or_else(|| ClientError::Decode("renew-self without auth".into()))
    }
}
