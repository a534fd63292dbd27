//! The audit table: devices enabled through the API, persisted in the barrier (like the
//! mount table) so they come back at unseal. Config-declared devices are not stored here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::AuditError;
use crate::barrier::Barrier;

/// Barrier key of the table.
const TABLE_KEY: &str = "core/audit-table";

/// One stored device, as enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct TableEntry {
    pub path: String,
    #[serde(rename = "type")]
    pub device_type: String,
    pub description: String,
    pub options: BTreeMap<String, String>,
    pub local: bool,
}

pub(super) async fn load(barrier: &Barrier) -> Result<Vec<TableEntry>, AuditError> {
    match barrier.get(TABLE_KEY).await? {
        Some(raw) => serde_json::from_slice(&raw)
            .map_err(|e| AuditError::Corrupt(format!("audit table: {e}"))),
        None => Ok(Vec::new()),
    }
}

pub(super) async fn save(barrier: &Barrier, entries: &[TableEntry]) -> Result<(), AuditError> {
    let raw = serde_json::to_vec(entries)
        .map_err(|e| AuditError::Corrupt(format!("audit table: {e}")))?;
    barrier.put(TABLE_KEY, &raw).await?;
    Ok(())
}
