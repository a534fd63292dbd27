//! `subkeys/<key>`: the structure of a version with every leaf replaced by `null`.

use serde_json::{json, Map, Value};

use super::data::version_wire;
use super::{field_err, store, version_param};
use crate::core::fields::opt_u64;
use crate::core::request::Operation;
use crate::engines::{EngineError, EngineRequest, EngineResponse};

pub(super) async fn handle(
    req: &EngineRequest<'_>,
    key: &str,
) -> Result<EngineResponse, EngineError> {
    if req.operation != Operation::Read {
        return Err(EngineError::UnsupportedOperation);
    }
    let depth = opt_u64(req.data, "depth").map_err(field_err)?.unwrap_or(0);
    let requested = version_param(req.data)?;
    let view = &req.ctx.view;
    let meta = store::load_meta(view, key)
        .await?
        .ok_or(EngineError::NotFound)?;
    let n = if requested == 0 {
        meta.current_version
    } else {
        requested
    };
    let v = meta.versions.get(&n).ok_or(EngineError::NotFound)?;
    if v.destroyed || v.is_deleted(store::now_nanos()) {
        return Err(EngineError::NotFound);
    }
    let data = store::load_version(view, key, n)
        .await?
        .ok_or(EngineError::NotFound)?;
    Ok(EngineResponse::data(json!({
        "subkeys": skeleton(&data, depth, 1),
        "metadata": version_wire(&meta, n),
    })))
}

/// Objects keep their keys down to `depth` levels (0 = unlimited); everything else is null.
fn skeleton(value: &Value, depth: u64, level: u64) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let inner = if v.is_object() && (depth == 0 || level < depth) {
                        skeleton(v, depth, level + 1)
                    } else {
                        Value::Null
                    };
                    (k.clone(), inner)
                })
                .collect::<Map<String, Value>>(),
        ),
        _ => Value::Null,
    }
}
