//! Wire types of the KV secrets engine: KV v2 version metadata, key metadata and mount
//! configuration, and the `{"keys": [...]}` answer of every LIST.
//!
//! Client-side types: the server builds these answers itself. Secret values are plain
//! JSON objects (`serde_json::Map<String, Value>`); numbers and nested objects round-trip
//! unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The metadata of one KV v2 version, as returned by a write, a patch, and inside a read
/// (`data.metadata`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct KvVersionMetadata {
    /// RFC 3339 creation time of the version.
    pub created_time: String,
    /// RFC 3339 time of the (soft) deletion, `""` when the version is live. A time in the
    /// future comes from `delete_version_after`.
    #[serde(default)]
    pub deletion_time: String,
    /// Whether the version's data was destroyed for good.
    #[serde(default)]
    pub destroyed: bool,
    /// The version number (1 for the first write).
    pub version: u64,
    /// The key's custom metadata (string to string), `None` when there is none.
    #[serde(default)]
    pub custom_metadata: Option<BTreeMap<String, String>>,
}

/// A KV v2 read (`GET <mount>/data/<path>`): the version's fields and its metadata.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KvV2Secret {
    /// The secret's fields; `None` when the version is deleted or destroyed.
    pub data: Option<Map<String, Value>>,
    /// The version's metadata.
    pub metadata: KvVersionMetadata,
}

/// The state of one version in [`KvMetadata::versions`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct KvVersionState {
    /// RFC 3339 creation time.
    pub created_time: String,
    /// RFC 3339 deletion time, `""` when live.
    #[serde(default)]
    pub deletion_time: String,
    /// Whether the version was destroyed.
    #[serde(default)]
    pub destroyed: bool,
}

/// A KV v2 key's metadata (`GET <mount>/metadata/<path>`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct KvMetadata {
    /// Whether every write of this key must carry `cas`.
    #[serde(default)]
    pub cas_required: bool,
    /// RFC 3339 time the key was created.
    #[serde(default)]
    pub created_time: String,
    /// The latest version number (0 before the first write).
    #[serde(default)]
    pub current_version: u64,
    /// Custom metadata, `None` when there is none.
    #[serde(default)]
    pub custom_metadata: Option<BTreeMap<String, String>>,
    /// Go duration after which new versions are soft-deleted (`"0s"` = never).
    #[serde(default)]
    pub delete_version_after: String,
    /// Versions kept for this key (0 = the mount's setting).
    #[serde(default)]
    pub max_versions: u64,
    /// The oldest version still kept.
    #[serde(default)]
    pub oldest_version: u64,
    /// RFC 3339 time of the last change.
    #[serde(default)]
    pub updated_time: String,
    /// Every kept version, by number (as a decimal string, as on the wire).
    #[serde(default)]
    pub versions: BTreeMap<String, KvVersionState>,
}

/// Settings written with `POST <mount>/metadata/<path>`; `None` fields are left as they are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct KvMetadataUpdate {
    /// Versions to keep (0 = the mount's setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_versions: Option<u64>,
    /// Whether writes must carry `cas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cas_required: Option<bool>,
    /// Duration after which new versions are soft-deleted (`"0s"`, `"720h"`, `"30d"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_version_after: Option<String>,
    /// Custom metadata; replaces the whole map when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_metadata: Option<BTreeMap<String, String>>,
}

/// A KV v2 mount's configuration (`<mount>/config`). On write, every field is sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct KvConfig {
    /// Whether every write on the mount must carry `cas`.
    #[serde(default)]
    pub cas_required: bool,
    /// Go duration after which new versions are soft-deleted (`"0s"` = never).
    #[serde(default)]
    pub delete_version_after: String,
    /// Versions kept per key (0 = 10).
    #[serde(default)]
    pub max_versions: u64,
}

/// The `data` of a LIST answer: names under a folder, sub-folders ending in `/`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct KeyList {
    /// The names.
    #[serde(default)]
    pub keys: Vec<String>,
}
