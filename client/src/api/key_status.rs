//! `sys/key-status` (enveloped; the data is also duplicated at the top level).

use serde::{Deserialize, Serialize};

/// The active keyring term.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyStatus {
    /// Active term number (1 after init; +1 per rotation).
    pub term: u32,
    /// RFC 3339 install time of the active term.
    pub install_time: String,
    /// Encryptions under the active term since unseal.
    pub encryptions: u64,
}
