//! `metadata/<key>`: read, configure (POST, PATCH merge), delete the key; LIST folders.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{field_err, store};
use crate::barrier::BarrierOp;
use crate::core::duration::opt_duration;
use crate::core::fields::{opt_bool, opt_u64};
use crate::core::request::Operation;
use crate::engines::{EngineError, EngineRequest, EngineResponse};

/// Limits on `custom_metadata`, as Vault's.
const MAX_CUSTOM_KEYS: usize = 64;
const MAX_CUSTOM_KEY_LEN: usize = 128;
const MAX_CUSTOM_VALUE_LEN: usize = 512;

pub(super) async fn handle(
    req: &EngineRequest<'_>,
    key: &str,
) -> Result<EngineResponse, EngineError> {
    match req.operation {
        Operation::Read => read(req, key).await,
        Operation::Update => configure(req, key, false).await,
        Operation::Patch => configure(req, key, true).await,
        Operation::Delete => delete(req, key).await,
        Operation::List => Err(EngineError::UnsupportedOperation),
    }
}

pub(super) async fn list(
    req: &EngineRequest<'_>,
    folder: &str,
) -> Result<EngineResponse, EngineError> {
    let folder = if folder.is_empty() || folder.ends_with('/') {
        folder.to_string()
    } else {
        format!("{folder}/")
    };
    let keys = req.ctx.view.list(&store::meta_folder(&folder)).await?;
    if keys.is_empty() {
        return Err(EngineError::NotFound);
    }
    Ok(EngineResponse::data(json!({ "keys": keys })))
}

async fn read(req: &EngineRequest<'_>, key: &str) -> Result<EngineResponse, EngineError> {
    let meta = store::load_meta(&req.ctx.view, key)
        .await?
        .ok_or(EngineError::NotFound)?;
    let versions: Map<String, Value> = meta
        .versions
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_wire()))
        .collect();
    Ok(EngineResponse::data(json!({
        "cas_required": meta.cas_required,
        "created_time": store::rfc3339(meta.created),
        "current_version": meta.current_version,
        "custom_metadata": meta.custom_metadata,
        "delete_version_after": store::go_duration(meta.delete_version_after),
        "max_versions": meta.max_versions,
        "oldest_version": meta.oldest_version(),
        "updated_time": store::rfc3339(meta.updated),
        "versions": versions,
    })))
}

/// `custom_metadata`: a map of strings (`null` values remove keys when merging).
fn custom_metadata(data: &Map<String, Value>) -> Result<Option<Map<String, Value>>, EngineError> {
    match data.get("custom_metadata") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if !(v.is_string() || v.is_null()) {
                    return Err(EngineError::Invalid(format!(
                        "custom_metadata value for {k:?} must be a string"
                    )));
                }
            }
            Ok(Some(m.clone()))
        }
        Some(_) => Err(EngineError::Invalid(
            "invalid value for \"custom_metadata\": expected an object".into(),
        )),
    }
}

fn check_custom(custom: &BTreeMap<String, String>) -> Result<(), EngineError> {
    if custom.len() > MAX_CUSTOM_KEYS {
        return Err(EngineError::Invalid(format!(
            "custom_metadata may hold at most {MAX_CUSTOM_KEYS} keys"
        )));
    }
    for (k, v) in custom {
        if k.is_empty() || k.len() > MAX_CUSTOM_KEY_LEN || v.len() > MAX_CUSTOM_VALUE_LEN {
            return Err(EngineError::Invalid(format!(
                "custom_metadata keys must be 1-{MAX_CUSTOM_KEY_LEN} bytes and values at most {MAX_CUSTOM_VALUE_LEN} bytes"
            )));
        }
    }
    Ok(())
}

async fn configure(
    req: &EngineRequest<'_>,
    key: &str,
    merge: bool,
) -> Result<EngineResponse, EngineError> {
    let view = &req.ctx.view;
    let max_versions = opt_u64(req.data, "max_versions").map_err(field_err)?;
    let cas_required = opt_bool(req.data, "cas_required").map_err(field_err)?;
    let dva = opt_duration(req.data, "delete_version_after")
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
    let custom = custom_metadata(req.data)?;
    let _guard = store::lock_key(view, key).await;
    let existing = store::load_meta(view, key).await?;
    if merge && existing.is_none() {
        return Err(EngineError::NotFound);
    }
    let now = store::now_nanos();
    let mut meta = existing.unwrap_or_else(|| store::KeyMeta::new(now));
    if let Some(m) = max_versions {
        meta.max_versions = m;
    }
    if let Some(c) = cas_required {
        meta.cas_required = c;
    }
    if let Some(d) = dva {
        meta.delete_version_after = d;
    }
    if let Some(custom) = custom {
        let mut next = if merge {
            meta.custom_metadata.clone().unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        for (k, v) in custom {
            match v {
                Value::String(s) => {
                    next.insert(k, s);
                }
                _ => {
                    next.remove(&k);
                }
            }
        }
        check_custom(&next)?;
        meta.custom_metadata = (!next.is_empty()).then_some(next);
    }
    meta.updated = now;
    // A lower max_versions prunes at once.
    let config = store::load_config(view).await?;
    let max = meta.effective_max_versions(&config);
    let mut ops = Vec::new();
    while u64::try_from(meta.versions.len()).unwrap_or(u64::MAX) > max {
        let Some((&oldest, _)) = meta.versions.iter().next() else {
            break;
        };
        meta.versions.remove(&oldest);
        ops.push(BarrierOp::delete(store::version_key(key, oldest)));
    }
    ops.push(store::put_meta(key, &meta)?);
    view.write_batch(ops).await?;
    Ok(EngineResponse::empty())
}

async fn delete(req: &EngineRequest<'_>, key: &str) -> Result<EngineResponse, EngineError> {
    let view = &req.ctx.view;
    let _guard = store::lock_key(view, key).await;
    let Some(meta) = store::load_meta(view, key).await? else {
        return Ok(EngineResponse::empty());
    };
    let mut ops: Vec<BarrierOp> = meta
        .versions
        .keys()
        .map(|n| BarrierOp::delete(store::version_key(key, *n)))
        .collect();
    ops.push(BarrierOp::delete(store::meta_key(key)));
    view.write_batch(ops).await?;
    Ok(EngineResponse::empty())
}
