//! The request pipeline behind the ACL.
//!
//! sealed? → route (fixed routes, then the mount table) → an auth method's login path
//! goes to `login.rs` without a token; everything else: resolve token (uses, CIDR
//! binding) → authorise (proof) → handler, engine or auth method. Every step builds the
//! next step's input; nothing is mutated and restored.

use std::sync::Arc;

use super::request::{LogicalRequest, LogicalResponse};
use super::{Core, CoreError, Unsealed};
use crate::audit::AuditTrail;
use crate::auth::TokenEntry;
use crate::core::request::Operation;
use crate::credential::token_fields::cidrs_allow;
use crate::credential::{self, CredentialRequest, CredentialResponse};
use crate::engines::{self, EngineRequest, MountContext};
use crate::mount::{MountType, ResolvedMount};
use crate::policy::{Acl, AclRequest, Authorized, Capability, PolicyName};
use crate::router::{self, Route, SysEndpoint};
use crate::{auth, system};

/// Who is calling, once the token resolved.
#[derive(Debug)]
pub struct Caller<'a> {
    /// The stored entry of the presented token.
    pub entry: Arc<TokenEntry>,
    /// The presented token itself (echoed only to its own holder).
    pub token: &'a crate::auth::ClientToken,
    /// Its keyed id hash.
    pub id_hash: String,
    /// The token's compiled ACL.
    pub acl: Acl,
}

impl Core {
    /// Serves one logical request: dispatch, then response wrapping when asked for; the
    /// response (as the client will see it: wrapped, or an error) is audited last.
    pub async fn handle(&self, req: &LogicalRequest) -> Result<LogicalResponse, CoreError> {
        let unsealed = self.unsealed()?;
        let mut trail = AuditTrail::default();
        let result = async {
            let resp = self.dispatch(&unsealed, req, &mut trail).await?;
            match req.wrap_ttl {
                Some(ttl) => self.wrap_response(&unsealed, req, resp, ttl).await,
                None => Ok(resp),
            }
        }
        .await;
        audit_response(&unsealed, req, &mut trail, result).await
    }

    /// Routes, resolves the token, authorises and runs one request.
    async fn dispatch(
        &self,
        unsealed: &Arc<Unsealed>,
        req: &LogicalRequest,
        trail: &mut AuditTrail,
    ) -> Result<LogicalResponse, CoreError> {
        let route = router::resolve_fixed(&req.path)
            .or_else(|| unsealed.mounts.resolve(&req.path).map(Route::Mount));
        if let Some(Route::Mount(mount)) = &route {
            if credential::is_login_path(mount.entry.mount_type, &mount.rel) {
                // Logins are the one thing done without a token (any token is ignored).
                unsealed
                    .audit
                    .log_request(req, trail, &unsealed.mounts)
                    .await?;
                return self.login(unsealed, mount, req).await;
            }
        }
        // Wrapping paths a wrapping token itself uses, or that need no token (audited
        // before they run, like logins: an unwrap spends its token).
        match (req.path.as_str(), req.operation) {
            ("sys/wrapping/lookup", _) => {
                unsealed
                    .audit
                    .log_request(req, trail, &unsealed.mounts)
                    .await?;
                return self.wrapping_lookup_request(unsealed, req).await;
            }
            ("sys/wrapping/unwrap", Operation::Update)
                if super::wrapping::body_token(&req.data)?.is_none() =>
            {
                unsealed
                    .audit
                    .log_request(req, trail, &unsealed.mounts)
                    .await?;
                return self.unwrap_presented(unsealed, req).await;
            }
            _ => {}
        }
        let token = req.token.as_ref().ok_or(CoreError::PermissionDenied)?;
        let id_hash = unsealed.tokens.id_hash(token);
        let stored = unsealed
            .tokens
            .resolve_hash(&id_hash)
            .await?
            .ok_or(CoreError::PermissionDenied)?;
        if super::wrapping::is_wrapping_token(&stored.entry) {
            // A wrapping token opens nothing but its own unwrap (above); refusing it here
            // does not spend its one use.
            return Err(CoreError::PermissionDenied);
        }
        if !cidrs_allow(&stored.entry.bound_cidrs, req.remote_addr) {
            return Err(CoreError::PermissionDenied);
        }
        // Audited before anything runs (not even a use is spent if no device records it).
        trail.set_token(Arc::clone(&stored.entry));
        unsealed
            .audit
            .log_request(req, trail, &unsealed.mounts)
            .await?;
        // Limited-use tokens spend one use before anything else.
        let (entry, last_use) = if stored.entry.num_uses > 0 {
            match unsealed.tokens.use_once(&id_hash).await? {
                auth::Use::Exhausted => return Err(CoreError::PermissionDenied),
                auth::Use::Allowed(entry) => (entry, false),
                auth::Use::Last(entry) => (entry, true),
            }
        } else {
            (stored.entry, false)
        };
        let result = self
            .handle_as(unsealed, req, route, token, id_hash.clone(), entry)
            .await;
        if last_use {
            // The request that spent the last use is done: now the token goes.
            let revoked = unsealed.tokens.revoke_tree(&id_hash).await?;
            self.after_token_revocation(unsealed, &revoked).await?;
        }
        result
    }

    async fn handle_as(
        &self,
        unsealed: &Unsealed,
        req: &LogicalRequest,
        route: Option<Route>,
        token: &crate::auth::ClientToken,
        id_hash: String,
        entry: Arc<TokenEntry>,
    ) -> Result<LogicalResponse, CoreError> {
        let acl = unsealed.policies.acl_for(&entry.policies);
        let caller = Caller {
            entry,
            token,
            id_hash,
            acl,
        };
        // The CLI's preflight answers from the token's access, not from an ACL rule of its own.
        if let Some(Route::Sys(SysEndpoint::UiMounts(path))) = &route {
            return system::ui_mounts::handle(unsealed, path.as_deref(), req, &caller);
        }
        let needs_sudo = route.as_ref().is_some_and(Route::needs_sudo);
        match route {
            Some(Route::Mount(mount)) if mount.entry.mount_type.is_auth() => {
                self.handle_auth_method(unsealed, &mount, req, &caller, needs_sudo)
                    .await
            }
            Some(Route::Mount(mount)) => {
                let ctx = self.mount_context(unsealed, &mount, Some(&caller.id_hash))?;
                let engine_req = EngineRequest {
                    operation: req.operation,
                    path: &mount.rel,
                    data: &req.data,
                    ctx: &ctx,
                    display_name: &caller.entry.display_name,
                };
                let exists = if req.operation == Operation::Update {
                    engine_exists(&mount, &engine_req, &unsealed.transit).await?
                } else {
                    None
                };
                let authorized = authorize(&caller, req, exists, needs_sudo)?;
                self.handle_mount(unsealed, &mount, req, &caller, &engine_req, authorized)
                    .await
            }
            Some(Route::Sys(endpoint)) => {
                let exists = match (&endpoint, req.operation) {
                    (
                        SysEndpoint::PolicyAcl(name) | SysEndpoint::PolicyLegacy(name),
                        Operation::Update,
                    ) => Some(
                        PolicyName::parse(name).is_ok_and(|n| unsealed.policies.exists(n.as_str())),
                    ),
                    _ => None,
                };
                let authorized = authorize(&caller, req, exists, needs_sudo)?;
                system::handle(self, unsealed, endpoint, req, &caller, authorized).await
            }
            Some(Route::Token(endpoint)) => {
                let authorized = authorize(&caller, req, None, needs_sudo)?;
                let outcome =
                    auth::token_endpoints::handle(unsealed, endpoint, req, &caller, authorized)
                        .await?;
                self.after_token_revocation(unsealed, &outcome.revoked)
                    .await?;
                Ok(outcome.response)
            }
            Some(Route::UnknownSys) => {
                authorize(&caller, req, None, needs_sudo)?;
                Err(CoreError::UnsupportedPath)
            }
            None => {
                authorize(&caller, req, None, needs_sudo)?;
                Err(CoreError::NoHandler(req.path.clone()))
            }
        }
    }

    /// An auth method's management paths (users, roles), behind the ACL.
    async fn handle_auth_method(
        &self,
        unsealed: &Unsealed,
        mount: &ResolvedMount,
        req: &LogicalRequest,
        caller: &Caller<'_>,
        needs_sudo: bool,
    ) -> Result<LogicalResponse, CoreError> {
        let kind = mount.entry.mount_type;
        let ctx = self.mount_context(unsealed, mount, None)?;
        let creq = CredentialRequest {
            operation: req.operation,
            path: &mount.rel,
            data: &req.data,
            ctx: &ctx,
            remote_addr: req.remote_addr,
            client_certs: req.client_certs.clone(),
        };
        let exists = if req.operation == Operation::Update {
            credential::exists(kind, &creq).await?
        } else {
            None
        };
        let _authorized = authorize(caller, req, exists, needs_sudo)?;
        match credential::handle(kind, &creq).await? {
            CredentialResponse::Engine(resp) => Ok(LogicalResponse {
                data: resp.data,
                warnings: resp.warnings,
                lease_duration: resp.lease_duration,
                mount_type: kind.as_str().to_string(),
                status: resp.status,
                ..Default::default()
            }),
            // Only login paths grant tokens, and those never reach this point.
            CredentialResponse::Login(_) => Err(CoreError::UnsupportedPath),
        }
    }

    /// Background tidy: revokes expired tokens and deletes their cubbyholes. A no-op
    /// while sealed.
    pub async fn tidy_tokens(&self) -> Result<usize, CoreError> {
        let Ok(unsealed) = self.unsealed() else {
            return Ok(0);
        };
        let revoked = unsealed.tokens.tidy().await?;
        self.after_token_revocation(&unsealed, &revoked).await?;
        Ok(revoked.len())
    }

    /// What follows the revocation of tokens (given by id hash): their cubbyholes are
    /// deleted and the leases they own are scheduled for revocation at once.
    pub(crate) async fn after_token_revocation(
        &self,
        unsealed: &Unsealed,
        revoked: &[String],
    ) -> Result<(), CoreError> {
        if revoked.is_empty() {
            return Ok(());
        }
        self.expire_token_leases(unsealed, revoked).await?;
        let Some(mount) = unsealed.mounts.resolve("cubbyhole/") else {
            return Ok(());
        };
        let prefix = mount.entry.data_prefix();
        for id_hash in revoked {
            let key = unsealed.tokens.cubbyhole_key(id_hash);
            self.barrier.delete_tree(&format!("{prefix}{key}/")).await?;
        }
        Ok(())
    }

    /// The storage view and limits a mount's engine works with; a cubbyhole request gets
    /// the caller's own subtree.
    pub(super) fn mount_context(
        &self,
        unsealed: &Unsealed,
        mount: &ResolvedMount,
        caller_id_hash: Option<&str>,
    ) -> Result<MountContext, CoreError> {
        let entry = &mount.entry;
        let base = self.barrier.view(&entry.data_prefix())?;
        let view = match (entry.mount_type, caller_id_hash) {
            (MountType::Cubbyhole, Some(id_hash)) => {
                base.sub_view(&format!("{}/", unsealed.tokens.cubbyhole_key(id_hash)))?
            }
            // A cubbyhole belongs to a token; without one there is nothing to address.
            (MountType::Cubbyhole, None) => return Err(CoreError::PermissionDenied),
            _ => base,
        };
        Ok(MountContext::for_mount(view, entry))
    }

    async fn handle_mount(
        &self,
        unsealed: &Unsealed,
        mount: &ResolvedMount,
        req: &LogicalRequest,
        caller: &Caller<'_>,
        engine_req: &EngineRequest<'_>,
        _authorized: Authorized,
    ) -> Result<LogicalResponse, CoreError> {
        let entry = &mount.entry;
        let resp = match entry.mount_type {
            MountType::Kv => match entry.kv_version() {
                2 => engines::kv::v2::handle(engine_req).await?,
                _ => {
                    engines::kv::v1::handle(engine_req, engines::kv::v1::TtlReporting::MountDefault)
                        .await?
                }
            },
            MountType::Cubbyhole => engines::cubbyhole::handle(engine_req).await?,
            MountType::Database => {
                engines::database::handle(engine_req, &unsealed.databases).await?
            }
            MountType::Transit => engines::transit::handle(engine_req, &unsealed.transit).await?,
            MountType::System
            | MountType::Token
            | MountType::Userpass
            | MountType::Approle
            | MountType::Cert => return Err(CoreError::UnsupportedPath),
        };
        let mut out = LogicalResponse {
            data: resp.data,
            warnings: resp.warnings,
            lease_duration: resp.lease_duration,
            mount_type: entry.mount_type.as_str().to_string(),
            status: resp.status,
            ..Default::default()
        };
        if let Some(secret) = resp.secret {
            // The secret exists now: put it on a lease owned by the caller's token (or
            // take it back if the lease cannot be stored).
            let granted = self
                .register_lease(
                    unsealed,
                    mount,
                    &req.path,
                    secret,
                    &caller.id_hash,
                    engine_req.ctx,
                )
                .await?;
            out.lease_id = granted.lease_id;
            out.renewable = granted.renewable;
            out.lease_duration = granted.ttl;
            out.warnings.extend(granted.warning);
        }
        Ok(out)
    }
}

/// Audits the outcome of a request. A request refused earlier (before it ran) than its
/// request entry gets that entry now; if no device records the response entry, the
/// response is withheld (fail closed).
async fn audit_response(
    unsealed: &Unsealed,
    req: &LogicalRequest,
    trail: &mut AuditTrail,
    result: Result<LogicalResponse, CoreError>,
) -> Result<LogicalResponse, CoreError> {
    if trail.refused() {
        return result;
    }
    if !trail.request_logged() {
        unsealed
            .audit
            .log_request(req, trail, &unsealed.mounts)
            .await?;
    }
    unsealed.audit.log_response(req, trail, &result).await?;
    result
}

/// The engine's existence check for a write (create vs update).
async fn engine_exists(
    mount: &ResolvedMount,
    engine_req: &EngineRequest<'_>,
    transit: &engines::transit::KeyCache,
) -> Result<Option<bool>, CoreError> {
    Ok(match mount.entry.mount_type {
        MountType::Kv => match mount.entry.kv_version() {
            2 => engines::kv::v2::exists(engine_req).await?,
            _ => engines::kv::v1::exists(engine_req).await?,
        },
        MountType::Cubbyhole => engines::cubbyhole::exists(engine_req).await?,
        MountType::Database => engines::database::exists(engine_req).await?,
        MountType::Transit => engines::transit::exists(engine_req, transit).await?,
        MountType::System
        | MountType::Token
        | MountType::Userpass
        | MountType::Approle
        | MountType::Cert => None,
    })
}

/// The capability an operation needs: a write is `create` when the existence check
/// found nothing, `update` otherwise (also when the path has no existence check).
fn needed(operation: Operation, exists: Option<bool>) -> Capability {
    match operation {
        Operation::Read => Capability::Read,
        Operation::List => Capability::List,
        Operation::Delete => Capability::Delete,
        Operation::Patch => Capability::Patch,
        Operation::Update if exists == Some(false) => Capability::Create,
        Operation::Update => Capability::Update,
    }
}

fn authorize(
    caller: &Caller<'_>,
    req: &LogicalRequest,
    exists: Option<bool>,
    needs_sudo: bool,
) -> Result<Authorized, CoreError> {
    let request = AclRequest {
        path: &req.path,
        needs: needed(req.operation, exists),
        needs_sudo,
        params: Some(&req.data),
        wrap_ttl: req.wrap_ttl.map(std::time::Duration::from_secs),
    };
    Ok(caller.acl.authorize(&request)?)
}
