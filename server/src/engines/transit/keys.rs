//! `keys/`: create, read, list and delete named keys; `keys/:name/config`, `rotate` and
//! `trim`.
//!
//! Every write runs under the key's lock through [`Locked`](super::cache::Locked): it
//! reads the stored key, changes a private copy, stores it and replaces the cached key,
//! so a concurrent encrypt sees either the old or the new key, never a mix, and the
//! cache never lags storage. Writes answer 200 with the key description.

use serde_json::{Map, Value};

use super::cache::KeyCache;
use super::error::TransitError;
use super::key::{parse_key_type, Key, KeyType, NewKey};
use crate::barrier::StorageView;
use crate::core::duration::opt_duration;
use crate::core::fields::{opt_bool, opt_string, opt_u64};
use crate::engines::EngineResponse;

/// One hour: the shortest `auto_rotate_period` besides 0.
const MIN_AUTO_ROTATE: u64 = 3600;

fn auto_rotate(data: &Map<String, Value>) -> Result<Option<u64>, TransitError> {
    let period = opt_duration(data, "auto_rotate_period")
        .map_err(|e| TransitError::invalid(format!("invalid auto_rotate_period: {e}")))?;
    match period {
        Some(p) if p != 0 && p < MIN_AUTO_ROTATE => Err(TransitError::invalid(
            "auto rotate period must be 0 to disable or at least an hour",
        )),
        other => Ok(other),
    }
}

/// The options of a new key from a create (or upsert) request.
pub fn new_key_options(
    data: &Map<String, Value>,
    default_derived: bool,
) -> Result<NewKey, TransitError> {
    let key_type = match opt_string(data, "type")? {
        Some(t) if !t.is_empty() => parse_key_type(&t)?,
        _ => KeyType::Aes256Gcm96,
    };
    let derived = opt_bool(data, "derived")?.unwrap_or(default_derived);
    let convergent = opt_bool(data, "convergent_encryption")?.unwrap_or(false);
    if convergent && !derived {
        return Err(TransitError::invalid(
            "convergent encryption requires derivation to be enabled",
        ));
    }
    if derived && !key_type.supports_derivation() {
        return Err(TransitError::invalid(format!(
            "key derivation and convergent encryption not supported for keys of type {key_type}"
        )));
    }
    if convergent && !key_type.supports_encryption() {
        return Err(TransitError::invalid(format!(
            "convergent encryption not supported for keys of type {key_type}"
        )));
    }
    let key_size = match (opt_u64(data, "key_size")?, key_type) {
        (None | Some(0), _) => 32,
        (Some(n), KeyType::Hmac) if (32..=512).contains(&n) => n as usize,
        (Some(n), KeyType::Hmac) => {
            return Err(TransitError::invalid(format!("invalid key_size {n}")))
        }
        (Some(_), other) => {
            return Err(TransitError::invalid(format!(
                "key_size is not valid for algorithm {other}"
            )))
        }
    };
    Ok(NewKey {
        key_type,
        derived,
        convergent,
        exportable: opt_bool(data, "exportable")?.unwrap_or(false),
        allow_plaintext_backup: opt_bool(data, "allow_plaintext_backup")?.unwrap_or(false),
        auto_rotate_period: auto_rotate(data)?.unwrap_or(0),
        key_size,
    })
}

fn describe(key: &Key) -> EngineResponse {
    EngineResponse::data(key.describe())
}

/// `POST keys/:name`.
pub async fn create(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let opts = new_key_options(data, false)?;
    let locked = cache.lock(view, name).await;
    if let Some(existing) = locked.current().await? {
        let mut resp = describe(&existing);
        resp.warnings.push(format!("key {name} already existed"));
        return Ok(resp);
    }
    let key = locked.store(Key::create(name, opts)?).await?;
    Ok(describe(&key))
}

/// `GET keys/:name` (404 when missing).
pub async fn read(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
) -> Result<EngineResponse, TransitError> {
    match cache.load(view, name).await? {
        Some(key) => Ok(describe(&key)),
        None => Err(TransitError::NotFound),
    }
}

/// `DELETE keys/:name`: only with `deletion_allowed`.
pub async fn delete(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
) -> Result<EngineResponse, TransitError> {
    let locked = cache.lock(view, name).await;
    let Some(key) = locked.current().await? else {
        return Err(TransitError::invalid(format!(
            "error deleting policy {name}: could not delete key; not found"
        )));
    };
    if !key.deletion_allowed {
        return Err(TransitError::invalid(format!(
            "error deleting policy {name}: deletion is not allowed for this key"
        )));
    }
    locked.delete().await?;
    Ok(EngineResponse::empty())
}

/// `POST keys/:name/rotate`.
pub async fn rotate(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
) -> Result<EngineResponse, TransitError> {
    let locked = cache.lock(view, name).await;
    let Some(mut key) = locked.read_for_update().await? else {
        return Err(TransitError::invalid("key not found"));
    };
    key.rotate()?;
    let key = locked.store(key).await?;
    Ok(describe(&key))
}

fn version_field(
    data: &Map<String, Value>,
    name: &str,
    negative: &str,
) -> Result<Option<u32>, TransitError> {
    if let Some(n) = data.get(name).and_then(Value::as_i64) {
        if n < 0 {
            return Err(TransitError::invalid(negative));
        }
    }
    Ok(opt_u64(data, name)?.map(|v| u32::try_from(v).unwrap_or(u32::MAX)))
}

/// `POST keys/:name/config`.
pub async fn config(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let locked = cache.lock(view, name).await;
    let Some(mut key) = locked.read_for_update().await? else {
        return Err(TransitError::invalid(format!(
            "no existing key named {name} could be found"
        )));
    };
    let mut warnings = Vec::new();
    let mut changed = false;
    if let Some(mut min) = version_field(
        data,
        "min_decryption_version",
        "min decryption version cannot be negative",
    )? {
        if min == 0 {
            min = 1;
            warnings.push("since Vault 0.3 (prior to the OpenBao fork), transit key numbering starts at 1; forcing minimum to 1".to_string());
        }
        if min != key.min_decryption_version {
            if min > key.latest_version {
                return Err(TransitError::invalid(format!(
                    "cannot set min decryption version of {min}, latest key version is {}",
                    key.latest_version
                )));
            }
            key.min_decryption_version = min;
            changed = true;
        }
    }
    if let Some(min) = version_field(
        data,
        "min_encryption_version",
        "min encryption version cannot be negative",
    )? {
        if min != key.min_encryption_version {
            if min > key.latest_version {
                return Err(TransitError::invalid(format!(
                    "cannot set min encryption version of {min}, latest key version is {}",
                    key.latest_version
                )));
            }
            key.min_encryption_version = min;
            changed = true;
        }
    }
    if key.min_encryption_version > 0 && key.min_encryption_version < key.min_decryption_version {
        return Err(TransitError::invalid(format!(
            "cannot set min encryption/decryption values; min encryption version of {} must be greater than or equal to min decryption version of {}",
            key.min_encryption_version, key.min_decryption_version
        )));
    }
    if let Some(allowed) = opt_bool(data, "deletion_allowed")? {
        changed |= allowed != key.deletion_allowed;
        key.deletion_allowed = allowed;
    }
    // Once on, `exportable` and `allow_plaintext_backup` stay on.
    if opt_bool(data, "exportable")? == Some(true) && !key.exportable {
        key.exportable = true;
        changed = true;
    }
    if opt_bool(data, "allow_plaintext_backup")? == Some(true) && !key.allow_plaintext_backup {
        key.allow_plaintext_backup = true;
        changed = true;
    }
    if let Some(period) = auto_rotate(data)? {
        changed |= period != key.auto_rotate_period;
        key.auto_rotate_period = period;
    }
    if !changed {
        let mut resp = describe(&key);
        resp.warnings = warnings;
        return Ok(resp);
    }
    if key.min_available_version > key.min_encryption_version {
        return Err(TransitError::invalid(
            "min encryption version should not be less than min available version",
        ));
    }
    if key.min_available_version > key.min_decryption_version {
        return Err(TransitError::invalid(
            "min decryption version should not be less then min available version",
        ));
    }
    let key = locked.store(key).await?;
    let mut resp = describe(&key);
    resp.warnings = warnings;
    Ok(resp)
}

/// `POST keys/:name/trim`: deletes the versions below `min_available_version`.
pub async fn trim(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let locked = cache.lock(view, name).await;
    let Some(mut key) = locked.read_for_update().await? else {
        return Err(TransitError::invalid("invalid key name"));
    };
    let requested = data.get("min_available_version").and_then(Value::as_i64);
    if requested.is_some_and(|n| n < 0) {
        return Err(TransitError::invalid(
            "minimum available version cannot be negative",
        ));
    }
    let Some(min) = opt_u64(data, "min_available_version")? else {
        return Err(TransitError::invalid("missing min_available_version"));
    };
    let min = u32::try_from(min).unwrap_or(u32::MAX);
    let message = if min < key.min_available_version {
        Some("minimum available version cannot be decremented")
    } else if key.min_encryption_version == 0 {
        Some("minimum available version cannot be set when minimum encryption version is not set")
    } else if min > key.min_encryption_version {
        Some("minimum available version cannot be greater than minmum encryption version")
    } else if min > key.min_decryption_version {
        Some("minimum available version cannot be greater than minimum decryption version")
    } else if min == 0 {
        Some("minimum available version should be positive")
    } else {
        None
    };
    if let Some(m) = message {
        return Err(TransitError::invalid(m));
    }
    key.trim(min);
    let key = locked.store(key).await?;
    Ok(describe(&key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::core::request::Operation;
    use serde_json::json;

    use crate::engines::transit::tests::call;
    use crate::engines::{EngineError, MountContext};

    #[tokio::test]
    async fn lifecycle() {
        let ctx = MountContext::for_test("logical/tk/", "transit/", "transit_1").await;
        let cache = KeyCache::new();
        let r = call(&ctx, &cache, Operation::Update, "keys/k1", json!({}))
            .await
            .unwrap();
        let d = r.data.unwrap();
        assert_eq!(d["latest_version"], 1);
        assert_eq!(d["min_decryption_version"], 1);
        assert!(d["keys"]["1"].is_u64());
        let r = call(&ctx, &cache, Operation::Update, "keys/k1/rotate", json!({}))
            .await
            .unwrap();
        assert_eq!(r.data.unwrap()["latest_version"], 2);
        let e = call(&ctx, &cache, Operation::Delete, "keys/k1", json!({}))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "error deleting policy k1: deletion is not allowed for this key"
        );
        let r = call(
            &ctx,
            &cache,
            Operation::Update,
            "keys/k1/config",
            json!({"min_decryption_version": 2, "min_encryption_version": 2, "deletion_allowed": true}),
        )
        .await
        .unwrap();
        let d = r.data.unwrap();
        assert_eq!(d["keys"].as_object().unwrap().len(), 1);
        let r = call(
            &ctx,
            &cache,
            Operation::Update,
            "keys/k1/trim",
            json!({"min_available_version": 2}),
        )
        .await
        .unwrap();
        assert_eq!(r.data.unwrap()["min_available_version"], 2);
        let e = call(
            &ctx,
            &cache,
            Operation::Update,
            "keys/k1/config",
            json!({"min_decryption_version": 5}),
        )
        .await
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot set min decryption version of 5, latest key version is 2"
        );
        let r = call(&ctx, &cache, Operation::List, "keys/", json!({}))
            .await
            .unwrap();
        assert_eq!(r.data.unwrap()["keys"], json!(["k1"]));
        call(&ctx, &cache, Operation::Delete, "keys/k1", json!({}))
            .await
            .unwrap();
        let e = call(&ctx, &cache, Operation::Read, "keys/k1", json!({}))
            .await
            .unwrap_err();
        assert!(matches!(e, EngineError::NotFound));
        let e = call(
            &ctx,
            &cache,
            Operation::Update,
            "keys/h",
            json!({"type": "hmac", "key_size": 8}),
        )
        .await
        .unwrap_err();
        assert_eq!(e.to_string(), "invalid key_size 8");
        let e = call(
            &ctx,
            &cache,
            Operation::Update,
            "keys/c",
            json!({"convergent_encryption": true}),
        )
        .await
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "convergent encryption requires derivation to be enabled"
        );
    }
}
