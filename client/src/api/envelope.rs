//! The response envelope every logical endpoint returns, and the error body.

use serde::{Deserialize, Serialize};

/// `{"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"}`.
///
/// `request_id`, `lease_id`, `renewable` and `lease_duration` are always present.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope<T> {
    /// Random UUID of the request ("" in a wrapped response).
    pub request_id: String,
    /// Lease id for leased secrets, otherwise "".
    pub lease_id: String,
    /// Whether the lease can be renewed.
    pub renewable: bool,
    /// Lease duration in seconds (0 when not leased).
    pub lease_duration: u64,
    /// The payload, or `null`.
    pub data: Option<T>,
    /// Response-wrapping information, or `null`.
    pub wrap_info: Option<WrapInfo>,
    /// Warnings, or `null`.
    pub warnings: Option<Vec<String>>,
    /// Authentication result (logins, token create/renew), or `null`.
    pub auth: Option<super::AuthInfo>,
    /// Vault (not OpenBao) emits the mount's engine type; "" when not applicable.
    #[serde(default)]
    pub mount_type: String,
}

/// Response-wrapping information.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WrapInfo {
    /// The wrapping token.
    pub token: String,
    /// The wrapping token's accessor.
    pub accessor: String,
    /// Seconds until the wrapping token expires.
    pub ttl: u64,
    /// RFC 3339 creation time.
    pub creation_time: String,
    /// The path whose response was wrapped.
    pub creation_path: String,
    /// Accessor of the wrapped token, when the payload carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapped_accessor: Option<String>,
}

/// `{"errors":[...]}`; an empty list means "nothing here" on a 404.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ErrorBody {
    /// Human-readable messages.
    pub errors: Vec<String>,
}
