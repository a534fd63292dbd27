//! Requests and answers of `sys/mounts/:path`, `sys/auth/:path` and their `tune`
//! endpoints (wire reference §2.8, §2.9). The listed entries are [`super::MountEntry`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The settings of `POST sys/mounts/:path` and `POST sys/auth/:path` besides the type
/// (which the calls take separately): description, TTLs, engine options.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct MountOptions {
    /// Free text shown by `sys/mounts`.
    #[serde(default)]
    pub description: String,
    /// Lease TTL configuration.
    #[serde(default)]
    pub config: MountConfigInput,
    /// Engine options, e.g. `{"version": "2"}` for KV v2.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Replication-local mount (accepted; a single node has nothing to replicate).
    #[serde(default)]
    pub local: bool,
}

/// The `config` block of [`MountOptions`]. TTLs are durations as the server parses
/// them: integer seconds (`"3600"`) or Go-style strings (`"1h"`, `"90m"`, `"1h30m"`, `"2d"`);
/// `None` leaves the system default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct MountConfigInput {
    /// Default lease TTL of the mount's secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_lease_ttl: Option<String>,
    /// Maximum lease TTL of the mount's secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lease_ttl: Option<String>,
}

/// The body of `POST sys/mounts/:path/tune` (and `sys/auth/:path/tune`): only the fields
/// that are `Some` (or non-empty) change. TTLs as in [`MountConfigInput`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct TuneMountRequest {
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New default lease TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_lease_ttl: Option<String>,
    /// New maximum lease TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lease_ttl: Option<String>,
    /// Options to set, e.g. `{"version": "2"}` upgrades a KV v1 mount to v2.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// The answer of `GET sys/mounts/:path/tune` (and `sys/auth/:path/tune`). Unlike the
/// `config` of [`super::MountEntry`], the TTLs here are the effective ones in seconds (the
/// system default when the mount sets none).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct MountTune {
    /// The mount's description.
    #[serde(default)]
    pub description: String,
    /// Effective default lease TTL in seconds.
    pub default_lease_ttl: u64,
    /// Effective maximum lease TTL in seconds.
    pub max_lease_ttl: u64,
    /// Always false.
    #[serde(default)]
    pub force_no_cache: bool,
    /// The mount's options, when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    /// Auth methods only: `default-service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}
