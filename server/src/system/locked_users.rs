//! `sys/locked-users` and `sys/locked-users/:accessor/unlock/:alias`: users locked out by
//! failed logins (wire reference §5.2).

use serde_json::{json, Value};

use crate::core::request::{LogicalRequest, LogicalResponse, Operation};
use crate::core::{CoreError, Unsealed};

/// `GET sys/locked-users`.
pub(super) fn list(
    unsealed: &Unsealed,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::MethodNotAllowed);
    }
    let locked = unsealed.lockout.locked();
    let total: usize = locked.values().map(Vec::len).sum();
    let mounts: Vec<Value> = locked
        .iter()
        .map(|(accessor, aliases)| {
            json!({
                "mount_accessor": accessor,
                "counts": aliases.len(),
                "alias_identifiers": aliases,
            })
        })
        .collect();
    let by_namespace = if total == 0 {
        Vec::new()
    } else {
        vec![json!({
            "namespace_id": "root",
            "namespace_path": "",
            "counts": total,
            "mount_accessors": mounts,
        })]
    };
    Ok(LogicalResponse::with_data(
        json!({ "by_namespace": by_namespace, "total": total }),
    ))
}

/// `POST sys/locked-users/:accessor/unlock/:alias`.
pub(super) fn unlock(
    unsealed: &Unsealed,
    accessor: &str,
    alias: &str,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    if !unsealed
        .mounts
        .list()
        .iter()
        .any(|m| m.accessor == accessor)
    {
        return Err(CoreError::Invalid(format!(
            "mount accessor {accessor:?} not found"
        )));
    }
    // Aliases are accounted lower-cased (userpass); accept any case here too.
    let alias = alias.trim();
    if !unsealed.lockout.unlock(accessor, alias) {
        unsealed.lockout.unlock(accessor, &alias.to_lowercase());
    }
    Ok(LogicalResponse::empty())
}
