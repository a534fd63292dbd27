//! Typed calls of `sys/leases/*`: lookup, list, renew, revoke (one, by prefix, forced)
//! and tidy.

use reqwest::Method;
use serde_json::{json, Value};

use super::data_of;
use super::sys::segment;
use crate::api::{Envelope, LeaseInfo};
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
        self.revoke_lease_with(lease_id, true).await
    }

    /// `PUT sys/leases/revoke` with `sync`: when `false` the server only queues the
    /// revocation and answers at once. An unknown lease is not an error.
    pub async fn revoke_lease_with(&self, lease_id: &str, sync: bool) -> Result<(), ClientError> {
        let body = json!({ "lease_id": lease_id, "sync": sync });
        self.call_unit(Method::PUT, "sys/leases/revoke", Some(&body))
            .await
    }

    /// `PUT sys/leases/lookup`: the lease's path, issue and expiry times, TTL and whether
    /// it is renewable. 400 `invalid lease` when there is no such lease.
    pub async fn lookup_lease(&self, lease_id: &str) -> Result<LeaseInfo, ClientError> {
        let body = json!({ "lease_id": lease_id });
        let env = self
            .call_some(Method::PUT, "sys/leases/lookup", Some(&body))
            .await?;
        data_of(env, "sys/leases/lookup")
    }

    /// `LIST sys/leases/lookup/<prefix>/`: the children under `prefix` — folders with a
    /// trailing slash (`creds/`) or, at a leaf, the lease ids' last segments. `""` lists the
    /// top level. Empty when there is nothing (needs sudo).
    pub async fn list_leases(&self, prefix: &str) -> Result<Vec<String>, ClientError> {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return self.list_keys("sys/leases/lookup").await;
        }
        let prefix = segment("lease prefix", prefix)?;
        self.list_keys(&format!("sys/leases/lookup/{prefix}/"))
            .await
    }

    /// `PUT sys/leases/revoke-prefix/<prefix>`: revokes every lease (and token) whose path
    /// starts with `prefix`; with `sync` the call returns once they are gone (needs sudo).
    pub async fn revoke_prefix(&self, prefix: &str, sync: bool) -> Result<(), ClientError> {
        let prefix = segment("lease prefix", prefix)?;
        let body = json!({ "sync": sync });
        self.call_unit(
            Method::PUT,
            &format!("sys/leases/revoke-prefix/{prefix}"),
            Some(&body),
        )
        .await
    }

    /// `PUT sys/leases/revoke-force/<prefix>`: like [`Client::revoke_prefix`] but deletes
    /// the lease entries even where the engine fails to revoke the secret (which may then
    /// outlive its lease). Needs sudo; a last resort.
    pub async fn revoke_force(&self, prefix: &str) -> Result<(), ClientError> {
        let prefix = segment("lease prefix", prefix)?;
        self.call_unit::<()>(
            Method::PUT,
            &format!("sys/leases/revoke-force/{prefix}"),
            None,
        )
        .await
    }

    /// `PUT sys/leases/tidy`: runs the expiration pass now (revokes expired leases).
    pub async fn tidy_leases(&self) -> Result<(), ClientError> {
        self.call_unit::<()>(Method::PUT, "sys/leases/tidy", None)
            .await
    }
}
