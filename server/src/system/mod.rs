//! The `sys/` API behind the ACL (one file per resource).
//!
//! Reached from the core pipeline with an [`Authorized`] proof; root-protected endpoints
//! check [`Authorized::has_sudo`] again here, so a future ACL bug that forgot the sudo
//! flag could not open them.

mod auth_mounts;
mod capabilities;
mod key_status;
mod locked_users;
mod mounts;
mod policies;
mod rotate;
pub mod rotate_root;
mod seal;
pub mod ui_mounts;

use crate::core::request::{LogicalRequest, LogicalResponse};
use crate::core::{Caller, Core, CoreError, Unsealed};
use crate::policy::Authorized;
use crate::router::SysEndpoint;

/// Dispatches a `sys/` endpoint.
pub async fn handle(
    core: &Core,
    unsealed: &Unsealed,
    endpoint: SysEndpoint,
    req: &LogicalRequest,
    caller: &Caller<'_>,
    authorized: Authorized,
) -> Result<LogicalResponse, CoreError> {
    use capabilities::Subject;
    use policies::Family;
    match endpoint {
        SysEndpoint::Seal => seal::handle(core, req, require_sudo(authorized)?).await,
        SysEndpoint::KeyStatus => key_status::handle(core, req),
        SysEndpoint::RotateKeyring => rotate::handle(core, req, require_sudo(authorized)?).await,
        SysEndpoint::RotateRootInit => {
            rotate_root::init(core, req, require_sudo(authorized)?).await
        }
        SysEndpoint::RotateRootUpdate => {
            rotate_root::update(core, req, require_sudo(authorized)?).await
        }
        SysEndpoint::RotateRootVerify => {
            rotate_root::verify(core, req, require_sudo(authorized)?).await
        }
        SysEndpoint::Mounts => mounts::list(unsealed, req),
        SysEndpoint::Mount(path) => mounts::mount(unsealed, &path, req).await,
        SysEndpoint::MountTune(path) => mounts::tune(unsealed, &path, req).await,
        // Answered before the ACL by the pipeline (it performs its own access check).
        SysEndpoint::UiMounts(path) => Err(CoreError::PreflightDenied(path.unwrap_or_default())),
        SysEndpoint::Auths => auth_mounts::list(unsealed, req),
        SysEndpoint::Auth(path) => {
            require_sudo(authorized)?;
            auth_mounts::one(core, unsealed, &path, req).await
        }
        SysEndpoint::AuthTune(path) => {
            require_sudo(authorized)?;
            auth_mounts::tune(unsealed, &path, req).await
        }
        SysEndpoint::LockedUsers => {
            require_sudo(authorized)?;
            locked_users::list(unsealed, req)
        }
        SysEndpoint::UnlockUser { accessor, alias } => {
            require_sudo(authorized)?;
            locked_users::unlock(unsealed, &accessor, &alias, req)
        }
        SysEndpoint::PoliciesAcl => policies::list(unsealed, Family::Acl, req),
        SysEndpoint::PoliciesLegacy => policies::list(unsealed, Family::Legacy, req),
        SysEndpoint::PolicyAcl(name) => policies::one(unsealed, Family::Acl, &name, req).await,
        SysEndpoint::PolicyLegacy(name) => {
            policies::one(unsealed, Family::Legacy, &name, req).await
        }
        SysEndpoint::CapabilitiesSelf => {
            capabilities::handle(unsealed, Subject::Caller, req, caller).await
        }
        SysEndpoint::Capabilities => {
            capabilities::handle(unsealed, Subject::Token, req, caller).await
        }
        SysEndpoint::CapabilitiesAccessor => {
            capabilities::handle(unsealed, Subject::Accessor, req, caller).await
        }
    }
}

/// Proof that the caller holds sudo on a root-protected path.
#[derive(Debug, Clone, Copy)]
pub struct Sudo(());

fn require_sudo(authorized: Authorized) -> Result<Sudo, CoreError> {
    if authorized.has_sudo() {
        Ok(Sudo(()))
    } else {
        Err(CoreError::PermissionDenied)
    }
}
