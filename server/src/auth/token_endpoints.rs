//! `auth/token/*` endpoints behind the ACL: create, lookup, renew, revoke, accessors.
//!
//! Each handler parses its fields at the edge, builds the token store's input
//! ([`NewToken`], an id hash, an increment) and renders the store's answer in Vault's
//! shapes (wire reference §4). Revocation returns the id hashes it removed; the core
//! deletes their cubbyholes.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use strongroom_client::api::{AuthInfo, TokenLookup};
use time::OffsetDateTime;

use crate::core::duration::{human_duration, opt_duration};
use crate::core::fields::{opt_bool, opt_string, opt_string_list, opt_string_map, opt_u64};
use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::{Caller, CoreError, Unsealed};
use crate::encoding::rfc3339;
use crate::mount::SYSTEM_DEFAULT_TTL;
use crate::policy::store::PolicyStore;
use crate::policy::Authorized;
use crate::router::TokenEndpoint;

use super::token_roles::{self, TokenRole};
use super::{ClientToken, NewToken, StoredToken, TokenEntry, TokenStore};

/// The longest a token may live (the system max lease TTL).
const MAX_TTL: u64 = SYSTEM_DEFAULT_TTL;

/// What a token endpoint did: the response, and the tokens it revoked (their
/// cubbyholes are for the core to delete).
#[derive(Debug, Default)]
pub struct TokenOutcome {
    /// The response.
    pub response: LogicalResponse,
    /// Id hashes of revoked tokens.
    pub revoked: Vec<String>,
}

impl From<LogicalResponse> for TokenOutcome {
    fn from(response: LogicalResponse) -> Self {
        TokenOutcome {
            response,
            revoked: Vec::new(),
        }
    }
}

/// Dispatches a token endpoint.
pub async fn handle(
    unsealed: &Unsealed,
    endpoint: TokenEndpoint,
    req: &LogicalRequest,
    caller: &Caller<'_>,
    authorized: Authorized,
) -> Result<TokenOutcome, CoreError> {
    let store = &unsealed.tokens;
    let barrier = unsealed.mounts.barrier();
    let write = req.operation == Operation::Update;
    match endpoint {
        TokenEndpoint::LookupSelf if matches!(req.operation, Operation::Read) || write => {
            let data = lookup_data(&caller.entry, caller.token.expose(), now());
            Ok(with_warning(lookup_response(data)?, &req.data, &[]).into())
        }
        TokenEndpoint::Create if write => {
            create(
                store,
                &unsealed.policies,
                req,
                caller,
                authorized,
                false,
                None,
            )
            .await
        }
        TokenEndpoint::CreateOrphan if write => {
            create(
                store,
                &unsealed.policies,
                req,
                caller,
                authorized,
                true,
                None,
            )
            .await
        }
        TokenEndpoint::CreateWithRole(name) if write => {
            let role = token_roles::load(barrier, &name)
                .await?
                .ok_or_else(|| CoreError::Invalid(format!("unknown role {}", name.trim())))?;
            create(
                store,
                &unsealed.policies,
                req,
                caller,
                authorized,
                false,
                Some(role),
            )
            .await
        }
        TokenEndpoint::Roles => Ok(token_roles::list(barrier, req).await?.into()),
        TokenEndpoint::Role(name) => Ok(token_roles::one(barrier, &name, req).await?.into()),
        TokenEndpoint::Lookup if write || req.operation == Operation::Read => {
            let (token, stored) = named_or_caller(store, &req.data, caller)
                .await?
                .ok_or(CoreError::BadToken)?;
            let data = lookup_data(&stored.entry, token.expose(), now());
            Ok(with_warning(lookup_response(data)?, &req.data, &["token"]).into())
        }
        TokenEndpoint::LookupAccessor if write => {
            let stored = by_accessor(store, &req.data).await?;
            let data = lookup_data(&stored.entry, "", now());
            Ok(with_warning(lookup_response(data)?, &req.data, &["accessor"]).into())
        }
        TokenEndpoint::Renew if write => {
            let (token, stored) = named_or_caller(store, &req.data, caller)
                .await?
                .ok_or(CoreError::BadToken)?;
            renew(
                store,
                &stored,
                token.expose(),
                &req.data,
                &["token", "increment"],
            )
            .await
        }
        TokenEndpoint::RenewSelf if write => {
            let stored = StoredToken {
                id_hash: caller.id_hash.clone(),
                entry: caller.entry.clone(),
            };
            renew(
                store,
                &stored,
                caller.token.expose(),
                &req.data,
                &["increment"],
            )
            .await
        }
        TokenEndpoint::RenewAccessor if write => {
            let stored = by_accessor(store, &req.data).await?;
            renew(store, &stored, "", &req.data, &["accessor", "increment"]).await
        }
        TokenEndpoint::Revoke if write => {
            // An unknown (or malformed) token is already revoked: 204 either way.
            let revoked = match required_token(&req.data)? {
                Some(token) => store.revoke_tree(&store.id_hash(&token)).await?,
                None => Vec::new(),
            };
            Ok(revoked_outcome(revoked, &req.data, &["token"]))
        }
        TokenEndpoint::RevokeSelf if write => {
            let revoked = store.revoke_tree(&caller.id_hash).await?;
            Ok(revoked_outcome(revoked, &req.data, &[]))
        }
        TokenEndpoint::RevokeOrphan if write => {
            let revoked = match required_token(&req.data)? {
                Some(token) => store.revoke_orphan(&store.id_hash(&token)).await?,
                None => Vec::new(),
            };
            Ok(revoked_outcome(revoked, &req.data, &["token"]))
        }
        TokenEndpoint::RevokeAccessor if write => {
            let accessor = required(&req.data, "accessor")?;
            match store.resolve_accessor(&accessor).await? {
                Some(stored) => {
                    let revoked = store.revoke_tree(&stored.id_hash).await?;
                    Ok(revoked_outcome(revoked, &req.data, &["accessor"]))
                }
                None => {
                    let mut response = LogicalResponse::empty();
                    response
                        .warnings
                        .push("No token found with this accessor".to_string());
                    Ok(response.into())
                }
            }
        }
        TokenEndpoint::Accessors if req.operation == Operation::List => {
            let keys = store.accessors().await?;
            if keys.is_empty() {
                return Err(CoreError::NotFound);
            }
            Ok(LogicalResponse::with_data(serde_json::json!({ "keys": keys })).into())
        }
        _ => Err(CoreError::MethodNotAllowed),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn with_warning(
    mut resp: LogicalResponse,
    data: &Map<String, Value>,
    known: &[&str],
) -> LogicalResponse {
    resp.warnings.extend(unknown_field_warning(data, known));
    resp
}

fn lookup_response(data: TokenLookup) -> Result<LogicalResponse, CoreError> {
    Ok(LogicalResponse::with_data(
        serde_json::to_value(data).map_err(|e| CoreError::Invalid(e.to_string()))?,
    ))
}

fn revoked_outcome(
    revoked: Vec<String>,
    data: &Map<String, Value>,
    known: &[&str],
) -> TokenOutcome {
    TokenOutcome {
        response: with_warning(LogicalResponse::empty(), data, known),
        revoked,
    }
}

fn required(data: &Map<String, Value>, name: &str) -> Result<String, CoreError> {
    match opt_string(data, name)? {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(CoreError::Invalid(format!("missing {name}"))),
    }
}

/// The `token` field (required). `None` when it is malformed: no such token can exist.
fn required_token(data: &Map<String, Value>) -> Result<Option<ClientToken>, CoreError> {
    Ok(ClientToken::parse(&required(data, "token")?))
}

/// The live token named in `token`, or the caller's when the field is absent or empty;
/// `None` when the named token is unknown, expired or malformed.
async fn named_or_caller(
    store: &TokenStore,
    data: &Map<String, Value>,
    caller: &Caller<'_>,
) -> Result<Option<(ClientToken, StoredToken)>, CoreError> {
    match opt_string(data, "token")?.filter(|t| !t.trim().is_empty()) {
        None => {
            let stored = StoredToken {
                id_hash: caller.id_hash.clone(),
                entry: caller.entry.clone(),
            };
            Ok(Some((caller.token.clone(), stored)))
        }
        Some(raw) => {
            let Some(token) = ClientToken::parse(&raw) else {
                return Ok(None);
            };
            let stored = store.resolve_hash(&store.id_hash(&token)).await?;
            Ok(stored.map(|s| (token, s)))
        }
    }
}

async fn by_accessor(
    store: &TokenStore,
    data: &Map<String, Value>,
) -> Result<StoredToken, CoreError> {
    let accessor = required(data, "accessor")?;
    store
        .resolve_accessor(&accessor)
        .await?
        .ok_or_else(|| CoreError::Invalid("invalid accessor".to_string()))
}

fn nanos(n: i128) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(n).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The lookup shape (wire reference §4.3).
pub fn lookup_data(entry: &TokenEntry, id: &str, now: OffsetDateTime) -> TokenLookup {
    let issued = entry.issued_at();
    let last_renewal = entry.last_renewal_unix_nanos.map(nanos);
    TokenLookup {
        accessor: entry.accessor.clone(),
        creation_time: issued.unix_timestamp(),
        creation_ttl: entry.ttl,
        display_name: entry.display_name.clone(),
        entity_id: String::new(),
        expire_time: entry.expires_at().map(rfc3339),
        explicit_max_ttl: entry.explicit_max_ttl,
        id: id.to_string(),
        issue_time: rfc3339(issued),
        meta: entry.meta.clone(),
        num_uses: entry.num_uses,
        orphan: entry.orphan,
        path: entry.path.clone(),
        policies: entry.policies.clone(),
        renewable: entry.renewable,
        ttl: entry.remaining_ttl(now),
        token_type: "service".to_string(),
        period: (entry.period > 0).then_some(entry.period),
        last_renewal_time: last_renewal.map(OffsetDateTime::unix_timestamp),
        last_renewal: last_renewal.map(rfc3339),
    }
}

/// The `auth` block of a token response.
pub(crate) fn auth_info(token: &str, entry: &TokenEntry, lease_duration: u64) -> AuthInfo {
    let token_policies = entry.policies.clone();
    AuthInfo {
        client_token: token.to_string(),
        accessor: entry.accessor.clone(),
        policies: token_policies.clone(),
        token_policies,
        metadata: entry.meta.clone(),
        lease_duration,
        renewable: entry.renewable,
        entity_id: String::new(),
        token_type: "service".to_string(),
        orphan: entry.orphan,
        mfa_requirement: None,
        num_uses: entry.num_uses,
    }
}

const CREATE_FIELDS: &[&str] = &[
    "policies",
    "meta",
    "no_parent",
    "no_default_policy",
    "renewable",
    "ttl",
    "lease",
    "explicit_max_ttl",
    "period",
    "display_name",
    "num_uses",
    "type",
    "id",
    "entity_alias",
];

/// Vault's display-name rule: `token-<name>` with the name's runs of characters other
/// than letters, digits, `-`, `_` and `.` replaced by `-`; `token` when empty.
fn display_name(raw: Option<String>) -> String {
    let name: String = raw
        .unwrap_or_default()
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "token".to_string()
    } else {
        format!("token-{name}")
    }
}

fn duration_field(data: &Map<String, Value>, name: &str) -> Result<Option<u64>, CoreError> {
    opt_duration(data, name).map_err(|e| CoreError::Invalid(format!("invalid {name}: {e}")))
}

async fn create(
    store: &TokenStore,
    known: &PolicyStore,
    req: &LogicalRequest,
    caller: &Caller<'_>,
    authorized: Authorized,
    orphan_endpoint: bool,
    role: Option<TokenRole>,
) -> Result<TokenOutcome, CoreError> {
    let data = &req.data;
    let parent = &caller.entry;
    let privileged = parent.is_root() || authorized.has_sudo();
    let mut warnings: Vec<String> = unknown_field_warning(data, CREATE_FIELDS)
        .into_iter()
        .collect();

    match opt_string(data, "type")?.as_deref().map(str::trim) {
        None | Some("" | "service" | "default") => {}
        Some("batch") => {
            return Err(CoreError::Invalid(
                "batch tokens are not supported by this server".to_string(),
            ))
        }
        Some(other) => {
            return Err(CoreError::Invalid(format!(
                "unsupported token type: {other}"
            )))
        }
    }
    if opt_string(data, "id")?.is_some_and(|id| !id.trim().is_empty()) {
        return Err(CoreError::Invalid(
            "custom token ids are not supported by this server".to_string(),
        ));
    }
    if opt_string(data, "entity_alias")?.is_some_and(|a| !a.trim().is_empty()) {
        return Err(CoreError::Invalid(
            "entity aliases are not supported by this server".to_string(),
        ));
    }
    let no_parent = opt_bool(data, "no_parent")?.unwrap_or(false);
    if no_parent && !orphan_endpoint && !privileged {
        return Err(CoreError::Invalid(
            "root or sudo privileges required to create orphan token".to_string(),
        ));
    }
    let asked_period = duration_field(data, "period")?.unwrap_or(0);
    if asked_period > 0 && !privileged {
        return Err(CoreError::Invalid(
            "root or sudo privileges required to create periodic token".to_string(),
        ));
    }
    // A role's period and orphan setting need no privilege: the role grants them.
    let period = match role.as_ref().map(|r| r.token_period) {
        Some(p) if p > 0 => p,
        _ => asked_period,
    };

    // Policies: the requested ones (default: the role's allowed ones, else the
    // parent's), sorted and deduplicated.
    let requested = opt_string_list(data, "policies")?;
    let mut policies: BTreeSet<String> = match (&role, &requested) {
        (Some(role), asked) => role.check_policies(asked.as_deref())?.into_iter().collect(),
        (None, Some(list)) => list.iter().map(|p| p.to_lowercase()).collect(),
        (None, None) => parent.policies.iter().cloned().collect(),
    };
    let role_restricts = role
        .as_ref()
        .is_some_and(|r| !r.allowed_policies.is_empty() || !r.allowed_policies_glob.is_empty());
    if role
        .as_ref()
        .is_some_and(|r| r.check_policies(None).is_ok_and(|p| p.is_empty()))
        && requested.is_none()
    {
        // A role without allowed policies: the parent's, as without a role.
        policies = parent.policies.iter().cloned().collect();
    }
    let no_default = opt_bool(data, "no_default_policy")?.unwrap_or(false)
        || role.as_ref().is_some_and(|r| r.token_no_default_policy);
    if !parent.is_root() && !role_restricts {
        let allowed: BTreeSet<&str> = parent.policies.iter().map(String::as_str).collect();
        let outside = policies
            .iter()
            .any(|p| p != "default" && !allowed.contains(p.as_str()));
        if outside && !authorized.has_sudo() {
            return Err(CoreError::Invalid(
                "child policies must be subset of parent".to_string(),
            ));
        }
    }
    if policies.contains("root") {
        // Only root makes root: neither sudo nor a role can hand out the root policy.
        if !parent.is_root() {
            return Err(CoreError::Invalid(
                "root tokens may only be created by a root token".to_string(),
            ));
        }
        // A root token carries only the root policy.
        policies.retain(|p| p == "root");
    } else if no_default {
        policies.remove("default");
    } else {
        policies.insert("default".to_string());
    }
    if policies.is_empty() {
        return Err(CoreError::Invalid(
            "token must have at least one policy".to_string(),
        ));
    }
    let is_root_token = policies.contains("root");

    // TTLs (wire reference §4.2, §10.2).
    let explicit_max_ttl = match (
        duration_field(data, "explicit_max_ttl")?.unwrap_or(0),
        role.as_ref().map_or(0, |r| r.token_explicit_max_ttl),
    ) {
        (0, r) => r,
        (b, 0) => b,
        (b, r) => b.min(r),
    };
    let asked = match duration_field(data, "ttl")? {
        Some(t) => Some(t),
        None => duration_field(data, "lease")?,
    };
    let mut ttl = if period > 0 {
        period
    } else {
        match asked {
            Some(t) if t > 0 => t,
            _ if is_root_token && parent.is_root() => 0,
            _ => SYSTEM_DEFAULT_TTL,
        }
    };
    if ttl > MAX_TTL && period == 0 {
        if let Some(raw) = opt_string(data, "ttl")? {
            warnings.push(format!(
                "TTL of {raw:?} exceeded the effective max_ttl of \"768h\"; TTL value is capped accordingly"
            ));
        }
        ttl = MAX_TTL;
    }
    if explicit_max_ttl > 0 && (ttl == 0 || ttl > explicit_max_ttl) {
        ttl = explicit_max_ttl;
    }
    let num_uses = match opt_u64(data, "num_uses")?.unwrap_or(0) {
        0 => role.as_ref().map_or(0, |r| r.token_num_uses),
        n => n,
    };
    let renewable = opt_bool(data, "renewable")?.unwrap_or(true)
        && role.as_ref().is_none_or(|r| r.renewable)
        && ttl > 0;

    let orphan = orphan_endpoint || no_parent || role.as_ref().is_some_and(|r| r.orphan);
    let path = match (&role, orphan_endpoint) {
        (Some(role), _) => role.token_path(),
        (None, true) => "auth/token/create-orphan".to_string(),
        (None, false) => "auth/token/create".to_string(),
    };
    let bound_cidrs = role
        .as_ref()
        .map(|r| r.token_bound_cidrs.clone())
        .unwrap_or_default();
    let spec = NewToken {
        policies: policies.into_iter().collect(),
        path,
        display_name: display_name(opt_string(data, "display_name")?),
        meta: opt_string_map(data, "meta")?.filter(|m| !m.is_empty()),
        ttl,
        explicit_max_ttl,
        period,
        num_uses,
        renewable,
        parent: (!orphan).then(|| caller.id_hash.clone()),
        // Renewals stop at the system max TTL from issue; periodic and never-expiring
        // (root) tokens have no such cap.
        max_ttl: if period > 0 || ttl == 0 { 0 } else { MAX_TTL },
        bound_cidrs,
    };
    warnings.extend(
        spec.policies
            .iter()
            .filter(|p| !known.exists(p))
            .map(|p| format!("Policy {p:?} does not exist")),
    );
    let (token, entry) = store.create(spec).await?;
    let response = LogicalResponse {
        auth: Some(auth_info(token.expose(), &entry, entry.ttl)),
        warnings,
        ..Default::default()
    };
    Ok(response.into())
}

async fn renew(
    store: &TokenStore,
    stored: &StoredToken,
    token: &str,
    data: &Map<String, Value>,
    known: &[&str],
) -> Result<TokenOutcome, CoreError> {
    if !stored.entry.renewable {
        return Err(CoreError::Invalid("lease is not renewable".to_string()));
    }
    let increment = match duration_field(data, "increment")? {
        Some(i) if i > 0 => i,
        _ if stored.entry.ttl > 0 => stored.entry.ttl,
        _ => SYSTEM_DEFAULT_TTL,
    }
    .min(MAX_TTL);
    let (entry, renewal) = store
        .renew(&stored.id_hash, increment)
        .await?
        .ok_or(CoreError::BadToken)?;
    let ttl = renewal.granted;
    let mut warnings: Vec<String> = unknown_field_warning(data, known).into_iter().collect();
    if renewal.capped {
        warnings.push(format!(
            "TTL of {:?} exceeded the effective max_ttl of {:?}; TTL value is capped accordingly",
            human_duration(increment),
            human_duration(ttl)
        ));
    }
    let response = LogicalResponse {
        auth: Some(auth_info(token, &entry, ttl)),
        warnings,
        ..Default::default()
    };
    Ok(response.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names() {
        assert_eq!(display_name(None), "token");
        assert_eq!(display_name(Some("  ".into())), "token");
        assert_eq!(display_name(Some("app test/1".into())), "token-app-test-1");
        assert_eq!(display_name(Some("ci.job_7".into())), "token-ci.job_7");
    }
}
