//! The transit secrets engine (`type=transit`): encryption, HMAC and signatures as a
//! service with named, versioned keys that never leave the vault (wire reference §8).
//!
//! Where it sits: `core → engines::transit`. The core hands [`handle`] an
//! [`EngineRequest`] and the shared [`KeyCache`] (part of the unsealed state), and asks
//! [`exists`] before a write so the ACL can tell `create` from `update` (`keys/:name`
//! and `encrypt/:name`, whose upsert creates a missing key).
//!
//! One file per resource: [`keys`] (create/read/list/delete, `config`, `rotate`,
//! `trim`), [`encrypt`], [`decrypt`], [`rewrap`], [`datakey`], [`hmac`], [`sign`] (sign
//! and verify); [`key`] is the stored key and its versions, [`cipher`] the AEADs,
//! [`ciphertext`] the `vault:vN:` format, [`batch`] the `batch_input` handling,
//! [`cache`] the decoded-key cache and the locked key access, [`error`] the texts.
//!
//! Storage, relative to the mount's view: `policy/<name>` (JSON inside the barrier).
//!
//! Invariants:
//! - Key material and plaintexts live in zeroizing types with redacted `Debug` and never
//!   appear in an error, log line or panic; malformed input is a 400, never a panic.
//! - Every key write holds the key's item lock and updates or evicts the cache entry
//!   before releasing it, so the cached key is never older than the stored one.

mod auto_rotate;
mod batch;
mod cache;
mod cipher;
mod ciphertext;
mod config_keys;
mod datakey;
mod decrypt;
mod encrypt;
mod error;
mod hmac;
mod key;
mod keys;
mod rewrap;
mod sign;

pub use cache::KeyCache;

use super::{EngineError, EngineRequest, EngineResponse};
use crate::core::request::Operation;
use error::TransitError;

/// What a request addresses (names validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Keys,
    Key(&'a str),
    Config(&'a str),
    Rotate(&'a str),
    Trim(&'a str),
    Encrypt(&'a str),
    Decrypt(&'a str),
    Rewrap(&'a str),
    Datakey(&'a str, &'a str),
    Hmac(&'a str, Option<&'a str>),
    Sign(&'a str, Option<&'a str>),
    Verify(&'a str, Option<&'a str>),
    /// `config/keys` (mount-wide settings).
    ConfigKeys,
    /// `hash[/:algorithm]` (no key).
    Hash(Option<&'a str>),
    /// `random[/:source][/:bytes]` (no key): the segments after `random`.
    Random(&'a str),
}

/// OpenBao's generic name: word characters, `-` and `.` inside, a word character at
/// each end.
fn valid_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let (Some(first), Some(last)) = (name.chars().next(), name.chars().last()) else {
        return false;
    };
    word(first) && word(last) && name.chars().all(|c| word(c) || c == '-' || c == '.')
}

fn route(path: &str) -> Result<Route<'_>, EngineError> {
    let parts: Vec<&str> = path.split('/').collect();
    let r = match parts.as_slice() {
        ["keys"] | ["keys", ""] => Route::Keys,
        ["keys", n] => Route::Key(n),
        ["keys", n, "config"] => Route::Config(n),
        ["keys", n, "rotate"] => Route::Rotate(n),
        ["keys", n, "trim"] => Route::Trim(n),
        ["encrypt", n] => Route::Encrypt(n),
        ["decrypt", n] => Route::Decrypt(n),
        ["rewrap", n] => Route::Rewrap(n),
        ["datakey", kind, n] => Route::Datakey(kind, n),
        ["hmac", n] => Route::Hmac(n, None),
        ["hmac", n, a] => Route::Hmac(n, Some(a)),
        ["sign", n] => Route::Sign(n, None),
        ["sign", n, a] => Route::Sign(n, Some(a)),
        ["verify", n] => Route::Verify(n, None),
        ["verify", n, a] => Route::Verify(n, Some(a)),
        ["config", "keys"] => Route::ConfigKeys,
        ["hash"] => Route::Hash(None),
        ["hash", a] => Route::Hash(Some(a)),
        ["random", ..] if parts.len() <= 3 => Route::Random(
            path.strip_prefix("random")
                .unwrap_or("")
                .trim_start_matches('/'),
        ),
        _ => return Err(EngineError::UnsupportedPath),
    };
    let name = match r {
        Route::Keys | Route::ConfigKeys | Route::Hash(_) | Route::Random(_) => return Ok(r),
        Route::Key(n)
        | Route::Config(n)
        | Route::Rotate(n)
        | Route::Trim(n)
        | Route::Encrypt(n)
        | Route::Decrypt(n)
        | Route::Rewrap(n)
        | Route::Datakey(_, n)
        | Route::Hmac(n, _)
        | Route::Sign(n, _)
        | Route::Verify(n, _) => n,
    };
    if valid_name(name) {
        Ok(r)
    } else {
        Err(EngineError::UnsupportedPath)
    }
}

/// Serves one request on a transit mount.
pub async fn handle(
    req: &EngineRequest<'_>,
    cache: &KeyCache,
) -> Result<EngineResponse, EngineError> {
    let r = route(req.path)?;
    let view = &req.ctx.view;
    let data = req.data;
    let op = req.operation;
    let result: Result<EngineResponse, TransitError> = match (r, op) {
        (Route::Keys, Operation::List) => return super::list_items(view, "policy/").await,
        (Route::Key(n), Operation::Read) => keys::read(cache, view, n).await,
        (Route::Key(n), Operation::Update) => keys::create(cache, view, n, data).await,
        (Route::Key(n), Operation::Delete) => keys::delete(cache, view, n).await,
        (Route::Config(n), Operation::Update) => keys::config(cache, view, n, data).await,
        (Route::Rotate(n), Operation::Update) => keys::rotate(cache, view, n).await,
        (Route::Trim(n), Operation::Update) => keys::trim(cache, view, n, data).await,
        (Route::Encrypt(n), Operation::Update) => encrypt::encrypt(cache, view, n, data).await,
        (Route::Decrypt(n), Operation::Update) => decrypt::decrypt(cache, view, n, data).await,
        (Route::Rewrap(n), Operation::Update) => rewrap::rewrap(cache, view, n, data).await,
        (Route::Datakey(kind, n), Operation::Update) => {
            datakey::datakey(cache, view, kind, n, data).await
        }
        (Route::Hmac(n, algo), Operation::Update) => hmac::hmac(cache, view, n, algo, data).await,
        (Route::Sign(n, algo), Operation::Update) => sign::sign(cache, view, n, algo, data).await,
        (Route::Verify(n, algo), Operation::Update) => {
            sign::verify(cache, view, n, algo, data).await
        }
        (Route::ConfigKeys, Operation::Read) => config_keys::read(view).await,
        (Route::ConfigKeys, Operation::Update) => config_keys::write(view, data).await,
        (Route::Hash(algo), Operation::Update) => crate::tools::hash(algo, data)
            .map(EngineResponse::data)
            .map_err(|e| TransitError::invalid(e.to_string())),
        (Route::Random(rest), Operation::Update) => {
            let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
            crate::tools::random(&parts, data)
                .map(EngineResponse::data)
                .map_err(|e| TransitError::invalid(e.to_string()))
        }
        _ => return Err(EngineError::UnsupportedOperation),
    };
    result.map_err(EngineError::from)
}

/// Rotates the mount's keys whose `auto_rotate_period` has passed since their latest
/// version (see `auto_rotate.rs`); returns how many were rotated.
pub async fn rotate_due_keys(
    ctx: &super::MountContext,
    cache: &KeyCache,
    now: time::OffsetDateTime,
) -> Result<usize, EngineError> {
    Ok(auto_rotate::rotate_due_keys(cache, &ctx.view, now).await?)
}

/// Existence check for writes (create vs update): whether the key exists, for
/// `keys/:name` and `encrypt/:name` (upsert); `None` elsewhere.
pub async fn exists(
    req: &EngineRequest<'_>,
    cache: &KeyCache,
) -> Result<Option<bool>, EngineError> {
    if req.operation != Operation::Update {
        return Ok(None);
    }
    match route(req.path) {
        Ok(Route::Key(n) | Route::Encrypt(n)) => Ok(Some(cache.exists(&req.ctx.view, n).await?)),
        _ => Ok(None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests {
    use serde_json::{json, Map, Value};

    use super::*;
    use crate::engines::{MountContext, ResponseStatus};

    pub(super) async fn call(
        ctx: &MountContext,
        cache: &KeyCache,
        op: Operation,
        path: &str,
        body: Value,
    ) -> Result<EngineResponse, EngineError> {
        let data: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
        let req = EngineRequest {
            operation: op,
            path,
            data: &data,
            ctx,
            display_name: "token",
        };
        handle(&req, cache).await
    }

    #[test]
    fn routes_and_names() {
        assert_eq!(route("keys/").unwrap(), Route::Keys);
        assert_eq!(route("keys/a.b-c_d").unwrap(), Route::Key("a.b-c_d"));
        assert_eq!(
            route("hmac/k/sha2-512").unwrap(),
            Route::Hmac("k", Some("sha2-512"))
        );
        assert!(route("keys/-bad").is_err());
        assert!(route("keys/a/b/c").is_err());
        assert!(route("encrypt/").is_err());
    }

    #[tokio::test]
    async fn upsert_batch_and_existence() {
        let ctx = MountContext::for_test("logical/tr1/", "transit/", "transit_1").await;
        let cache = KeyCache::new();
        let data = Map::new();
        let req = EngineRequest {
            operation: Operation::Update,
            path: "encrypt/new",
            data: &data,
            ctx: &ctx,
            display_name: "token",
        };
        assert_eq!(exists(&req, &cache).await.unwrap(), Some(false));
        let r = call(
            &ctx,
            &cache,
            Operation::Update,
            "encrypt/new",
            json!({"plaintext": "aGk="}),
        )
        .await
        .unwrap();
        assert!(r.data.unwrap()["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("vault:v1:"));
        assert_eq!(exists(&req, &cache).await.unwrap(), Some(true));
        let r = call(
            &ctx,
            &cache,
            Operation::Update,
            "encrypt/new",
            json!({"batch_input": [{"plaintext": "aGk=", "reference": "a"}, {"plaintext": "!", "reference": "b"}]}),
        )
        .await
        .unwrap();
        assert_eq!(r.status, ResponseStatus::BadRequestWithData);
        let results = r.data.unwrap()["batch_results"].clone();
        assert_eq!(results[0]["reference"], "a");
        assert_eq!(results[1]["error"], "illegal base64 data at input byte 0");
        let r = call(&ctx, &cache, Operation::Read, "keys/new", json!({}))
            .await
            .unwrap();
        assert_eq!(r.data.unwrap()["type"], "aes256-gcm96");
    }
}
