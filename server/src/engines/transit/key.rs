//! A named transit key (OpenBao's "policy"): its type, options and versions.
//!
//! Stored as JSON at `policy/<name>` in the mount's view (the barrier encrypts it). Each
//! version holds the key material for its type and a separate 32-byte HMAC key, so
//! `hmac/` never uses the encryption key. Decoding builds the ready-to-use primitives
//! (AEAD ciphers, signing keys) once, so the cached [`Key`] serves requests without
//! touching storage.
//!
//! Invariants: key material lives in [`Secret`] (zeroized on drop, redacted `Debug`, no
//! `Clone`); `1 <= min_decryption_version <= latest_version`; versions below
//! `min_available_version` are gone from storage.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::cipher::Aead;
use super::error::TransitError;

/// The key types Strongroom offers: the wire type the client crate shares, so the names
/// stored, accepted and shown cannot drift from what clients send.
pub use strongroom_client::api::TransitKeyType as KeyType;

/// Parses a request's `type`.
pub fn parse_key_type(s: &str) -> Result<KeyType, TransitError> {
    s.parse()
        .map_err(|_| TransitError::invalid(format!("unknown key type {s}")))
}

/// Length of the key material for a fresh version of a `key_type` key.
fn material_len(key_type: KeyType, hmac_key_size: usize) -> usize {
    match key_type {
        KeyType::Aes128Gcm96 => 16,
        KeyType::Hmac => hmac_key_size,
        _ => 32,
    }
}

/// Key material: zeroized on drop, redacted in `Debug`, stored as base64.
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// `len` bytes from the OS random source.
    pub fn random(len: usize) -> Result<Secret, TransitError> {
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        getrandom::fill(&mut bytes)
            .map_err(|_| TransitError::invalid("the random source failed"))?;
        Ok(Secret(bytes))
    }

    /// Wraps bytes.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Secret {
        Secret(bytes)
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The first 32 bytes as an array (seeds and scalars).
    pub fn as_32(&self) -> Result<Zeroizing<[u8; 32]>, TransitError> {
        let mut out = Zeroizing::new([0u8; 32]);
        if self.0.len() != 32 {
            return Err(TransitError::invalid("stored key has an unexpected length"));
        }
        out.copy_from_slice(&self.0);
        Ok(out)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(STANDARD.encode(self.0.as_slice()));
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("base64 key material")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                STANDARD
                    .decode(v)
                    .map(|b| Secret(Zeroizing::new(b)))
                    .map_err(|_| E::custom("key material is not base64"))
            }
        }
        d.deserialize_str(V)
    }
}

/// Ready-to-use primitives of one version (built when the key is decoded).
pub enum Material {
    /// Nothing prebuilt (derived keys derive per context; HMAC keys use the bytes).
    None,
    /// An AEAD cipher.
    Aead(Aead),
    /// An Ed25519 signing key.
    Ed25519(Box<ed25519_dalek::SigningKey>),
    /// A P-256 ECDSA signing key.
    P256(Box<p256::ecdsa::SigningKey>),
}

/// One version of a key.
#[derive(Serialize, Deserialize)]
pub struct KeyVersion {
    /// Creation time, unix nanoseconds.
    pub created_ns: i128,
    /// The key (AEAD key, Ed25519 seed, P-256 scalar, or HMAC key of an `hmac` key).
    pub key: Secret,
    /// The HMAC key of this version (for `hmac/` and convergent nonces).
    pub hmac_key: Secret,
    /// Built from `key` by [`Key::prepare`].
    #[serde(skip, default = "no_material")]
    pub material: Material,
}

fn no_material() -> Material {
    Material::None
}

impl fmt::Debug for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVersion")
            .field("created_ns", &self.created_ns)
            .finish_non_exhaustive()
    }
}

impl KeyVersion {
    fn generate(key_type: KeyType, hmac_key_size: usize) -> Result<KeyVersion, TransitError> {
        let key = match key_type {
            KeyType::EcdsaP256 => random_p256_scalar()?,
            other => Secret::random(material_len(other, hmac_key_size))?,
        };
        Ok(KeyVersion {
            created_ns: OffsetDateTime::now_utc().unix_timestamp_nanos(),
            key,
            hmac_key: Secret::random(32)?,
            material: Material::None,
        })
    }

    pub(super) fn created(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.created_ns)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// A valid P-256 scalar drawn from the OS random source (retried in the negligible case
/// of zero or a value above the group order).
fn random_p256_scalar() -> Result<Secret, TransitError> {
    for _ in 0..16 {
        let candidate = Secret::random(32)?;
        let bytes = candidate.as_32()?;
        if p256::ecdsa::SigningKey::from_bytes(&(*bytes).into()).is_ok() {
            return Ok(candidate);
        }
    }
    Err(TransitError::invalid("could not generate an ECDSA key"))
}

/// Options of a key given at creation.
#[derive(Debug, Clone, Copy)]
pub struct NewKey {
    /// The type.
    pub key_type: KeyType,
    /// Derive a key per `context`.
    pub derived: bool,
    /// Deterministic nonces (needs `derived`).
    pub convergent: bool,
    /// Stored only (export is not offered).
    pub exportable: bool,
    /// Stored only (backup is not offered).
    pub allow_plaintext_backup: bool,
    /// Seconds; stored and reported.
    pub auto_rotate_period: u64,
    /// HMAC key size in bytes (`hmac` type).
    pub key_size: usize,
}

/// A named key with its versions.
#[derive(Debug, Serialize, Deserialize)]
pub struct Key {
    /// The name.
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// Derived per context.
    pub derived: bool,
    /// Convergent encryption.
    pub convergent_encryption: bool,
    /// `exportable` (stored).
    pub exportable: bool,
    /// `allow_plaintext_backup` (stored).
    pub allow_plaintext_backup: bool,
    /// Whether DELETE may remove it.
    pub deletion_allowed: bool,
    /// Seconds (stored).
    pub auto_rotate_period: u64,
    /// Lowest version that decrypts/verifies.
    pub min_decryption_version: u32,
    /// Lowest version that encrypts/signs (0 = any).
    pub min_encryption_version: u32,
    /// Versions below this are deleted.
    pub min_available_version: u32,
    /// Highest version.
    pub latest_version: u32,
    /// HMAC key size of an `hmac` key, bytes.
    pub key_size: usize,
    /// The versions that exist.
    pub versions: BTreeMap<u32, KeyVersion>,
}

impl Key {
    /// A fresh key with version 1.
    pub fn create(name: &str, opts: NewKey) -> Result<Key, TransitError> {
        let mut versions = BTreeMap::new();
        versions.insert(1, KeyVersion::generate(opts.key_type, opts.key_size)?);
        let mut key = Key {
            name: name.to_string(),
            key_type: opts.key_type,
            derived: opts.derived,
            convergent_encryption: opts.convergent,
            exportable: opts.exportable,
            allow_plaintext_backup: opts.allow_plaintext_backup,
            deletion_allowed: false,
            auto_rotate_period: opts.auto_rotate_period,
            min_decryption_version: 1,
            min_encryption_version: 0,
            min_available_version: 0,
            latest_version: 1,
            key_size: opts.key_size,
            versions,
        };
        key.prepare()?;
        Ok(key)
    }

    /// Decodes a stored key and builds its primitives.
    pub fn decode(raw: &[u8]) -> Result<Key, TransitError> {
        let mut key: Key = serde_json::from_slice(raw).map_err(|e| {
            TransitError::Internal(Box::new(crate::engines::EngineError::Corrupt(format!(
                "transit key: {e}"
            ))))
        })?;
        key.prepare()?;
        Ok(key)
    }

    /// Encodes for storage (zeroized after use by the caller's buffer).
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, TransitError> {
        let mut buf = Zeroizing::new(Vec::with_capacity(1024 + 160 * self.versions.len()));
        serde_json::to_writer(&mut *buf, self)
            .map_err(|e| TransitError::invalid(format!("could not encode the key: {e}")))?;
        Ok(buf)
    }

    /// Builds the primitives of every version that has none.
    fn prepare(&mut self) -> Result<(), TransitError> {
        let (key_type, derived) = (self.key_type, self.derived);
        for v in self.versions.values_mut() {
            if !matches!(v.material, Material::None) {
                continue;
            }
            v.material = match key_type {
                KeyType::Aes128Gcm96 | KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305
                    if !derived =>
                {
                    Material::Aead(Aead::new(key_type, v.key.expose())?)
                }
                KeyType::Ed25519 if !derived => Material::Ed25519(Box::new(
                    ed25519_dalek::SigningKey::from_bytes(&*v.key.as_32()?),
                )),
                KeyType::EcdsaP256 => Material::P256(Box::new(
                    p256::ecdsa::SigningKey::from_bytes(&(*v.key.as_32()?).into())
                        .map_err(|_| TransitError::invalid("stored ECDSA key is invalid"))?,
                )),
                _ => Material::None,
            };
        }
        Ok(())
    }

    /// Adds a version and makes it the latest.
    pub fn rotate(&mut self) -> Result<(), TransitError> {
        let next = self.latest_version + 1;
        self.versions
            .insert(next, KeyVersion::generate(self.key_type, self.key_size)?);
        self.latest_version = next;
        self.prepare()
    }

    /// Drops the versions below `min_available_version`.
    pub fn trim(&mut self, min_available_version: u32) {
        self.min_available_version = min_available_version;
        self.versions.retain(|v, _| *v >= min_available_version);
    }

    /// The version to encrypt/sign/HMAC with: `requested` (0/None = latest), checked
    /// against the policy. `what` names the operation in the error texts.
    pub fn write_version(
        &self,
        requested: Option<u32>,
        what: &str,
    ) -> Result<(u32, &KeyVersion), TransitError> {
        let version = match requested {
            None | Some(0) => self.latest_version,
            Some(v) => v,
        };
        if version > self.latest_version {
            return Err(TransitError::invalid(format!(
                "requested version for {what} is higher than the latest key version"
            )));
        }
        if self.min_encryption_version > 0 && version < self.min_encryption_version {
            return Err(TransitError::invalid(format!(
                "requested version for {what} is less than the minimum encryption key version"
            )));
        }
        let entry = self
            .versions
            .get(&version)
            .ok_or_else(|| TransitError::invalid("no such key version"))?;
        Ok((version, entry))
    }

    /// The version to decrypt/verify with, checked against `min_decryption_version`.
    pub fn read_version(
        &self,
        version: u32,
        too_new: TransitError,
    ) -> Result<&KeyVersion, TransitError> {
        if version > self.latest_version {
            return Err(too_new);
        }
        if version < self.min_decryption_version {
            return Err(TransitError::TooOld);
        }
        self.versions.get(&version).ok_or(TransitError::TooOld)
    }

    /// For a derived key, the context (required); `None` for a plain key.
    pub fn derivation_context<'c>(
        &self,
        context: Option<&'c [u8]>,
    ) -> Result<Option<&'c [u8]>, TransitError> {
        if !self.derived {
            return Ok(None);
        }
        match context {
            Some(c) if !c.is_empty() => Ok(Some(c)),
            _ => Err(TransitError::MissingContext),
        }
    }

    /// HKDF-SHA256 of the version's key with `context` as info, as long as the key.
    pub fn derive(version: &KeyVersion, context: &[u8]) -> Result<Secret, TransitError> {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, version.key.expose());
        let mut out = Zeroizing::new(vec![0u8; version.key.expose().len()]);
        hk.expand(context, &mut out)
            .map_err(|_| TransitError::invalid("key derivation failed"))?;
        Ok(Secret::from_bytes(out))
    }

    /// The key description: what `GET keys/:name` and the writes answer.
    pub fn describe(&self) -> Value {
        let t = self.key_type;
        let mut keys = Map::new();
        for (v, entry) in self.versions.range(self.min_decryption_version..) {
            let value = if t.supports_signing() {
                let created = entry
                    .created()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                json!({
                    "certificate_chain": "",
                    "creation_time": created,
                    "name": match t { KeyType::EcdsaP256 => "P-256", _ => "ed25519" },
                    "public_key": public_key(entry, self.derived).unwrap_or_default(),
                })
            } else {
                json!(entry.created().unix_timestamp())
            };
            keys.insert(v.to_string(), value);
        }
        let mut d = json!({
            "allow_plaintext_backup": self.allow_plaintext_backup,
            "auto_rotate_period": self.auto_rotate_period,
            "deletion_allowed": self.deletion_allowed,
            "derived": self.derived,
            "exportable": self.exportable,
            "imported_key": false,
            "keys": keys,
            "latest_version": self.latest_version,
            "min_available_version": self.min_available_version,
            "min_decryption_version": self.min_decryption_version,
            "min_encryption_version": self.min_encryption_version,
            "name": self.name,
            "soft_deleted": false,
            "supports_decryption": t.supports_encryption(),
            "supports_derivation": t.supports_derivation(),
            "supports_encryption": t.supports_encryption(),
            "supports_signing": t.supports_signing(),
            "type": t.as_str(),
        });
        if let Some(obj) = d.as_object_mut() {
            if self.derived {
                obj.insert("kdf".into(), json!("hkdf_sha256"));
                obj.insert(
                    "convergent_encryption".into(),
                    json!(self.convergent_encryption),
                );
                if self.convergent_encryption {
                    obj.insert("convergent_encryption_version".into(), json!(3));
                }
            }
            if t == KeyType::Hmac {
                obj.insert("key_size".into(), json!(self.key_size));
            }
        }
        d
    }
}

/// The public key of a version: Ed25519 raw 32 bytes in base64, P-256 as PEM SPKI.
/// A derived Ed25519 key has no single public key (empty, as OpenBao shows it).
fn public_key(entry: &KeyVersion, _derived: bool) -> Option<String> {
    match &entry.material {
        Material::Ed25519(sk) => Some(STANDARD.encode(sk.verifying_key().to_bytes())),
        Material::P256(sk) => {
            use p256::pkcs8::{EncodePublicKey, LineEnding};
            p256::PublicKey::from(sk.verifying_key())
                .to_public_key_pem(LineEnding::LF)
                .ok()
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(key_type: KeyType) -> NewKey {
        NewKey {
            key_type,
            derived: false,
            convergent: false,
            exportable: false,
            allow_plaintext_backup: false,
            auto_rotate_period: 0,
            key_size: 32,
        }
    }

    #[test]
    fn encode_decode_keeps_versions_and_redacts_debug() {
        let mut k = Key::create("k", opts(KeyType::Ed25519)).unwrap();
        k.rotate().unwrap();
        let raw = k.encode().unwrap();
        let back = Key::decode(&raw).unwrap();
        assert_eq!(back.latest_version, 2);
        assert_eq!(back.versions[&2].key.expose(), k.versions[&2].key.expose());
        let dbg = format!("{back:?}");
        assert!(dbg.contains("KeyVersion"));
        assert!(!dbg.contains(&STANDARD.encode(k.versions[&1].key.expose())));
        let d = back.describe();
        assert_eq!(d["keys"]["1"]["name"], "ed25519");
        assert_eq!(
            STANDARD
                .decode(d["keys"]["1"]["public_key"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
    }

    #[test]
    fn ecdsa_public_key_is_pem_spki() {
        let k = Key::create("e", opts(KeyType::EcdsaP256)).unwrap();
        let d = k.describe();
        assert_eq!(d["keys"]["1"]["name"], "P-256");
        assert!(d["keys"]["1"]["public_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(d["supports_signing"], true);
        assert_eq!(d["supports_derivation"], false);
    }

    #[test]
    fn version_rules() {
        let mut k = Key::create("k", opts(KeyType::Aes256Gcm96)).unwrap();
        k.rotate().unwrap();
        k.rotate().unwrap();
        k.min_decryption_version = 2;
        assert!(matches!(
            k.read_version(1, TransitError::TooNew),
            Err(TransitError::TooOld)
        ));
        assert!(k.read_version(3, TransitError::TooNew).is_ok());
        assert!(matches!(
            k.read_version(4, TransitError::TooNew),
            Err(TransitError::TooNew)
        ));
        assert_eq!(k.write_version(None, "encryption").unwrap().0, 3);
        k.min_encryption_version = 3;
        assert!(k.write_version(Some(2), "encryption").is_err());
        let d = k.describe();
        assert_eq!(
            d["keys"].as_object().unwrap().len(),
            2,
            "versions below min_decryption hidden"
        );
        k.trim(2);
        assert!(!k.versions.contains_key(&1));
    }
}
