//! `sys/init` (raw JSON, no envelope).

use serde::{Deserialize, Serialize};

/// Body of `GET sys/init`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct InitStatus {
    /// Whether the vault has been initialised.
    pub initialized: bool,
}

/// Body of `PUT sys/init`. Fields clients send that Strongroom does not support
/// (`pgp_keys`, `recovery_*`, `stored_shares`) are accepted when empty.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct InitRequest {
    /// Number of key shares to produce.
    pub secret_shares: u32,
    /// Number of shares needed to unseal.
    pub secret_threshold: u32,
}

/// Response of `PUT sys/init`. Contains the unseal key shares and the root token:
/// `Debug` is redacted.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InitResponse {
    /// Shares, hex.
    pub keys: Vec<String>,
    /// The same shares, standard base64.
    pub keys_base64: Vec<String>,
    /// The initial root token.
    pub root_token: String,
}

impl std::fmt::Debug for InitResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InitResponse({} keys, root_token: ..)", self.keys.len())
    }
}
