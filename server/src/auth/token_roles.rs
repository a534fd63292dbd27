//! Token roles (`auth/token/roles/:name`, wire reference §4.6): named presets for
//! `auth/token/create/:role` — which policies a token may carry, whether it is an orphan,
//! its period, explicit max TTL, uses, CIDR binding and path suffix.
//!
//! Roles are barrier entries at `sys/token/role/<name>`. The policy rule a role imposes
//! is [`TokenRole::check_policies`].

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::barrier::Barrier;
use crate::core::fields::{opt_bool, opt_string, opt_string_list, opt_u64};
use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::CoreError;
use crate::credential::token_fields::{self, opt_cidrs, opt_policy_list, Cidr};
use crate::encoding::star_glob;

const PREFIX: &str = "sys/token/role/";

/// One token role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TokenRole {
    /// Name (lower-cased).
    pub name: String,
    /// Policies a token may carry (empty: any subset of the parent's).
    pub allowed_policies: Vec<String>,
    /// Policies a token may never carry.
    pub disallowed_policies: Vec<String>,
    /// Glob patterns of allowed policies.
    pub allowed_policies_glob: Vec<String>,
    /// Glob patterns of disallowed policies.
    pub disallowed_policies_glob: Vec<String>,
    /// Tokens are orphans.
    pub orphan: bool,
    /// Tokens are renewable.
    pub renewable: bool,
    /// Appended to the token path: `auth/token/create/<role>/<suffix>`.
    pub path_suffix: String,
    /// Period, seconds.
    pub token_period: u64,
    /// Explicit max TTL, seconds.
    pub token_explicit_max_ttl: u64,
    /// `default` is not added.
    pub token_no_default_policy: bool,
    /// Uses (0 = unlimited).
    pub token_num_uses: u64,
    /// CIDR binding.
    pub token_bound_cidrs: Vec<Cidr>,
}

const FIELDS: &[&str] = &[
    "allowed_policies",
    "disallowed_policies",
    "allowed_policies_glob",
    "disallowed_policies_glob",
    "orphan",
    "renewable",
    "path_suffix",
    "allowed_entity_aliases",
    "token_period",
    "period",
    "token_explicit_max_ttl",
    "explicit_max_ttl",
    "token_type",
    "token_bound_cidrs",
    "bound_cidrs",
    "token_no_default_policy",
    "token_num_uses",
];

fn invalid(msg: impl Into<String>) -> CoreError {
    CoreError::Invalid(msg.into())
}

/// A role name: trimmed, lower-cased, `[A-Za-z0-9_.-]`, at most 256 characters.
fn role_name(raw: &str) -> Result<String, CoreError> {
    let name = raw.trim().to_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(name)
    } else {
        Err(invalid(format!("invalid role name {raw:?}")))
    }
}

/// Vault's `path_suffix` rule: `\w[\w-.]+\w` (at least three characters).
fn valid_suffix(s: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = s.chars().collect();
    chars.len() >= 3
        && word(chars[0])
        && word(chars[chars.len() - 1])
        && chars.iter().all(|c| word(*c) || matches!(c, '-' | '.'))
}

impl TokenRole {
    fn updated(&self, data: &Map<String, Value>) -> Result<TokenRole, CoreError> {
        let mut r = self.clone();
        if let Some(v) = opt_policy_list(data, "allowed_policies")? {
            r.allowed_policies = v;
        }
        if let Some(v) = opt_policy_list(data, "disallowed_policies")? {
            r.disallowed_policies = v;
        }
        if let Some(v) = opt_policy_list(data, "allowed_policies_glob")? {
            r.allowed_policies_glob = v;
        }
        if let Some(v) = opt_policy_list(data, "disallowed_policies_glob")? {
            r.disallowed_policies_glob = v;
        }
        if let Some(v) = opt_bool(data, "orphan")? {
            r.orphan = v;
        }
        if let Some(v) = opt_bool(data, "renewable")? {
            r.renewable = v;
        }
        if let Some(v) = opt_string(data, "path_suffix")? {
            let v = v.trim().to_string();
            if !v.is_empty() && !valid_suffix(&v) {
                return Err(invalid("path_suffix must match the regex \\w[\\w-.]+\\w"));
            }
            r.path_suffix = v;
        }
        if let Some(v) = token_fields::duration(data, &["token_period", "period"])? {
            r.token_period = v;
        }
        if let Some(v) =
            token_fields::duration(data, &["token_explicit_max_ttl", "explicit_max_ttl"])?
        {
            r.token_explicit_max_ttl = v;
        }
        if let Some(v) = opt_bool(data, "token_no_default_policy")? {
            r.token_no_default_policy = v;
        }
        if let Some(v) = opt_u64(data, "token_num_uses")? {
            r.token_num_uses = v;
        }
        let cidrs =
            match opt_cidrs(data, "token_bound_cidrs").map_err(|e| invalid(e.to_string()))? {
                Some(c) => Some(c),
                None => opt_cidrs(data, "bound_cidrs").map_err(|e| invalid(e.to_string()))?,
            };
        if let Some(c) = cidrs {
            r.token_bound_cidrs = c;
        }
        match opt_string(data, "token_type")?.as_deref().map(str::trim) {
            None | Some("" | "default" | "service" | "default-service") => {}
            Some(other) => {
                return Err(invalid(format!(
                    "token type {other:?} is not supported by this server"
                )))
            }
        }
        if opt_string_list(data, "allowed_entity_aliases")?.is_some_and(|a| !a.is_empty()) {
            return Err(invalid("entity aliases are not supported by this server"));
        }
        Ok(r)
    }

    fn to_wire(&self) -> Value {
        let cidrs: Vec<String> = self.token_bound_cidrs.iter().map(Cidr::to_string).collect();
        json!({
            "allowed_entity_aliases": null,
            "allowed_policies": self.allowed_policies,
            "allowed_policies_glob": self.allowed_policies_glob,
            "disallowed_policies": self.disallowed_policies,
            "disallowed_policies_glob": self.disallowed_policies_glob,
            "explicit_max_ttl": self.token_explicit_max_ttl,
            "name": self.name,
            "orphan": self.orphan,
            "path_suffix": self.path_suffix,
            "period": self.token_period,
            "renewable": self.renewable,
            "token_bound_cidrs": cidrs,
            "token_explicit_max_ttl": self.token_explicit_max_ttl,
            "token_no_default_policy": self.token_no_default_policy,
            "token_num_uses": self.token_num_uses,
            "token_period": self.token_period,
            "token_type": "default-service",
        })
    }

    /// The policies a token created through this role may carry: `requested` (or, when
    /// none were asked for, the role's allowed policies) must avoid the disallowed ones
    /// and, when the role lists allowed policies or globs, stay within them (`default`
    /// is always allowed). Returns the final set without `default`.
    pub fn check_policies(&self, requested: Option<&[String]>) -> Result<Vec<String>, CoreError> {
        let asked: BTreeSet<String> = match requested {
            Some(list) if !list.is_empty() => list.iter().map(|p| p.to_lowercase()).collect(),
            _ => self.allowed_policies.iter().cloned().collect(),
        };
        let denied = |p: &String| {
            self.disallowed_policies.contains(p)
                || self
                    .disallowed_policies_glob
                    .iter()
                    .any(|g| star_glob(g, p))
        };
        if let Some(p) = asked.iter().find(|p| denied(p)) {
            return Err(invalid(format!(
                "token policy {p:?} is disallowed by this role"
            )));
        }
        let restricted =
            !self.allowed_policies.is_empty() || !self.allowed_policies_glob.is_empty();
        if restricted {
            let allowed = |p: &String| {
                p == "default"
                    || self.allowed_policies.contains(p)
                    || self.allowed_policies_glob.iter().any(|g| star_glob(g, p))
            };
            if !asked.iter().all(allowed) {
                let mut with_default: BTreeSet<&String> = asked.iter().collect();
                let default = "default".to_string();
                with_default.insert(&default);
                let mut allowed_list: BTreeSet<&String> = self.allowed_policies.iter().collect();
                allowed_list.insert(&default);
                let quote = |s: &BTreeSet<&String>| {
                    s.iter()
                        .map(|p| format!("{p:?}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                return Err(invalid(format!(
                    "token policies ([{}]) must be subset of the role's allowed policies ([{}]) or glob policies ([{}])",
                    quote(&with_default),
                    quote(&allowed_list),
                    self.allowed_policies_glob
                        .iter()
                        .map(|p| format!("{p:?}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )));
            }
        }
        Ok(asked.into_iter().filter(|p| p != "default").collect())
    }

    /// The token path: `auth/token/create/<role>[/<suffix>]`.
    pub fn token_path(&self) -> String {
        if self.path_suffix.is_empty() {
            format!("auth/token/create/{}", self.name)
        } else {
            format!("auth/token/create/{}/{}", self.name, self.path_suffix)
        }
    }
}

/// Loads a role (`None` when unknown).
pub async fn load(barrier: &Arc<Barrier>, raw_name: &str) -> Result<Option<TokenRole>, CoreError> {
    let name = role_name(raw_name)?;
    match barrier.get(&format!("{PREFIX}{name}")).await? {
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| invalid("stored token role is corrupt")),
        None => Ok(None),
    }
}

/// `LIST auth/token/roles`.
pub async fn list(
    barrier: &Arc<Barrier>,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::List {
        return Err(CoreError::MethodNotAllowed);
    }
    let mut keys: Vec<String> = barrier
        .list(PREFIX)
        .await?
        .into_iter()
        .filter(|k| !k.ends_with('/'))
        .collect();
    keys.sort();
    if keys.is_empty() {
        return Err(CoreError::NotFound);
    }
    Ok(LogicalResponse::with_data(json!({ "keys": keys })))
}

/// `auth/token/roles/:name`: read, write, delete.
pub async fn one(
    barrier: &Arc<Barrier>,
    raw_name: &str,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let name = role_name(raw_name)?;
    let key = format!("{PREFIX}{name}");
    match req.operation {
        Operation::Read => {
            let role = load(barrier, &name).await?.ok_or(CoreError::NotFound)?;
            Ok(LogicalResponse::with_data(role.to_wire()))
        }
        Operation::Update => {
            let current = load(barrier, &name).await?.unwrap_or(TokenRole {
                name: name.clone(),
                renewable: true,
                ..TokenRole::default()
            });
            let next = current.updated(&req.data)?;
            let body = serde_json::to_vec(&next).map_err(|e| invalid(e.to_string()))?;
            barrier.put(&key, &body).await?;
            let mut resp = LogicalResponse::empty();
            resp.warnings
                .extend(unknown_field_warning(&req.data, FIELDS));
            Ok(resp)
        }
        Operation::Delete => {
            barrier.delete(&key).await?;
            Ok(LogicalResponse::empty())
        }
        _ => Err(CoreError::MethodNotAllowed),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_suffixes() {
        assert!(star_glob("app-*", "app-web"));
        assert!(star_glob("*-ro", "db-ro"));
        assert!(star_glob("a*b*c", "axxbyyc"));
        assert!(!star_glob("a*b*c", "axxc"));
        assert!(star_glob("exact", "exact"));
        assert!(!star_glob("exact", "exactly"));
        assert!(valid_suffix("v1x"));
        assert!(valid_suffix("a.b-c"));
        assert!(!valid_suffix("ab"));
        assert!(!valid_suffix("-ab"));
        assert!(!valid_suffix("ab/"));
    }

    #[test]
    fn role_policy_rules() {
        let role = TokenRole {
            name: "web".into(),
            allowed_policies: vec!["app".into()],
            disallowed_policies: vec!["admin".into()],
            ..TokenRole::default()
        };
        assert_eq!(role.check_policies(None).unwrap(), vec!["app"]);
        assert_eq!(
            role.check_policies(Some(&["app".into(), "default".into()]))
                .unwrap(),
            vec!["app"]
        );
        let err = role.check_policies(Some(&["ops".into()])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "token policies ([\"default\" \"ops\"]) must be subset of the role's allowed policies ([\"app\" \"default\"]) or glob policies ([])"
        );
        assert!(role.check_policies(Some(&["admin".into()])).is_err());
        let open = TokenRole::default();
        assert_eq!(open.check_policies(Some(&["x".into()])).unwrap(), vec!["x"]);
    }
}
