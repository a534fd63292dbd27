//! `sys/seal-status` and `sys/unseal` (raw JSON, no envelope).

use serde::{Deserialize, Serialize};

/// Body of `GET sys/seal-status`, also returned by `PUT sys/unseal`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealStatus {
    /// Seal type: always "shamir".
    #[serde(rename = "type")]
    pub seal_type: String,
    /// Whether the vault has been initialised.
    pub initialized: bool,
    /// Whether it is sealed.
    pub sealed: bool,
    /// Threshold.
    pub t: u32,
    /// Number of shares.
    pub n: u32,
    /// Shares accepted so far in the current unseal attempt.
    pub progress: u32,
    /// UUID of the current unseal attempt ("" when none).
    pub nonce: String,
    /// Server version.
    pub version: String,
    /// Build date.
    pub build_date: String,
    /// Always false (no auto-unseal migration).
    pub migration: bool,
    /// Always false (no recovery seal).
    pub recovery_seal: bool,
    /// Storage backend name.
    pub storage_type: String,
    /// Cluster name, once unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Cluster id, once unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
}

/// Body of `PUT sys/unseal`. The key is a secret: `Debug` is redacted.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct UnsealRequest {
    /// One key share, hex or base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Discard the progress of the current attempt.
    #[serde(default)]
    pub reset: bool,
    /// Seal migration (unsupported; must be false).
    #[serde(default)]
    pub migrate: bool,
}

impl std::fmt::Debug for UnsealRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsealRequest")
            .field("key", &self.key.as_ref().map(|_| ".."))
            .field("reset", &self.reset)
            .field("migrate", &self.migrate)
            .finish()
    }
}
