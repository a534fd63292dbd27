//! Storage layout and records of kv v2, and the per-key write lock.
//!
//! Under the mount's view:
//! - `kv2/config`: the mount's kv settings;
//! - `kv2/meta/<key>`: a key's metadata (the key path as-is, so listing folders is a
//!   plain storage list);
//! - `kv2/ver/<sha256(key) hex>/<n>`: the data of version `n` (hashed so that key paths
//!   with `/` never collide with version numbers).
//!
//! Writes to one key are serialised by a striped lock table, so a check-and-set and the
//! write it guards are atomic; metadata and version data are committed in one batch.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::barrier::{BarrierOp, StorageView};
use crate::engines::EngineError;

/// Prefix of everything kv v2 stores (a v1 key under it is not converted by an upgrade).
pub const ROOT: &str = "kv2/";
const CONFIG: &str = "kv2/config";
const META: &str = "kv2/meta/";
const VER: &str = "kv2/ver/";

/// Versions kept when neither the key nor the mount sets `max_versions`.
pub const DEFAULT_MAX_VERSIONS: u64 = 10;

/// Mount-wide settings (`config`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvConfig {
    /// 0 = the default (10).
    pub max_versions: u64,
    /// Writes must carry `options.cas`.
    pub cas_required: bool,
    /// Seconds after which new versions read as deleted (0 = never).
    pub delete_version_after: u64,
}

/// One version's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionMeta {
    /// Creation time, unix nanoseconds.
    pub created: i64,
    /// Explicit or scheduled deletion time, unix nanoseconds.
    pub deletion: Option<i64>,
    /// Data erased for good.
    pub destroyed: bool,
}

/// A key's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMeta {
    /// When the key was first written, unix nanoseconds.
    pub created: i64,
    /// Last change, unix nanoseconds.
    pub updated: i64,
    /// Latest version number (0 = metadata only).
    pub current_version: u64,
    /// Per-key `max_versions` (0 = mount setting).
    pub max_versions: u64,
    /// Per-key `cas_required`.
    pub cas_required: bool,
    /// Per-key `delete_version_after`, seconds (0 = mount setting).
    pub delete_version_after: u64,
    /// Operator metadata.
    pub custom_metadata: Option<BTreeMap<String, String>>,
    /// The versions still tracked.
    pub versions: BTreeMap<u64, VersionMeta>,
}

impl KeyMeta {
    /// Empty metadata created now.
    pub fn new(now: i64) -> KeyMeta {
        KeyMeta {
            created: now,
            updated: now,
            current_version: 0,
            max_versions: 0,
            cas_required: false,
            delete_version_after: 0,
            custom_metadata: None,
            versions: BTreeMap::new(),
        }
    }

    /// Oldest tracked version (0 when none).
    pub fn oldest_version(&self) -> u64 {
        self.versions.keys().next().copied().unwrap_or(0)
    }

    /// The effective `delete_version_after`.
    pub fn effective_dva(&self, config: &KvConfig) -> u64 {
        if self.delete_version_after > 0 {
            self.delete_version_after
        } else {
            config.delete_version_after
        }
    }

    /// The effective `max_versions`.
    pub fn effective_max_versions(&self, config: &KvConfig) -> u64 {
        [self.max_versions, config.max_versions]
            .into_iter()
            .find(|m| *m > 0)
            .unwrap_or(DEFAULT_MAX_VERSIONS)
    }
}

impl VersionMeta {
    /// Whether the version reads as deleted at `now`.
    pub fn is_deleted(&self, now: i64) -> bool {
        self.deletion.is_some_and(|d| d <= now)
    }

    /// The wire shape inside `versions` and read metadata.
    pub fn to_wire(&self) -> Value {
        json!({
            "created_time": rfc3339(self.created),
            "deletion_time": self.deletion.map(rfc3339).unwrap_or_default(),
            "destroyed": self.destroyed,
        })
    }
}

/// Now, unix nanoseconds.
pub fn now_nanos() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// RFC 3339 with nanoseconds.
pub fn rfc3339(nanos: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

pub use crate::core::duration::go_duration;

fn nanos_from_secs(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000)
}

/// When a version created at `created` is scheduled to read as deleted.
pub fn scheduled_deletion(created: i64, dva: u64) -> Option<i64> {
    (dva > 0).then(|| created.saturating_add(nanos_from_secs(dva)))
}

fn decode<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, EngineError> {
    serde_json::from_slice(raw).map_err(|e| EngineError::Corrupt(e.to_string()))
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, EngineError> {
    serde_json::to_vec(v).map_err(|e| EngineError::Corrupt(e.to_string()))
}

/// Storage key of a key's metadata.
pub fn meta_key(key: &str) -> String {
    format!("{META}{key}")
}

/// Storage folder for listing metadata under `folder` ("" or ending in `/`).
pub fn meta_folder(folder: &str) -> String {
    format!("{META}{folder}")
}

/// Storage key of version `n` of `key`.
pub fn version_key(key: &str, n: u64) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("{VER}{}/{n}", crate::encoding::hex_lower(&digest))
}

/// Reads the mount config.
pub async fn load_config(view: &StorageView) -> Result<KvConfig, EngineError> {
    match view.get(CONFIG).await? {
        Some(raw) => decode(&raw),
        None => Ok(KvConfig::default()),
    }
}

/// Writes the mount config.
pub async fn save_config(view: &StorageView, config: &KvConfig) -> Result<(), EngineError> {
    view.put(CONFIG, &encode(config)?).await?;
    Ok(())
}

/// Reads a key's metadata.
pub async fn load_meta(view: &StorageView, key: &str) -> Result<Option<KeyMeta>, EngineError> {
    match view.get(&meta_key(key)).await? {
        Some(raw) => decode(&raw).map(Some),
        None => Ok(None),
    }
}

/// Reads version data.
pub async fn load_version(
    view: &StorageView,
    key: &str,
    n: u64,
) -> Result<Option<Value>, EngineError> {
    match view.get(&version_key(key, n)).await? {
        Some(raw) => decode(&raw).map(Some),
        None => Ok(None),
    }
}

/// The batch op that stores `meta`.
pub fn put_meta(key: &str, meta: &KeyMeta) -> Result<BarrierOp, EngineError> {
    Ok(BarrierOp::put(meta_key(key), encode(meta)?))
}

/// The batch op that stores version data.
pub fn put_version(key: &str, n: u64, data: &Value) -> Result<BarrierOp, EngineError> {
    Ok(BarrierOp::put(version_key(key, n), encode(data)?))
}

/// Adds version `current + 1` holding `data` to `meta`, prunes beyond `max_versions`,
/// and returns the batch to commit plus the new version number.
pub fn add_version(
    key: &str,
    meta: &mut KeyMeta,
    config: &KvConfig,
    data: &Value,
    now: i64,
) -> Result<(Vec<BarrierOp>, u64), EngineError> {
    let n = meta.current_version + 1;
    meta.current_version = n;
    meta.updated = now;
    meta.versions.insert(
        n,
        VersionMeta {
            created: now,
            deletion: scheduled_deletion(now, meta.effective_dva(config)),
            destroyed: false,
        },
    );
    let mut ops = vec![put_version(key, n, data)?];
    let max = meta.effective_max_versions(config);
    while u64::try_from(meta.versions.len()).unwrap_or(u64::MAX) > max {
        let Some((&oldest, _)) = meta.versions.iter().next() else {
            break;
        };
        meta.versions.remove(&oldest);
        ops.push(BarrierOp::delete(version_key(key, oldest)));
    }
    ops.push(put_meta(key, meta)?);
    Ok((ops, n))
}

/// Striped per-key locks (process-wide; keyed by the mount prefix and the key).
static LOCKS: LazyLock<Vec<tokio::sync::Mutex<()>>> =
    LazyLock::new(|| (0..64).map(|_| tokio::sync::Mutex::new(())).collect());

/// Locks `key` of the mount behind `view` for a read-modify-write.
pub async fn lock_key(view: &StorageView, key: &str) -> tokio::sync::MutexGuard<'static, ()> {
    let digest = Sha256::new()
        .chain_update(view.prefix().as_bytes())
        .chain_update([0u8])
        .chain_update(key.as_bytes())
        .finalize();
    let index = usize::from(digest[0]) % LOCKS.len();
    LOCKS[index].lock().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(90), "1m30s");
        assert_eq!(go_duration(720 * 3600), "720h0m0s");
    }

    #[test]
    fn version_keys_do_not_depend_on_slashes() {
        assert_ne!(version_key("a/1", 1), version_key("a", 1));
        assert!(version_key("a/b/c", 7).ends_with("/7"));
    }
}
