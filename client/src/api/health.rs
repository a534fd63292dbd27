//! `sys/health` and `sys/leader` (raw JSON, no envelope).

use serde::{Deserialize, Serialize};

/// Body of `GET sys/health`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HealthResponse {
    /// Whether the vault has been initialised.
    pub initialized: bool,
    /// Whether it is sealed.
    pub sealed: bool,
    /// Whether this node is a standby (true while sealed).
    pub standby: bool,
    /// Always false: Strongroom has no performance standbys (vaultrs requires the field).
    pub performance_standby: bool,
    /// "disabled" on an active node, "unknown" while sealed.
    pub replication_performance_mode: String,
    /// "disabled" on an active node, "unknown" while sealed.
    pub replication_dr_mode: String,
    /// Server clock, unix seconds.
    pub server_time_utc: i64,
    /// Server version.
    pub version: String,
    /// Cluster name, once unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Cluster id, once unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
}

/// Body of `GET sys/leader`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LeaderResponse {
    /// Whether high availability is enabled on this node.
    pub ha_enabled: bool,
    /// Whether this node is the active node (HA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_self: Option<bool>,
    /// When this node became active (HA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_time: Option<String>,
    /// The active node's API address (HA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_address: Option<String>,
    /// The active node's cluster address (HA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_cluster_address: Option<String>,
    /// Vault compatibility: always false.
    #[serde(default)]
    pub performance_standby: bool,
}

impl LeaderResponse {
    /// The answer of a node without high availability: `{"ha_enabled": false}`.
    pub fn not_ha() -> LeaderResponse {
        LeaderResponse {
            ha_enabled: false,
            is_self: None,
            active_time: None,
            leader_address: None,
            leader_cluster_address: None,
            performance_standby: false,
        }
    }
}
