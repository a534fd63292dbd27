//! `sys/rotate/root/{init,update,verify}`: OpenBao's authenticated rekey (sudo).
//!
//! Same operation as the legacy `sys/rekey/*`, but behind a token and answered in the
//! normal envelope (`data: {...}`).

use serde_json::Value;

use super::Sudo;
use crate::core::fields::{opt_bool, opt_string, opt_u32, require_empty, FieldError};
use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::{Core, CoreError, RekeyUpdate, RekeyVerifyUpdate};

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, CoreError> {
    serde_json::to_value(v).map_err(|e| CoreError::Invalid(e.to_string()))
}

fn key_and_nonce(req: &LogicalRequest) -> Result<(String, String), CoreError> {
    let key = opt_string(&req.data, "key")?
        .ok_or_else(|| FieldError("'key' must be specified in request body as JSON".into()))?;
    let nonce = opt_string(&req.data, "nonce")?.unwrap_or_default();
    Ok((key, nonce))
}

/// Renders the rekey-update outcome (shared with the legacy endpoint).
pub fn update_body(update: RekeyUpdate) -> Result<Value, CoreError> {
    match update {
        RekeyUpdate::Progress(status) => to_value(&status),
        RekeyUpdate::Complete {
            nonce,
            shares,
            verification_nonce,
        } => to_value(&strongroom_client::api::RekeyUpdateResponse {
            nonce,
            complete: true,
            keys: shares.iter().map(|s| s.to_hex()).collect(),
            keys_base64: shares.iter().map(|s| s.to_base64()).collect(),
            pgp_fingerprints: None,
            backup: false,
            verification_required: verification_nonce.is_some(),
            verification_nonce,
        }),
    }
}

/// Renders the verify-update outcome (shared with the legacy endpoint).
pub fn verify_body(update: RekeyVerifyUpdate) -> Result<Value, CoreError> {
    match update {
        RekeyVerifyUpdate::Progress(status) => to_value(&status),
        RekeyVerifyUpdate::Complete { nonce } => {
            to_value(&strongroom_client::api::RekeyVerifyUpdateResponse {
                nonce,
                complete: true,
            })
        }
    }
}

/// Parsed body of a rekey init (shared with the legacy endpoint).
pub fn init_params(
    req_data: &serde_json::Map<String, Value>,
) -> Result<(u32, u32, bool), CoreError> {
    require_empty(req_data, "pgp_keys", "PGP encryption of key shares")?;
    require_empty(req_data, "backup", "backup of PGP-encrypted shares")?;
    let shares = opt_u32(req_data, "secret_shares")?.unwrap_or(0);
    let threshold = opt_u32(req_data, "secret_threshold")?.unwrap_or(0);
    let verify = opt_bool(req_data, "require_verification")?.unwrap_or(false);
    Ok((shares, threshold, verify))
}

/// Fields a rekey init accepts.
pub const INIT_FIELDS: &[&str] = &[
    "secret_shares",
    "secret_threshold",
    "pgp_keys",
    "backup",
    "require_verification",
];

pub(super) async fn init(
    core: &Core,
    req: &LogicalRequest,
    _sudo: Sudo,
) -> Result<LogicalResponse, CoreError> {
    let body = match req.operation {
        Operation::Read => to_value(&core.rekey_status().await?)?,
        Operation::Update => {
            let (shares, threshold, verify) = init_params(&req.data)?;
            to_value(&core.rekey_init(shares, threshold, verify).await?)?
        }
        Operation::Delete => {
            core.rekey_cancel().await?;
            return Ok(LogicalResponse::empty());
        }
        Operation::List | Operation::Patch => return Err(CoreError::MethodNotAllowed),
    };
    let mut resp = LogicalResponse::with_data(body);
    if req.operation == Operation::Update {
        resp.warnings
            .extend(unknown_field_warning(&req.data, INIT_FIELDS));
    }
    Ok(resp)
}

pub(super) async fn update(
    core: &Core,
    req: &LogicalRequest,
    _sudo: Sudo,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    let (key, nonce) = key_and_nonce(req)?;
    let body = update_body(core.rekey_update(&key, &nonce).await?)?;
    Ok(LogicalResponse::with_data(body))
}

pub(super) async fn verify(
    core: &Core,
    req: &LogicalRequest,
    _sudo: Sudo,
) -> Result<LogicalResponse, CoreError> {
    let body = match req.operation {
        Operation::Read => to_value(&core.rekey_verify_status().await?)?,
        Operation::Delete => to_value(&core.rekey_verify_restart().await?)?,
        Operation::Update => {
            let (key, nonce) = key_and_nonce(req)?;
            verify_body(core.rekey_verify_update(&key, &nonce).await?)?
        }
        Operation::List | Operation::Patch => return Err(CoreError::MethodNotAllowed),
    };
    Ok(LogicalResponse::with_data(body))
}
