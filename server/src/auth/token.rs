//! The token store: token entries kept inside the barrier, addressed by keyed hashes.
//!
//! Flow: `api` parses a [`ClientToken`] → `core` calls [`TokenStore::resolve`] → the
//! entry's policies feed the ACL. Token ids are never stored: an entry lives at
//! `sys/token/id/<hex HMAC-SHA256(k, token)>` where `k` is derived from the root key for
//! this purpose only (HKDF), and the accessor index at `sys/token/accessor/<hex
//! HMAC(k, accessor)>`. An in-memory cache sits in front of storage; it is dropped with the
//! store when the vault seals.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use super::ClientToken;
use crate::barrier::{Barrier, BarrierError, BarrierOp, DerivedKey, KeyPurpose};
use crate::error::ErrorKind;

const ID_PREFIX: &str = "sys/token/id/";
const ACCESSOR_PREFIX: &str = "sys/token/accessor/";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Failures of the token store.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Storage or decryption failed.
    #[error("token store: {0}")]
    Barrier(#[from] BarrierError),
    /// A stored entry could not be parsed.
    #[error("token store: corrupt entry")]
    Corrupt,
    /// The system RNG failed.
    #[error("token store: random number generator failed")]
    Rng,
}

impl TokenError {
    /// How this failure is reported to a client.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TokenError::Barrier(e) => e.kind(),
            TokenError::Corrupt | TokenError::Rng => ErrorKind::Internal,
        }
    }
}

/// A stored token. Holds no secret: the id itself is never stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenEntry {
    /// Public handle of the token.
    pub accessor: String,
    /// Policies attached.
    pub policies: Vec<String>,
    /// Creation path, e.g. `auth/token/root`.
    pub path: String,
    /// Display name.
    pub display_name: String,
    /// Metadata.
    pub meta: Option<BTreeMap<String, String>>,
    /// Issue time, unix nanoseconds.
    pub issued_at_unix_nanos: i128,
    /// TTL in seconds; 0 = never expires.
    pub ttl: u64,
    /// Hard cap in seconds; 0 = none.
    pub explicit_max_ttl: u64,
    /// Remaining uses; 0 = unlimited.
    pub num_uses: u64,
    /// Whether the token has no parent.
    pub orphan: bool,
    /// Whether the token may be renewed.
    pub renewable: bool,
}

impl TokenEntry {
    /// When the token was issued.
    pub fn issued_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.issued_at_unix_nanos)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// When it expires; `None` for tokens that never expire.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        (self.ttl > 0).then(|| {
            self.issued_at() + time::Duration::seconds(i64::try_from(self.ttl).unwrap_or(i64::MAX))
        })
    }

    /// Whether it is expired at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at().is_some_and(|at| now >= at)
    }

    /// Seconds left at `now` (0 for tokens that never expire).
    pub fn remaining_ttl(&self, now: OffsetDateTime) -> u64 {
        self.expires_at()
            .map(|at| u64::try_from((at - now).whole_seconds().max(0)).unwrap_or(0))
            .unwrap_or(0)
    }

    /// Whether the root policy is attached.
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }
}

/// The token store of an unsealed vault.
pub struct TokenStore {
    barrier: Arc<Barrier>,
    hash_key: DerivedKey,
    cache: RwLock<HashMap<String, Arc<TokenEntry>>>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore").finish_non_exhaustive()
    }
}

fn random_base62(len: usize) -> Result<String, TokenError> {
    // Rejection sampling: bytes >= 248 (= 4 * 62) are discarded, so every symbol is uniform.
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|_| TokenError::Rng)?;
        for b in buf {
            if b < 248 && out.len() < len {
                out.push(char::from(BASE62[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

impl TokenStore {
    /// Opens the store of an unsealed barrier.
    pub fn new(barrier: Arc<Barrier>) -> Result<TokenStore, TokenError> {
        let hash_key = barrier.derive_key(KeyPurpose::TokenHash)?;
        Ok(TokenStore {
            barrier,
            hash_key,
            cache: RwLock::new(HashMap::new()),
        })
    }

    fn hash(&self, domain: &[u8], value: &str) -> String {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(self.hash_key.expose()) {
            Ok(mac) => mac,
            // A 32-byte key is always accepted by HMAC.
            Err(_) => return String::new(),
        };
        mac.update(domain);
        mac.update(value.as_bytes());
        crate::encoding::hex_lower(&mac.finalize().into_bytes())
    }

    /// The storage key of `token`'s cubbyhole: a keyed hash in its own domain, so it is
    /// neither the token nor its token-store id.
    pub fn cubbyhole_key(&self, token: &ClientToken) -> String {
        self.hash(b"cubbyhole:", token.expose())
    }

    /// Creates the root token (at init). 24 base62 characters ≈ 143 random bits.
    pub async fn create_root(&self) -> Result<(ClientToken, TokenEntry), TokenError> {
        let token = ClientToken::from_generated(format!("hvs.{}", random_base62(24)?));
        let entry = TokenEntry {
            accessor: random_base62(24)?,
            policies: vec!["root".to_string()],
            path: "auth/token/root".to_string(),
            display_name: "root".to_string(),
            meta: None,
            issued_at_unix_nanos: OffsetDateTime::now_utc().unix_timestamp_nanos(),
            ttl: 0,
            explicit_max_ttl: 0,
            num_uses: 0,
            orphan: true,
            renewable: false,
        };
        self.store(&token, &entry).await?;
        Ok((token, entry))
    }

    async fn store(&self, token: &ClientToken, entry: &TokenEntry) -> Result<(), TokenError> {
        let id_hash = self.hash(b"id:", token.expose());
        let accessor_hash = self.hash(b"accessor:", &entry.accessor);
        let body = serde_json::to_vec(entry).map_err(|_| TokenError::Corrupt)?;
        self.barrier
            .write_batch(vec![
                BarrierOp::Put {
                    key: format!("{ID_PREFIX}{id_hash}"),
                    value: body,
                },
                BarrierOp::Put {
                    key: format!("{ACCESSOR_PREFIX}{accessor_hash}"),
                    value: id_hash.into_bytes(),
                },
            ])
            .await?;
        Ok(())
    }

    /// Finds the live entry for `token`: `None` when unknown or expired.
    pub async fn resolve(
        &self,
        token: &ClientToken,
    ) -> Result<Option<Arc<TokenEntry>>, TokenError> {
        let id_hash = self.hash(b"id:", token.expose());
        let cached = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.get(&id_hash).cloned());
        let entry = match cached {
            Some(entry) => entry,
            None => {
                let Some(raw) = self.barrier.get(&format!("{ID_PREFIX}{id_hash}")).await? else {
                    return Ok(None);
                };
                let entry: TokenEntry =
                    serde_json::from_slice(&raw).map_err(|_| TokenError::Corrupt)?;
                let entry = Arc::new(entry);
                if let Ok(mut cache) = self.cache.write() {
                    cache.insert(id_hash, Arc::clone(&entry));
                }
                entry
            }
        };
        if entry.is_expired(OffsetDateTime::now_utc()) {
            return Ok(None);
        }
        Ok(Some(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_tokens_have_the_right_shape() {
        let a = random_base62(24).unwrap_or_default();
        let b = random_base62(24).unwrap_or_default();
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn expiry_arithmetic() {
        let now = OffsetDateTime::now_utc();
        let mut e = TokenEntry {
            accessor: String::new(),
            policies: vec!["root".into()],
            path: String::new(),
            display_name: String::new(),
            meta: None,
            issued_at_unix_nanos: now.unix_timestamp_nanos(),
            ttl: 0,
            explicit_max_ttl: 0,
            num_uses: 0,
            orphan: true,
            renewable: false,
        };
        assert!(e.expires_at().is_none());
        assert!(!e.is_expired(now + time::Duration::days(10_000)));
        e.ttl = 60;
        assert!(!e.is_expired(now + time::Duration::seconds(59)));
        assert!(e.is_expired(now + time::Duration::seconds(60)));
        assert_eq!(e.remaining_ttl(now + time::Duration::seconds(20)), 40);
        assert!(e.is_root());
    }
}
