//! A device's salt: Vault's HMAC of audited strings, and the key of the device's chain.
//!
//! The salt is a random UUID string stored in the barrier at `core/audit/<path>salt`,
//! created when the device is first enabled and deleted when it is disabled (re-enabling
//! makes a new one, so old hashes stop being reproducible, as in Vault). A value is
//! rendered as `"hmac-sha256:" + hex(HMAC-SHA256(key = salt string bytes, msg = value))`,
//! exactly Vault's, so `sys/audit-hash` matches. The chain key is derived from the salt
//! by a different construction (see `strongroom_client::audit_chain`).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::path::AuditPath;
use super::AuditError;
use crate::barrier::Barrier;

/// Prefix of every hashed value.
pub const HASH_PREFIX: &str = "hmac-sha256:";

/// A device's salt. Redacted `Debug`, zeroized on drop, no `Clone`.
pub struct Salt {
    /// The keyed state, ready to be cloned per value (saves the key schedule).
    mac: Hmac<Sha256>,
    text: Zeroizing<String>,
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(..)")
    }
}

impl Salt {
    /// A salt from its stored text.
    pub fn from_text(text: &str) -> Salt {
        // HMAC takes keys of any length.
        #[allow(clippy::expect_used)]
        let mac = Hmac::<Sha256>::new_from_slice(text.as_bytes()).expect("HMAC accepts any key");
        Salt {
            mac,
            text: Zeroizing::new(text.to_string()),
        }
    }

    /// `hmac-sha256:<hex>` of `value`.
    pub fn hash(&self, value: &str) -> String {
        let mut out = String::with_capacity(HASH_PREFIX.len() + 64);
        self.hash_into(&mut out, value);
        out
    }

    /// Appends `hmac-sha256:<hex>` of `value` to `out`.
    pub fn hash_into(&self, out: &mut String, value: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        out.reserve(HASH_PREFIX.len() + 64);
        out.push_str(HASH_PREFIX);
        for b in digest {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }

    /// The device's chain key.
    pub fn chain_key(&self) -> ChainKey {
        ChainKey(Zeroizing::new(strongroom_client::audit_chain::chain_key(
            self.text.as_bytes(),
        )))
    }
}

/// The key of a device's hash chain. Redacted `Debug`, zeroized on drop.
pub struct ChainKey(Zeroizing<[u8; 32]>);

impl ChainKey {
    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0[..]
    }

    /// Hex, for `sys/audit-chain` (sudo).
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0[..])
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

fn storage_key(path: &AuditPath) -> String {
    format!("core/audit/{}salt", path.as_str())
}

/// The device's salt, created (and stored) when it has none.
pub(super) async fn load_or_create(
    barrier: &Barrier,
    path: &AuditPath,
) -> Result<Salt, AuditError> {
    let key = storage_key(path);
    if let Some(raw) = barrier.get(&key).await? {
        let text = std::str::from_utf8(&raw)
            .map_err(|_| AuditError::Corrupt(format!("salt of {}", path.as_str())))?;
        return Ok(Salt::from_text(text));
    }
    let text = Zeroizing::new(uuid::Uuid::new_v4().to_string());
    barrier.put(&key, text.as_bytes()).await?;
    Ok(Salt::from_text(&text))
}

/// Forgets the device's salt (disable).
pub(super) async fn delete(barrier: &Barrier, path: &AuditPath) -> Result<(), AuditError> {
    barrier.delete(&storage_key(path)).await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vault_hash_format() {
        // Reference: HMAC-SHA256(key = "a1b2c3d4-salt", msg = "my-secret-openbao"),
        // computed independently (Python hmac/hashlib).
        let salt = Salt::from_text("a1b2c3d4-salt");
        assert_eq!(
            salt.hash("my-secret-openbao"),
            "hmac-sha256:aa341bc28dc80b15cb8c395db1b1627b27f7720a8adf983f99c8895b188f0721"
        );
        assert!(!format!("{salt:?}").contains("a1b2"));
        assert!(!format!("{:?}", salt.chain_key()).contains(&salt.chain_key().to_hex()));
    }
}
