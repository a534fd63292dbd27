//! `rewrap/:name`: decrypts a ciphertext and encrypts it again with the latest (or the
//! requested) key version, without the plaintext leaving the server.

use serde_json::{json, Map, Value};

use super::batch;
use super::cache::KeyCache;
use super::cipher::Params;
use super::error::TransitError;
use super::key::Key;
use crate::barrier::StorageView;
use crate::engines::EngineResponse;

/// `POST rewrap/:name`.
pub async fn rewrap(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let (items, key) = super::decrypt::ciphertexts_and_key(cache, view, name, data).await?;
    let results = items
        .as_slice()
        .iter()
        .map(|item| rewrap_item(&key, item, data))
        .collect();
    batch::respond(data, &items, results)
}

fn rewrap_item(
    key: &Key,
    item: &Map<String, Value>,
    data: &Map<String, Value>,
) -> Result<Map<String, Value>, TransitError> {
    let Some(ciphertext) = batch::str_field(item, "ciphertext")? else {
        return Err(TransitError::invalid("missing ciphertext to decrypt"));
    };
    let context = batch::b64_field(item, "context")?;
    let aad = batch::b64_field(item, "associated_data")?;
    let params = Params {
        context: context.as_deref().map(Vec::as_slice),
        aad: aad.as_deref().map(Vec::as_slice).unwrap_or_default(),
    };
    let (_, plaintext) = key.decrypt(ciphertext, params)?;
    let (v, ciphertext) = key.encrypt(batch::key_version(item, data)?, &plaintext, params)?;
    let mut out = Map::new();
    out.insert("ciphertext".into(), json!(ciphertext));
    out.insert("key_version".into(), json!(v));
    Ok(out)
}
