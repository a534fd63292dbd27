//! ACL policies: `sys/policies/acl/:name` (wire reference §2.10).

use serde::{Deserialize, Serialize};

/// One ACL policy as `GET sys/policies/acl/:name` returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Policy {
    /// The policy's name.
    pub name: String,
    /// The policy text (HCL or JSON) as written; `""` for `root`.
    pub policy: String,
    /// Number of writes so far (0 for `root`); the check-and-set value of the next write.
    #[serde(default)]
    pub version: u64,
    /// Whether every write must carry `cas`.
    #[serde(default)]
    pub cas_required: bool,
    /// RFC 3339 time of the last write; absent for `root`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// The body of `PUT sys/policies/acl/:name`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct WritePolicyRequest {
    /// The policy text (HCL or JSON).
    pub policy: String,
    /// Check-and-set: the write succeeds only if the policy's current version is this
    /// (`-1`: only if it does not exist yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cas: Option<i64>,
}
