//! Leases: `sys/leases/lookup` (wire reference §2.12).

use serde::{Deserialize, Serialize};

/// One lease as `PUT sys/leases/lookup` describes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct LeaseInfo {
    /// The lease id (`<mount>/<path>/<random>`).
    pub id: String,
    /// RFC 3339 time the secret was issued.
    pub issue_time: String,
    /// RFC 3339 time the lease expires.
    #[serde(default)]
    pub expire_time: Option<String>,
    /// RFC 3339 time of the last renewal, `None` if never renewed.
    #[serde(default)]
    pub last_renewal: Option<String>,
    /// The request path that issued the secret, e.g. `database/creds/app`.
    #[serde(default)]
    pub path: String,
    /// Whether the lease can still be renewed.
    pub renewable: bool,
    /// Seconds until it expires.
    pub ttl: i64,
    /// Strongroom: failed revocation attempts so far (present once one failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_failures: Option<u64>,
    /// Strongroom: whether revocation gave up (the credential may still exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub irrevocable: Option<bool>,
    /// Strongroom: the last revocation error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_error: Option<String>,
}
