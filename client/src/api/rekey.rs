//! Rekey: `sys/rekey/{init,update,verify}` (raw) and `sys/rotate/root/*` (enveloped).

use serde::{Deserialize, Serialize};

/// Body of `PUT sys/rekey/init`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct RekeyInitRequest {
    /// New number of shares.
    pub secret_shares: u32,
    /// New threshold.
    pub secret_threshold: u32,
    /// Require the new shares to be proven before they take effect.
    #[serde(default)]
    pub require_verification: bool,
}

/// Status of a rekey operation (`GET`/`PUT sys/rekey/init`, `PUT sys/rekey/update` before completion).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RekeyStatus {
    /// Rekey operation nonce ("" when none).
    pub nonce: String,
    /// Whether an operation is in progress.
    pub started: bool,
    /// New threshold.
    pub t: u32,
    /// New number of shares.
    pub n: u32,
    /// Old shares supplied so far.
    pub progress: u32,
    /// Old threshold: how many old shares are needed.
    pub required: u32,
    /// Always null (PGP is not supported).
    pub pgp_fingerprints: Option<Vec<String>>,
    /// Always false (no backups without PGP).
    pub backup: bool,
    /// Whether verification of the new shares was requested.
    pub verification_required: bool,
}

/// Body of `PUT sys/rekey/update` and `PUT sys/rekey/verify`. Secret: `Debug` is redacted.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RekeyUpdateRequest {
    /// A share (old shares for update, new shares for verify).
    pub key: String,
    /// The operation's nonce.
    pub nonce: String,
}

impl std::fmt::Debug for RekeyUpdateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RekeyUpdateRequest(nonce: {:?}, key: ..)", self.nonce)
    }
}

/// Response of the `PUT sys/rekey/update` that completes the threshold. Contains the new
/// shares: `Debug` is redacted.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RekeyUpdateResponse {
    /// Operation nonce.
    pub nonce: String,
    /// Always true in this response.
    pub complete: bool,
    /// New shares, hex.
    pub keys: Vec<String>,
    /// New shares, base64.
    pub keys_base64: Vec<String>,
    /// Always null.
    pub pgp_fingerprints: Option<Vec<String>>,
    /// Always false.
    pub backup: bool,
    /// Whether the new shares must be verified before they take effect.
    pub verification_required: bool,
    /// Nonce of the verification, when required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_nonce: Option<String>,
}

impl std::fmt::Debug for RekeyUpdateResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RekeyUpdateResponse(nonce: {:?}, {} keys, verification_required: {})",
            self.nonce,
            self.keys.len(),
            self.verification_required
        )
    }
}

/// Status of a rekey verification (`GET sys/rekey/verify`, intermediate `PUT`s).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RekeyVerifyStatus {
    /// Verification nonce.
    pub nonce: String,
    /// Whether a verification is pending.
    pub started: bool,
    /// New threshold.
    pub t: u32,
    /// New number of shares.
    pub n: u32,
    /// New shares supplied so far.
    pub progress: u32,
}

/// Final response of `PUT sys/rekey/verify`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RekeyVerifyUpdateResponse {
    /// Verification nonce.
    pub nonce: String,
    /// Always true.
    pub complete: bool,
}
