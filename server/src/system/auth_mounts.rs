//! `sys/auth`, `sys/auth/:path`, `sys/auth/:path/tune`: auth method mounts (wire
//! reference §2.9).
//!
//! Auth methods live in the same mount table as secrets engines, under `auth/`, with
//! their data at `auth/<uuid>/`; `sys/auth` shows them without the `auth/` prefix.
//! Disabling one revokes every token issued through it, then deletes its data. The
//! built-in `token/` method cannot be disabled.

use super::mounts;
use crate::core::fields::opt_string;
use crate::core::request::{LogicalRequest, LogicalResponse, Operation};
use crate::core::{Core, CoreError, Unsealed};
use crate::mount::{MountError, MountPath, MountType};

/// `GET sys/auth`.
pub(super) fn list(
    unsealed: &Unsealed,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    mounts::list_table(unsealed, req, mounts::Table::Auth)
}

/// `sys/auth/:path`: read, enable, disable.
pub(super) async fn one(
    core: &Core,
    unsealed: &Unsealed,
    raw_path: &str,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let path = MountPath::auth(raw_path)?;
    match req.operation {
        Operation::Read => {
            let entry = unsealed
                .mounts
                .get(&path)
                .filter(|e| e.mount_type.is_auth())
                .ok_or_else(|| MountError::NoMount(path.as_str().to_string()))?;
            let mut resp = LogicalResponse::with_data(entry.to_auth_wire());
            resp.duplicate_top_level = true;
            Ok(resp)
        }
        Operation::Update => enable(unsealed, &path, req).await,
        Operation::Delete => {
            if path.as_str() == "auth/token/" {
                return Err(CoreError::Invalid(
                    "token credential backend cannot be disabled".to_string(),
                ));
            }
            if unsealed.mounts.get(&path).is_none() {
                return Ok(LogicalResponse::empty());
            }
            // Tokens first: once the method is gone nobody could find them any more.
            let revoked = unsealed.tokens.revoke_by_path_prefix(path.as_str()).await?;
            core.after_token_revocation(unsealed, &revoked).await?;
            if let Some(gone) = unsealed.mounts.disable(&path).await? {
                tracing::info!(path = %gone.path, accessor = %gone.accessor, tokens = revoked.len(), "auth method disabled");
            }
            Ok(LogicalResponse::empty())
        }
        Operation::List | Operation::Patch => Err(CoreError::MethodNotAllowed),
    }
}

async fn enable(
    unsealed: &Unsealed,
    path: &MountPath,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let raw_type = opt_string(&req.data, "type")?.unwrap_or_default();
    if raw_type == "token" {
        return Err(CoreError::Invalid(
            "only one token credential backend is allowed".to_string(),
        ));
    }
    let mount_type = MountType::parse_auth(&raw_type)?;
    let options = mounts::parse_options(&req.data)?;
    mounts::enable_entry(unsealed, path, mount_type, options, req).await
}

/// `sys/auth/:path/tune`.
pub(super) async fn tune(
    unsealed: &Unsealed,
    raw_path: &str,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let path = MountPath::auth(raw_path)?;
    if unsealed
        .mounts
        .get(&path)
        .is_none_or(|e| !e.mount_type.is_auth())
    {
        return Err(MountError::NoMount(path.as_str().to_string()).into());
    }
    mounts::tune_at(unsealed, &path, req).await
}
