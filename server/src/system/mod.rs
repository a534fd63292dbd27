//! The `sys/` API behind the ACL (one file per resource).
//!
//! Reached from the core pipeline with an [`Authorized`] proof; root-protected endpoints
//! check [`Authorized::has_sudo`] again here, so a future ACL bug that forgot the sudo
//! flag could not open them.

mod audit;
mod auth_mounts;
mod capabilities;
mod key_status;
mod leases;
mod locked_users;
mod mounts;
mod password_policies;
mod policies;
mod rotate;
pub mod rotate_root;
mod seal;
pub mod ui_mounts;
mod wrapping;

use crate::core::request::{LogicalRequest, LogicalResponse, Operation};
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
        SysEndpoint::Mount(path) => mounts::mount(core, unsealed, &path, req).await,
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
        SysEndpoint::LeaseLookup(prefix) => {
            leases::lookup(unsealed, prefix.as_deref(), req, authorized).await
        }
        SysEndpoint::LeaseRenew(id) => leases::renew(core, unsealed, id.as_deref(), req).await,
        SysEndpoint::LeaseRevoke(id) => leases::revoke(core, unsealed, id.as_deref(), req).await,
        SysEndpoint::LeaseRevokePrefix(prefix) => {
            require_sudo(authorized)?;
            leases::revoke_prefix(core, unsealed, &prefix, false, req).await
        }
        SysEndpoint::LeaseRevokeForce(prefix) => {
            require_sudo(authorized)?;
            leases::revoke_prefix(core, unsealed, &prefix, true, req).await
        }
        SysEndpoint::LeaseTidy => leases::tidy(core, req).await,
        SysEndpoint::LeaseCount => {
            require_sudo(authorized)?;
            leases::count(unsealed, req).await
        }
        SysEndpoint::Leases => {
            require_sudo(authorized)?;
            leases::list_irrevocable(unsealed, req).await
        }
        SysEndpoint::PasswordPolicies => match req.operation {
            Operation::List => password_policies::list(&unsealed.passwords).await,
            _ => Err(CoreError::MethodNotAllowed),
        },
        SysEndpoint::PasswordPolicy(name) => {
            let store = &unsealed.passwords;
            match req.operation {
                Operation::Read => password_policies::read(store, &name).await,
                Operation::Update => password_policies::write(store, &name, &req.data).await,
                Operation::Delete => password_policies::delete(store, &name).await,
                Operation::List | Operation::Patch => Err(CoreError::MethodNotAllowed),
            }
        }
        SysEndpoint::Audits => audit::list(unsealed, req, require_sudo(authorized)?),
        SysEndpoint::Audit(path) => {
            audit::one(unsealed, &path, req, require_sudo(authorized)?).await
        }
        SysEndpoint::AuditHash(path) => audit::hash(unsealed, &path, req),
        SysEndpoint::AuditChain(path) => {
            audit::chain(unsealed, &path, req, require_sudo(authorized)?)
        }
        SysEndpoint::PasswordPolicyGenerate(name) => match req.operation {
            Operation::Read => password_policies::generate(&unsealed.passwords, &name).await,
            _ => Err(CoreError::MethodNotAllowed),
        },
        SysEndpoint::WrappingWrap => wrapping::wrap(req),
        SysEndpoint::WrappingUnwrap => wrapping::unwrap(core, unsealed, req).await,
        SysEndpoint::WrappingRewrap => wrapping::rewrap(core, unsealed, req).await,
        // Answered before the ACL by the pipeline (no token needed).
        SysEndpoint::WrappingLookup => Err(CoreError::UnsupportedPath),
        SysEndpoint::ToolsHash(algorithm) => {
            tool(req, |data| crate::tools::hash(algorithm.as_deref(), data))
        }
        SysEndpoint::ToolsRandom(rest) => tool(req, |data| {
            let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
            crate::tools::random(&parts, data)
        }),
    }
}

/// `sys/tools/*`: PUT/POST only; a refusal is a 400 with the tool's text.
fn tool(
    req: &LogicalRequest,
    run: impl FnOnce(
        &serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value, crate::tools::ToolError>,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    run(&req.data)
        .map(LogicalResponse::with_data)
        .map_err(|e| CoreError::Invalid(e.to_string()))
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
