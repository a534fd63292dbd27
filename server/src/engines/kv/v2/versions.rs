//! `delete/<key>`, `undelete/<key>`, `destroy/<key>`: act on listed versions.

use serde_json::Value;

use super::store;
use crate::barrier::BarrierOp;
use crate::core::request::Operation;
use crate::engines::{EngineError, EngineRequest, EngineResponse};

/// What to do with the listed versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Soft delete (reads 404 with metadata).
    Delete,
    /// Clear a soft delete.
    Undelete,
    /// Erase the data for good.
    Destroy,
}

/// `versions`: numbers or numeric strings (the CLI sends `["1"]`).
fn versions(data: &serde_json::Map<String, Value>) -> Result<Vec<u64>, EngineError> {
    let bad = || {
        EngineError::Invalid(
            "invalid value for \"versions\": expected a list of version numbers".into(),
        )
    };
    let list: Vec<u64> = match data.get("versions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Number(n) => n.as_u64().ok_or_else(bad),
                Value::String(s) => s.trim().parse().map_err(|_| bad()),
                _ => Err(bad()),
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(s)) => s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.trim().parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()?,
        Some(Value::Number(n)) => vec![n.as_u64().ok_or_else(bad)?],
        Some(_) => return Err(bad()),
    };
    if list.is_empty() {
        return Err(EngineError::Invalid("No version number provided".into()));
    }
    Ok(list)
}

pub(super) async fn handle(
    req: &EngineRequest<'_>,
    action: Action,
    key: &str,
) -> Result<EngineResponse, EngineError> {
    if req.operation != Operation::Update {
        return Err(EngineError::UnsupportedOperation);
    }
    let wanted = versions(req.data)?;
    let view = &req.ctx.view;
    let _guard = store::lock_key(view, key).await;
    let Some(mut meta) = store::load_meta(view, key).await? else {
        return Ok(EngineResponse::empty());
    };
    let config = store::load_config(view).await?;
    let dva = meta.effective_dva(&config);
    let now = store::now_nanos();
    let mut ops = Vec::new();
    for n in wanted {
        let Some(v) = meta.versions.get_mut(&n) else {
            continue; // unknown versions are ignored, as Vault does
        };
        match action {
            Action::Delete if !v.destroyed && !v.is_deleted(now) => v.deletion = Some(now),
            Action::Undelete if !v.destroyed => v.deletion = store::scheduled_deletion(now, dva),
            Action::Destroy if !v.destroyed => {
                v.destroyed = true;
                ops.push(BarrierOp::delete(store::version_key(key, n)));
            }
            _ => {}
        }
    }
    meta.updated = now;
    ops.push(store::put_meta(key, &meta)?);
    view.write_batch(ops).await?;
    Ok(EngineResponse::empty())
}
