//! Logins: an auth method's login path, served without a token.
//!
//! lockout check → the method verifies the credential and answers a [`LoginGrant`] →
//! the grant becomes an orphan token (TTLs capped by the method's and the mount's
//! limits, `default` policy added unless refused) → the auth block. A failed login is
//! counted against the principal (the lockout tracker); a locked principal gets 403 even
//! with the right credential, before the method is asked.

use std::collections::BTreeSet;

use super::request::{LogicalRequest, LogicalResponse, Operation};
use super::{Core, CoreError, Unsealed};
use crate::auth::token_endpoints::auth_info;
use crate::auth::NewToken;
use crate::credential::{self, CredentialRequest, CredentialResponse, LoginGrant};
use crate::engines::EngineError;
use crate::limits::retry_after_secs;
use crate::mount::{MountEntry, ResolvedMount};

impl Core {
    /// Serves a login path of the auth method mounted at `mount`.
    pub(super) async fn login(
        &self,
        unsealed: &Unsealed,
        mount: &ResolvedMount,
        req: &LogicalRequest,
    ) -> Result<LogicalResponse, CoreError> {
        if req.operation != Operation::Update {
            return Err(CoreError::MethodNotAllowed);
        }
        if let (Some(limiter), Some(ip)) = (&self.login_limiter, req.remote_addr) {
            limiter.check(ip).map_err(|wait| CoreError::RateLimited {
                retry_after: retry_after_secs(wait),
            })?;
        }
        let kind = mount.entry.mount_type;
        let accessor = mount.entry.accessor.as_str();
        let alias = credential::lockout_alias(kind, &mount.rel, &req.data);
        if let Some(alias) = &alias {
            if unsealed.lockout.is_locked(accessor, alias) {
                return Err(CoreError::PermissionDenied);
            }
        }
        let ctx = self.mount_context(unsealed, mount, None)?;
        let creq = CredentialRequest {
            operation: req.operation,
            path: &mount.rel,
            data: &req.data,
            ctx: &ctx,
            remote_addr: req.remote_addr,
            client_certs: req.client_certs.clone(),
        };
        let grant = match credential::handle(kind, &creq).await {
            Ok(CredentialResponse::Login(grant)) => grant,
            Ok(CredentialResponse::Engine(_)) => return Err(CoreError::UnsupportedPath),
            Err(e @ EngineError::LoginFailed(_)) => {
                if let Some(alias) = &alias {
                    unsealed.lockout.failed(accessor, alias);
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(alias) = &alias {
            unsealed.lockout.succeeded(accessor, alias);
        }
        if grant.token.policies.iter().any(|p| p == "root") {
            // Only a root token makes root tokens; a user or role naming `root` is refused.
            return Err(CoreError::Invalid(
                "auth methods cannot create root tokens".to_string(),
            ));
        }
        let spec = token_for(&mount.entry, &grant);
        let lease = spec.ttl;
        let (token, entry) = unsealed.tokens.create(spec).await?;
        // The method may have been disabled while this login ran; its revocation scan
        // could not see this token, so take it back here.
        let still_mounted = unsealed
            .mounts
            .resolve(&mount.entry.path)
            .is_some_and(|m| m.entry.uuid == mount.entry.uuid);
        if !still_mounted {
            let revoked = unsealed
                .tokens
                .revoke_tree(&unsealed.tokens.id_hash(&token))
                .await?;
            self.after_token_revocation(unsealed, &revoked).await?;
            return Err(CoreError::PermissionDenied);
        }
        tracing::info!(
            mount = %mount.entry.path,
            principal = %grant.principal,
            accessor = %entry.accessor,
            "login"
        );
        Ok(LogicalResponse {
            auth: Some(auth_info(token.expose(), &entry, lease)),
            mount_type: kind.as_str().to_string(),
            ..Default::default()
        })
    }
}

/// The token a grant earns on `mount` (wire reference §5, §10.2): TTL = the method's
/// `token_ttl` or the mount default, capped by `token_max_ttl` / the mount max and the
/// explicit max; a period replaces the TTL; always an orphan.
fn token_for(mount: &MountEntry, grant: &LoginGrant) -> NewToken {
    let fields = &grant.token;
    let mount_max = mount.effective_max_ttl();
    let max_ttl = match fields.max_ttl {
        0 => mount_max,
        m => m.min(mount_max),
    };
    let mut ttl = if fields.period > 0 {
        fields.period
    } else {
        match fields.ttl {
            0 => mount.effective_default_ttl(),
            t => t,
        }
        .min(max_ttl)
    };
    if fields.explicit_max_ttl > 0 {
        ttl = ttl.min(fields.explicit_max_ttl);
    }
    let mut policies: BTreeSet<String> = fields.policies.iter().cloned().collect();
    if !fields.no_default_policy {
        policies.insert("default".to_string());
    }
    let mount_name = mount.auth_path().trim_end_matches('/').replace('/', "-");
    NewToken {
        policies: policies.into_iter().collect(),
        path: format!("{}{}", mount.path, grant.login_path),
        display_name: format!("{mount_name}-{}", grant.principal),
        meta: (!grant.metadata.is_empty()).then(|| grant.metadata.clone()),
        ttl,
        explicit_max_ttl: fields.explicit_max_ttl,
        period: fields.period,
        num_uses: fields.num_uses,
        renewable: true,
        parent: None,
        // A periodic token renews forever by design; others stop at the max TTL.
        max_ttl: if fields.period > 0 { 0 } else { max_ttl },
        bound_cidrs: fields.bound_cidrs.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::credential::TokenFields;
    use crate::mount::{MountConfig, MountPath, MountType};

    fn grant(fields: TokenFields) -> LoginGrant {
        LoginGrant {
            principal: "alice".into(),
            login_path: "login/alice".into(),
            metadata: [("username".to_string(), "alice".to_string())].into(),
            token: fields,
        }
    }

    fn mount(max: u64) -> MountEntry {
        let mut e = MountEntry::new(
            &MountPath::auth("userpass").unwrap(),
            MountType::Userpass,
            String::new(),
            MountConfig::default(),
            None,
        );
        e.config.max_lease_ttl = max;
        e
    }

    #[test]
    fn ttl_arithmetic() {
        let m = mount(0);
        let t = token_for(&m, &grant(TokenFields::default()));
        assert_eq!(t.ttl, 768 * 3600);
        assert_eq!(t.path, "auth/userpass/login/alice");
        assert_eq!(t.display_name, "userpass-alice");
        assert_eq!(t.policies, vec!["default"]);
        assert!(t.parent.is_none());
        let t = token_for(
            &m,
            &grant(TokenFields {
                ttl: 3600,
                max_ttl: 7200,
                policies: vec!["app".into()],
                ..TokenFields::default()
            }),
        );
        assert_eq!((t.ttl, t.max_ttl), (3600, 7200));
        assert_eq!(t.policies, vec!["app", "default"]);
        let small = mount(600);
        let t = token_for(
            &small,
            &grant(TokenFields {
                ttl: 3600,
                no_default_policy: true,
                ..TokenFields::default()
            }),
        );
        assert_eq!((t.ttl, t.max_ttl), (600, 600));
        assert!(t.policies.is_empty());
        let t = token_for(
            &m,
            &grant(TokenFields {
                period: 60,
                ..TokenFields::default()
            }),
        );
        assert_eq!((t.ttl, t.period, t.max_ttl), (60, 60, 0));
    }
}
