//! `sys/policies/acl[/:name]` and the legacy `sys/policy[/:name]`: ACL policy CRUD.
//!
//! Both families share the [`PolicyStore`](crate::policy::store::PolicyStore); they
//! differ only in shapes (wire reference §2.10): the modern one answers in `data`, the
//! legacy one also copies `data` to the top level and names the text `rules`.

use serde_json::{json, Map, Value};

use crate::core::fields::{opt_bool, opt_string};
use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::{CoreError, Unsealed};
use crate::policy::store::{Cas, PolicyWrite};
use crate::policy::PolicyName;

/// Which API family a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `sys/policies/acl`.
    Acl,
    /// `sys/policy`.
    Legacy,
}

/// `LIST sys/policies/acl`, `GET sys/policy`.
pub(super) fn list(
    unsealed: &Unsealed,
    family: Family,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let names = unsealed.policies.names();
    match (family, req.operation) {
        (Family::Acl, Operation::List) => Ok(LogicalResponse::with_data(json!({ "keys": names }))),
        (Family::Legacy, Operation::Read | Operation::List) => {
            let mut resp = LogicalResponse::with_data(json!({ "keys": names, "policies": names }));
            resp.duplicate_top_level = true;
            Ok(resp)
        }
        _ => Err(CoreError::MethodNotAllowed),
    }
}

const WRITE_FIELDS: &[&str] = &["policy", "rules", "cas", "cas_required"];

/// Read, write or delete one policy.
pub(super) async fn one(
    unsealed: &Unsealed,
    family: Family,
    raw_name: &str,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let name = PolicyName::parse(raw_name).map_err(|e| CoreError::Invalid(e.to_string()))?;
    let store = &unsealed.policies;
    match req.operation {
        Operation::Read => {
            let (text, version, cas_required, modified) = if name.is_root() {
                (String::new(), 0, false, None)
            } else {
                let loaded = store.get(&name).ok_or(CoreError::NotFound)?;
                let r = loaded.record;
                (r.policy, r.version, r.cas_required, Some(r.modified))
            };
            let text_key = match family {
                Family::Acl => "policy",
                Family::Legacy => "rules",
            };
            let mut data = Map::new();
            data.insert("name".into(), json!(name.as_str()));
            data.insert(text_key.into(), json!(text));
            data.insert("version".into(), json!(version));
            data.insert("cas_required".into(), json!(cas_required));
            if let Some(modified) = modified {
                data.insert("modified".into(), json!(modified));
            }
            data.insert("allow_slashes_in_identity_templates".into(), json!(false));
            data.insert("allow_wildcards_in_identity_templates".into(), json!(false));
            let mut resp = LogicalResponse::with_data(Value::Object(data));
            resp.duplicate_top_level = family == Family::Legacy;
            Ok(resp)
        }
        Operation::Update => {
            let text = match opt_string(&req.data, "policy")? {
                Some(t) => t,
                None => opt_string(&req.data, "rules")?.unwrap_or_default(),
            };
            if text.trim().is_empty() {
                return Err(CoreError::Invalid(
                    "'policy' parameter not supplied or empty".to_string(),
                ));
            }
            let write = PolicyWrite {
                text,
                cas: cas_field(&req.data)?,
                cas_required: opt_bool(&req.data, "cas_required")?,
            };
            store
                .write(&name, write)
                .await
                .map_err(|e| CoreError::Policy(Box::new(e)))?;
            let mut resp = LogicalResponse::empty();
            resp.warnings
                .extend(unknown_field_warning(&req.data, WRITE_FIELDS));
            Ok(resp)
        }
        Operation::Delete => {
            store
                .delete(&name)
                .await
                .map_err(|e| CoreError::Policy(Box::new(e)))?;
            Ok(LogicalResponse::empty())
        }
        _ => Err(CoreError::MethodNotAllowed),
    }
}

/// `cas`: an integer; -1 means "must not exist yet".
fn cas_field(data: &Map<String, Value>) -> Result<Option<Cas>, CoreError> {
    let bad = || CoreError::Invalid("invalid value for \"cas\": expected an integer".to_string());
    let n = match data.get("cas") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(bad)?,
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    match n {
        -1 => Ok(Some(Cas::MustNotExist)),
        n if n >= 0 => Ok(Some(Cas::Version(n.unsigned_abs()))),
        _ => Err(bad()),
    }
}
