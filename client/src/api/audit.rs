//! Audit devices: `sys/audit`, `sys/audit/:path`, `sys/audit-hash/:path` (wire reference
//! §2.15).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One enabled audit device as `GET sys/audit` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct AuditDevice {
    /// The device type: `file` (or `socket`).
    #[serde(rename = "type")]
    pub device_type: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The device's options, e.g. `file_path`.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The device's path with its trailing slash (`file/`).
    #[serde(default)]
    pub path: String,
    /// Replication-local.
    #[serde(default)]
    pub local: bool,
}

/// The body of `PUT sys/audit/:path`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct EnableAuditRequest {
    /// The device type: `file` (or `socket`).
    #[serde(rename = "type")]
    pub device_type: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Options, all strings: `file_path` (a file, `stdout` or `discard`), `mode`,
    /// `format`, `prefix`, `log_raw`, `hmac_accessor`, ...
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Replication-local.
    #[serde(default)]
    pub local: bool,
}
