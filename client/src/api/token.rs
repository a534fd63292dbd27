//! Token wire types: the `auth` block and `auth/token/lookup*` data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `auth` block of logins and token creation. Contains a token: `Debug` is redacted.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthInfo {
    /// The new token.
    pub client_token: String,
    /// Its accessor.
    pub accessor: String,
    /// Effective policies.
    pub policies: Vec<String>,
    /// Policies attached to the token (always emitted: vaultrs requires it).
    pub token_policies: Vec<String>,
    /// Metadata.
    pub metadata: Option<BTreeMap<String, String>>,
    /// TTL in seconds (0 = never expires).
    pub lease_duration: u64,
    /// Whether it can be renewed.
    pub renewable: bool,
    /// Always "" (no identity store).
    pub entity_id: String,
    /// "service" or "batch".
    pub token_type: String,
    /// Whether the token has no parent.
    pub orphan: bool,
    /// Always null.
    pub mfa_requirement: Option<serde_json::Value>,
    /// Remaining uses (0 = unlimited).
    pub num_uses: u64,
}

impl std::fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthInfo")
            .field("client_token", &"..")
            .field("accessor", &self.accessor)
            .field("policies", &self.policies)
            .field("lease_duration", &self.lease_duration)
            .finish_non_exhaustive()
    }
}

/// `data` of `auth/token/lookup-self`, `lookup`, `lookup-accessor`. Contains the token id
/// (empty for lookup-accessor): `Debug` is redacted.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenLookup {
    /// Accessor.
    pub accessor: String,
    /// Unix seconds.
    pub creation_time: i64,
    /// TTL at creation, seconds.
    pub creation_ttl: u64,
    /// "token" or "token-<name>", or "root".
    pub display_name: String,
    /// Always "".
    pub entity_id: String,
    /// RFC 3339 expiry, null when it never expires.
    pub expire_time: Option<String>,
    /// Hard cap, seconds (0 = none).
    pub explicit_max_ttl: u64,
    /// The token itself ("" for lookup-accessor).
    pub id: String,
    /// RFC 3339 issue time.
    pub issue_time: String,
    /// Metadata.
    pub meta: Option<BTreeMap<String, String>>,
    /// Remaining uses (0 = unlimited).
    pub num_uses: u64,
    /// Whether the token has no parent.
    pub orphan: bool,
    /// Creation path.
    pub path: String,
    /// Policies.
    pub policies: Vec<String>,
    /// Whether it can be renewed.
    pub renewable: bool,
    /// Remaining seconds (0 = never expires).
    pub ttl: u64,
    /// "service".
    #[serde(rename = "type")]
    pub token_type: String,
    /// Period in seconds, for periodic tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    /// Last renewal, unix seconds (renewed tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_renewal_time: Option<i64>,
    /// Last renewal, RFC 3339 (renewed tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_renewal: Option<String>,
}

impl std::fmt::Debug for TokenLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenLookup")
            .field("accessor", &self.accessor)
            .field("display_name", &self.display_name)
            .field("policies", &self.policies)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
