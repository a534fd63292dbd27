//! Routing: a clean logical path → a closed [`Route`].
//!
//! Sits after token resolution and before the ACL in the pipeline. Fixed `sys/` and
//! `auth/token/` endpoints are variants here, so handlers match exhaustively; every other
//! path goes to the mount table (longest prefix) or nowhere (404 `no handler for route`).
//! The unauthenticated, pre-unseal endpoints (`sys/init`, `sys/seal-status`,
//! `sys/unseal`, `sys/health`, `sys/leader`, legacy `sys/rekey/*`) are answered by `api`
//! before this pipeline and are not routed here.

use crate::mount::ResolvedMount;

/// A `sys/` endpoint behind the ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysEndpoint {
    /// `sys/seal`.
    Seal,
    /// `sys/key-status`.
    KeyStatus,
    /// `sys/rotate` and `sys/rotate/keyring`.
    RotateKeyring,
    /// `sys/rotate/root/init` (OpenBao's authenticated rekey).
    RotateRootInit,
    /// `sys/rotate/root/update`.
    RotateRootUpdate,
    /// `sys/rotate/root/verify`.
    RotateRootVerify,
    /// `sys/mounts` (list).
    Mounts,
    /// `sys/mounts/<path>` (read, enable, disable); the raw path, unparsed.
    Mount(String),
    /// `sys/mounts/<path>/tune`.
    MountTune(String),
    /// `sys/internal/ui/mounts[/<path>]`: the CLI's preflight; does its own access check.
    UiMounts(Option<String>),
    /// `GET sys/auth`.
    Auths,
    /// `sys/auth/<path>` (read, enable, disable); sudo.
    Auth(String),
    /// `sys/auth/<path>/tune`; sudo.
    AuthTune(String),
    /// `GET sys/locked-users`; sudo.
    LockedUsers,
    /// `POST sys/locked-users/<accessor>/unlock/<alias>`; sudo.
    UnlockUser {
        /// The auth mount's accessor.
        accessor: String,
        /// The locked alias (user name, role id).
        alias: String,
    },
    /// `LIST sys/policies/acl`.
    PoliciesAcl,
    /// `sys/policies/acl/<name>`.
    PolicyAcl(String),
    /// `GET sys/policy` (legacy list).
    PoliciesLegacy,
    /// `sys/policy/<name>` (legacy).
    PolicyLegacy(String),
    /// `sys/capabilities-self`.
    CapabilitiesSelf,
    /// `sys/capabilities`.
    Capabilities,
    /// `sys/capabilities-accessor`.
    CapabilitiesAccessor,
    /// `sys/leases/lookup` (PUT: one lease; LIST: the top level) and
    /// `LIST sys/leases/lookup/<prefix>/` (sudo).
    LeaseLookup(Option<String>),
    /// `sys/leases/renew[/<lease id>]`, legacy `sys/renew[/<lease id>]`.
    LeaseRenew(Option<String>),
    /// `sys/leases/revoke[/<lease id>]`, legacy `sys/revoke[/<lease id>]`.
    LeaseRevoke(Option<String>),
    /// `sys/leases/revoke-prefix/<prefix>`, legacy `sys/revoke-prefix/<prefix>` (sudo).
    LeaseRevokePrefix(String),
    /// `sys/leases/revoke-force/<prefix>`, legacy `sys/revoke-force/<prefix>` (sudo).
    LeaseRevokeForce(String),
    /// `sys/leases/tidy`.
    LeaseTidy,
    /// `GET sys/leases/count` (sudo).
    LeaseCount,
    /// `GET sys/leases` (sudo): the irrevocable leases.
    Leases,
    /// `LIST sys/policies/password`.
    PasswordPolicies,
    /// `sys/policies/password/<name>`.
    PasswordPolicy(String),
    /// `GET sys/policies/password/<name>/generate`.
    PasswordPolicyGenerate(String),
    /// `sys/wrapping/wrap`: wraps the request body (needs `X-Vault-Wrap-TTL`).
    WrappingWrap,
    /// `sys/wrapping/unwrap` with a wrapping token in the body.
    WrappingUnwrap,
    /// `sys/wrapping/rewrap`.
    WrappingRewrap,
    /// `sys/wrapping/lookup` (also answered without a token, before the ACL).
    WrappingLookup,
    /// `sys/tools/hash[/<algorithm>]`.
    ToolsHash(Option<String>),
    /// `sys/tools/random[/<source>][/<bytes>]`: the path after `random/` ("" without).
    ToolsRandom(String),
    /// `GET sys/audit` (sudo).
    Audits,
    /// `sys/audit/<path>` (enable, disable; sudo); the raw path, unparsed.
    Audit(String),
    /// `POST sys/audit-hash/<path>`.
    AuditHash(String),
    /// `GET sys/audit-chain/<path>` (sudo): the device's chain key and head.
    AuditChain(String),
}

/// An `auth/token/` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEndpoint {
    /// `auth/token/create/<role>`.
    CreateWithRole(String),
    /// `LIST auth/token/roles`.
    Roles,
    /// `auth/token/roles/<name>`.
    Role(String),
    /// `auth/token/create`.
    Create,
    /// `auth/token/create-orphan`.
    CreateOrphan,
    /// `auth/token/lookup`.
    Lookup,
    /// `auth/token/lookup-self`.
    LookupSelf,
    /// `auth/token/lookup-accessor`.
    LookupAccessor,
    /// `auth/token/renew`.
    Renew,
    /// `auth/token/renew-self`.
    RenewSelf,
    /// `auth/token/renew-accessor`.
    RenewAccessor,
    /// `auth/token/revoke`.
    Revoke,
    /// `auth/token/revoke-self`.
    RevokeSelf,
    /// `auth/token/revoke-orphan` (sudo).
    RevokeOrphan,
    /// `auth/token/revoke-accessor`.
    RevokeAccessor,
    /// `LIST auth/token/accessors` (sudo).
    Accessors,
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub enum Route {
    /// A system endpoint.
    Sys(SysEndpoint),
    /// A token-store endpoint.
    Token(TokenEndpoint),
    /// Under `sys/` but not an endpoint (404 `unsupported path`).
    UnknownSys,
    /// A mounted engine.
    Mount(ResolvedMount),
}

impl Route {
    /// Root-protected paths: the token needs `sudo` as well as the verb capability.
    pub fn needs_sudo(&self) -> bool {
        matches!(
            self,
            Route::Sys(
                SysEndpoint::Seal
                    | SysEndpoint::RotateKeyring
                    | SysEndpoint::RotateRootInit
                    | SysEndpoint::RotateRootUpdate
                    | SysEndpoint::RotateRootVerify
                    | SysEndpoint::Auth(_)
                    | SysEndpoint::AuthTune(_)
                    | SysEndpoint::LockedUsers
                    | SysEndpoint::UnlockUser { .. }
                    | SysEndpoint::LeaseLookup(Some(_))
                    | SysEndpoint::LeaseRevokePrefix(_)
                    | SysEndpoint::LeaseRevokeForce(_)
                    | SysEndpoint::LeaseCount
                    | SysEndpoint::Leases
                    | SysEndpoint::Audits
                    | SysEndpoint::Audit(_)
                    | SysEndpoint::AuditChain(_)
            ) | Route::Token(TokenEndpoint::RevokeOrphan | TokenEndpoint::Accessors)
        )
    }
}

/// Resolves the fixed routes of a clean path (a list request's trailing `/` is ignored
/// for matching). `None`: not a fixed route; try the mount table.
pub fn resolve_fixed(path: &str) -> Option<Route> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let route = match path {
        "sys/seal" => Route::Sys(SysEndpoint::Seal),
        "sys/key-status" => Route::Sys(SysEndpoint::KeyStatus),
        "sys/rotate" | "sys/rotate/keyring" => Route::Sys(SysEndpoint::RotateKeyring),
        "sys/rotate/root/init" => Route::Sys(SysEndpoint::RotateRootInit),
        "sys/rotate/root/update" => Route::Sys(SysEndpoint::RotateRootUpdate),
        "sys/rotate/root/verify" => Route::Sys(SysEndpoint::RotateRootVerify),
        "sys/mounts" => Route::Sys(SysEndpoint::Mounts),
        "sys/internal/ui/mounts" => Route::Sys(SysEndpoint::UiMounts(None)),
        "sys/auth" => Route::Sys(SysEndpoint::Auths),
        "sys/locked-users" => Route::Sys(SysEndpoint::LockedUsers),
        "sys/policies/acl" => Route::Sys(SysEndpoint::PoliciesAcl),
        "sys/policy" => Route::Sys(SysEndpoint::PoliciesLegacy),
        "sys/capabilities-self" => Route::Sys(SysEndpoint::CapabilitiesSelf),
        "sys/capabilities" => Route::Sys(SysEndpoint::Capabilities),
        "sys/capabilities-accessor" => Route::Sys(SysEndpoint::CapabilitiesAccessor),
        "sys/leases/lookup" => Route::Sys(SysEndpoint::LeaseLookup(None)),
        "sys/leases/renew" | "sys/renew" => Route::Sys(SysEndpoint::LeaseRenew(None)),
        "sys/leases/revoke" | "sys/revoke" => Route::Sys(SysEndpoint::LeaseRevoke(None)),
        "sys/leases/tidy" => Route::Sys(SysEndpoint::LeaseTidy),
        "sys/leases/count" => Route::Sys(SysEndpoint::LeaseCount),
        "sys/leases" => Route::Sys(SysEndpoint::Leases),
        "sys/policies/password" => Route::Sys(SysEndpoint::PasswordPolicies),
        "sys/wrapping/wrap" => Route::Sys(SysEndpoint::WrappingWrap),
        "sys/wrapping/unwrap" => Route::Sys(SysEndpoint::WrappingUnwrap),
        "sys/wrapping/rewrap" => Route::Sys(SysEndpoint::WrappingRewrap),
        "sys/wrapping/lookup" => Route::Sys(SysEndpoint::WrappingLookup),
        "sys/tools/hash" => Route::Sys(SysEndpoint::ToolsHash(None)),
        "sys/tools/random" => Route::Sys(SysEndpoint::ToolsRandom(String::new())),
        "sys/audit" => Route::Sys(SysEndpoint::Audits),
        "auth/token/create" => Route::Token(TokenEndpoint::Create),
        "auth/token/create-orphan" => Route::Token(TokenEndpoint::CreateOrphan),
        "auth/token/lookup" => Route::Token(TokenEndpoint::Lookup),
        "auth/token/lookup-self" => Route::Token(TokenEndpoint::LookupSelf),
        "auth/token/lookup-accessor" => Route::Token(TokenEndpoint::LookupAccessor),
        "auth/token/renew" => Route::Token(TokenEndpoint::Renew),
        "auth/token/renew-self" => Route::Token(TokenEndpoint::RenewSelf),
        "auth/token/renew-accessor" => Route::Token(TokenEndpoint::RenewAccessor),
        "auth/token/revoke" => Route::Token(TokenEndpoint::Revoke),
        "auth/token/revoke-self" => Route::Token(TokenEndpoint::RevokeSelf),
        "auth/token/revoke-orphan" => Route::Token(TokenEndpoint::RevokeOrphan),
        "auth/token/revoke-accessor" => Route::Token(TokenEndpoint::RevokeAccessor),
        "auth/token/accessors" => Route::Token(TokenEndpoint::Accessors),
        p => {
            if let Some(rest) = p.strip_prefix("sys/internal/ui/mounts/") {
                Route::Sys(SysEndpoint::UiMounts(Some(rest.to_string())))
            } else if let Some(role) = p.strip_prefix("auth/token/create/") {
                Route::Token(TokenEndpoint::CreateWithRole(role.to_string()))
            } else if p == "auth/token/roles" {
                Route::Token(TokenEndpoint::Roles)
            } else if let Some(role) = p.strip_prefix("auth/token/roles/") {
                Route::Token(TokenEndpoint::Role(role.to_string()))
            } else if let Some(rest) = p.strip_prefix("sys/auth/") {
                match rest.strip_suffix("/tune") {
                    Some(mount) => Route::Sys(SysEndpoint::AuthTune(mount.to_string())),
                    None => Route::Sys(SysEndpoint::Auth(rest.to_string())),
                }
            } else if let Some((accessor, alias)) = p
                .strip_prefix("sys/locked-users/")
                .and_then(|rest| rest.split_once("/unlock/"))
            {
                Route::Sys(SysEndpoint::UnlockUser {
                    accessor: accessor.to_string(),
                    alias: alias.to_string(),
                })
            } else if let Some(route) = lease_route(p) {
                route
            } else if let Some(name) = p.strip_prefix("sys/policies/password/") {
                match name.strip_suffix("/generate") {
                    Some(name) => Route::Sys(SysEndpoint::PasswordPolicyGenerate(name.to_string())),
                    None => Route::Sys(SysEndpoint::PasswordPolicy(name.to_string())),
                }
            } else if let Some(algorithm) = p.strip_prefix("sys/tools/hash/") {
                Route::Sys(SysEndpoint::ToolsHash(Some(algorithm.to_string())))
            } else if let Some(rest) = p.strip_prefix("sys/tools/random/") {
                Route::Sys(SysEndpoint::ToolsRandom(rest.to_string()))
            } else if let Some(name) = p.strip_prefix("sys/policies/acl/") {
                Route::Sys(SysEndpoint::PolicyAcl(name.to_string()))
            } else if let Some(name) = p.strip_prefix("sys/policy/") {
                Route::Sys(SysEndpoint::PolicyLegacy(name.to_string()))
            } else if let Some(rest) = p.strip_prefix("sys/audit/") {
                Route::Sys(SysEndpoint::Audit(rest.to_string()))
            } else if let Some(rest) = p.strip_prefix("sys/audit-hash/") {
                Route::Sys(SysEndpoint::AuditHash(rest.to_string()))
            } else if let Some(rest) = p.strip_prefix("sys/audit-chain/") {
                Route::Sys(SysEndpoint::AuditChain(rest.to_string()))
            } else if let Some(rest) = p.strip_prefix("sys/mounts/") {
                match rest.strip_suffix("/tune") {
                    Some(mount) => Route::Sys(SysEndpoint::MountTune(mount.to_string())),
                    None => Route::Sys(SysEndpoint::Mount(rest.to_string())),
                }
            } else if p == "sys" || p.starts_with("sys/") {
                Route::UnknownSys
            } else {
                return None;
            }
        }
    };
    Some(route)
}

/// The `sys/leases/*` routes with a lease id or prefix in the path (and Vault's legacy
/// `sys/renew|revoke|revoke-prefix|revoke-force/*` aliases, which OpenBao dropped).
fn lease_route(path: &str) -> Option<Route> {
    let rest = path
        .strip_prefix("sys/leases/")
        .or_else(|| path.strip_prefix("sys/"))?;
    let (action, arg) = rest.split_once('/')?;
    let arg = arg.to_string();
    let endpoint = match action {
        "lookup" if path.starts_with("sys/leases/") => SysEndpoint::LeaseLookup(Some(arg)),
        "renew" => SysEndpoint::LeaseRenew(Some(arg)),
        "revoke" => SysEndpoint::LeaseRevoke(Some(arg)),
        "revoke-prefix" => SysEndpoint::LeaseRevokePrefix(arg),
        "revoke-force" => SysEndpoint::LeaseRevokeForce(arg),
        _ => return None,
    };
    Some(Route::Sys(endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            resolve_fixed("sys/rotate/keyring").map(|r| format!("{r:?}")),
            Some(format!("{:?}", Route::Sys(SysEndpoint::RotateKeyring)))
        );
        assert!(
            matches!(resolve_fixed("sys/mounts/kv2"), Some(Route::Sys(SysEndpoint::Mount(p))) if p == "kv2")
        );
        assert!(
            matches!(resolve_fixed("sys/mounts/a/b/tune"), Some(Route::Sys(SysEndpoint::MountTune(p))) if p == "a/b")
        );
        assert!(
            matches!(resolve_fixed("sys/internal/ui/mounts/secret/x"), Some(Route::Sys(SysEndpoint::UiMounts(Some(p)))) if p == "secret/x")
        );
        assert!(matches!(resolve_fixed("sys/nope"), Some(Route::UnknownSys)));
        assert!(resolve_fixed("secret/data/x").is_none());
        assert!(resolve_fixed("system/x").is_none());
        assert!(
            matches!(resolve_fixed("sys/leases/lookup/database/creds/"), Some(Route::Sys(SysEndpoint::LeaseLookup(Some(p)))) if p == "database/creds")
        );
        assert!(
            matches!(resolve_fixed("sys/leases/revoke-prefix/database/creds/ro"), Some(Route::Sys(SysEndpoint::LeaseRevokePrefix(p))) if p == "database/creds/ro")
        );
        assert!(
            matches!(resolve_fixed("sys/revoke/database/creds/ro/abc"), Some(Route::Sys(SysEndpoint::LeaseRevoke(Some(p)))) if p == "database/creds/ro/abc")
        );
        assert!(matches!(
            resolve_fixed("sys/renew"),
            Some(Route::Sys(SysEndpoint::LeaseRenew(None)))
        ));
        assert!(matches!(
            resolve_fixed("sys/lookup/x"),
            Some(Route::UnknownSys)
        ));
        assert!(
            matches!(resolve_fixed("sys/policies/password/p1/generate"), Some(Route::Sys(SysEndpoint::PasswordPolicyGenerate(p))) if p == "p1")
        );
        assert!(Route::Sys(SysEndpoint::LeaseRevokePrefix("x".into())).needs_sudo());
        assert!(Route::Sys(SysEndpoint::Seal).needs_sudo());
        assert!(!Route::Sys(SysEndpoint::KeyStatus).needs_sudo());
        assert!(
            matches!(resolve_fixed("sys/audit/file"), Some(Route::Sys(SysEndpoint::Audit(p))) if p == "file")
        );
        assert!(
            matches!(resolve_fixed("sys/audit-hash/a/b"), Some(Route::Sys(SysEndpoint::AuditHash(p))) if p == "a/b")
        );
        assert!(matches!(
            resolve_fixed("sys/audit"),
            Some(Route::Sys(SysEndpoint::Audits))
        ));
        assert!(Route::Sys(SysEndpoint::AuditChain("f".into())).needs_sudo());
        assert!(Route::Sys(SysEndpoint::Audit("f".into())).needs_sudo());
        assert!(!Route::Sys(SysEndpoint::AuditHash("f".into())).needs_sudo());
    }
}
