//! Typed calls of the system backend: init, seal/unseal, health, leader, key status,
//! rotate and rekey; secrets engine mounts and auth methods (with tuning), ACL policies,
//! capabilities, and audit devices.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{data_of, keys_of};
use crate::api::{
    AuditDevice, EnableAuditRequest, Envelope, HealthResponse, InitRequest, InitResponse,
    InitStatus, KeyStatus, LeaderResponse, MountEntry, MountOptions, MountTune, Policy,
    RekeyInitRequest, RekeyStatus, RekeyUpdateRequest, RekeyVerifyStatus, SealStatus,
    TuneMountRequest, UnsealRequest, WritePolicyRequest,
};
use crate::{Client, ClientError};

/// The body of an enable call: the type plus the caller's [`MountOptions`].
#[derive(Serialize)]
struct EnableBody<'a> {
    #[serde(rename = "type")]
    mount_type: &'a str,
    #[serde(flatten)]
    options: &'a MountOptions,
}

/// A path segment given by the caller (mount path, policy name, key name), without its
/// surrounding slashes. Refuses what would change the request's meaning (`?`, `#`, `..`)
/// or address nothing.
pub(crate) fn segment<'a>(what: &str, value: &'a str) -> Result<&'a str, ClientError> {
    let trimmed = value.trim_matches('/');
    if trimmed.is_empty()
        || trimmed.contains(['?', '#'])
        || trimmed
            .split('/')
            .any(|p| p == ".." || p == "." || p.is_empty())
    {
        return Err(ClientError::Config(format!("invalid {what} {value:?}")));
    }
    Ok(trimmed)
}

impl Client {
    /// `GET sys/init`.
    pub async fn init_status(&self) -> Result<InitStatus, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/init", None).await
    }

    /// `PUT sys/init`.
    pub async fn init(&self, shares: u32, threshold: u32) -> Result<InitResponse, ClientError> {
        let req = InitRequest {
            secret_shares: shares,
            secret_threshold: threshold,
        };
        self.call_some(Method::PUT, "sys/init", Some(&req)).await
    }

    /// `GET sys/seal-status`.
    pub async fn seal_status(&self) -> Result<SealStatus, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/seal-status", None)
            .await
    }

    /// `PUT sys/unseal` with one share.
    pub async fn unseal(&self, key: &str) -> Result<SealStatus, ClientError> {
        let req = UnsealRequest {
            key: Some(key.to_string()),
            ..Default::default()
        };
        self.call_some(Method::PUT, "sys/unseal", Some(&req)).await
    }

    /// `PUT sys/unseal {"reset": true}`.
    pub async fn unseal_reset(&self) -> Result<SealStatus, ClientError> {
        let req = UnsealRequest {
            reset: true,
            ..Default::default()
        };
        self.call_some(Method::PUT, "sys/unseal", Some(&req)).await
    }

    /// `PUT sys/seal` (needs root/sudo).
    pub async fn seal(&self) -> Result<(), ClientError> {
        self.call_unit::<()>(Method::PUT, "sys/seal", None).await
    }

    /// `GET sys/health`: returns the status code too, since health is status-driven.
    pub async fn health(&self) -> Result<(u16, HealthResponse), ClientError> {
        let raw = self.raw(Method::GET, "sys/health", None).await?;
        let body =
            serde_json::from_value(raw.body).map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok((raw.status.as_u16(), body))
    }

    /// `GET sys/leader`.
    pub async fn leader(&self) -> Result<LeaderResponse, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/leader", None)
            .await
    }

    /// `GET sys/key-status`.
    pub async fn key_status(&self) -> Result<KeyStatus, ClientError> {
        let env: Envelope<KeyStatus> = self
            .call_some::<(), _>(Method::GET, "sys/key-status", None)
            .await?;
        data_of(env, "key-status")
    }

    /// `PUT sys/rotate`: adds a keyring term.
    pub async fn rotate(&self) -> Result<(), ClientError> {
        self.call_unit::<()>(Method::PUT, "sys/rotate", None).await
    }

    /// `PUT sys/rekey/init`: starts a rekey to `shares`/`threshold`.
    pub async fn rekey_init(
        &self,
        shares: u32,
        threshold: u32,
        require_verification: bool,
    ) -> Result<RekeyStatus, ClientError> {
        let req = RekeyInitRequest {
            secret_shares: shares,
            secret_threshold: threshold,
            require_verification,
        };
        self.call_some(Method::PUT, "sys/rekey/init", Some(&req))
            .await
    }

    /// `GET sys/rekey/init`: the rekey in progress (`started: false` when there is none).
    pub async fn rekey_status(&self) -> Result<RekeyStatus, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/rekey/init", None)
            .await
    }

    /// `DELETE sys/rekey/init`: cancels the rekey in progress (a no-op when there is none).
    /// Shares already supplied are forgotten; the current unseal keys stay valid.
    pub async fn rekey_cancel(&self) -> Result<(), ClientError> {
        self.call_unit::<()>(Method::DELETE, "sys/rekey/init", None)
            .await
    }

    /// `GET sys/rekey/verify`: the pending verification of new shares (`started: false`
    /// when there is none).
    pub async fn rekey_verify_status(&self) -> Result<RekeyVerifyStatus, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/rekey/verify", None)
            .await
    }

    /// `PUT sys/rekey/update` with one old share. Returns the raw JSON: a status while in
    /// progress, the new keys once complete.
    pub async fn rekey_update(&self, key: &str, nonce: &str) -> Result<Value, ClientError> {
        let req = RekeyUpdateRequest {
            key: key.to_string(),
            nonce: nonce.to_string(),
        };
        self.call_some(Method::PUT, "sys/rekey/update", Some(&req))
            .await
    }

    /// `PUT sys/rekey/verify` with one new share. Returns the raw JSON.
    pub async fn rekey_verify(&self, key: &str, nonce: &str) -> Result<Value, ClientError> {
        let req = RekeyUpdateRequest {
            key: key.to_string(),
            nonce: nonce.to_string(),
        };
        self.call_some(Method::PUT, "sys/rekey/verify", Some(&req))
            .await
    }

    /// `GET <path>?list=true`: the `keys` of a list endpoint; empty when the server answers
    /// 404 (nothing there).
    pub(crate) async fn list_keys(&self, path: &str) -> Result<Vec<String>, ClientError> {
        keys_of(
            self.call::<(), _>(Method::GET, &format!("{path}?list=true"), None)
                .await,
        )
    }

    /// `GET sys/mounts`: every secrets engine, keyed by its path with a trailing slash
    /// (`secret/`).
    pub async fn list_mounts(&self) -> Result<BTreeMap<String, MountEntry>, ClientError> {
        let env = self
            .call_some::<(), _>(Method::GET, "sys/mounts", None)
            .await?;
        data_of(env, "sys/mounts")
    }

    /// `GET sys/mounts/<path>`: one secrets engine (400 when there is none at `path`).
    pub async fn read_mount(&self, path: &str) -> Result<MountEntry, ClientError> {
        let path = segment("mount path", path)?;
        let env = self
            .call_some::<(), _>(Method::GET, &format!("sys/mounts/{path}"), None)
            .await?;
        data_of(env, "sys/mounts/:path")
    }

    /// `POST sys/mounts/<path>`: enables a secrets engine of type `mount_type` (`kv`,
    /// `database`, `transit`, ...) at `path`. For KV v2 set `options.options["version"]`
    /// to `"2"`. 400 when the path is in use or the type unknown.
    pub async fn enable_mount(
        &self,
        path: &str,
        mount_type: &str,
        options: &MountOptions,
    ) -> Result<(), ClientError> {
        let path = segment("mount path", path)?;
        let body = EnableBody {
            mount_type,
            options,
        };
        self.call_unit(Method::POST, &format!("sys/mounts/{path}"), Some(&body))
            .await
    }

    /// `DELETE sys/mounts/<path>`: disables a secrets engine, revoking its leases first
    /// (succeeds when nothing is mounted there).
    pub async fn disable_mount(&self, path: &str) -> Result<(), ClientError> {
        let path = segment("mount path", path)?;
        self.call_unit::<()>(Method::DELETE, &format!("sys/mounts/{path}"), None)
            .await
    }

    /// `GET sys/mounts/<path>/tune`: the effective TTLs, description and options.
    pub async fn read_mount_tune(&self, path: &str) -> Result<MountTune, ClientError> {
        let path = segment("mount path", path)?;
        let env = self
            .call_some::<(), _>(Method::GET, &format!("sys/mounts/{path}/tune"), None)
            .await?;
        data_of(env, "sys/mounts/:path/tune")
    }

    /// `POST sys/mounts/<path>/tune`: changes the fields set in `tune`.
    pub async fn tune_mount(&self, path: &str, tune: &TuneMountRequest) -> Result<(), ClientError> {
        let path = segment("mount path", path)?;
        self.call_unit(Method::POST, &format!("sys/mounts/{path}/tune"), Some(tune))
            .await
    }

    /// `GET sys/auth`: every auth method, keyed by its path without `auth/` and with a
    /// trailing slash (`token/`, `userpass/`).
    pub async fn list_auth(&self) -> Result<BTreeMap<String, MountEntry>, ClientError> {
        let env = self
            .call_some::<(), _>(Method::GET, "sys/auth", None)
            .await?;
        data_of(env, "sys/auth")
    }

    /// `POST sys/auth/<path>`: enables an auth method of type `method_type` (`userpass`,
    /// `approle`, `cert`) at `auth/<path>` (needs sudo).
    pub async fn enable_auth(
        &self,
        path: &str,
        method_type: &str,
        options: &MountOptions,
    ) -> Result<(), ClientError> {
        let path = segment("auth path", path)?;
        let body = EnableBody {
            mount_type: method_type,
            options,
        };
        self.call_unit(Method::POST, &format!("sys/auth/{path}"), Some(&body))
            .await
    }

    /// `DELETE sys/auth/<path>`: disables an auth method, revoking the tokens it issued
    /// (needs sudo; `token` cannot be disabled).
    pub async fn disable_auth(&self, path: &str) -> Result<(), ClientError> {
        let path = segment("auth path", path)?;
        self.call_unit::<()>(Method::DELETE, &format!("sys/auth/{path}"), None)
            .await
    }

    /// `GET sys/auth/<path>/tune`.
    pub async fn read_auth_tune(&self, path: &str) -> Result<MountTune, ClientError> {
        let path = segment("auth path", path)?;
        let env = self
            .call_some::<(), _>(Method::GET, &format!("sys/auth/{path}/tune"), None)
            .await?;
        data_of(env, "sys/auth/:path/tune")
    }

    /// `POST sys/auth/<path>/tune`: changes the fields set in `tune`.
    pub async fn tune_auth(&self, path: &str, tune: &TuneMountRequest) -> Result<(), ClientError> {
        let path = segment("auth path", path)?;
        self.call_unit(Method::POST, &format!("sys/auth/{path}/tune"), Some(tune))
            .await
    }

    /// `LIST sys/policies/acl`: the ACL policy names (always with `default` and `root`).
    pub async fn list_policies(&self) -> Result<Vec<String>, ClientError> {
        self.list_keys("sys/policies/acl").await
    }

    /// `GET sys/policies/acl/<name>`; `None` when there is no such policy.
    pub async fn read_policy(&self, name: &str) -> Result<Option<Policy>, ClientError> {
        let name = segment("policy name", name)?;
        let answer: Result<Option<Envelope<Policy>>, ClientError> = self
            .call::<(), _>(Method::GET, &format!("sys/policies/acl/{name}"), None)
            .await;
        match answer {
            Ok(Some(env)) => data_of(env, "sys/policies/acl/:name").map(Some),
            Ok(None) | Err(ClientError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `PUT sys/policies/acl/<name>`: creates or replaces a policy (HCL or JSON text).
    /// With `cas`, only if its current version is `cas` (`-1`: only if new). 400 with the
    /// parser's message when the text is not a valid policy.
    pub async fn write_policy(
        &self,
        name: &str,
        policy: &str,
        cas: Option<i64>,
    ) -> Result<(), ClientError> {
        let name = segment("policy name", name)?;
        let body = WritePolicyRequest {
            policy: policy.to_string(),
            cas,
        };
        self.call_unit(
            Method::PUT,
            &format!("sys/policies/acl/{name}"),
            Some(&body),
        )
        .await
    }

    /// `DELETE sys/policies/acl/<name>` (`root` and `default` cannot be deleted).
    pub async fn delete_policy(&self, name: &str) -> Result<(), ClientError> {
        let name = segment("policy name", name)?;
        self.call_unit::<()>(Method::DELETE, &format!("sys/policies/acl/{name}"), None)
            .await
    }

    /// `GET sys/audit`: the enabled audit devices, keyed by path with a trailing slash
    /// (needs sudo).
    pub async fn list_audit(&self) -> Result<BTreeMap<String, AuditDevice>, ClientError> {
        let env = self
            .call_some::<(), _>(Method::GET, "sys/audit", None)
            .await?;
        data_of(env, "sys/audit")
    }

    /// `PUT sys/audit/<path>`: enables an audit device (needs sudo, and the server's
    /// `[audit_api]` must allow API creation; a file device must then write inside the
    /// allowed directory).
    pub async fn enable_audit(
        &self,
        path: &str,
        device: &EnableAuditRequest,
    ) -> Result<(), ClientError> {
        let path = segment("audit device path", path)?;
        self.call_unit(Method::PUT, &format!("sys/audit/{path}"), Some(device))
            .await
    }

    /// `DELETE sys/audit/<path>`: disables an audit device (needs sudo).
    pub async fn disable_audit(&self, path: &str) -> Result<(), ClientError> {
        let path = segment("audit device path", path)?;
        self.call_unit::<()>(Method::DELETE, &format!("sys/audit/{path}"), None)
            .await
    }

    /// `POST sys/audit-hash/<path>`: how device `path` renders `input` in its log
    /// (`hmac-sha256:<hex>`), to find a known value in the audit file.
    pub async fn audit_hash(&self, path: &str, input: &str) -> Result<String, ClientError> {
        let path = segment("audit device path", path)?;
        let env: Envelope<Map<String, Value>> = self
            .call_some(
                Method::POST,
                &format!("sys/audit-hash/{path}"),
                Some(&json!({ "input": input })),
            )
            .await?;
        data_of(env, "sys/audit-hash")?
            .get("hash")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ClientError::Decode("sys/audit-hash answer without hash".into()))
    }
}
