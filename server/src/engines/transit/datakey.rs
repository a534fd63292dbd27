//! `datakey/plaintext/:name` and `datakey/wrapped/:name`: a fresh random data key of
//! `bits` (128/256/512), returned encrypted with the named key, and for `plaintext`
//! also in base64. The data key is drawn from the OS random source and zeroized after.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::batch;
use super::cache::KeyCache;
use super::cipher::Params;
use super::error::TransitError;
use super::key::Secret;
use crate::barrier::StorageView;
use crate::core::fields::opt_u64;
use crate::engines::EngineResponse;

/// What the data key is returned as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plaintext,
    Wrapped,
}

/// `POST datakey/:kind/:name`.
pub async fn datakey(
    cache: &KeyCache,
    view: &StorageView,
    kind: &str,
    name: &str,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let kind = match kind {
        "plaintext" => Kind::Plaintext,
        "wrapped" => Kind::Wrapped,
        _ => {
            return Err(TransitError::invalid(
                "Invalid path, must be 'plaintext' or 'wrapped'",
            ))
        }
    };
    let context = batch::b64_field(data, "context")
        .map_err(|_| TransitError::invalid("failed to base64-decode context"))?;
    let aad = batch::b64_field(data, "associated_data")?;
    let key = cache
        .require(view, name, "encryption key not found")
        .await?;
    let bits = opt_u64(data, "bits")?.unwrap_or(256);
    if !matches!(bits, 128 | 256 | 512) {
        return Err(TransitError::invalid("invalid bit length"));
    }
    let new_key = Secret::random((bits / 8) as usize)?;
    let (v, ciphertext) = key.encrypt(
        batch::key_version(data, data)?,
        new_key.expose(),
        Params {
            context: context.as_deref().map(Vec::as_slice),
            aad: aad.as_deref().map(Vec::as_slice).unwrap_or_default(),
        },
    )?;
    let mut out = json!({ "ciphertext": ciphertext, "key_version": v });
    if kind == Kind::Plaintext {
        out["plaintext"] = json!(STANDARD.encode(new_key.expose()));
    }
    Ok(EngineResponse::data(out))
}
