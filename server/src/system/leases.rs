//! `sys/leases/*` (and Vault's legacy `sys/renew`, `sys/revoke`, `sys/revoke-prefix`,
//! `sys/revoke-force`): lookup, list, renew, revoke of the leases on engine secrets
//! (wire reference §2.12). The work is done by the core's expiration machinery; this is
//! the wire shape around it.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::core::duration::opt_duration;
use crate::core::expiration::RevokeMode;
use crate::core::fields::{opt_bool, opt_string, opt_u64, FieldError};
use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::{Core, CoreError, Unsealed};
use crate::policy::Authorized;

/// Most irrevocable leases listed by `GET sys/leases`.
const LIST_LIMIT: usize = 10_000;

/// `PUT sys/leases/lookup` (one lease) and `LIST sys/leases/lookup[/<prefix>]/`.
pub(super) async fn lookup(
    unsealed: &Unsealed,
    prefix: Option<&str>,
    req: &LogicalRequest,
    authorized: Authorized,
) -> Result<LogicalResponse, CoreError> {
    match (req.operation, prefix) {
        (Operation::Update, None) => {
            let id = lease_id(&req.data, None)?;
            let lease = unsealed
                .leases
                .get(&id)
                .await?
                .ok_or_else(|| CoreError::Invalid("invalid lease".into()))?;
            let mut resp =
                LogicalResponse::with_data(lease.to_lookup_wire(OffsetDateTime::now_utc()));
            resp.warnings
                .extend(unknown_field_warning(&req.data, &["lease_id"]));
            Ok(resp)
        }
        (Operation::List, prefix) => {
            // Listing is root-protected at every level, the top one included.
            if !authorized.has_sudo() {
                return Err(CoreError::PermissionDenied);
            }
            let folder = match prefix {
                None => String::new(),
                Some(p) => format!("{}/", p.trim_end_matches('/')),
            };
            let keys = unsealed.leases.list(&folder).await?;
            if keys.is_empty() {
                return Err(CoreError::NotFound);
            }
            Ok(LogicalResponse::with_data(json!({ "keys": keys })))
        }
        _ => Err(CoreError::MethodNotAllowed),
    }
}

/// `PUT sys/leases/renew[/<id>]`: `lease_id`, `increment`.
pub(super) async fn renew(
    core: &Core,
    unsealed: &Unsealed,
    path_id: Option<&str>,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    let id = lease_id(&req.data, path_id)?;
    let increment = opt_duration(&req.data, "increment")
        .map_err(|e| FieldError(e.to_string()))?
        .unwrap_or(0);
    let (lease, ttl, warning) = core.renew_lease(unsealed, &id, increment).await?;
    let mut warnings: Vec<String> = warning.into_iter().collect();
    warnings.extend(unknown_field_warning(
        &req.data,
        &["lease_id", "increment", "url_lease_id"],
    ));
    Ok(LogicalResponse {
        lease_id: lease.id,
        renewable: lease.renewable,
        lease_duration: ttl,
        warnings,
        ..Default::default()
    })
}

/// `PUT sys/leases/revoke[/<id>]`: `lease_id`, `sync` (default true). Unknown leases: 204.
pub(super) async fn revoke(
    core: &Core,
    unsealed: &Unsealed,
    path_id: Option<&str>,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    let id = lease_id(&req.data, path_id)?;
    core.revoke_lease(unsealed, &id, sync_mode(&req.data)?)
        .await?;
    Ok(LogicalResponse::empty())
}

/// `PUT sys/leases/revoke-prefix/<prefix>` (`sync`) and `revoke-force/<prefix>`.
pub(super) async fn revoke_prefix(
    core: &Core,
    unsealed: &Unsealed,
    prefix: &str,
    force: bool,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    let mode = if force {
        RevokeMode::Force
    } else {
        sync_mode(&req.data)?
    };
    let count = core.revoke_lease_prefix(unsealed, prefix, mode).await?;
    tracing::info!(prefix, count, force, "leases revoked by prefix");
    Ok(LogicalResponse::empty())
}

/// `PUT sys/leases/tidy`: runs an expiration pass now.
pub(super) async fn tidy(core: &Core, req: &LogicalRequest) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    core.revoke_due_leases().await?;
    Ok(LogicalResponse::empty())
}

/// `GET sys/leases/count?type=irrevocable`.
pub(super) async fn count(
    unsealed: &Unsealed,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::MethodNotAllowed);
    }
    require_irrevocable_type(&req.data)?;
    let leases = unsealed.leases.irrevocable(LIST_LIMIT).await?;
    let mut counts: Map<String, Value> = Map::new();
    for lease in &leases {
        let mount = mount_of(&lease.path);
        let n = counts.get(&mount).and_then(Value::as_u64).unwrap_or(0);
        counts.insert(mount, json!(n + 1));
    }
    let total = unsealed.leases.count_irrevocable().await?;
    // Beyond Vault: what the expiration pass did since unseal, until sys/metrics exists.
    let (revoked, failed_attempts, marked_irrevocable) = unsealed.expiration.counters();
    Ok(LogicalResponse::with_data(json!({
        "lease_count": total,
        "counts": counts,
        "revocations_since_unseal": {
            "revoked": revoked,
            "failed_attempts": failed_attempts,
            "marked_irrevocable": marked_irrevocable,
        },
    })))
}

/// `GET sys/leases?type=irrevocable[&limit=N]`: the leases whose revocation gave up.
pub(super) async fn list_irrevocable(
    unsealed: &Unsealed,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::MethodNotAllowed);
    }
    require_irrevocable_type(&req.data)?;
    let limit = opt_u64(&req.data, "limit")?
        .map_or(LIST_LIMIT, |l| usize::try_from(l).unwrap_or(LIST_LIMIT))
        .clamp(1, LIST_LIMIT);
    let leases = unsealed.leases.irrevocable(limit).await?;
    let total = unsealed.leases.count_irrevocable().await?;
    let listed: Vec<Value> = leases
        .iter()
        .map(|l| {
            json!({
                "lease_id": l.id,
                "mount": mount_of(&l.path),
                "error": l.revocation.last_error,
                "revocation_failures": l.revocation.attempts,
            })
        })
        .collect();
    Ok(LogicalResponse::with_data(
        json!({ "lease_count": total, "leases": listed }),
    ))
}

fn require_irrevocable_type(data: &Map<String, Value>) -> Result<(), CoreError> {
    match opt_string(data, "type")?.as_deref() {
        Some("irrevocable") => Ok(()),
        _ => Err(CoreError::Invalid(
            "invalid type: only \"irrevocable\" is supported".into(),
        )),
    }
}

/// The first path segment of a lease's path, as a mount folder (`database/`).
fn mount_of(path: &str) -> String {
    match path.split_once('/') {
        Some((first, _)) => format!("{first}/"),
        None => format!("{path}/"),
    }
}

/// The lease id from the path (`…/renew/<id>`) or the body's `lease_id`.
fn lease_id(data: &Map<String, Value>, path_id: Option<&str>) -> Result<String, CoreError> {
    let id = match path_id {
        Some(id) if !id.is_empty() => Some(id.to_string()),
        _ => opt_string(data, "lease_id")?,
    };
    match id {
        Some(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => Err(CoreError::Invalid("lease_id must be specified".into())),
    }
}

fn sync_mode(data: &Map<String, Value>) -> Result<RevokeMode, CoreError> {
    Ok(match opt_bool(data, "sync")? {
        Some(false) => RevokeMode::Async,
        _ => RevokeMode::Sync,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_id_from_path_or_body() {
        let mut data = Map::new();
        assert!(lease_id(&data, None).is_err());
        data.insert("lease_id".into(), json!(" database/creds/r/abc "));
        assert_eq!(
            lease_id(&data, None).ok().as_deref(),
            Some("database/creds/r/abc")
        );
        assert_eq!(
            lease_id(&data, Some("x/y/z")).ok().as_deref(),
            Some("x/y/z")
        );
        assert_eq!(mount_of("database/creds/r"), "database/");
    }

    #[test]
    fn sync_defaults_to_true() {
        let mut data = Map::new();
        assert_eq!(sync_mode(&data).ok(), Some(RevokeMode::Sync));
        data.insert("sync".into(), json!(false));
        assert_eq!(sync_mode(&data).ok(), Some(RevokeMode::Async));
    }
}
