//! Secrets engines: what a mount does with the requests routed to it.
//!
//! Engines never see the [`Core`](crate::core::Core). The core routes a request to a
//! mount and hands its engine an [`EngineRequest`]: the operation, the path relative to
//! the mount, the request data, and the mount's [`MountContext`] (its barrier
//! [`StorageView`], which cannot address anything outside the mount's prefix, plus its
//! TTL limits and identity). The engine builds an [`EngineResponse`]; nothing shared is
//! mutated and restored. Dispatch is a `match` on the closed [`MountType`](crate::mount::MountType)
//! in `core/handle.rs`: adding an engine is adding a variant.

pub mod cubbyhole;
pub mod database;
pub mod error;
pub mod item_lock;
pub mod kv;
pub mod transit;

use serde_json::{Map, Value};

pub use error::EngineError;

use crate::barrier::StorageView;
use crate::core::request::Operation;

/// What an engine knows about the mount it serves.
#[derive(Debug, Clone)]
pub struct MountContext {
    /// The mount's storage, confined to its prefix.
    pub view: StorageView,
    /// Mount path with trailing `/`, e.g. `secret/`.
    pub mount_path: String,
    /// Mount accessor, e.g. `kv_1a2b3c4d`.
    pub accessor: String,
    /// Effective default lease TTL of the mount, seconds.
    pub default_lease_ttl: u64,
    /// Effective maximum lease TTL of the mount, seconds.
    pub max_lease_ttl: u64,
}

impl MountContext {
    /// The context of `entry`'s engine over `view` (its data, or a part of it).
    pub fn for_mount(view: StorageView, entry: &crate::mount::MountEntry) -> MountContext {
        MountContext {
            view,
            mount_path: entry.path.clone(),
            accessor: entry.accessor.clone(),
            default_lease_ttl: entry.effective_default_ttl(),
            max_lease_ttl: entry.effective_max_ttl(),
        }
    }

    /// For unit tests of engines and auth methods: a context over a fresh unsealed
    /// in-memory barrier at `prefix`, with the system default TTLs.
    #[cfg(test)]
    pub(crate) async fn for_test(prefix: &str, mount_path: &str, accessor: &str) -> MountContext {
        let (barrier, _raw, _key) = crate::barrier::testing::unsealed_barrier().await;
        MountContext {
            view: barrier
                .view(prefix)
                .unwrap_or_else(|e| panic!("test view {prefix}: {e}")),
            mount_path: mount_path.into(),
            accessor: accessor.into(),
            default_lease_ttl: crate::mount::SYSTEM_DEFAULT_TTL,
            max_lease_ttl: crate::mount::SYSTEM_DEFAULT_TTL,
        }
    }
}

/// A LIST answer: `{"keys": [...]}`; an empty list is a 404, as Vault answers.
pub fn keys_response(keys: Vec<String>) -> Result<EngineResponse, EngineError> {
    if keys.is_empty() {
        return Err(EngineError::NotFound);
    }
    Ok(EngineResponse::data(serde_json::json!({ "keys": keys })))
}

/// `LIST` of the items stored directly under `prefix` of a view (sub-folders left out),
/// as [`keys_response`] answers it.
pub async fn list_items(view: &StorageView, prefix: &str) -> Result<EngineResponse, EngineError> {
    let keys: Vec<String> = view
        .list(prefix)
        .await?
        .into_iter()
        .filter(|k| !k.ends_with('/'))
        .collect();
    keys_response(keys)
}

/// One request for an engine. `Debug` shows field names only, never values.
pub struct EngineRequest<'a> {
    /// What to do.
    pub operation: Operation,
    /// Path relative to the mount (no leading `/`; a list request ends in `/` or is empty).
    pub path: &'a str,
    /// Request data (body for writes, query for reads/deletes/lists).
    pub data: &'a Map<String, Value>,
    /// The mount.
    pub ctx: &'a MountContext,
    /// The calling token's display name (`token`, `userpass-alice`); feeds generated
    /// usernames. Empty when there is no caller.
    pub display_name: &'a str,
}

impl std::fmt::Debug for EngineRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineRequest")
            .field("operation", &self.operation)
            .field("path", &self.path)
            .field("data_keys", &crate::core::request::redacted_keys(self.data))
            .field("mount", &self.ctx.mount_path)
            .finish()
    }
}

/// How the response is to be rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseStatus {
    /// 200 with the envelope (204 when empty).
    #[default]
    Ok,
    /// 404 *with* the full envelope (kv v2 reads of deleted/destroyed versions).
    NotFoundWithData,
    /// 400 *with* the full envelope (transit batches with a failed item).
    BadRequestWithData,
    /// This status with the full envelope (transit `partial_failure_response_code`).
    WithDataStatus(u16),
}

/// What an engine answers.
#[derive(Debug, Default, PartialEq)]
pub struct EngineResponse {
    /// The `data` member.
    pub data: Option<Value>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// `lease_duration` to report without a lease (kv v1 reads report the mount default
    /// or the secret's `ttl` field).
    pub lease_duration: u64,
    /// Rendering.
    pub status: ResponseStatus,
    /// A secret to put on a lease (dynamic credentials): the core registers the lease
    /// and fills `lease_id`, `renewable` and `lease_duration` of the envelope.
    pub secret: Option<NewSecret>,
}

/// A secret an engine issued that must be revoked when its lease ends.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSecret {
    /// What the engine needs to revoke or renew it later (kept inside the barrier, never
    /// returned to clients): e.g. `{"db_name":..,"role":..,"username":..}`.
    pub internal: Value,
    /// The backend's default TTL for it (role `default_ttl`), seconds; 0 = mount default.
    pub default_ttl: u64,
    /// The backend's maximum TTL (role `max_ttl`), seconds; 0 = mount maximum.
    pub max_ttl: u64,
    /// Whether the lease may be renewed.
    pub renewable: bool,
    /// What the revocation talks to (`<mount uuid>/<connection name>` for the database
    /// engine): failures back off per target, so one unreachable database does not
    /// hold up the revocation of anything else.
    pub target: String,
}

impl EngineResponse {
    /// 200 with data.
    pub fn data(data: Value) -> EngineResponse {
        EngineResponse {
            data: Some(data),
            ..Default::default()
        }
    }

    /// 204.
    pub fn empty() -> EngineResponse {
        EngineResponse::default()
    }
}
