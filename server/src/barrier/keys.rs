//! Key material of the barrier: the unseal key, the root key, the keyring's data keys and
//! the purpose keys derived from the root key.
//!
//! Where it sits: `seal → barrier` hands an [`UnsealKey`] in (combined from Shamir shares);
//! `core → barrier` asks for [`DerivedKey`]s by [`KeyPurpose`]. The hierarchy is
//! shares → unseal key (never stored) → wraps the [`RootKey`] → the root key encrypts the
//! keyring → each keyring term's [`DataKey`] encrypts entries (DESIGN.md §4).
//!
//! Invariants:
//! - Every type here is exactly 32 bytes of secret, zeroized on drop, prints as `Name(..)`,
//!   and is neither `Clone` nor `Serialize`: a copy of key material is always an explicit,
//!   greppable `expose()`.
//! - Fresh keys come only from the OS RNG (`getrandom::fill`).
//! - Every [`KeyPurpose`] has its own HKDF `info` string, and the barrier's internal
//!   keyring-encryption key uses yet another one, so no derived key serves two purposes.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::BarrierError;

/// Length in bytes of every key in the hierarchy (AES-256 / HMAC-SHA256 keys).
pub const KEY_LEN: usize = 32;

/// Fills a fresh 32-byte array from the OS RNG.
fn random_key() -> Result<[u8; KEY_LEN], BarrierError> {
    let mut bytes = [0u8; KEY_LEN];
    if getrandom::fill(&mut bytes).is_err() {
        bytes.zeroize();
        return Err(BarrierError::Rng);
    }
    Ok(bytes)
}

/// Copies exactly [`KEY_LEN`] bytes out of `bytes`, or fails with `what` in the error.
fn exact_key(bytes: &[u8], what: &'static str) -> Result<[u8; KEY_LEN], BarrierError> {
    if bytes.len() != KEY_LEN {
        return Err(BarrierError::Malformed(what));
    }
    let mut out = [0u8; KEY_LEN];
    out.copy_from_slice(bytes);
    Ok(out)
}

macro_rules! redacted_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}

/// The key that wraps the root key. Combined from Shamir shares by the seal; never stored.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct UnsealKey([u8; KEY_LEN]);

impl UnsealKey {
    /// Takes exactly 32 bytes (e.g. the output of the Shamir combine).
    pub fn from_bytes(bytes: &[u8]) -> Result<UnsealKey, BarrierError> {
        exact_key(bytes, "an unseal key must be exactly 32 bytes").map(UnsealKey)
    }

    /// A fresh random unseal key (at init and at rekey).
    pub fn generate() -> Result<UnsealKey, BarrierError> {
        random_key().map(UnsealKey)
    }

    /// The raw bytes, for the Shamir split. Do not copy them anywhere that is not zeroized.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

redacted_debug!(UnsealKey);

/// The root key: generated once at init, stored only wrapped under the unseal key.
///
/// It is used for nothing directly: it is the HKDF input for the keyring-encryption key and
/// for every [`KeyPurpose`] key. Rekey re-wraps it; rotation does not change it, so derived
/// keys are stable for the life of the vault.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RootKey([u8; KEY_LEN]);

impl RootKey {
    pub(crate) fn generate() -> Result<RootKey, BarrierError> {
        random_key().map(RootKey)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<RootKey, BarrierError> {
        exact_key(bytes, "the stored root key is not 32 bytes").map(RootKey)
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// HKDF-SHA256 (no salt: the input is already uniformly random) with `info`.
    ///
    /// The HMAC state inside `hkdf` is not zeroized by that crate (sha2/hmac 0.10/0.12 have
    /// no zeroize support); it lives on the stack for the duration of this call only.
    fn hkdf(&self, info: &[u8]) -> Result<DerivedKey, BarrierError> {
        let mut out = DerivedKey([0u8; KEY_LEN]);
        Hkdf::<Sha256>::new(None, &self.0)
            .expand(info, &mut out.0)
            .map_err(|_| BarrierError::Crypto("HKDF output length"))?;
        Ok(out)
    }

    /// The key for `purpose`.
    pub(crate) fn derive(&self, purpose: KeyPurpose) -> Result<DerivedKey, BarrierError> {
        self.hkdf(purpose.info().as_bytes())
    }

    /// The key that encrypts the keyring record. Deliberately not a [`KeyPurpose`]: nobody
    /// outside the barrier can ask for it.
    pub(crate) fn keyring_key(&self) -> Result<DerivedKey, BarrierError> {
        self.hkdf(KEYRING_INFO.as_bytes())
    }
}

redacted_debug!(RootKey);

/// HKDF `info` of the barrier-internal keyring-encryption key.
pub(crate) const KEYRING_INFO: &str = "strongroom/v1/keyring-encryption";

/// One keyring term's AES-256-GCM key.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    pub(crate) fn generate() -> Result<DataKey, BarrierError> {
        random_key().map(DataKey)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<DataKey, BarrierError> {
        exact_key(bytes, "a keyring data key is not 32 bytes").map(DataKey)
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

redacted_debug!(DataKey);

/// A 32-byte key derived from the root key for exactly one [`KeyPurpose`].
///
/// Stable across seal/unseal, rotation and rekey (the root key never changes). Derive it once
/// per unseal and keep it in the caller's unsealed state.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DerivedKey([u8; KEY_LEN]);

impl DerivedKey {
    /// The raw bytes (e.g. as an HMAC key).
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

redacted_debug!(DerivedKey);

/// What a derived key is for. Closed: adding a purpose means adding a variant with a new,
/// never reused `info` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// HMAC key for hashing token ids before they become storage keys.
    TokenHash,
    /// HMAC key for secret strings in audit logs (`hmac-sha256:...`).
    AuditHmac,
}

impl KeyPurpose {
    /// Every purpose, for tests and for callers that derive everything at unseal.
    pub const ALL: [KeyPurpose; 2] = [KeyPurpose::TokenHash, KeyPurpose::AuditHmac];

    /// The HKDF `info` string: distinct per purpose, and versioned.
    pub fn info(self) -> &'static str {
        match self {
            KeyPurpose::TokenHash => "strongroom/v1/token-hash",
            KeyPurpose::AuditHmac => "strongroom/v1/audit-hmac",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let bytes = [0xABu8; KEY_LEN];
        let unseal = UnsealKey::from_bytes(&bytes).unwrap();
        let root = RootKey::from_bytes(&bytes).unwrap();
        let data = DataKey::from_bytes(&bytes).unwrap();
        let derived = root.derive(KeyPurpose::TokenHash).unwrap();
        assert_eq!(format!("{unseal:?}"), "UnsealKey(..)");
        assert_eq!(format!("{root:?}"), "RootKey(..)");
        assert_eq!(format!("{data:?}"), "DataKey(..)");
        assert_eq!(format!("{derived:?}"), "DerivedKey(..)");
        for s in [
            format!("{unseal:?}"),
            format!("{root:#?}"),
            format!("{data:?}"),
            format!("{derived:?}"),
        ] {
            assert!(!s.to_lowercase().contains("ab"), "{s}");
            assert!(!s.contains("171"), "{s}");
        }
    }

    #[test]
    fn unseal_key_requires_exactly_32_bytes() {
        for len in [0usize, 1, 16, 31, 33, 64] {
            let err = UnsealKey::from_bytes(&vec![7u8; len]).unwrap_err();
            assert!(matches!(err, BarrierError::Malformed(_)), "{len}: {err:?}");
        }
        let key = UnsealKey::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(key.expose(), &[7u8; 32]);
    }

    #[test]
    fn generated_keys_are_random() {
        let a = UnsealKey::generate().unwrap();
        let b = UnsealKey::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.expose(), &[0u8; 32]);
        let r1 = RootKey::generate().unwrap();
        let r2 = RootKey::generate().unwrap();
        assert_ne!(r1.expose(), r2.expose());
        let d1 = DataKey::generate().unwrap();
        let d2 = DataKey::generate().unwrap();
        assert_ne!(d1.expose(), d2.expose());
    }

    #[test]
    fn purposes_have_distinct_info_and_keys() {
        let mut infos: Vec<&str> = KeyPurpose::ALL.iter().map(|p| p.info()).collect();
        infos.push(KEYRING_INFO);
        let mut dedup = infos.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), infos.len());
        assert!(infos.iter().all(|i| i.starts_with("strongroom/v1/")));

        let root = RootKey::generate().unwrap();
        let mut keys: Vec<[u8; 32]> = KeyPurpose::ALL
            .iter()
            .map(|p| *root.derive(*p).unwrap().expose())
            .collect();
        keys.push(*root.keyring_key().unwrap().expose());
        keys.push(*root.expose());
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(
            keys.len(),
            n,
            "derived keys must differ from each other and the root"
        );
    }

    #[test]
    fn derivation_is_deterministic() {
        let a = RootKey::from_bytes(&[1u8; 32]).unwrap();
        let b = RootKey::from_bytes(&[1u8; 32]).unwrap();
        for p in KeyPurpose::ALL {
            assert_eq!(a.derive(p).unwrap().expose(), b.derive(p).unwrap().expose());
        }
    }
}
