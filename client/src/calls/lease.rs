//! Typed calls of `sys/leases/*`: renew and revoke.

use reqwest::Method;
use serde_json::{json, Value};

use crate::api::Envelope;
use crate::{Client, ClientError};

impl Client {
    /// `PUT sys/leases/renew`: extends lease `lease_id` by `increment` seconds (the
    /// engine's default when `None`). The answer's `lease_duration` is the new TTL, which
    /// may be shorter than asked when the lease reaches its maximum.
    pub async fn renew_lease(
        &self,
        lease_id: &str,
        increment: Option<u64>,
    ) -> Result<Envelope<Value>, ClientError> {
        let mut body = json!({ "lease_id": lease_id });
        if let Some(seconds) = increment {
            body["increment"] = json!(seconds);
        }
        self.call_some(Method::PUT, "sys/leases/renew", Some(&body))
            .await
    }

    /// `PUT sys/leases/revoke`: revokes lease `lease_id` now (the engine drops the
    /// credential before the call returns).
    pub async fn revoke_lease(&self, lease_id: &str) -> Result<(), ClientError> {
        let body = json!({ "lease_id": lease_id });
        self.call::<_, Value>(Method::PUT, "sys/leases/revoke", Some(&body))
            .await
            .map(|_| ())
    }
}
