//! `decrypt/:name`: decrypts `vault:vN:` ciphertexts (one or a batch) to base64.
//!
//! The version in the ciphertext must lie between `min_decryption_version` and the
//! latest version of the (cached, current) key; a tampered ciphertext fails the AEAD
//! tag check (400), never returning partial plaintext.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::batch::{self, Items};
use super::cache::KeyCache;
use super::cipher::Params;
use super::error::TransitError;
use super::key::Key;
use crate::barrier::StorageView;
use crate::engines::EngineResponse;

/// `POST decrypt/:name`.
pub async fn decrypt(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let (items, key) = ciphertexts_and_key(cache, view, name, data).await?;
    let results = items
        .as_slice()
        .iter()
        .map(|item| decrypt_item(&key, item))
        .collect();
    batch::respond(data, &items, results)
}

/// The items of a request that takes ciphertexts (decrypt, rewrap), and the key they
/// were made with: a single request without `ciphertext`, or a missing key, is a 400.
pub(super) async fn ciphertexts_and_key<'a>(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    data: &'a Map<String, Value>,
) -> Result<(Items<'a>, std::sync::Arc<Key>), TransitError> {
    let items = Items::parse(data)?;
    if let Items::Single(one) = items {
        batch::str_field(one, "ciphertext")?
            .ok_or_else(|| TransitError::invalid("missing ciphertext to decrypt"))?;
    }
    let key = cache
        .require(view, name, "encryption key not found")
        .await?;
    Ok((items, key))
}

fn decrypt_item(key: &Key, item: &Map<String, Value>) -> Result<Map<String, Value>, TransitError> {
    let Some(ciphertext) = batch::str_field(item, "ciphertext")? else {
        return Err(TransitError::invalid("missing ciphertext to decrypt"));
    };
    let context = batch::b64_field(item, "context")?;
    let aad = batch::b64_field(item, "associated_data")?;
    let (_, plaintext) = key.decrypt(
        ciphertext,
        Params {
            context: context.as_deref().map(Vec::as_slice),
            aad: aad.as_deref().map(Vec::as_slice).unwrap_or_default(),
        },
    )?;
    let mut out = Map::new();
    out.insert(
        "plaintext".into(),
        json!(STANDARD.encode(plaintext.as_slice())),
    );
    Ok(out)
}
