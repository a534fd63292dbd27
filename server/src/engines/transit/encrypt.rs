//! `encrypt/:name`: encrypts base64 plaintexts with the named key (one or a batch).
//!
//! Upsert: a missing key is created first (type from `type`, default `aes256-gcm96`;
//! derived when a `context` is given), under the key's lock; the ACL already demanded
//! `create` for that, because [`super::exists`] answered `false`. `config/keys`
//! `disable_upsert` turns this off (400 `encryption key not found`).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::batch::{self, Items};
use super::cache::KeyCache;
use super::cipher::Params;
use super::error::TransitError;
use super::key::Key;
use super::keys::new_key_options;
use crate::barrier::StorageView;
use crate::engines::EngineResponse;

/// `POST encrypt/:name`.
pub async fn encrypt(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let items = Items::parse(data)?;
    if let Items::Single(one) = items {
        if one.get("plaintext").is_none_or(Value::is_null) {
            return Err(TransitError::invalid("missing plaintext to encrypt"));
        }
    }
    let key = match cache.load(view, name).await? {
        Some(key) => key,
        None => upsert(cache, view, name, data, &items).await?,
    };
    let results = items
        .as_slice()
        .iter()
        .map(|item| encrypt_item(&key, item, data))
        .collect();
    batch::respond(data, &items, results)
}

/// Creates the key for an encrypt on a missing key.
async fn upsert(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    data: &Map<String, Value>,
    items: &Items<'_>,
) -> Result<Arc<Key>, TransitError> {
    let has_context = items
        .as_slice()
        .first()
        .is_some_and(|item| matches!(item.get("context"), Some(Value::String(s)) if !s.is_empty()));
    let opts = new_key_options(data, has_context)?;
    if !opts.key_type.supports_encryption() {
        return Err(TransitError::invalid(format!(
            "key type {} not supported for this operation",
            opts.key_type
        )));
    }
    let locked = cache.lock(view, name).await;
    if let Some(existing) = locked.current().await? {
        return Ok(existing);
    }
    if super::config_keys::load(view).await?.disable_upsert {
        return Err(TransitError::invalid("encryption key not found"));
    }
    locked.store(Key::create(name, opts)?).await
}

fn encrypt_item(
    key: &Key,
    item: &Map<String, Value>,
    data: &Map<String, Value>,
) -> Result<Map<String, Value>, TransitError> {
    let Some(plaintext) = batch::b64_field(item, "plaintext")? else {
        return Err(TransitError::invalid("missing plaintext to encrypt"));
    };
    let context = batch::b64_field(item, "context")?;
    let aad = batch::b64_field(item, "associated_data")?;
    if batch::str_field(item, "nonce")?.is_some() {
        return Err(TransitError::invalid(
            "user-supplied nonces are not supported",
        ));
    }
    let version = batch::key_version(item, data)?;
    let (v, ciphertext) = key.encrypt(
        version,
        &plaintext,
        Params {
            context: context.as_deref().map(Vec::as_slice),
            aad: aad.as_deref().map(Vec::as_slice).unwrap_or_default(),
        },
    )?;
    let mut out = Map::new();
    out.insert("ciphertext".into(), json!(ciphertext));
    out.insert("key_version".into(), json!(v));
    Ok(out)
}
