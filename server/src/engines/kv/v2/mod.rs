//! KV version 2: versioned secrets with metadata, check-and-set, soft delete, destroy.
//!
//! Paths relative to the mount: `config`, `data/<key>`, `metadata/<key>` (LIST on
//! `metadata/<folder>/`), `delete/<key>`, `undelete/<key>`, `destroy/<key>`,
//! `subkeys/<key>` (wire reference §6.2). Any other path is Vault's "v1-style path on a
//! v2 mount": 404 with a warning. Storage layout and locking: [`store`].

mod config;
mod data;
mod metadata;
mod store;
mod subkeys;
mod versions;

use serde_json::{Map, Value};

use crate::barrier::{BarrierOp, StorageView};
use crate::core::fields::{opt_u64, FieldError};
use crate::core::request::Operation;
use crate::engines::{EngineError, EngineRequest, EngineResponse, ResponseStatus};

/// Serves one request.
pub async fn handle(req: &EngineRequest<'_>) -> Result<EngineResponse, EngineError> {
    let (head, rest) = match req.path.split_once('/') {
        Some((h, r)) => (h, r),
        None => (req.path, ""),
    };
    match (head, req.operation) {
        ("config", _) if rest.is_empty() => config::handle(req).await,
        ("data", _) => data::handle(req, key(rest)?).await,
        ("metadata", Operation::List) => metadata::list(req, rest).await,
        ("metadata", _) => metadata::handle(req, key(rest)?).await,
        ("delete", _) => versions::handle(req, versions::Action::Delete, key(rest)?).await,
        ("undelete", _) => versions::handle(req, versions::Action::Undelete, key(rest)?).await,
        ("destroy", _) => versions::handle(req, versions::Action::Destroy, key(rest)?).await,
        ("subkeys", _) => subkeys::handle(req, key(rest)?).await,
        _ => Ok(EngineResponse {
            data: None,
            warnings: vec![
                "Invalid path for a versioned K/V secrets engine. See the API docs for the \
                 appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' \
                 for this operation."
                    .to_string(),
            ],
            status: ResponseStatus::NotFoundWithData,
            ..Default::default()
        }),
    }
}

/// Existence check for the ACL's create-vs-update decision: a `data/`, `metadata/` or
/// `subkeys/` key exists when its metadata does. `None` (no check: every write is an
/// update) for the other paths.
pub async fn exists(req: &EngineRequest<'_>) -> Result<Option<bool>, EngineError> {
    let Some((head, rest)) = req.path.split_once('/') else {
        return Ok(None);
    };
    if !matches!(head, "data" | "metadata") || rest.is_empty() || rest.ends_with('/') {
        return Ok(None);
    }
    Ok(Some(store::load_meta(&req.ctx.view, rest).await?.is_some()))
}

/// A key name: non-empty, not a folder. (Segment rules are enforced by the view.)
fn key(rest: &str) -> Result<&str, EngineError> {
    if rest.is_empty() || rest.ends_with('/') {
        return Err(EngineError::Invalid(
            "a key name is required (the path must not end in '/')".into(),
        ));
    }
    Ok(rest)
}

/// `?version=N` (absent or 0 = latest).
fn version_param(data: &Map<String, Value>) -> Result<u64, EngineError> {
    opt_u64(data, "version")
        .map(Option::unwrap_or_default)
        .map_err(|_| {
            EngineError::Invalid(
                "Field validation failed: error converting input for field \"version\": expected a non-negative integer"
                    .to_string(),
            )
        })
}

fn field_err(e: FieldError) -> EngineError {
    EngineError::Invalid(e.0)
}

/// Converts a kv v1 mount's data (every key stored directly in the view) into the v2
/// layout: each key becomes version 1 of the same key, then the v1 entry is removed.
/// Idempotent: keys already under the v2 prefix are left alone, so an interrupted
/// upgrade can simply run again.
pub async fn upgrade_from_v1(view: &StorageView) -> Result<(), EngineError> {
    let config = store::load_config(view).await?;
    let mut folders = vec![String::new()];
    while let Some(folder) = folders.pop() {
        for child in view.list(&folder).await? {
            let full = format!("{folder}{child}");
            if full == store::ROOT || full.starts_with(store::ROOT) {
                continue;
            }
            if child.ends_with('/') {
                folders.push(full);
                continue;
            }
            let _guard = store::lock_key(view, &full).await;
            let Some(raw) = view.get(&full).await? else {
                continue;
            };
            let value: Value =
                serde_json::from_slice(&raw).map_err(|e| EngineError::Corrupt(e.to_string()))?;
            let now = store::now_nanos();
            let mut meta = store::load_meta(view, &full)
                .await?
                .unwrap_or_else(|| store::KeyMeta::new(now));
            let (mut ops, _) = store::add_version(&full, &mut meta, &config, &value, now)?;
            ops.push(BarrierOp::delete(full.clone()));
            view.write_batch(ops).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
