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
    /// "token" or "token-`<name>`", or "root".
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

/// The body of `auth/token/create` (and `create-orphan`, `create/:role`), built by the
/// client. Unset fields are left out, so the server's defaults (the caller's policies,
/// the mount's TTL, renewable) apply. Durations are whole seconds.
///
/// `orphan` and `role` are not sent as fields: they choose the endpoint
/// (`create-orphan`, `create/<role>`), as the `bao` CLI does. `orphan` needs only
/// `update` on `auth/token/create-orphan`, whereas `no_parent` on `create` needs root
/// or sudo.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenCreateRequest {
    /// Policies of the new token (default: the caller's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Metadata, shown by lookups and in audit logs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// Initial TTL in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Hard cap on the token's lifetime, renewals included, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit_max_ttl: Option<u64>,
    /// Makes a periodic token: every renewal gives it this TTL again (root/sudo only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    /// Whether the token can be renewed (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewable: Option<bool>,
    /// Number of uses before the token is revoked (0 = unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_uses: Option<u64>,
    /// Creates the token without a parent through `auth/token/create` (root/sudo only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_parent: Option<bool>,
    /// Leaves the `default` policy out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_default_policy: Option<bool>,
    /// Display name (stored as `token-<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Use `auth/token/create-orphan`: the token has no parent.
    #[serde(skip)]
    pub orphan: bool,
    /// Use `auth/token/create/<role>`: the role's settings apply.
    #[serde(skip)]
    pub role: Option<String>,
}

/// `data` of `sys/capabilities-self`, `sys/capabilities` and
/// `sys/capabilities-accessor`, per asked path: the capabilities the token has there
/// (`["deny"]` when none; `["root"]` for a root token).
pub type PathCapabilities = BTreeMap<String, Vec<String>>;
