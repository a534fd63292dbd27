//! `sys/capabilities-self`, `sys/capabilities`, `sys/capabilities-accessor`: what a
//! token may do on given paths (wire reference §2.11).
//!
//! The answer comes from the same compiled ACL the request pipeline uses, so it can
//! never disagree with what a request would meet.

use serde_json::{Map, Value};

use crate::core::fields::{opt_string, opt_string_list};
use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::{Caller, CoreError, Unsealed};
use crate::policy::Acl;

/// Whose capabilities are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The caller (`capabilities-self`).
    Caller,
    /// The token in the `token` field (`capabilities`).
    Token,
    /// The token with the accessor in `accessor` (`capabilities-accessor`).
    Accessor,
}

/// Answers one capabilities request.
pub(super) async fn handle(
    unsealed: &Unsealed,
    subject: Subject,
    req: &LogicalRequest,
    caller: &Caller<'_>,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    let mut paths = opt_string_list(&req.data, "paths")?.unwrap_or_default();
    if paths.is_empty() {
        paths = opt_string_list(&req.data, "path")?.unwrap_or_default();
    }
    if paths.is_empty() {
        return Err(CoreError::Invalid("missing paths".to_string()));
    }
    let (acl, known): (Acl, &[&str]) = match subject {
        Subject::Caller => (caller.acl.clone(), &["paths", "path"]),
        Subject::Token => {
            let raw = opt_string(&req.data, "token")?.unwrap_or_default();
            let token = crate::auth::ClientToken::parse(&raw)
                .ok_or_else(|| CoreError::Invalid("missing token".to_string()))?;
            let stored = unsealed
                .tokens
                .resolve_hash(&unsealed.tokens.id_hash(&token))
                .await?
                .ok_or(CoreError::Invalid("invalid token".to_string()))?;
            (
                unsealed.policies.acl_for(&stored.entry.policies),
                &["paths", "path", "token"],
            )
        }
        Subject::Accessor => {
            let accessor = opt_string(&req.data, "accessor")?.unwrap_or_default();
            if accessor.trim().is_empty() {
                return Err(CoreError::Invalid("missing accessor".to_string()));
            }
            let stored = unsealed
                .tokens
                .resolve_accessor(accessor.trim())
                .await?
                .ok_or(CoreError::Invalid("invalid accessor".to_string()))?;
            (
                unsealed.policies.acl_for(&stored.entry.policies),
                &["paths", "path", "accessor"],
            )
        }
    };
    let mut data = Map::new();
    for path in &paths {
        let path = path.trim_start_matches('/');
        let names: Vec<Value> = acl
            .capability_names(path)
            .into_iter()
            .map(Value::from)
            .collect();
        data.insert(path.to_string(), Value::Array(names));
    }
    if paths.len() == 1 {
        if let Some(only) = data.values().next().cloned() {
            data.insert("capabilities".to_string(), only);
        }
    }
    let mut resp = LogicalResponse::with_data(Value::Object(data));
    resp.duplicate_top_level = true;
    resp.warnings
        .extend(unknown_field_warning(&req.data, known));
    Ok(resp)
}
