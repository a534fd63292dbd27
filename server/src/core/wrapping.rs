//! Response wrapping (wire reference §2.16, behaviour 39).
//!
//! A request carrying `X-Vault-Wrap-TTL` is served as usual; then its response (data or
//! auth, lease information and warnings included) is stored in the cubbyhole of a new
//! *wrapping token*, and the client gets only `wrap_info`. The wrapping token is an orphan
//! service token with one use, no renewal, the wrap TTL as its TTL and hard cap, the
//! request path as its creation path, and the single policy [`WRAPPING_POLICY`]. That
//! policy grants nothing in the ACL: a wrapping token is refused everywhere (without
//! spending its use) except by the unwrap paths here, which spend its one use
//! atomically — so of two concurrent unwraps exactly one gets the response — and then
//! revoke it, which deletes its cubbyhole. An expired wrapping token is revoked (and its
//! cubbyhole deleted) by the token tidy like any other token.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use strongroom_client::api::{AuthInfo, WrapInfo};
use zeroize::Zeroizing;

use super::request::{LogicalRequest, LogicalResponse, ResponseStatus};
use super::{Core, CoreError, Unsealed};
use crate::auth::{ClientToken, NewToken, TokenEntry};

/// The one policy of a wrapping token.
pub const WRAPPING_POLICY: &str = "response-wrapping";

/// Where a wrapping token's cubbyhole keeps the wrapped response.
const RESPONSE_KEY: &str = "response";

/// The wrapped response as stored (encrypted by the barrier) in the cubbyhole. `Debug`
/// is not derived: it holds secrets.
#[derive(Serialize, Deserialize)]
struct StoredResponse {
    data: Option<Value>,
    #[serde(default)]
    warnings: Vec<String>,
    auth: Option<AuthInfo>,
    #[serde(default)]
    lease_id: String,
    #[serde(default)]
    renewable: bool,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    mount_type: String,
    #[serde(default)]
    duplicate_top_level: bool,
}

impl StoredResponse {
    fn from_response(resp: LogicalResponse) -> StoredResponse {
        StoredResponse {
            data: resp.data,
            warnings: resp.warnings,
            auth: resp.auth,
            lease_id: resp.lease_id,
            renewable: resp.renewable,
            lease_duration: resp.lease_duration,
            mount_type: resp.mount_type,
            duplicate_top_level: resp.duplicate_top_level,
        }
    }

    fn into_response(self) -> LogicalResponse {
        LogicalResponse {
            data: self.data,
            warnings: self.warnings,
            auth: self.auth,
            duplicate_top_level: self.duplicate_top_level,
            lease_id: self.lease_id,
            renewable: self.renewable,
            lease_duration: self.lease_duration,
            mount_type: self.mount_type,
            status: ResponseStatus::Ok,
            wrap_info: None,
        }
    }

    /// `wrapped_accessor`: the accessor of a token (logins) or of an AppRole secret id
    /// that the payload carries.
    fn wrapped_accessor(&self) -> Option<String> {
        if let Some(auth) = &self.auth {
            return Some(auth.accessor.clone());
        }
        self.data
            .as_ref()
            .and_then(|d| d.get("secret_id_accessor"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// Whether `entry` is a wrapping token.
pub fn is_wrapping_token(entry: &TokenEntry) -> bool {
    entry.policies.len() == 1 && entry.policies[0] == WRAPPING_POLICY
}

/// What `sys/wrapping/lookup` reports of a wrapping token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapLookup {
    /// The path whose response was wrapped.
    pub creation_path: String,
    /// RFC 3339 issue time.
    pub creation_time: String,
    /// The wrap TTL, seconds.
    pub creation_ttl: u64,
}

impl Core {
    /// The wrapping step of the pipeline: wraps `resp` for `ttl` seconds when it has
    /// something to wrap (an empty success or a 404 with data is returned as it is).
    pub(super) async fn wrap_response(
        &self,
        unsealed: &Arc<Unsealed>,
        req: &LogicalRequest,
        resp: LogicalResponse,
        ttl: u64,
    ) -> Result<LogicalResponse, CoreError> {
        if resp.is_empty() || resp.status != ResponseStatus::Ok || resp.wrap_info.is_some() {
            return Ok(resp);
        }
        self.wrap_stored(
            unsealed,
            &req.path,
            StoredResponse::from_response(resp),
            ttl,
        )
        .await
    }

    /// Creates the wrapping token and stores `stored` in its cubbyhole.
    async fn wrap_stored(
        &self,
        unsealed: &Unsealed,
        creation_path: &str,
        stored: StoredResponse,
        ttl: u64,
    ) -> Result<LogicalResponse, CoreError> {
        let wrapped_accessor = stored.wrapped_accessor();
        let body = Zeroizing::new(
            serde_json::to_vec(&stored)
                .map_err(|_| CoreError::Invalid("the response cannot be wrapped".into()))?,
        );
        drop(stored);
        let (token, entry) = unsealed
            .tokens
            .create(NewToken {
                policies: vec![WRAPPING_POLICY.to_string()],
                path: creation_path.to_string(),
                display_name: WRAPPING_POLICY.to_string(),
                meta: None,
                ttl,
                explicit_max_ttl: ttl,
                period: 0,
                num_uses: 1,
                renewable: false,
                parent: None,
                max_ttl: ttl,
                bound_cidrs: Vec::new(),
            })
            .await?;
        let id_hash = unsealed.tokens.id_hash(&token);
        let stored = async {
            self.wrapping_cubbyhole(unsealed, &id_hash)?
                .put(RESPONSE_KEY, &body)
                .await?;
            Ok::<(), CoreError>(())
        }
        .await;
        if let Err(e) = stored {
            // Without its response the token is useless: take it back.
            let revoked = unsealed.tokens.revoke_tree(&id_hash).await?;
            self.after_token_revocation(unsealed, &revoked).await?;
            return Err(e);
        }
        Ok(LogicalResponse {
            wrap_info: Some(WrapInfo {
                token: token.expose().to_string(),
                accessor: entry.accessor.clone(),
                ttl,
                creation_time: creation_time(&entry),
                creation_path: creation_path.to_string(),
                wrapped_accessor,
            }),
            ..Default::default()
        })
    }

    /// The cubbyhole view of the token with `id_hash`.
    fn wrapping_cubbyhole(
        &self,
        unsealed: &Unsealed,
        id_hash: &str,
    ) -> Result<crate::barrier::StorageView, CoreError> {
        let mount = unsealed
            .mounts
            .resolve("cubbyhole/")
            .ok_or(CoreError::WrappingTokenInvalid)?;
        Ok(self.mount_context(unsealed, &mount, Some(id_hash))?.view)
    }

    /// A live wrapping token's entry, or `WrappingTokenInvalid`.
    async fn wrapping_entry(
        &self,
        unsealed: &Unsealed,
        token: &ClientToken,
    ) -> Result<(String, Arc<TokenEntry>), CoreError> {
        let id_hash = unsealed.tokens.id_hash(token);
        let stored = unsealed
            .tokens
            .resolve_hash(&id_hash)
            .await?
            .filter(|s| is_wrapping_token(&s.entry))
            .ok_or(CoreError::WrappingTokenInvalid)?;
        Ok((id_hash, stored.entry))
    }

    /// `sys/wrapping/lookup`: what a wrapping token wraps, without spending it.
    pub async fn wrapping_lookup(
        &self,
        unsealed: &Unsealed,
        token: &ClientToken,
    ) -> Result<WrapLookup, CoreError> {
        let (_, entry) = self.wrapping_entry(unsealed, token).await?;
        Ok(WrapLookup {
            creation_path: entry.path.clone(),
            creation_time: creation_time(&entry),
            creation_ttl: entry.ttl,
        })
    }

    /// Spends the wrapping token's one use, takes its response and revokes it. Of two
    /// concurrent calls with one token, exactly one succeeds.
    async fn take_wrapped(
        &self,
        unsealed: &Unsealed,
        token: &ClientToken,
    ) -> Result<(Arc<TokenEntry>, StoredResponse), CoreError> {
        let (id_hash, _) = self.wrapping_entry(unsealed, token).await?;
        let body = self
            .wrapping_cubbyhole(unsealed, &id_hash)?
            .get(RESPONSE_KEY)
            .await?;
        let entry = match unsealed.tokens.use_once(&id_hash).await? {
            crate::auth::Use::Last(entry) => entry,
            crate::auth::Use::Allowed(_) | crate::auth::Use::Exhausted => {
                return Err(CoreError::WrappingTokenInvalid)
            }
        };
        let revoked = unsealed.tokens.revoke_tree(&id_hash).await?;
        self.after_token_revocation(unsealed, &revoked).await?;
        let body = body.ok_or(CoreError::WrappingTokenInvalid)?;
        let stored: StoredResponse = serde_json::from_slice(&body).map_err(|_| {
            CoreError::Engine(crate::engines::EngineError::Corrupt(
                "wrapped response".into(),
            ))
        })?;
        Ok((entry, stored))
    }

    /// `sys/wrapping/unwrap`: the original response, once.
    pub async fn unwrap(
        &self,
        unsealed: &Unsealed,
        token: &ClientToken,
    ) -> Result<LogicalResponse, CoreError> {
        let (_, stored) = self.take_wrapped(unsealed, token).await?;
        Ok(stored.into_response())
    }

    /// `sys/wrapping/rewrap`: the same response under a new wrapping token with the same
    /// creation path and TTL; the old token is spent.
    pub async fn rewrap(
        &self,
        unsealed: &Unsealed,
        token: &ClientToken,
    ) -> Result<LogicalResponse, CoreError> {
        let (entry, stored) = self.take_wrapped(unsealed, token).await?;
        self.wrap_stored(unsealed, &entry.path, stored, entry.ttl)
            .await
    }

    /// `sys/wrapping/unwrap` with an empty body: the presented token is the wrapping
    /// token itself (no ACL: holding it is the authorisation).
    pub(super) async fn unwrap_presented(
        &self,
        unsealed: &Unsealed,
        req: &LogicalRequest,
    ) -> Result<LogicalResponse, CoreError> {
        let token = req.token.as_ref().ok_or(CoreError::WrappingTokenMissing)?;
        self.unwrap(unsealed, token).await
    }

    /// `sys/wrapping/lookup`, answered without a token: the wrapping token comes in the
    /// body (or, failing that, as the presented token).
    pub(super) async fn wrapping_lookup_request(
        &self,
        unsealed: &Unsealed,
        req: &LogicalRequest,
    ) -> Result<LogicalResponse, CoreError> {
        if req.operation != super::request::Operation::Update {
            return Err(CoreError::MethodNotAllowed);
        }
        let token = match body_token(&req.data)? {
            Some(t) => t,
            None => req
                .token
                .clone()
                .ok_or_else(|| CoreError::Invalid("missing required token".into()))?,
        };
        let found = self.wrapping_lookup(unsealed, &token).await?;
        Ok(LogicalResponse::with_data(serde_json::json!({
            "creation_path": found.creation_path,
            "creation_time": found.creation_time,
            "creation_ttl": found.creation_ttl,
        })))
    }
}

/// The token's issue time, RFC 3339 with nanoseconds (as Vault prints it).
fn creation_time(entry: &TokenEntry) -> String {
    crate::encoding::rfc3339(entry.issued_at())
}

/// The `token` field of a wrapping request body: `None` when absent or empty; a value
/// that is not a token is an invalid wrapping token.
pub fn body_token(data: &serde_json::Map<String, Value>) -> Result<Option<ClientToken>, CoreError> {
    match data.get("token") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) if t.is_empty() => Ok(None),
        Some(Value::String(t)) => ClientToken::parse(t)
            .map(Some)
            .ok_or(CoreError::WrappingTokenInvalid),
        Some(_) => Err(CoreError::Invalid("token must be a string".into())),
    }
}
