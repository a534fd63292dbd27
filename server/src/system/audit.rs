//! `sys/audit`, `sys/audit/:path`, `sys/audit-hash/:path`, `sys/audit-chain/:path`:
//! audit devices (wire reference §2.15), plus Strongroom's chain endpoint.
//!
//! Listing, enabling, disabling and reading a chain key need sudo (the [`Sudo`] proof);
//! `sys/audit-hash` needs only `update` on its path, as in Vault. Enabling through the
//! API is refused unless `[audit_api]` allows it (see `audit::spec`).

use serde_json::{json, Value};

use super::mounts::parse_options;
use super::Sudo;
use crate::audit::AuditPath;
use crate::core::fields::{opt_bool, opt_string, FieldError};
use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::{CoreError, Unsealed};

/// Fields `PUT sys/audit/:path` accepts.
const ENABLE_FIELDS: &[&str] = &["type", "description", "options", "local"];

fn duplicated(data: Value) -> LogicalResponse {
    let mut resp = LogicalResponse::with_data(data);
    resp.duplicate_top_level = true;
    resp
}

/// `GET sys/audit`.
pub(super) fn list(
    unsealed: &Unsealed,
    req: &LogicalRequest,
    _sudo: Sudo,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::MethodNotAllowed);
    }
    Ok(duplicated(Value::Object(unsealed.audit.list())))
}

/// `PUT|POST|DELETE sys/audit/:path`.
pub(super) async fn one(
    unsealed: &Unsealed,
    raw_path: &str,
    req: &LogicalRequest,
    _sudo: Sudo,
) -> Result<LogicalResponse, CoreError> {
    let path = AuditPath::parse(raw_path)?;
    match req.operation {
        Operation::Update => {
            let device_type = opt_string(&req.data, "type")?.unwrap_or_default();
            let description = opt_string(&req.data, "description")?.unwrap_or_default();
            let local = opt_bool(&req.data, "local")?.unwrap_or(false);
            let options = parse_options(&req.data)?.unwrap_or_default();
            unsealed
                .audit
                .enable(path, &device_type, description, options, local)
                .await?;
            let mut resp = LogicalResponse::empty();
            resp.warnings
                .extend(unknown_field_warning(&req.data, ENABLE_FIELDS));
            Ok(resp)
        }
        Operation::Delete => {
            unsealed.audit.disable(&path).await?;
            Ok(LogicalResponse::empty())
        }
        Operation::Read | Operation::List | Operation::Patch => Err(CoreError::MethodNotAllowed),
    }
}

/// `POST sys/audit-hash/:path` `{"input": ...}` → `{"hash": "hmac-sha256:..."}`.
pub(super) fn hash(
    unsealed: &Unsealed,
    raw_path: &str,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    let path = AuditPath::parse(raw_path)?;
    let input = match req.data.get("input") {
        Some(Value::String(s)) => s.as_str(),
        _ => return Err(FieldError("\"input\" must be a string".into()).into()),
    };
    let device = unsealed.audit.get(&path)?;
    Ok(duplicated(json!({ "hash": device.hash(input) })))
}

/// `GET sys/audit-chain/:path` (sudo) → `{"algorithm","key","head"}`: what
/// `strongroom audit verify` needs to check the device's file.
pub(super) fn chain(
    unsealed: &Unsealed,
    raw_path: &str,
    req: &LogicalRequest,
    _sudo: Sudo,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::MethodNotAllowed);
    }
    let path = AuditPath::parse(raw_path)?;
    let (key, head) = unsealed.audit.get(&path)?.chain_info();
    Ok(duplicated(json!({
        "algorithm": "hmac-sha256",
        "key": key,
        "head": head,
    })))
}
