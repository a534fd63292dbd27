//! `sign/:name[/:hash_algorithm]` and `verify/:name[/:hash_algorithm]`.
//!
//! Ed25519 signs the input itself (derived keys derive the seed from `context` with
//! HKDF-SHA256); ECDSA P-256 signs the digest of the input (`hash_algorithm`, default
//! `sha2-256`) or the input as a digest when `prehashed`, and marshals the signature as
//! ASN.1 DER (default) or JWS (`r||s`, base64url). Output `vault:vN:` + base64.
//! A signature that does not verify is `{"valid":false}` with status 200; a malformed
//! one is a 400. `verify` with `hmac` checks an HMAC from `hmac/`.

use std::borrow::Cow;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use serde_json::{json, Map, Value};

use super::batch::{self, Items};
use super::cache::KeyCache;
use super::ciphertext::{self, Kind};
use super::error::TransitError;
use super::hmac::{algorithm, verify_hmac, HashAlgo};
use super::key::{Key, KeyType, KeyVersion, Material};
use crate::barrier::StorageView;
use crate::core::fields::{opt_bool, opt_string};
use crate::engines::EngineResponse;

/// How an ECDSA signature is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marshaling {
    Asn1,
    Jws,
}

/// The hash of a signature request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SigHash {
    Algo(HashAlgo),
    None,
}

/// The parsed options of a sign/verify request.
#[derive(Debug, Clone, Copy)]
struct SigOptions {
    hash: SigHash,
    prehashed: bool,
    marshaling: Marshaling,
}

impl SigOptions {
    fn parse(
        path_algo: Option<&str>,
        data: &Map<String, Value>,
        key_type: KeyType,
    ) -> Result<SigOptions, TransitError> {
        let hash_name = match algorithm(path_algo, data, "hash_algorithm")? {
            Some(a) => a,
            None => algorithm(None, data, "algorithm")?.unwrap_or_else(|| "sha2-256".into()),
        };
        let hash = match hash_name.as_str() {
            "none" => SigHash::None,
            other => SigHash::Algo(HashAlgo::parse(other).ok_or_else(|| {
                TransitError::invalid(format!("invalid hash algorithm {hash_name:?}"))
            })?),
        };
        let marshaling_name =
            opt_string(data, "marshaling_algorithm")?.unwrap_or_else(|| "asn1".into());
        let marshaling = match marshaling_name.as_str() {
            "asn1" | "" => Marshaling::Asn1,
            "jws" => Marshaling::Jws,
            _ => {
                return Err(TransitError::invalid(format!(
                    "invalid marshaling type {marshaling_name:?}"
                )))
            }
        };
        let prehashed = opt_bool(data, "prehashed")?.unwrap_or(false);
        if key_type == KeyType::EcdsaP256 && hash == SigHash::None {
            return Err(TransitError::invalid(
                "hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15",
            ));
        }
        Ok(SigOptions {
            hash,
            prehashed,
            marshaling,
        })
    }

    /// The digest ECDSA signs.
    fn digest(&self, input: &[u8]) -> Vec<u8> {
        match (self.prehashed, self.hash) {
            (false, SigHash::Algo(a)) => a.digest(input),
            _ => input.to_vec(),
        }
    }
}

/// The version's signing key, or the one derived for `context` (zeroized on drop).
fn ed25519_key<'a>(
    key: &Key,
    entry: &'a KeyVersion,
    context: Option<&[u8]>,
) -> Result<Cow<'a, ed25519_dalek::SigningKey>, TransitError> {
    match (key.derivation_context(context)?, &entry.material) {
        (Some(ctx), _) => {
            let seed = Key::derive(entry, ctx)?;
            Ok(Cow::Owned(ed25519_dalek::SigningKey::from_bytes(
                &*seed.as_32()?,
            )))
        }
        (None, Material::Ed25519(sk)) => Ok(Cow::Borrowed(&**sk)),
        (None, _) => Ok(Cow::Owned(ed25519_dalek::SigningKey::from_bytes(
            &*entry.key.as_32()?,
        ))),
    }
}

fn p256_key(entry: &KeyVersion) -> Result<&p256::ecdsa::SigningKey, TransitError> {
    match &entry.material {
        Material::P256(sk) => Ok(sk),
        _ => Err(TransitError::invalid(
            "requested version for signing does not contain a private part",
        )),
    }
}

fn sign_one(
    key: &Key,
    version: Option<u32>,
    opts: SigOptions,
    item: &Map<String, Value>,
) -> Result<Map<String, Value>, TransitError> {
    let input = batch::b64_field(item, "input")?.unwrap_or_default();
    let context = batch::b64_field(item, "context")?;
    let (v, entry) = key.write_version(version, "signing")?;
    let (bytes, url) = match key.key_type {
        KeyType::Ed25519 => {
            let sk = ed25519_key(key, entry, context.as_deref().map(Vec::as_slice))?;
            (
                ed25519_dalek::Signer::sign(&*sk, &input)
                    .to_bytes()
                    .to_vec(),
                false,
            )
        }
        KeyType::EcdsaP256 => {
            let digest = opts.digest(&input);
            let sig: p256::ecdsa::Signature = p256_key(entry)?
                .sign_prehash(&digest)
                .map_err(|_| TransitError::invalid("signature could not be computed"))?;
            match opts.marshaling {
                Marshaling::Asn1 => (sig.to_der().as_bytes().to_vec(), false),
                Marshaling::Jws => (sig.to_bytes().to_vec(), true),
            }
        }
        other => {
            return Err(TransitError::invalid(format!(
                "key type {other} does not support signing"
            )))
        }
    };
    let mut value = String::from("vault:v");
    value.push_str(&v.to_string());
    value.push(':');
    if url {
        URL_SAFE_NO_PAD.encode_string(&bytes, &mut value);
    } else {
        STANDARD.encode_string(&bytes, &mut value);
    }
    let mut out = Map::new();
    out.insert("key_version".into(), json!(v));
    out.insert("signature".into(), json!(value));
    Ok(out)
}

/// `POST sign/:name[/:hash_algorithm]`.
pub async fn sign(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    path_algo: Option<&str>,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let key = cache.require(view, name, "signing key not found").await?;
    if !key.key_type.supports_signing() {
        return Err(TransitError::invalid(format!(
            "key type {} does not support signing",
            key.key_type
        )));
    }
    let opts = SigOptions::parse(path_algo, data, key.key_type)?;
    let items = Items::parse(data)?;
    let version = crate::core::fields::opt_u32(data, "key_version")?;
    let results = items
        .as_slice()
        .iter()
        .map(|item| sign_one(&key, version, opts, item))
        .collect();
    batch::respond(data, &items, results)
}

fn verify_signature(
    key: &Key,
    opts: SigOptions,
    input: &[u8],
    context: Option<&[u8]>,
    value: &str,
) -> Result<bool, TransitError> {
    let (version, payload) = ciphertext::split(value, Kind::Signature)?;
    let entry = key.read_version(version, TransitError::SignatureTooNew)?;
    let decoded = match (key.key_type, opts.marshaling) {
        (KeyType::EcdsaP256, Marshaling::Jws) => URL_SAFE_NO_PAD.decode(payload),
        _ => STANDARD.decode(payload),
    }
    .map_err(|_| TransitError::SignatureBase64)?;
    match key.key_type {
        KeyType::Ed25519 => {
            let vk = ed25519_key(key, entry, context)?.verifying_key();
            let Ok(sig) = ed25519_dalek::Signature::from_slice(&decoded) else {
                return Ok(false);
            };
            Ok(vk.verify_strict(input, &sig).is_ok())
        }
        KeyType::EcdsaP256 => {
            let sig = match opts.marshaling {
                Marshaling::Asn1 => p256::ecdsa::Signature::from_der(&decoded),
                Marshaling::Jws => p256::ecdsa::Signature::from_slice(&decoded),
            }
            .map_err(|_| TransitError::invalid("supplied signature is invalid"))?;
            let vk = p256_key(entry)?.verifying_key();
            Ok(vk.verify_prehash(&opts.digest(input), &sig).is_ok())
        }
        other => Err(TransitError::invalid(format!(
            "key type {other} does not support verification"
        ))),
    }
}

/// `POST verify/:name[/:hash_algorithm]` with `signature` or `hmac`.
pub async fn verify(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    path_algo: Option<&str>,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let items = Items::parse(data)?;
    let (mut sigs, mut hmacs) = (0, 0);
    for item in items.as_slice() {
        sigs += usize::from(batch::str_field(item, "signature")?.is_some());
        hmacs += usize::from(batch::str_field(item, "hmac")?.is_some());
    }
    let n = items.as_slice().len();
    let use_hmac = match (sigs, hmacs) {
        (0, 0) => {
            return Err(TransitError::invalid(
                "neither a 'signature' nor an 'hmac' were given to verify",
            ))
        }
        (s, h) if s > 0 && h > 0 && n == 1 => {
            return Err(TransitError::invalid(
                "provide one of 'signature' or 'hmac'",
            ))
        }
        (s, h) if s > 0 && h > 0 => {
            return Err(TransitError::invalid(
                "elements of batch_input must all provide 'signature' or all provide 'hmac'",
            ))
        }
        (s, 0) if s < n => {
            return Err(TransitError::invalid(
                "some elements of batch_input are missing 'signature'",
            ))
        }
        (0, h) if h < n => {
            return Err(TransitError::invalid(
                "some elements of batch_input are missing 'hmac'",
            ))
        }
        (0, _) => true,
        _ => false,
    };
    let key = cache
        .require(view, name, "signature verification key not found")
        .await?;
    let hmac_algo =
        algorithm(path_algo, data, "hash_algorithm")?.or(algorithm(None, data, "algorithm")?);
    let opts = if use_hmac {
        None
    } else {
        if !key.key_type.supports_signing() {
            return Err(TransitError::invalid(format!(
                "key type {} does not support verification",
                key.key_type
            )));
        }
        Some(SigOptions::parse(path_algo, data, key.key_type)?)
    };
    let results = items
        .as_slice()
        .iter()
        .map(|item| {
            let input = batch::b64_field(item, "input")?.unwrap_or_default();
            let valid = match opts {
                None => verify_hmac(
                    &key,
                    hmac_algo.clone(),
                    &input,
                    batch::str_field(item, "hmac")?.unwrap_or_default(),
                )?,
                Some(opts) => {
                    let context = batch::b64_field(item, "context")?;
                    verify_signature(
                        &key,
                        opts,
                        &input,
                        context.as_deref().map(Vec::as_slice),
                        batch::str_field(item, "signature")?.unwrap_or_default(),
                    )?
                }
            };
            let mut out = Map::new();
            out.insert("valid".into(), json!(valid));
            Ok(out)
        })
        .collect();
    batch::respond(data, &items, results)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engines::transit::key::NewKey;

    fn key(key_type: KeyType) -> Key {
        Key::create(
            "k",
            NewKey {
                key_type,
                derived: false,
                convergent: false,
                exportable: false,
                allow_plaintext_backup: false,
                auto_rotate_period: 0,
                key_size: 32,
            },
        )
        .unwrap()
    }

    fn item(input: &[u8]) -> Map<String, Value> {
        json!({"input": STANDARD.encode(input)})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn sign_and_verify_with_tamper() {
        for (t, data) in [
            (KeyType::Ed25519, json!({})),
            (KeyType::EcdsaP256, json!({})),
            (KeyType::EcdsaP256, json!({"marshaling_algorithm": "jws"})),
            (KeyType::EcdsaP256, json!({"hash_algorithm": "sha2-512"})),
        ] {
            let k = key(t);
            let data = data.as_object().cloned().unwrap();
            let opts = SigOptions::parse(None, &data, t).unwrap();
            let out = sign_one(&k, None, opts, &item(b"message")).unwrap();
            let sig = out["signature"].as_str().unwrap();
            assert!(sig.starts_with("vault:v1:"));
            assert!(
                verify_signature(&k, opts, b"message", None, sig).unwrap(),
                "{t}"
            );
            assert!(
                !verify_signature(&k, opts, b"messagE", None, sig).unwrap(),
                "{t}"
            );
        }
        let ed = key(KeyType::Ed25519);
        let opts = SigOptions::parse(None, &Map::new(), KeyType::Ed25519).unwrap();
        let sig = sign_one(&ed, None, opts, &item(b"m")).unwrap()["signature"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            STANDARD.decode(&sig["vault:v1:".len()..]).unwrap().len(),
            64
        );
        assert!(matches!(
            verify_signature(&ed, opts, b"m", None, "nope"),
            Err(TransitError::SignatureNoPrefix)
        ));
    }

    #[test]
    fn ecdsa_prehashed() {
        let k = key(KeyType::EcdsaP256);
        let data = json!({"prehashed": true}).as_object().cloned().unwrap();
        let opts = SigOptions::parse(None, &data, KeyType::EcdsaP256).unwrap();
        let digest = HashAlgo::Sha256.digest(b"abc");
        let sig = sign_one(&k, None, opts, &item(&digest)).unwrap()["signature"]
            .as_str()
            .unwrap()
            .to_string();
        let plain = SigOptions::parse(None, &Map::new(), KeyType::EcdsaP256).unwrap();
        assert!(verify_signature(&k, plain, b"abc", None, &sig).unwrap());
    }
}
