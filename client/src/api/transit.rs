//! Wire types of the transit secrets engine (wire reference §8): key descriptions,
//! key creation and configuration, and the closed sets of key types and data key kinds.
//!
//! Plaintexts, data keys and random bytes are not here: the typed calls decode them into
//! zeroizing buffers straight away.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The key types the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum TransitKeyType {
    /// AES-128 in GCM mode with a 96-bit nonce (encryption).
    #[serde(rename = "aes128-gcm96")]
    Aes128Gcm96,
    /// AES-256 in GCM mode with a 96-bit nonce (encryption; the default).
    #[default]
    #[serde(rename = "aes256-gcm96")]
    Aes256Gcm96,
    /// ChaCha20-Poly1305 (encryption).
    #[serde(rename = "chacha20-poly1305")]
    ChaCha20Poly1305,
    /// Ed25519 (signatures).
    #[serde(rename = "ed25519")]
    Ed25519,
    /// ECDSA on P-256 (signatures).
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    /// A bare HMAC key.
    #[serde(rename = "hmac")]
    Hmac,
}

impl TransitKeyType {
    /// Every type, in the order the server documents them.
    pub const ALL: [TransitKeyType; 6] = [
        TransitKeyType::Aes128Gcm96,
        TransitKeyType::Aes256Gcm96,
        TransitKeyType::ChaCha20Poly1305,
        TransitKeyType::Ed25519,
        TransitKeyType::EcdsaP256,
        TransitKeyType::Hmac,
    ];

    /// The wire name, e.g. `aes256-gcm96`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransitKeyType::Aes128Gcm96 => "aes128-gcm96",
            TransitKeyType::Aes256Gcm96 => "aes256-gcm96",
            TransitKeyType::ChaCha20Poly1305 => "chacha20-poly1305",
            TransitKeyType::Ed25519 => "ed25519",
            TransitKeyType::EcdsaP256 => "ecdsa-p256",
            TransitKeyType::Hmac => "hmac",
        }
    }

    /// Whether the key encrypts: encrypt, decrypt, rewrap and datakey.
    pub fn supports_encryption(self) -> bool {
        matches!(
            self,
            TransitKeyType::Aes128Gcm96
                | TransitKeyType::Aes256Gcm96
                | TransitKeyType::ChaCha20Poly1305
        )
    }

    /// Whether the key makes signatures (sign/verify with a signature; its read shows
    /// public keys).
    pub fn supports_signing(self) -> bool {
        matches!(self, TransitKeyType::Ed25519 | TransitKeyType::EcdsaP256)
    }

    /// Whether `derived = true` is allowed for the key.
    pub fn supports_derivation(self) -> bool {
        matches!(
            self,
            TransitKeyType::Aes128Gcm96
                | TransitKeyType::Aes256Gcm96
                | TransitKeyType::ChaCha20Poly1305
                | TransitKeyType::Ed25519
        )
    }
}

impl fmt::Display for TransitKeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TransitKeyType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransitKeyType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown transit key type {s:?}"))
    }
}

/// Options of a new key (`POST keys/:name`); the type is a separate argument.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct CreateKeyOptions {
    /// Derive a key per `context` (HKDF); every operation must then give a context.
    #[serde(default)]
    pub derived: bool,
    /// Convergent encryption (same plaintext and context → same ciphertext); needs `derived`.
    #[serde(default)]
    pub convergent_encryption: bool,
    /// Whether the key may be exported.
    #[serde(default)]
    pub exportable: bool,
    /// Whether a plaintext backup may be taken.
    #[serde(default)]
    pub allow_plaintext_backup: bool,
    /// Rotate automatically after this long (`"24h"`, seconds; at least an hour), `None`
    /// for never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rotate_period: Option<String>,
    /// HMAC keys only: key size in bytes (32 to 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_size: Option<u32>,
}

/// The body of `POST keys/:name/config`: only the fields that are `Some` change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct TransitKeyConfig {
    /// Oldest version that may still decrypt (older ciphertexts are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_decryption_version: Option<u32>,
    /// Oldest version that may encrypt (0 = the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_encryption_version: Option<u32>,
    /// Whether the key may be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_allowed: Option<bool>,
    /// Allow export (cannot be turned off again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable: Option<bool>,
    /// Allow plaintext backups (cannot be turned off again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_plaintext_backup: Option<bool>,
    /// Rotation period (`"24h"`, seconds; `"0"` disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rotate_period: Option<String>,
}

/// A key as `GET keys/:name` (and the key writes) describe it. No key material: for
/// asymmetric keys `keys` maps each version to its public key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransitKey {
    /// The key's name.
    pub name: String,
    /// The key type.
    #[serde(rename = "type")]
    pub key_type: TransitKeyType,
    /// Newest version.
    pub latest_version: u32,
    /// Oldest version that may decrypt.
    pub min_decryption_version: u32,
    /// Oldest version that may encrypt (0 = any).
    #[serde(default)]
    pub min_encryption_version: u32,
    /// Oldest version kept at all (after `trim`).
    #[serde(default)]
    pub min_available_version: u32,
    /// Whether the key may be deleted.
    pub deletion_allowed: bool,
    /// Whether the key is derived (needs a context).
    pub derived: bool,
    /// Whether the key may be exported.
    #[serde(default)]
    pub exportable: bool,
    /// Whether a plaintext backup may be taken.
    #[serde(default)]
    pub allow_plaintext_backup: bool,
    /// Automatic rotation period in seconds, 0 when off.
    #[serde(default)]
    pub auto_rotate_period: u64,
    /// Whether it can encrypt.
    pub supports_encryption: bool,
    /// Whether it can decrypt.
    pub supports_decryption: bool,
    /// Whether it can be derived.
    pub supports_derivation: bool,
    /// Whether it can sign.
    pub supports_signing: bool,
    /// Convergent encryption (derived keys only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convergent_encryption: Option<bool>,
    /// Per version: the creation time (unix seconds) of symmetric keys, or
    /// `{"name","public_key","creation_time",...}` of asymmetric ones.
    pub keys: BTreeMap<String, Value>,
}

impl TransitKey {
    /// The public key of `version` of an asymmetric key (Ed25519: base64 of the raw key;
    /// P-256: PEM), `None` for symmetric keys or unknown versions.
    pub fn public_key(&self, version: u32) -> Option<&str> {
        self.keys
            .get(&version.to_string())?
            .get("public_key")?
            .as_str()
            .filter(|k| !k.is_empty())
    }
}

/// `datakey/plaintext/:name` or `datakey/wrapped/:name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKeyKind {
    /// Return the new key both in plaintext and encrypted.
    Plaintext,
    /// Return the new key only encrypted.
    Wrapped,
}

impl DataKeyKind {
    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            DataKeyKind::Plaintext => "plaintext",
            DataKeyKind::Wrapped => "wrapped",
        }
    }
}

/// Options of `sign/:name` and `verify/:name` (all optional).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct SignOptions {
    /// `sha2-256` (default), `sha2-384`, `sha2-512`, ... or `none` (Ed25519 ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_algorithm: Option<String>,
    /// `asn1` (default) or `jws` (ECDSA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marshaling_algorithm: Option<String>,
    /// The input is already a digest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prehashed: bool,
    /// Sign with this version (default the latest); ignored by `verify`, which reads it
    /// from the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_version: Option<u32>,
}
