//! `hmac/:name[/:algorithm]`: HMACs of base64 inputs with the key version's HMAC key
//! (a separate 32-byte key per version; an `hmac`-type key uses its own material), and
//! their verification for `verify/` with `hmac`. Output `vault:vN:` + base64(MAC).

use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::batch::{self, Items};
use super::cache::KeyCache;
use super::ciphertext::{self, Kind};
use super::error::TransitError;
use super::key::{Key, KeyType, KeyVersion};
use crate::barrier::StorageView;
use crate::core::fields::opt_string;
use crate::engines::EngineResponse;

/// The hash functions offered for HMACs and signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgo {
    /// SHA-224.
    Sha224,
    /// SHA-256 (the default).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgo {
    /// Parses OpenBao's name (`sha2-256`, ...).
    pub fn parse(s: &str) -> Option<HashAlgo> {
        Some(match s {
            "sha2-224" => HashAlgo::Sha224,
            "sha2-256" => HashAlgo::Sha256,
            "sha2-384" => HashAlgo::Sha384,
            "sha2-512" => HashAlgo::Sha512,
            _ => return None,
        })
    }

    /// The digest of `input`.
    pub fn digest(self, input: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            HashAlgo::Sha224 => Sha224::digest(input).to_vec(),
            HashAlgo::Sha256 => Sha256::digest(input).to_vec(),
            HashAlgo::Sha384 => Sha384::digest(input).to_vec(),
            HashAlgo::Sha512 => Sha512::digest(input).to_vec(),
        }
    }
}

/// The algorithm of a request: the path segment wins over the `field` member.
pub fn algorithm(
    path_algo: Option<&str>,
    data: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, TransitError> {
    Ok(match path_algo {
        Some(a) => Some(a.to_string()),
        None => opt_string(data, field)?.filter(|s| !s.is_empty()),
    })
}

fn mac(algo: HashAlgo, key: &[u8], input: &[u8]) -> Result<Vec<u8>, TransitError> {
    fn run<M: Mac + hmac::digest::KeyInit>(
        key: &[u8],
        input: &[u8],
    ) -> Result<Vec<u8>, TransitError> {
        let mut m = <M as Mac>::new_from_slice(key)
            .map_err(|_| TransitError::invalid("HMAC key value could not be computed"))?;
        m.update(input);
        Ok(m.finalize().into_bytes().to_vec())
    }
    match algo {
        HashAlgo::Sha224 => run::<Hmac<Sha224>>(key, input),
        HashAlgo::Sha256 => run::<Hmac<Sha256>>(key, input),
        HashAlgo::Sha384 => run::<Hmac<Sha384>>(key, input),
        HashAlgo::Sha512 => run::<Hmac<Sha512>>(key, input),
    }
}

fn hmac_key(key: &Key, entry: &KeyVersion) -> Vec<u8> {
    match key.key_type {
        KeyType::Hmac => entry.key.expose().to_vec(),
        _ => entry.hmac_key.expose().to_vec(),
    }
}

fn parse_algo(name: Option<String>) -> Result<HashAlgo, TransitError> {
    let name = name.unwrap_or_else(|| "sha2-256".to_string());
    HashAlgo::parse(&name)
        .ok_or_else(|| TransitError::invalid(format!("unsupported algorithm {name:?}")))
}

/// `POST hmac/:name[/:algorithm]`.
pub async fn hmac(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    path_algo: Option<&str>,
    data: &Map<String, Value>,
) -> Result<EngineResponse, TransitError> {
    let key = cache
        .require(view, name, "encryption key not found")
        .await?;
    let version = crate::core::fields::opt_u32(data, "key_version")?.filter(|v| *v != 0);
    let version = version.unwrap_or(key.latest_version);
    if version > key.latest_version {
        return Err(TransitError::invalid(format!(
            "key version does not exist; latest key version is {}",
            key.latest_version
        )));
    }
    if key.min_encryption_version > 0 && version < key.min_encryption_version {
        return Err(TransitError::invalid(
            "cannot generate HMAC: version is too old (disallowed by policy)",
        ));
    }
    let entry = key
        .versions
        .get(&version)
        .ok_or_else(|| TransitError::invalid("no HMAC key exists for that key version"))?;
    let algo = parse_algo(algorithm(path_algo, data, "algorithm")?)?;
    let items = Items::parse(data)?;
    if let Items::Single(one) = items {
        if one.get("input").is_none_or(Value::is_null) {
            return Err(TransitError::invalid("missing input for HMAC"));
        }
    }
    let secret = zeroize::Zeroizing::new(hmac_key(&key, entry));
    let results = items
        .as_slice()
        .iter()
        .map(|item| {
            let input = batch::b64_field(item, "input")?
                .ok_or_else(|| TransitError::invalid("missing input for HMAC"))?;
            let sum = mac(algo, &secret, &input)?;
            let mut out = Map::new();
            out.insert("hmac".into(), json!(ciphertext::format(version, &sum)));
            Ok(out)
        })
        .collect();
    batch::respond(data, &items, results)
}

/// Verifies `vault:vN:` HMAC `value` over `input`: `Ok(false)` when it does not match.
pub fn verify_hmac(
    key: &Key,
    algo: Option<String>,
    input: &[u8],
    value: &str,
) -> Result<bool, TransitError> {
    let algo = parse_algo(algo)?;
    let (version, payload) = ciphertext::split(value, Kind::Signature)?;
    let entry = key.read_version(version, TransitError::SignatureTooNew)?;
    let Ok(expected) = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, payload)
    else {
        return Err(TransitError::SignatureBase64);
    };
    let secret = zeroize::Zeroizing::new(hmac_key(key, entry));
    let sum = mac(algo, &secret, input)?;
    Ok(subtle::ConstantTimeEq::ct_eq(sum.as_slice(), expected.as_slice()).into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engines::transit::key::NewKey;

    #[test]
    fn hmac_uses_its_own_key_and_verifies() {
        let key = Key::create(
            "k",
            NewKey {
                key_type: KeyType::Aes256Gcm96,
                derived: false,
                convergent: false,
                exportable: false,
                allow_plaintext_backup: false,
                auto_rotate_period: 0,
                key_size: 32,
            },
        )
        .unwrap();
        let entry = &key.versions[&1];
        let sum = mac(HashAlgo::Sha256, &hmac_key(&key, entry), b"data").unwrap();
        let with_enc_key = mac(HashAlgo::Sha256, entry.key.expose(), b"data").unwrap();
        assert_ne!(sum, with_enc_key, "the HMAC key is not the encryption key");
        let value = ciphertext::format(1, &sum);
        assert!(verify_hmac(&key, None, b"data", &value).unwrap());
        assert!(!verify_hmac(&key, None, b"datA", &value).unwrap());
        assert!(!verify_hmac(&key, Some("sha2-512".into()), b"data", &value).unwrap());
        assert!(verify_hmac(&key, Some("md5".into()), b"data", &value).is_err());
    }
}
