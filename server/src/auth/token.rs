//! The token store: token entries kept inside the barrier, addressed by keyed hashes.
//!
//! Flow: `api` parses a [`ClientToken`] → `core` calls [`TokenStore::resolve`] → the
//! entry's policies feed the ACL. Token ids are never stored: an entry lives at
//! `sys/token/id/<hex HMAC-SHA256(k, token)>` where `k` is derived from the root key for
//! this purpose only (HKDF), and the accessor index at `sys/token/accessor/<hex
//! HMAC(k, accessor)>`. A child token is indexed under its parent at
//! `sys/token/parent/<parent hash>/<child hash>`, so revoking a token revokes its
//! descendants; an expiring token is also indexed by expiry second at
//! `sys/token/expiry/<secs>/<hash>` for the background tidy. An in-memory cache sits in front of storage; revocation and renewal
//! update it, and it is dropped with the store when the vault seals.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use super::ClientToken;
use crate::barrier::{Barrier, BarrierError, BarrierOp, DerivedKey, KeyPurpose};
use crate::credential::token_fields::Cidr;
use crate::error::ErrorKind;

const ID_PREFIX: &str = "sys/token/id/";
const ACCESSOR_PREFIX: &str = "sys/token/accessor/";
const PARENT_PREFIX: &str = "sys/token/parent/";
/// Expiry index: `sys/token/expiry/<unix seconds, 20 digits>/<id hash>`, so the background
/// tidy visits only tokens that are due instead of every token.
const EXPIRY_PREFIX: &str = "sys/token/expiry/";
/// Deepest parent chain followed when checking a token's ancestors.
const MAX_DEPTH: usize = 256;

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
    /// Keyed hash of the parent token's id (`None` for orphans).
    #[serde(default)]
    pub parent: Option<String>,
    /// Period in seconds (0 = not periodic): each renewal grants exactly this.
    #[serde(default)]
    pub period: u64,
    /// Expiry set by the last renewal, unix nanoseconds (`None`: issue time + `ttl`).
    #[serde(default)]
    pub renewed_until_unix_nanos: Option<i128>,
    /// Last renewal, unix nanoseconds.
    #[serde(default)]
    pub last_renewal_unix_nanos: Option<i128>,
    /// The last use has been spent: the token is dead and its revocation pending.
    #[serde(default)]
    pub uses_exhausted: bool,
    /// Longest life from issue, seconds, set by the auth method's max TTL (0 = none):
    /// renewals never go past it.
    #[serde(default)]
    pub max_ttl: u64,
    /// Client addresses the token may be used from (empty = anywhere).
    #[serde(default)]
    pub bound_cidrs: Vec<Cidr>,
}

impl TokenEntry {
    /// When the token was issued.
    pub fn issued_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.issued_at_unix_nanos)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// When it expires; `None` for tokens that never expire.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        if let Some(nanos) = self.renewed_until_unix_nanos {
            return Some(
                OffsetDateTime::from_unix_timestamp_nanos(nanos)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            );
        }
        (self.ttl > 0).then(|| self.issued_at() + secs(self.ttl))
    }

    /// The hard limit set by `explicit_max_ttl` or the method's max TTL, if any.
    pub fn max_expiry(&self) -> Option<OffsetDateTime> {
        let limit = [self.explicit_max_ttl, self.max_ttl]
            .into_iter()
            .filter(|t| *t > 0)
            .min()?;
        Some(self.issued_at() + secs(limit))
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

/// Most token entries kept in memory. The cache only saves storage reads: when it is
/// full it is emptied and refills with the tokens in use.
const MAX_CACHED_TOKENS: usize = 65_536;

fn bounded_insert(
    cache: &mut HashMap<String, Arc<TokenEntry>>,
    id_hash: &str,
    entry: &Arc<TokenEntry>,
) {
    if cache.len() >= MAX_CACHED_TOKENS && !cache.contains_key(id_hash) {
        cache.clear();
    }
    cache.insert(id_hash.to_string(), Arc::clone(entry));
}

/// The expiry-index key of a token (`None` for tokens that never expire).
fn expiry_key(entry: &TokenEntry, id_hash: &str) -> Option<String> {
    let at = entry.expires_at()?.unix_timestamp().max(0);
    Some(format!("{EXPIRY_PREFIX}{at:020}/{id_hash}"))
}

fn secs(n: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX))
}

/// What a new (non-root) token gets; built by the token endpoints from the request and
/// the parent's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Policies, normalised (sorted, deduplicated, `default` included unless refused).
    pub policies: Vec<String>,
    /// Creation path.
    pub path: String,
    /// Display name (`token-<name>` or `token`).
    pub display_name: String,
    /// Metadata.
    pub meta: Option<BTreeMap<String, String>>,
    /// TTL in seconds; 0 = never expires (root-policy tokens only).
    pub ttl: u64,
    /// Hard cap in seconds; 0 = none.
    pub explicit_max_ttl: u64,
    /// Period in seconds; 0 = none.
    pub period: u64,
    /// Uses; 0 = unlimited.
    pub num_uses: u64,
    /// Renewable.
    pub renewable: bool,
    /// Keyed id hash of the parent; `None` = orphan.
    pub parent: Option<String>,
    /// Renewal cap from issue, seconds (0 = none).
    pub max_ttl: u64,
    /// Client addresses allowed to use the token.
    pub bound_cidrs: Vec<Cidr>,
}

/// A token's stored identity: the keyed hash of its id, and its entry.
#[derive(Debug, Clone)]
pub struct StoredToken {
    /// Keyed hash of the token id (never the id).
    pub id_hash: String,
    /// The entry.
    pub entry: Arc<TokenEntry>,
}

/// What a renewal granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewal {
    /// Seconds from now until the token expires.
    pub granted: u64,
    /// Whether the explicit max TTL shortened it.
    pub capped: bool,
}

/// The result of using a limited-use token once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// Uses are left after this one; the entry as it now stands.
    Allowed(Arc<TokenEntry>),
    /// This was the last use: the token no longer resolves; this request still proceeds
    /// and the caller revokes the token when it is done.
    Last(Arc<TokenEntry>),
    /// No use left (a concurrent request took the last one).
    Exhausted,
}

/// The token store of an unsealed vault.
pub struct TokenStore {
    barrier: Arc<Barrier>,
    hash_key: DerivedKey,
    cache: RwLock<HashMap<String, Arc<TokenEntry>>>,
    /// Bumped (under the cache's write lock) by every change of a stored entry; a read
    /// from storage fills the cache only if no change happened meanwhile, so a slow
    /// read can never put back an entry that was just revoked or spent.
    revision: std::sync::atomic::AtomicU64,
    /// Serialises read-modify-write changes of entries (uses, renewals, revocation).
    writes: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore").finish_non_exhaustive()
    }
}

fn random_base62(len: usize) -> Result<String, TokenError> {
    crate::encoding::random_base62(len).map_err(|_| TokenError::Rng)
}

impl TokenStore {
    /// Opens the store of an unsealed barrier.
    pub fn new(barrier: Arc<Barrier>) -> Result<TokenStore, TokenError> {
        let hash_key = barrier.derive_key(KeyPurpose::TokenHash)?;
        Ok(TokenStore {
            barrier,
            hash_key,
            cache: RwLock::new(HashMap::new()),
            revision: std::sync::atomic::AtomicU64::new(0),
            writes: tokio::sync::Mutex::new(()),
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

    /// The keyed hash that addresses `token`'s entry.
    pub fn id_hash(&self, token: &ClientToken) -> String {
        self.hash(b"id:", token.expose())
    }

    /// The storage key of a token's cubbyhole, from its id hash: a keyed hash in its own
    /// domain, so it is neither the token nor its token-store key, and revocation (which
    /// only knows id hashes) can find it.
    pub fn cubbyhole_key(&self, id_hash: &str) -> String {
        self.hash(b"cubbyhole:", id_hash)
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
            parent: None,
            period: 0,
            renewed_until_unix_nanos: None,
            last_renewal_unix_nanos: None,
            uses_exhausted: false,
            max_ttl: 0,
            bound_cidrs: Vec::new(),
        };
        self.store(&token, &entry).await?;
        Ok((token, entry))
    }

    /// Creates a token from `spec`. The id is `hvs.` + 24 base62 characters; with a
    /// parent, the token is indexed under it (revoked with it).
    pub async fn create(&self, spec: NewToken) -> Result<(ClientToken, TokenEntry), TokenError> {
        let token = ClientToken::from_generated(format!("hvs.{}", random_base62(24)?));
        let now = OffsetDateTime::now_utc();
        let entry = TokenEntry {
            accessor: random_base62(24)?,
            policies: spec.policies,
            path: spec.path,
            display_name: spec.display_name,
            meta: spec.meta,
            issued_at_unix_nanos: now.unix_timestamp_nanos(),
            ttl: spec.ttl,
            explicit_max_ttl: spec.explicit_max_ttl,
            num_uses: spec.num_uses,
            orphan: spec.parent.is_none(),
            renewable: spec.renewable,
            parent: spec.parent,
            period: spec.period,
            renewed_until_unix_nanos: None,
            last_renewal_unix_nanos: None,
            uses_exhausted: false,
            max_ttl: spec.max_ttl,
            bound_cidrs: spec.bound_cidrs,
        };
        self.store(&token, &entry).await?;
        Ok((token, entry))
    }

    async fn store(&self, token: &ClientToken, entry: &TokenEntry) -> Result<(), TokenError> {
        let id_hash = self.hash(b"id:", token.expose());
        let accessor_hash = self.hash(b"accessor:", &entry.accessor);
        let body = serde_json::to_vec(entry).map_err(|_| TokenError::Corrupt)?;
        let mut ops = vec![
            BarrierOp::Put {
                key: format!("{ID_PREFIX}{id_hash}"),
                value: body,
            },
            BarrierOp::Put {
                key: format!("{ACCESSOR_PREFIX}{accessor_hash}"),
                value: id_hash.clone().into_bytes(),
            },
        ];
        if let Some(parent) = &entry.parent {
            ops.push(BarrierOp::put(
                format!("{PARENT_PREFIX}{parent}/{id_hash}"),
                Vec::new(),
            ));
        }
        if let Some(key) = expiry_key(entry, &id_hash) {
            ops.push(BarrierOp::put(key, Vec::new()));
        }
        self.barrier.write_batch(ops).await?;
        Ok(())
    }

    /// Finds the live entry for `token`: `None` when unknown or expired.
    pub async fn resolve(
        &self,
        token: &ClientToken,
    ) -> Result<Option<Arc<TokenEntry>>, TokenError> {
        Ok(self
            .resolve_hash(&self.id_hash(token))
            .await?
            .map(|t| t.entry))
    }

    /// Finds the live entry stored under `id_hash`: `None` when unknown or expired, or
    /// when an ancestor is gone or expired (a child dies with its parent, even before the
    /// background revocation reaches it).
    pub async fn resolve_hash(&self, id_hash: &str) -> Result<Option<StoredToken>, TokenError> {
        let now = OffsetDateTime::now_utc();
        let Some(entry) = self.load(id_hash).await? else {
            return Ok(None);
        };
        if entry.is_expired(now) || entry.uses_exhausted {
            return Ok(None);
        }
        let mut parent = entry.parent.clone();
        let mut depth = 0;
        while let Some(p) = parent {
            depth += 1;
            match self.load(&p).await? {
                Some(ancestor)
                    if !ancestor.is_expired(now)
                        && !ancestor.uses_exhausted
                        && depth <= MAX_DEPTH =>
                {
                    parent = ancestor.parent.clone();
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(StoredToken {
            id_hash: id_hash.to_string(),
            entry,
        }))
    }

    /// Finds the live token whose accessor is `accessor`.
    pub async fn resolve_accessor(
        &self,
        accessor: &str,
    ) -> Result<Option<StoredToken>, TokenError> {
        let key = format!("{ACCESSOR_PREFIX}{}", self.hash(b"accessor:", accessor));
        let Some(raw) = self.barrier.get(&key).await? else {
            return Ok(None);
        };
        let id_hash = String::from_utf8(raw.to_vec()).map_err(|_| TokenError::Corrupt)?;
        self.resolve_hash(&id_hash).await
    }

    /// Every accessor in the store (for `LIST auth/token/accessors`).
    pub async fn accessors(&self) -> Result<Vec<String>, TokenError> {
        let mut out = Vec::new();
        for child in self.barrier.list(ID_PREFIX).await? {
            if let Some(entry) = self.load(&child).await? {
                out.push(entry.accessor.clone());
            }
        }
        out.sort();
        Ok(out)
    }

    async fn load(&self, id_hash: &str) -> Result<Option<Arc<TokenEntry>>, TokenError> {
        let cached = self.cache.read().ok().and_then(|c| c.get(id_hash).cloned());
        if let Some(entry) = cached {
            return Ok(Some(entry));
        }
        let revision = self.revision.load(std::sync::atomic::Ordering::SeqCst);
        let Some(raw) = self.barrier.get(&format!("{ID_PREFIX}{id_hash}")).await? else {
            return Ok(None);
        };
        let entry: TokenEntry = serde_json::from_slice(&raw).map_err(|_| TokenError::Corrupt)?;
        let entry = Arc::new(entry);
        if let Ok(mut cache) = self.cache.write() {
            if self.revision.load(std::sync::atomic::Ordering::SeqCst) == revision {
                bounded_insert(&mut cache, id_hash, &entry);
            }
        }
        Ok(Some(entry))
    }

    async fn save(&self, id_hash: &str, entry: TokenEntry) -> Result<Arc<TokenEntry>, TokenError> {
        self.save_with(id_hash, entry, Vec::new()).await
    }

    /// Writes `entry` and `extra` index operations in one atomic batch.
    async fn save_with(
        &self,
        id_hash: &str,
        entry: TokenEntry,
        extra: Vec<BarrierOp>,
    ) -> Result<Arc<TokenEntry>, TokenError> {
        let body = serde_json::to_vec(&entry).map_err(|_| TokenError::Corrupt)?;
        let mut ops = vec![BarrierOp::put(format!("{ID_PREFIX}{id_hash}"), body)];
        ops.extend(extra);
        self.barrier.write_batch(ops).await?;
        let entry = Arc::new(entry);
        if let Ok(mut cache) = self.cache.write() {
            self.revision
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            bounded_insert(&mut cache, id_hash, &entry);
        }
        Ok(entry)
    }

    /// Counts one use of a limited-use token (`num_uses` > 0). The last use marks the
    /// entry exhausted, so no other request can resolve it; the caller finishes the
    /// request that spent it (as Vault does) and then revokes the token.
    pub async fn use_once(&self, id_hash: &str) -> Result<Use, TokenError> {
        let _guard = self.writes.lock().await;
        let Some(entry) = self.load(id_hash).await? else {
            return Ok(Use::Exhausted);
        };
        if entry.uses_exhausted || entry.num_uses == 0 {
            return Ok(Use::Exhausted);
        }
        let mut next = (*entry).clone();
        next.num_uses -= 1;
        if next.num_uses == 0 {
            next.uses_exhausted = true;
            Ok(Use::Last(self.save(id_hash, next).await?))
        } else {
            Ok(Use::Allowed(self.save(id_hash, next).await?))
        }
    }

    /// Renews the token under `id_hash` by `increment` seconds from now (capped by its
    /// explicit max TTL; periodic tokens always get their period). Returns the new entry
    /// and the seconds granted, which the cap may have shortened.
    pub async fn renew(
        &self,
        id_hash: &str,
        increment: u64,
    ) -> Result<Option<(Arc<TokenEntry>, Renewal)>, TokenError> {
        let _guard = self.writes.lock().await;
        let now = OffsetDateTime::now_utc();
        let Some(entry) = self.load(id_hash).await? else {
            return Ok(None);
        };
        if entry.is_expired(now) {
            return Ok(None);
        }
        let wanted = if entry.period > 0 {
            entry.period
        } else {
            increment
        };
        let mut until = now + secs(wanted);
        let mut renewal = Renewal {
            granted: wanted,
            capped: false,
        };
        if let Some(max) = entry.max_expiry() {
            if until > max {
                until = max;
                renewal = Renewal {
                    granted: u64::try_from((max - now).whole_seconds().max(0)).unwrap_or(0),
                    capped: true,
                };
            }
        }
        let mut next = (*entry).clone();
        next.renewed_until_unix_nanos = Some(until.unix_timestamp_nanos());
        next.last_renewal_unix_nanos = Some(now.unix_timestamp_nanos());
        // Move the expiry-index entry with the expiry.
        let mut index = Vec::new();
        let (old, new) = (expiry_key(&entry, id_hash), expiry_key(&next, id_hash));
        if old != new {
            index.extend(old.map(BarrierOp::delete));
            index.extend(new.map(|k| BarrierOp::put(k, Vec::new())));
        }
        Ok(Some((self.save_with(id_hash, next, index).await?, renewal)))
    }

    /// Revokes the token under `id_hash` and all its descendants. Returns the id hashes
    /// revoked (the caller deletes their cubbyholes). Unknown tokens revoke nothing.
    pub async fn revoke_tree(&self, id_hash: &str) -> Result<Vec<String>, TokenError> {
        let _guard = self.writes.lock().await;
        self.revoke_tree_locked(id_hash).await
    }

    async fn revoke_tree_locked(&self, id_hash: &str) -> Result<Vec<String>, TokenError> {
        // Depth first, children before parents: an interrupted revocation never leaves a
        // child whose parent index entry is already gone.
        let mut order = Vec::new();
        let mut stack = vec![id_hash.to_string()];
        while let Some(h) = stack.pop() {
            for child in self.barrier.list(&format!("{PARENT_PREFIX}{h}/")).await? {
                if !child.ends_with('/') {
                    stack.push(child);
                }
            }
            order.push(h);
        }
        let mut revoked = Vec::new();
        for h in order.into_iter().rev() {
            if self.delete_one(&h).await? {
                revoked.push(h);
            }
        }
        Ok(revoked)
    }

    /// Revokes every token created under `path_prefix` (`auth/userpass/`), with its
    /// descendants: what disabling an auth method does. Returns the id hashes revoked.
    pub async fn revoke_by_path_prefix(
        &self,
        path_prefix: &str,
    ) -> Result<Vec<String>, TokenError> {
        let _guard = self.writes.lock().await;
        let mut revoked = Vec::new();
        for id_hash in self.barrier.list(ID_PREFIX).await? {
            if id_hash.ends_with('/') {
                continue;
            }
            let matches = self
                .load(&id_hash)
                .await?
                .is_some_and(|e| e.path.starts_with(path_prefix));
            if matches {
                revoked.extend(self.revoke_tree_locked(&id_hash).await?);
            }
        }
        Ok(revoked)
    }

    /// Revokes every token whose expiry has passed (with its descendants), visiting
    /// only the expiry-index folders that are due. Expired tokens are already refused at
    /// request time; this reclaims their storage and cubbyholes. Returns the id hashes
    /// revoked.
    pub async fn tidy(&self) -> Result<Vec<String>, TokenError> {
        let now = OffsetDateTime::now_utc();
        let now_secs = now.unix_timestamp().max(0);
        let mut revoked = Vec::new();
        for folder in self.barrier.list(EXPIRY_PREFIX).await? {
            let Some(secs) = folder.strip_suffix('/') else {
                continue;
            };
            match secs.parse::<i64>() {
                Ok(at) if at <= now_secs => {}
                // Sorted: everything after this is in the future.
                Ok(_) => break,
                Err(_) => continue,
            }
            for id_hash in self
                .barrier
                .list(&format!("{EXPIRY_PREFIX}{folder}"))
                .await?
            {
                let index_key = format!("{EXPIRY_PREFIX}{folder}{id_hash}");
                let _guard = self.writes.lock().await;
                match self.load(&id_hash).await? {
                    Some(e) if e.is_expired(now) || e.uses_exhausted => {
                        revoked.extend(self.revoke_tree_locked(&id_hash).await?);
                    }
                    // Not due yet (it expires later within this second): next time.
                    Some(e) if expiry_key(&e, &id_hash).as_deref() == Some(index_key.as_str()) => {
                        continue;
                    }
                    // An index entry left behind by an interrupted renewal: make sure
                    // the entry's real expiry is indexed.
                    Some(e) => {
                        if let Some(key) = expiry_key(&e, &id_hash) {
                            self.barrier.put(&key, &[]).await?;
                        }
                    }
                    None => {}
                }
                // This index entry has served its purpose.
                self.barrier.delete(&index_key).await?;
            }
        }
        Ok(revoked)
    }

    /// Revokes only `id_hash`; its children become orphans.
    pub async fn revoke_orphan(&self, id_hash: &str) -> Result<Vec<String>, TokenError> {
        let _guard = self.writes.lock().await;
        let children = self
            .barrier
            .list(&format!("{PARENT_PREFIX}{id_hash}/"))
            .await?;
        for child in children.iter().filter(|c| !c.ends_with('/')) {
            if let Some(entry) = self.load(child).await? {
                let mut next = (*entry).clone();
                next.parent = None;
                next.orphan = true;
                self.save(child, next).await?;
            }
        }
        let mut revoked = Vec::new();
        if self.delete_one(id_hash).await? {
            revoked.push(id_hash.to_string());
        }
        Ok(revoked)
    }

    /// Deletes one token's records (entry, accessor index, its place under its parent,
    /// its own child index). `false` if it did not exist.
    async fn delete_one(&self, id_hash: &str) -> Result<bool, TokenError> {
        let entry = self.load(id_hash).await?;
        if let Ok(mut cache) = self.cache.write() {
            self.revision
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            cache.remove(id_hash);
        }
        let Some(entry) = entry else {
            return Ok(false);
        };
        let mut ops = vec![
            BarrierOp::delete(format!("{ID_PREFIX}{id_hash}")),
            BarrierOp::delete(format!(
                "{ACCESSOR_PREFIX}{}",
                self.hash(b"accessor:", &entry.accessor)
            )),
        ];
        if let Some(parent) = &entry.parent {
            ops.push(BarrierOp::delete(format!(
                "{PARENT_PREFIX}{parent}/{id_hash}"
            )));
        }
        if let Some(key) = expiry_key(&entry, id_hash) {
            ops.push(BarrierOp::delete(key));
        }
        for child in self
            .barrier
            .list(&format!("{PARENT_PREFIX}{id_hash}/"))
            .await?
        {
            ops.push(BarrierOp::delete(format!(
                "{PARENT_PREFIX}{id_hash}/{child}"
            )));
        }
        let result = self.barrier.write_batch(ops).await;
        // Again after the delete: a read that started before it must not refill.
        if let Ok(mut cache) = self.cache.write() {
            self.revision
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            cache.remove(id_hash);
        }
        result?;
        Ok(true)
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
            parent: None,
            period: 0,
            renewed_until_unix_nanos: None,
            last_renewal_unix_nanos: None,
            uses_exhausted: false,
            max_ttl: 0,
            bound_cidrs: Vec::new(),
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
