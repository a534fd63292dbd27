//! Mount entries as the server shows them in `sys/mounts`, `sys/auth` and
//! `sys/internal/ui/mounts[/:path]`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One mount (secrets engine or auth method).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct MountEntry {
    /// The engine type: `kv`, `database`, `transit`, `userpass`, ...
    #[serde(rename = "type")]
    pub mount_type: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The mount's accessor.
    #[serde(default)]
    pub accessor: String,
    /// The mount's UUID.
    #[serde(default)]
    pub uuid: String,
    /// TTL configuration.
    #[serde(default)]
    pub config: MountConfig,
    /// Engine options, e.g. `{"version": "2"}` for KV v2; `null` when none.
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// Replication-local (always false on a single node).
    #[serde(default)]
    pub local: bool,
    /// Seal wrapping (always false).
    #[serde(default)]
    pub seal_wrap: bool,
    /// The mount path with its trailing slash; only `sys/internal/ui/mounts/:path` has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl MountEntry {
    /// The KV version of a `kv` mount (1 unless `options.version` says `2`); `None` for
    /// other engines.
    pub fn kv_version(&self) -> Option<u8> {
        if self.mount_type != "kv" && self.mount_type != "generic" {
            return None;
        }
        let version = self.options.as_ref().and_then(|o| o.get("version"));
        Some(if version.map(String::as_str) == Some("2") {
            2
        } else {
            1
        })
    }
}

/// The `config` block of a mount entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct MountConfig {
    /// Default lease TTL in seconds (0 = the system default).
    #[serde(default)]
    pub default_lease_ttl: u64,
    /// Maximum lease TTL in seconds (0 = the system default).
    #[serde(default)]
    pub max_lease_ttl: u64,
    /// Always false.
    #[serde(default)]
    pub force_no_cache: bool,
    /// Auth mounts only: `default-service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}
