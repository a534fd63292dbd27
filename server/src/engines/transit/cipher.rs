//! Symmetric encryption with a key version: AES-GCM (128/256) and ChaCha20-Poly1305.
//!
//! Layout of the payload inside `vault:vN:`: `nonce (12) || ciphertext || tag (16)`.
//! Nonces are random (OS source) except for convergent keys, where the nonce is
//! HMAC-SHA256(version HMAC key, context || plaintext) truncated to 12 bytes, so equal
//! plaintexts under one context give equal ciphertexts. Derived keys are HKDF-SHA256 of
//! the version key with the context as info. Lengths are checked before slicing.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce, Tag};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::Mac;
use zeroize::Zeroizing;

use super::ciphertext;
use super::error::TransitError;
use super::key::{Key, KeyType, KeyVersion, Material};

/// Nonce length of every supported AEAD.
pub const NONCE_LEN: usize = 12;
/// Tag length of every supported AEAD.
pub const TAG_LEN: usize = 16;

/// A ready AEAD cipher (round keys zeroized on drop by the cipher crates).
pub enum Aead {
    /// AES-128-GCM.
    Aes128(Box<Aes128Gcm>),
    /// AES-256-GCM.
    Aes256(Box<Aes256Gcm>),
    /// ChaCha20-Poly1305.
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Aead {
    /// The cipher of `key_type` over `key`.
    pub fn new(key_type: KeyType, key: &[u8]) -> Result<Aead, TransitError> {
        let bad = |_| TransitError::invalid("stored key has an unexpected length");
        Ok(match key_type {
            KeyType::Aes128Gcm96 => {
                Aead::Aes128(Box::new(Aes128Gcm::new_from_slice(key).map_err(bad)?))
            }
            KeyType::Aes256Gcm96 => {
                Aead::Aes256(Box::new(Aes256Gcm::new_from_slice(key).map_err(bad)?))
            }
            KeyType::ChaCha20Poly1305 => Aead::ChaCha(Box::new(
                ChaCha20Poly1305::new_from_slice(key).map_err(bad)?,
            )),
            other => {
                return Err(TransitError::Unsupported(format!(
                    "message encryption not supported for key type {other}"
                )))
            }
        })
    }

    /// `nonce || ct || tag` of `plaintext`.
    pub fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, TransitError> {
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(nonce);
        out.extend_from_slice(plaintext);
        let n = Nonce::from_slice(nonce);
        let body = &mut out[NONCE_LEN..];
        let tag = match self {
            Aead::Aes128(c) => c.encrypt_in_place_detached(n, aad, body),
            Aead::Aes256(c) => c.encrypt_in_place_detached(n, aad, body),
            Aead::ChaCha(c) => c.encrypt_in_place_detached(n, aad, body),
        }
        .map_err(|_| TransitError::invalid("encryption failed"))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// The plaintext of `nonce || ct || tag`.
    pub fn open(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, TransitError> {
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(TransitError::CiphertextLength);
        }
        let (nonce, rest) = blob.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut buf = Zeroizing::new(ct.to_vec());
        let n = Nonce::from_slice(nonce);
        let tag = Tag::from_slice(tag);
        match self {
            Aead::Aes128(c) => c.decrypt_in_place_detached(n, aad, &mut buf, tag),
            Aead::Aes256(c) => c.decrypt_in_place_detached(n, aad, &mut buf, tag),
            Aead::ChaCha(c) => c.decrypt_in_place_detached(n, aad, &mut buf, tag),
        }
        .map_err(|_| TransitError::AuthFailed)?;
        Ok(buf)
    }
}

/// What one encryption needs besides the plaintext.
#[derive(Debug, Default, Clone, Copy)]
pub struct Params<'a> {
    /// Derivation context (derived keys).
    pub context: Option<&'a [u8]>,
    /// Additional authenticated data.
    pub aad: &'a [u8],
}

impl Key {
    fn encryption_supported(&self) -> Result<(), TransitError> {
        if self.key_type.supports_encryption() {
            Ok(())
        } else {
            Err(TransitError::Unsupported(format!(
                "message encryption not supported for key type {}",
                self.key_type
            )))
        }
    }

    /// Runs `f` with the cipher of `entry` (derived per context when the key is derived).
    fn with_cipher<T>(
        &self,
        entry: &KeyVersion,
        context: Option<&[u8]>,
        f: impl FnOnce(&Aead) -> Result<T, TransitError>,
    ) -> Result<T, TransitError> {
        match (self.derivation_context(context)?, &entry.material) {
            (Some(ctx), _) => {
                let derived = Key::derive(entry, ctx)?;
                f(&Aead::new(self.key_type, derived.expose())?)
            }
            (None, Material::Aead(aead)) => f(aead),
            (None, _) => Aead::new(self.key_type, entry.key.expose()).and_then(|a| f(&a)),
        }
    }

    /// Encrypts with `version` (None = latest): `(version, "vault:vN:...")`.
    pub fn encrypt(
        &self,
        version: Option<u32>,
        plaintext: &[u8],
        p: Params<'_>,
    ) -> Result<(u32, String), TransitError> {
        self.encryption_supported()?;
        let (v, entry) = self.write_version(version, "encryption")?;
        let mut nonce = [0u8; NONCE_LEN];
        if self.convergent_encryption {
            let mut mac =
                <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(entry.hmac_key.expose())
                    .map_err(|_| TransitError::invalid("convergent nonce failed"))?;
            mac.update(p.context.unwrap_or_default());
            mac.update(plaintext);
            let sum = mac.finalize().into_bytes();
            nonce.copy_from_slice(&sum[..NONCE_LEN]);
        } else {
            getrandom::fill(&mut nonce)
                .map_err(|_| TransitError::invalid("the random source failed"))?;
        }
        let blob =
            self.with_cipher(entry, p.context, |aead| aead.seal(&nonce, plaintext, p.aad))?;
        Ok((v, ciphertext::format(v, &blob)))
    }

    /// Decrypts a `vault:vN:` ciphertext; returns the plaintext and the version.
    pub fn decrypt(
        &self,
        value: &str,
        p: Params<'_>,
    ) -> Result<(u32, Zeroizing<Vec<u8>>), TransitError> {
        if !self.key_type.supports_encryption() {
            return Err(TransitError::Unsupported(format!(
                "message decryption not supported for key type {}",
                self.key_type
            )));
        }
        let parsed = ciphertext::parse(value)?;
        let entry = self.read_version(parsed.version, TransitError::TooNew)?;
        let plaintext =
            self.with_cipher(entry, p.context, |aead| aead.open(&parsed.bytes, p.aad))?;
        Ok((parsed.version, plaintext))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engines::transit::key::NewKey;

    fn key(key_type: KeyType, derived: bool, convergent: bool) -> Key {
        Key::create(
            "k",
            NewKey {
                key_type,
                derived,
                convergent,
                exportable: false,
                allow_plaintext_backup: false,
                auto_rotate_period: 0,
                key_size: 32,
            },
        )
        .unwrap()
    }

    #[test]
    fn round_trip_every_symmetric_type() {
        for t in [
            KeyType::Aes128Gcm96,
            KeyType::Aes256Gcm96,
            KeyType::ChaCha20Poly1305,
        ] {
            let k = key(t, false, false);
            let (v, ct) = k.encrypt(None, b"hello world", Params::default()).unwrap();
            assert_eq!(v, 1);
            let raw = ciphertext::parse(&ct).unwrap().bytes;
            assert_eq!(raw.len(), 11 + NONCE_LEN + TAG_LEN, "{t}");
            let (_, pt) = k.decrypt(&ct, Params::default()).unwrap();
            assert_eq!(pt.as_slice(), b"hello world");
        }
    }

    #[test]
    fn tamper_aad_and_length_fail() {
        let k = key(KeyType::Aes256Gcm96, false, false);
        let aad = Params {
            context: None,
            aad: b"ad",
        };
        let (_, ct) = k.encrypt(None, b"x", aad).unwrap();
        assert!(matches!(
            k.decrypt(&ct, Params::default()),
            Err(TransitError::AuthFailed)
        ));
        let mut raw = ciphertext::parse(&ct).unwrap().bytes;
        raw[13] ^= 1;
        let bad = ciphertext::format(1, &raw);
        assert!(matches!(
            k.decrypt(&bad, aad),
            Err(TransitError::AuthFailed)
        ));
        let short = ciphertext::format(1, &raw[..20]);
        assert!(matches!(
            k.decrypt(&short, aad),
            Err(TransitError::CiphertextLength)
        ));
        assert!(matches!(
            k.decrypt("vault:v2:AAAA", aad),
            Err(TransitError::TooNew)
        ));
    }

    #[test]
    fn derived_keys_need_context_and_separate_contexts() {
        let k = key(KeyType::Aes256Gcm96, true, false);
        assert!(matches!(
            k.encrypt(None, b"x", Params::default()),
            Err(TransitError::MissingContext)
        ));
        let c1 = Params {
            context: Some(b"one"),
            aad: b"",
        };
        let c2 = Params {
            context: Some(b"two"),
            aad: b"",
        };
        let (_, ct) = k.encrypt(None, b"secret", c1).unwrap();
        assert_eq!(k.decrypt(&ct, c1).unwrap().1.as_slice(), b"secret");
        assert!(matches!(k.decrypt(&ct, c2), Err(TransitError::AuthFailed)));
    }

    #[test]
    fn convergent_is_deterministic_per_context() {
        let k = key(KeyType::Aes256Gcm96, true, true);
        let c1 = Params {
            context: Some(b"one"),
            aad: b"",
        };
        let a = k.encrypt(None, b"same", c1).unwrap().1;
        let b = k.encrypt(None, b"same", c1).unwrap().1;
        assert_eq!(a, b);
        let plain = key(KeyType::Aes256Gcm96, false, false);
        assert_ne!(
            plain.encrypt(None, b"same", Params::default()).unwrap().1,
            plain.encrypt(None, b"same", Params::default()).unwrap().1
        );
    }

    #[test]
    fn min_decryption_version_and_signing_keys() {
        let mut k = key(KeyType::ChaCha20Poly1305, false, false);
        let (_, old) = k.encrypt(None, b"x", Params::default()).unwrap();
        k.rotate().unwrap();
        k.min_decryption_version = 2;
        assert!(matches!(
            k.decrypt(&old, Params::default()),
            Err(TransitError::TooOld)
        ));
        let ed = key(KeyType::Ed25519, false, false);
        assert_eq!(
            ed.encrypt(None, b"x", Params::default())
                .unwrap_err()
                .to_string(),
            "message encryption not supported for key type ed25519"
        );
    }
}
