//! `data/<key>`: write (with check-and-set), read (by version), soft delete, merge patch.

use serde_json::{json, Map, Value};

use super::store::{self, KeyMeta, KvConfig};
use super::{field_err, version_param};
use crate::core::fields::opt_u64;
use crate::core::request::Operation;
use crate::engines::{EngineError, EngineRequest, EngineResponse, ResponseStatus};

pub(super) async fn handle(
    req: &EngineRequest<'_>,
    key: &str,
) -> Result<EngineResponse, EngineError> {
    match req.operation {
        Operation::Read => read(req, key).await,
        Operation::Update => write(req, key, Write::Replace).await,
        Operation::Patch => write(req, key, Write::Patch).await,
        Operation::Delete => soft_delete_latest(req, key).await,
        Operation::List => Err(EngineError::UnsupportedOperation),
    }
}

/// The metadata of one version as data reads and writes show it.
pub(super) fn version_wire(meta: &KeyMeta, n: u64) -> Value {
    let v = meta.versions.get(&n);
    json!({
        "created_time": v.map(|v| store::rfc3339(v.created)).unwrap_or_default(),
        "custom_metadata": meta.custom_metadata,
        "deletion_time": v.and_then(|v| v.deletion).map(store::rfc3339).unwrap_or_default(),
        "destroyed": v.is_some_and(|v| v.destroyed),
        "version": n,
    })
}

async fn read(req: &EngineRequest<'_>, key: &str) -> Result<EngineResponse, EngineError> {
    let view = &req.ctx.view;
    let requested = version_param(req.data)?;
    let Some(meta) = store::load_meta(view, key).await? else {
        return Err(EngineError::NotFound);
    };
    let n = if requested == 0 {
        meta.current_version
    } else {
        requested
    };
    let Some(v) = meta.versions.get(&n) else {
        return Err(EngineError::NotFound);
    };
    let metadata = version_wire(&meta, n);
    if v.destroyed || v.is_deleted(store::now_nanos()) {
        return Ok(EngineResponse {
            data: Some(json!({ "data": null, "metadata": metadata })),
            status: ResponseStatus::NotFoundWithData,
            ..Default::default()
        });
    }
    let data = store::load_version(view, key, n)
        .await?
        .ok_or(EngineError::NotFound)?;
    Ok(EngineResponse::data(
        json!({ "data": data, "metadata": metadata }),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Replace,
    Patch,
}

fn cas(data: &Map<String, Value>) -> Result<Option<u64>, EngineError> {
    match data.get("options") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => opt_u64(o, "cas").map_err(field_err),
        Some(_) => Err(EngineError::Invalid(
            "invalid value for \"options\": expected an object".into(),
        )),
    }
}

fn check_cas(
    meta: Option<&KeyMeta>,
    config: &KvConfig,
    cas: Option<u64>,
) -> Result<(), EngineError> {
    let required = config.cas_required || meta.is_some_and(|m| m.cas_required);
    match cas {
        None if required => Err(EngineError::Invalid(
            "check-and-set parameter required for this call".into(),
        )),
        None => Ok(()),
        Some(expected) => {
            let current = meta.map(|m| m.current_version).unwrap_or(0);
            if current == expected {
                Ok(())
            } else {
                Err(EngineError::Invalid(
                    "check-and-set parameter did not match the current version".into(),
                ))
            }
        }
    }
}

async fn write(
    req: &EngineRequest<'_>,
    key: &str,
    mode: Write,
) -> Result<EngineResponse, EngineError> {
    let view = &req.ctx.view;
    let input = match req.data.get("data") {
        Some(Value::Object(o)) => o.clone(),
        None | Some(Value::Null) => return Err(EngineError::Invalid("no data provided".into())),
        Some(_) => {
            return Err(EngineError::Invalid(
                "invalid value for \"data\": expected an object".into(),
            ))
        }
    };
    let cas = cas(req.data)?;
    let _guard = store::lock_key(view, key).await;
    let config = store::load_config(view).await?;
    let existing = store::load_meta(view, key).await?;
    let now = store::now_nanos();
    let new_data = match mode {
        Write::Replace => Value::Object(input),
        Write::Patch => {
            // Patch needs a live latest version.
            let live = existing.as_ref().and_then(|m| {
                m.versions
                    .get(&m.current_version)
                    .filter(|v| !v.destroyed && !v.is_deleted(now))
                    .map(|_| m.current_version)
            });
            let Some(n) = live else {
                return Err(EngineError::NotFound);
            };
            let mut base = store::load_version(view, key, n)
                .await?
                .ok_or(EngineError::NotFound)?;
            merge_patch(&mut base, &Value::Object(input));
            base
        }
    };
    check_cas(existing.as_ref(), &config, cas)?;
    let mut meta = existing.unwrap_or_else(|| KeyMeta::new(now));
    let (ops, n) = store::add_version(key, &mut meta, &config, &new_data, now)?;
    view.write_batch(ops).await?;
    let mut wire = version_wire(&meta, n);
    if let Some(obj) = wire.as_object_mut() {
        obj.insert("custom_metadata".into(), json!(meta.custom_metadata));
    }
    Ok(EngineResponse::data(wire))
}

/// RFC 7386 JSON merge patch.
pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (k, v) in patch_map {
            if v.is_null() {
                target_map.remove(k);
            } else {
                merge_patch(target_map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

async fn soft_delete_latest(
    req: &EngineRequest<'_>,
    key: &str,
) -> Result<EngineResponse, EngineError> {
    let view = &req.ctx.view;
    let _guard = store::lock_key(view, key).await;
    let Some(mut meta) = store::load_meta(view, key).await? else {
        return Ok(EngineResponse::empty());
    };
    let now = store::now_nanos();
    let n = meta.current_version;
    if let Some(v) = meta.versions.get_mut(&n) {
        if !v.destroyed && !v.is_deleted(now) {
            v.deletion = Some(now);
            meta.updated = now;
            view.write_batch(vec![store::put_meta(key, &meta)?]).await?;
        }
    }
    Ok(EngineResponse::empty())
}
