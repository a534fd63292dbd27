//! The lease store: lease entries and their time, token and irrevocable indexes inside
//! the barrier (layout in [`super::layout`]).
//!
//! Flow: the core registers a lease with [`LeaseStore::create`] when an engine issues a
//! secret; the scheduler pages through [`LeaseStore::due`] (keys only, earliest first)
//! and reports back with [`LeaseStore::delete`] (revoked), [`LeaseStore::record_failure`],
//! [`LeaseStore::defer`] or [`LeaseStore::mark_irrevocable`]; `sys/leases/*` uses
//! `get`/`list`/`ids_with_prefix`/`renewed`/`schedule_now`.
//!
//! Invariants:
//! - Every change of an entry and its index keys is one `write_batch`; the entry records
//!   which index keys it has (its due second, whether the token index holds it), so each
//!   change knows exactly which keys to move and `delete` removes every one of them.
//! - Read-modify-write of one lease is serialised by one of [`STRIPES`] tokio mutexes,
//!   chosen by a hash of the id; leases in other stripes proceed in parallel, and no lock
//!   is shared by all leases. `create` needs none (nobody knows the new id yet).
//! - Nothing here loads every lease: indexes are read a page at a time with
//!   `Barrier::scan`, which returns keys without decrypting anything. No cache: leases
//!   are read when they are due or asked about, not on every request, so memory does not
//!   grow with their number.
//! - Ids from callers that are not well formed are absent (`Ok(None)`, `Ok(false)`,
//!   empty lists), never errors.

use std::sync::Arc;

use time::OffsetDateTime;

use super::entry::{LeaseEntry, NewLease, RevocationState, Slot};
use super::id::{valid_folder, valid_prefix, valid_token_hash, LeaseId};
use super::layout::{
    due_key, due_second, id_key, irrevocable_key, parse_due_key, second_to_time, token_folder,
    token_key, DUE_PREFIX, ID_PREFIX, IRREVOCABLE_PREFIX, REVOKED_TOKEN_PREFIX,
};
use super::LeaseError;
use crate::barrier::{Barrier, BarrierOp};

/// Number of per-lease lock stripes.
pub const STRIPES: usize = 64;
/// Longest revocation error kept on an entry, in bytes.
const MAX_ERROR_LEN: usize = 1024;
/// Page size when counting an index.
const COUNT_PAGE: usize = 1024;
/// Due-index keys read per page while looking for a stray.
const STRAY_PAGE: usize = 1024;

/// The lease store of an unsealed vault.
pub struct LeaseStore {
    barrier: Arc<Barrier>,
    /// Serialise read-modify-write per lease: stripe = hash(id) % STRIPES.
    stripes: Box<[tokio::sync::Mutex<()>]>,
}

impl std::fmt::Debug for LeaseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseStore")
            .field("barrier", &self.barrier)
            .field("stripes", &self.stripes.len())
            .finish()
    }
}

/// FNV-1a: a stable, cheap spread of ids over the stripes (not a security boundary).
fn stripe_of(id: &LeaseId) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_str().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    usize::try_from(h % STRIPES as u64).unwrap_or(0)
}

fn secs(n: u64) -> Option<time::Duration> {
    Some(time::Duration::seconds(i64::try_from(n).ok()?))
}

/// Cuts an error message to at most [`MAX_ERROR_LEN`] bytes on a char boundary.
fn bounded(error: &str) -> String {
    if error.len() <= MAX_ERROR_LEN {
        return error.to_owned();
    }
    let mut end = MAX_ERROR_LEN;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    error[..end].to_owned()
}

/// The index operations that move `old`'s index keys to `new`'s.
fn index_changes(id: &LeaseId, old: &Slot, new: &Slot) -> Vec<BarrierOp> {
    let mut ops = Vec::new();
    if old.due != new.due {
        ops.extend(old.due.map(|s| BarrierOp::delete(due_key(s, id))));
        ops.extend(new.due.map(|s| BarrierOp::put(due_key(s, id), Vec::new())));
    }
    let (was, is) = (
        old.entry.revocation.irrevocable,
        new.entry.revocation.irrevocable,
    );
    if was != is {
        ops.push(if is {
            BarrierOp::put(irrevocable_key(id), Vec::new())
        } else {
            BarrierOp::delete(irrevocable_key(id))
        });
    }
    let old_token = old
        .token_indexed
        .then_some(old.entry.token.as_deref())
        .flatten();
    let new_token = new
        .token_indexed
        .then_some(new.entry.token.as_deref())
        .flatten();
    if old_token != new_token {
        ops.extend(old_token.map(|t| BarrierOp::delete(token_key(t, id))));
        ops.extend(new_token.map(|t| BarrierOp::put(token_key(t, id), Vec::new())));
    }
    ops
}

impl LeaseStore {
    /// The store over an (unsealed) barrier.
    pub fn new(barrier: Arc<Barrier>) -> LeaseStore {
        LeaseStore {
            barrier,
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    fn stripe(&self, id: &LeaseId) -> &tokio::sync::Mutex<()> {
        &self.stripes[stripe_of(id)]
    }

    /// Creates a lease issued now: generates its id, `expire_time = now + ttl`.
    pub async fn create(&self, new: NewLease) -> Result<LeaseEntry, LeaseError> {
        self.create_at(new, OffsetDateTime::now_utc()).await
    }

    /// [`LeaseStore::create`] with the clock passed in.
    pub async fn create_at(
        &self,
        new: NewLease,
        now: OffsetDateTime,
    ) -> Result<LeaseEntry, LeaseError> {
        if let Some(token) = &new.token {
            if !valid_token_hash(token) {
                return Err(LeaseError::InvalidOwner);
            }
        }
        let expire_time = secs(new.ttl)
            .and_then(|d| now.checked_add(d))
            .ok_or(LeaseError::TtlOutOfRange)?;
        let id = LeaseId::generate(&new.path)?;
        let owned = new.token.is_some();
        let slot = Slot {
            entry: LeaseEntry {
                id: id.to_string(),
                path: new.path,
                mount_uuid: new.mount_uuid,
                target: new.target,
                internal: new.internal,
                issue_time: now,
                expire_time,
                last_renewal: None,
                renewable: new.renewable,
                token: new.token,
                revocation: RevocationState::default(),
                max_ttl: new.max_ttl,
            },
            due: Some(due_second(expire_time)),
            token_indexed: owned,
        };
        let mut ops = vec![BarrierOp::put(id_key(&id), slot.encode()?)];
        if let Some(s) = slot.due {
            ops.push(BarrierOp::put(due_key(s, &id), Vec::new()));
        }
        if let Some(token) = &slot.entry.token {
            ops.push(BarrierOp::put(token_key(token, &id), Vec::new()));
        }
        self.barrier.write_batch(ops).await?;
        Ok(slot.entry)
    }

    async fn load(&self, id: &LeaseId) -> Result<Option<Slot>, LeaseError> {
        let Some(body) = self.barrier.get(&id_key(id)).await? else {
            return Ok(None);
        };
        match Slot::decode(&body, id.as_str()) {
            Ok(slot) => Ok(Some(slot)),
            Err(e) => {
                tracing::error!(lease_id = %id, "lease entry cannot be parsed");
                Err(e)
            }
        }
    }

    /// The lease `id`; `None` if unknown or not a well-formed id.
    pub async fn get(&self, id: &str) -> Result<Option<LeaseEntry>, LeaseError> {
        let Some(id) = LeaseId::parse(id) else {
            return Ok(None);
        };
        Ok(self.load(&id).await?.map(|s| s.entry))
    }

    /// Applies `change` to the lease `id` under its stripe lock and writes the entry and
    /// its moved index keys in one batch. `None` if the lease does not exist.
    async fn modify<F>(&self, id: &str, change: F) -> Result<Option<LeaseEntry>, LeaseError>
    where
        F: FnOnce(&mut Slot),
    {
        let Some(id) = LeaseId::parse(id) else {
            return Ok(None);
        };
        let _guard = self.stripe(&id).lock().await;
        let Some(old) = self.load(&id).await? else {
            return Ok(None);
        };
        let mut new = old.clone();
        change(&mut new);
        if new != old {
            let mut ops = vec![BarrierOp::put(id_key(&id), new.encode()?)];
            ops.extend(index_changes(&id, &old, &new));
            self.barrier.write_batch(ops).await?;
        }
        Ok(Some(new.entry))
    }

    /// Immediate children of the lease-id folder `prefix` (`""` or ending in `/`):
    /// folders end in `/`, leaves are the random suffixes. Malformed folder → empty.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, LeaseError> {
        if !valid_folder(prefix) {
            return Ok(Vec::new());
        }
        Ok(self.barrier.list(&format!("{ID_PREFIX}{prefix}")).await?)
    }

    /// Ids starting with the raw string `prefix` (`database/creds/ro` also matches
    /// `database/creds/role2/…`, as Vault's revoke-prefix; append `/` for folder
    /// semantics), recursively, strictly after the id `after` (`""` = from the start),
    /// ascending, at most `limit`. A malformed prefix matches nothing.
    pub async fn ids_with_prefix(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, LeaseError> {
        if !valid_prefix(prefix) {
            return Ok(Vec::new());
        }
        let after = if after.is_empty() {
            String::new()
        } else {
            format!("{ID_PREFIX}{after}")
        };
        let keys = self
            .barrier
            .scan_prefix(&format!("{ID_PREFIX}{prefix}"), &after, limit)
            .await?;
        Ok(strip_all(keys, ID_PREFIX))
    }

    /// The first `limit` ids owned by the token whose id hash is `token_hash`. A lease
    /// leaves this index when it is deleted or scheduled for revocation
    /// ([`LeaseStore::schedule_now`]), so a caller revoking a token drains it page by page.
    pub async fn by_token(
        &self,
        token_hash: &str,
        limit: usize,
    ) -> Result<Vec<String>, LeaseError> {
        self.by_token_after(token_hash, "", limit).await
    }

    /// [`LeaseStore::by_token`] from after the id `after` (`""` = from the start).
    pub async fn by_token_after(
        &self,
        token_hash: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, LeaseError> {
        if !valid_token_hash(token_hash) {
            return Ok(Vec::new());
        }
        let folder = token_folder(token_hash);
        let after = if after.is_empty() {
            String::new()
        } else {
            format!("{folder}{after}")
        };
        let keys = self.barrier.scan(&folder, &after, limit).await?;
        Ok(strip_all(keys, &folder))
    }

    /// Records that these tokens were revoked, for those of them that own leases (one
    /// read each, one batch for all): the expiration pass then schedules their leases,
    /// so revoking a token that owns many leases costs its request O(1) writes. Returns
    /// how many were marked.
    pub async fn mark_tokens_revoked(&self, token_hashes: &[String]) -> Result<usize, LeaseError> {
        let mut ops = Vec::new();
        for hash in token_hashes {
            if !self.by_token_after(hash, "", 1).await?.is_empty() {
                ops.push(BarrierOp::put(
                    format!("{REVOKED_TOKEN_PREFIX}{hash}"),
                    Vec::new(),
                ));
            }
        }
        let marked = ops.len();
        if marked > 0 {
            self.barrier.write_batch(ops).await?;
        }
        Ok(marked)
    }

    /// Revoked tokens whose leases are still to be scheduled, at most `limit`.
    pub async fn revoked_tokens(&self, limit: usize) -> Result<Vec<String>, LeaseError> {
        let keys = self.barrier.scan(REVOKED_TOKEN_PREFIX, "", limit).await?;
        Ok(strip_all(keys, REVOKED_TOKEN_PREFIX))
    }

    /// Forgets a revoked token once none of its leases is left unscheduled.
    pub async fn clear_revoked_token(&self, token_hash: &str) -> Result<(), LeaseError> {
        if valid_token_hash(token_hash) {
            self.barrier
                .delete(&format!("{REVOKED_TOKEN_PREFIX}{token_hash}"))
                .await?;
        }
        Ok(())
    }

    /// Ids whose due time is at or before `now` (second precision), earliest first, at
    /// most `limit`. Reads one page of index keys and stops at the first future second;
    /// no entry is read.
    pub async fn due(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<String>, LeaseError> {
        let now = now.unix_timestamp();
        let keys = self.barrier.scan(DUE_PREFIX, "", limit).await?;
        let mut out = Vec::with_capacity(keys.len());
        for key in &keys {
            match parse_due_key(key) {
                Some((at, id)) if at <= now => out.push(id.to_owned()),
                Some(_) => break,
                None => {
                    // Only this store writes here: a key it cannot read would sit at the
                    // front of every pass, so it goes.
                    tracing::warn!(key = %key, "removing a malformed lease due-index key");
                    self.barrier.delete(key).await?;
                }
            }
        }
        Ok(out)
    }

    /// Removes the due-index keys of `id` up to `now` when the lease itself is gone (an
    /// index that outlived its entry would otherwise come back in every pass). `true`
    /// if it was such a stray.
    pub async fn forget_stray_due(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, LeaseError> {
        let Some(lease_id) = LeaseId::parse(id) else {
            return Ok(false);
        };
        let _guard = self.stripe(&lease_id).lock().await;
        if self.load(&lease_id).await?.is_some() {
            return Ok(false);
        }
        let now = now.unix_timestamp();
        let mut after = String::new();
        loop {
            let keys = self.barrier.scan(DUE_PREFIX, &after, STRAY_PAGE).await?;
            let Some(last) = keys.last().cloned() else {
                return Ok(true);
            };
            for key in &keys {
                match parse_due_key(key) {
                    Some((at, _)) if at > now => return Ok(true),
                    Some((_, other)) if other == id => self.barrier.delete(key).await?,
                    _ => {}
                }
            }
            after = last;
        }
    }

    /// The earliest due time in the index (`None`: nothing is scheduled).
    pub async fn next_due(&self) -> Result<Option<OffsetDateTime>, LeaseError> {
        let mut after = String::new();
        loop {
            let keys = self.barrier.scan(DUE_PREFIX, &after, 1).await?;
            let Some(key) = keys.into_iter().next() else {
                return Ok(None);
            };
            if let Some(at) = parse_due_key(&key).and_then(|(s, _)| second_to_time(s)) {
                return Ok(Some(at));
            }
            tracing::warn!(key = %key, "malformed lease due-index key");
            after = key;
        }
    }

    /// Records a renewal: `expire_time` and `last_renewal` set, the due index moved to the
    /// new expiry (an irrevocable lease stays off it). `None` if the lease is unknown.
    pub async fn renewed(
        &self,
        id: &str,
        expire_time: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<LeaseEntry>, LeaseError> {
        self.modify(id, |slot| {
            slot.entry.expire_time = expire_time;
            slot.entry.last_renewal = Some(now);
            if !slot.entry.revocation.irrevocable {
                slot.due = Some(due_second(expire_time));
            }
        })
        .await
    }

    /// Revoke as soon as possible: due now, `expire_time` brought forward to now if it was
    /// later, and out of its token's index (a revoked token's leases). Irrevocable leases
    /// stay as they are (an operator removes them with a forced revocation). Unknown: no-op.
    pub async fn schedule_now(&self, id: &str) -> Result<(), LeaseError> {
        self.schedule_now_at(id, OffsetDateTime::now_utc()).await
    }

    /// [`LeaseStore::schedule_now`] with the clock passed in.
    pub async fn schedule_now_at(&self, id: &str, now: OffsetDateTime) -> Result<(), LeaseError> {
        let now_second = now.unix_timestamp().max(0);
        self.modify(id, |slot| {
            if slot.entry.expire_time > now {
                slot.entry.expire_time = now;
            }
            if !slot.entry.revocation.irrevocable {
                slot.due = Some(slot.due.map_or(now_second, |d| d.min(now_second)));
            }
            slot.token_indexed = false;
        })
        .await
        .map(drop)
    }

    /// Records a failed revocation: `attempts + 1`, `last_error`, due again at `retry_at`.
    /// `None` if the lease is unknown.
    pub async fn record_failure(
        &self,
        id: &str,
        error: &str,
        retry_at: OffsetDateTime,
    ) -> Result<Option<LeaseEntry>, LeaseError> {
        let error = bounded(error);
        self.modify(id, |slot| {
            let revocation = &mut slot.entry.revocation;
            revocation.attempts = revocation.attempts.saturating_add(1);
            revocation.last_error = Some(error);
            if !revocation.irrevocable {
                slot.due = Some(due_second(retry_at));
            }
        })
        .await
    }

    /// Postpones the lease to `until` without counting an attempt (its target is backing
    /// off). Unknown or irrevocable: no-op.
    pub async fn defer(&self, id: &str, until: OffsetDateTime) -> Result<(), LeaseError> {
        self.modify(id, |slot| {
            if !slot.entry.revocation.irrevocable {
                slot.due = Some(due_second(until));
            }
        })
        .await
        .map(drop)
    }

    /// Gives up revoking: off the due index, onto the irrevocable index, flagged with the
    /// last error. Unknown: no-op.
    pub async fn mark_irrevocable(&self, id: &str, error: &str) -> Result<(), LeaseError> {
        let error = bounded(error);
        self.modify(id, |slot| {
            slot.entry.revocation.irrevocable = true;
            slot.entry.revocation.last_error = Some(error);
            slot.due = None;
        })
        .await
        .map(drop)
    }

    /// Deletes the entry and every index key of `id` in one batch; `false` if absent.
    pub async fn delete(&self, id: &str) -> Result<bool, LeaseError> {
        let Some(id) = LeaseId::parse(id) else {
            return Ok(false);
        };
        let _guard = self.stripe(&id).lock().await;
        let Some(slot) = self.load(&id).await? else {
            return Ok(false);
        };
        let mut ops = vec![BarrierOp::delete(id_key(&id))];
        ops.extend(slot.due.map(|s| BarrierOp::delete(due_key(s, &id))));
        if slot.entry.revocation.irrevocable {
            ops.push(BarrierOp::delete(irrevocable_key(&id)));
        }
        // Also when no longer indexed: deleting an absent key is harmless.
        if let Some(token) = &slot.entry.token {
            ops.push(BarrierOp::delete(token_key(token, &id)));
        }
        self.barrier.write_batch(ops).await?;
        Ok(true)
    }

    /// The first `limit` irrevocable leases, by id.
    pub async fn irrevocable(&self, limit: usize) -> Result<Vec<LeaseEntry>, LeaseError> {
        let keys = self.barrier.scan(IRREVOCABLE_PREFIX, "", limit).await?;
        let mut out = Vec::with_capacity(keys.len());
        for id in strip_all(keys, IRREVOCABLE_PREFIX) {
            if let Some(entry) = self.get(&id).await? {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// How many leases are irrevocable (pages through the index; reads no entry).
    pub async fn count_irrevocable(&self) -> Result<usize, LeaseError> {
        let mut count = 0;
        let mut after = String::new();
        loop {
            let keys = self
                .barrier
                .scan(IRREVOCABLE_PREFIX, &after, COUNT_PAGE)
                .await?;
            count += keys.len();
            let full = keys.len() == COUNT_PAGE;
            match keys.into_iter().last() {
                Some(last) if full => after = last,
                _ => return Ok(count),
            }
        }
    }
}

fn strip_all(keys: Vec<String>, prefix: &str) -> Vec<String> {
    keys.into_iter()
        .filter_map(|k| k.strip_prefix(prefix).map(str::to_owned))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;
    use time::Duration;

    use super::*;
    use crate::barrier::testing::{unsealed_barrier, MemBackend};

    const T0: OffsetDateTime = datetime!(2026-11-22 13:00 UTC);

    fn lease(path: &str, ttl: u64, token: Option<&str>) -> NewLease {
        NewLease {
            path: path.into(),
            mount_uuid: "mount-1".into(),
            target: "mount-1/pg".into(),
            internal: json!({"username": "v-root-ro-Secr3tName", "db_name": "pg"}),
            ttl,
            max_ttl: 86_400,
            renewable: true,
            token: token.map(str::to_owned),
        }
    }

    async fn store() -> (LeaseStore, Arc<MemBackend>) {
        let (barrier, raw, _) = unsealed_barrier().await;
        (LeaseStore::new(barrier), raw)
    }

    /// Every raw key that mentions `id`.
    fn keys_of(raw: &MemBackend, id: &str) -> Vec<String> {
        raw.keys()
            .into_iter()
            .filter(|k| k.ends_with(&format!("/{id}")))
            .collect()
    }

    #[tokio::test]
    async fn create_and_get() {
        let (store, raw) = store().await;
        let e = store
            .create_at(lease("database/creds/ro", 3600, Some("tok1")), T0)
            .await
            .unwrap();
        let suffix = e.id.strip_prefix("database/creds/ro/").unwrap();
        assert_eq!(suffix.len(), 24);
        assert_eq!(e.path, "database/creds/ro");
        assert_eq!(e.issue_time, T0);
        assert_eq!(e.expire_time, T0 + Duration::hours(1));
        assert_eq!(e.last_renewal, None);
        assert_eq!(e.ttl(T0), 3600);
        assert_eq!(e.revocation, RevocationState::default());
        assert_eq!(e.max_ttl, 86_400);
        assert_eq!(store.get(&e.id).await.unwrap(), Some(e.clone()));

        let mut keys = keys_of(&raw, &e.id);
        keys.sort();
        let due = (T0 + Duration::hours(1)).unix_timestamp();
        assert_eq!(
            keys,
            [
                format!("sys/expire/due/{due:020}/{}", e.id),
                format!("sys/expire/id/{}", e.id),
                format!("sys/expire/token/tok1/{}", e.id),
            ]
        );
        // The entry is encrypted: the engine's secret is not on disk.
        let stored = raw.raw_get(&format!("sys/expire/id/{}", e.id)).unwrap();
        assert!(!stored.windows(10).any(|w| w == b"Secr3tName"));

        // Unknown and malformed ids are absent.
        let long = format!("a/{}", "x".repeat(2000));
        for absent in [
            "database/creds/ro/nope",
            "",
            "noslash",
            "../sys/expire/id/x",
            "a//b",
            "a/b\0",
            long.as_str(),
        ] {
            assert_eq!(store.get(absent).await.unwrap(), None, "{absent:?}");
            assert!(!store.delete(absent).await.unwrap(), "{absent:?}");
            assert_eq!(store.renewed(absent, T0, T0).await.unwrap(), None);
            store.schedule_now(absent).await.unwrap();
        }
        // Bad paths and owners are refused.
        for bad in ["", "a//b", "a/", "/a"] {
            assert!(matches!(
                store.create_at(lease(bad, 1, None), T0).await,
                Err(LeaseError::InvalidPath)
            ));
        }
        assert!(matches!(
            store.create_at(lease("p", 1, Some("a/b")), T0).await,
            Err(LeaseError::InvalidOwner)
        ));
        assert!(matches!(
            store.create_at(lease("p", u64::MAX, None), T0).await,
            Err(LeaseError::TtlOutOfRange)
        ));
    }

    #[tokio::test]
    async fn list_and_prefixes() {
        let (store, _) = store().await;
        let ro1 = store
            .create_at(lease("database/creds/ro", 60, None), T0)
            .await
            .unwrap();
        let ro2 = store
            .create_at(lease("database/creds/ro", 60, None), T0)
            .await
            .unwrap();
        let role2 = store
            .create_at(lease("database/creds/role2", 60, None), T0)
            .await
            .unwrap();
        let auth = store
            .create_at(lease("auth/userpass/login/alice", 60, None), T0)
            .await
            .unwrap();
        assert_eq!(store.list("").await.unwrap(), ["auth/", "database/"]);
        assert_eq!(store.list("database/").await.unwrap(), ["creds/"]);
        assert_eq!(
            store.list("database/creds/").await.unwrap(),
            ["ro/", "role2/"]
        );
        let mut leaves = vec![
            ro1.id.rsplit_once('/').unwrap().1.to_owned(),
            ro2.id.rsplit_once('/').unwrap().1.to_owned(),
        ];
        leaves.sort();
        assert_eq!(store.list("database/creds/ro/").await.unwrap(), leaves);
        assert!(store.list("nothing/").await.unwrap().is_empty());
        for bad in ["database", "/", "a//", "../"] {
            assert!(store.list(bad).await.unwrap().is_empty(), "{bad:?}");
        }

        let mut ro = vec![ro1.id.clone(), ro2.id.clone()];
        ro.sort();
        let mut ro_and_role2 = ro.clone();
        ro_and_role2.push(role2.id.clone());
        assert_eq!(
            store
                .ids_with_prefix("database/creds/ro", "", 100)
                .await
                .unwrap(),
            ro_and_role2
        );
        assert_eq!(
            store
                .ids_with_prefix("database/creds/ro/", "", 100)
                .await
                .unwrap(),
            ro
        );
        let mut everything = ro_and_role2.clone();
        everything.insert(0, auth.id.clone());
        assert_eq!(
            store.ids_with_prefix("", "", 100).await.unwrap(),
            everything
        );
        // Paging.
        let first = store.ids_with_prefix("database/", "", 2).await.unwrap();
        assert_eq!(first, ro);
        let rest = store
            .ids_with_prefix("database/", &first[1], 2)
            .await
            .unwrap();
        assert_eq!(rest, [role2.id.as_str()]);
        assert!(store
            .ids_with_prefix("database/", &role2.id, 2)
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .ids_with_prefix("a//b", "", 10)
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .ids_with_prefix("zzz", "", 10)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn by_token() {
        let (store, _) = store().await;
        let mut a = Vec::new();
        for _ in 0..3 {
            a.push(
                store
                    .create_at(lease("kv/x", 60, Some("tok-a")), T0)
                    .await
                    .unwrap()
                    .id,
            );
        }
        let b = store
            .create_at(lease("kv/x", 60, Some("tok-b")), T0)
            .await
            .unwrap();
        store.create_at(lease("kv/x", 60, None), T0).await.unwrap();
        a.sort();
        assert_eq!(store.by_token("tok-a", 10).await.unwrap(), a);
        assert_eq!(store.by_token("tok-a", 2).await.unwrap(), a[..2]);
        assert_eq!(
            store.by_token_after("tok-a", &a[1], 10).await.unwrap(),
            a[2..]
        );
        assert_eq!(store.by_token("tok-b", 10).await.unwrap(), [b.id.as_str()]);
        assert!(store.by_token("tok-c", 10).await.unwrap().is_empty());
        assert!(store.by_token("a/b", 10).await.unwrap().is_empty());
        assert!(store.by_token("", 10).await.unwrap().is_empty());

        // Revoking a token: schedule each page now; the index drains.
        let mut rounds = 0;
        loop {
            let page = store.by_token("tok-a", 2).await.unwrap();
            if page.is_empty() {
                break;
            }
            for id in page {
                store
                    .schedule_now_at(&id, T0 + Duration::seconds(5))
                    .await
                    .unwrap();
            }
            rounds += 1;
            assert!(rounds < 5);
        }
        let due = store.due(T0 + Duration::seconds(5), 10).await.unwrap();
        assert_eq!(due, a);
        for id in &a {
            let e = store.get(id).await.unwrap().unwrap();
            assert_eq!(e.expire_time, T0 + Duration::seconds(5));
            assert_eq!(
                e.token.as_deref(),
                Some("tok-a"),
                "the owner is still shown"
            );
        }
        // Deleting removes it from the token index too.
        assert!(store.delete(&b.id).await.unwrap());
        assert!(store.by_token("tok-b", 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn revoked_token_markers() {
        let (store, raw) = store().await;
        let id = store
            .create_at(lease("db/creds/r", 60, Some("tok-a")), T0)
            .await
            .unwrap()
            .id;
        let tokens = ["tok-a".to_string(), "tok-none".to_string()];
        // Only tokens that own leases are marked.
        assert_eq!(store.mark_tokens_revoked(&tokens).await.unwrap(), 1);
        assert_eq!(store.revoked_tokens(10).await.unwrap(), ["tok-a"]);
        store.schedule_now(&id).await.unwrap();
        assert!(store.by_token("tok-a", 10).await.unwrap().is_empty());
        store.clear_revoked_token("tok-a").await.unwrap();
        assert!(store.revoked_tokens(10).await.unwrap().is_empty());
        assert!(!raw
            .keys()
            .iter()
            .any(|k| k.starts_with(REVOKED_TOKEN_PREFIX)));
        assert_eq!(store.mark_tokens_revoked(&tokens).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn stray_due_keys_are_forgotten() {
        let (store, raw) = store().await;
        let lease_id = LeaseId::parse("db/creds/r/stray").unwrap();
        // An index key without its entry (as a lost write would leave it).
        store
            .barrier
            .put(&due_key(T0.unix_timestamp(), &lease_id), &[])
            .await
            .unwrap();
        assert_eq!(store.due(T0, 10).await.unwrap(), ["db/creds/r/stray"]);
        assert!(store
            .forget_stray_due("db/creds/r/stray", T0)
            .await
            .unwrap());
        assert!(store.due(T0, 10).await.unwrap().is_empty());
        assert!(keys_of(&raw, "db/creds/r/stray").is_empty());
        // A live lease is never a stray.
        let live = store
            .create_at(lease("db/creds/r", 1, None), T0)
            .await
            .unwrap()
            .id;
        assert!(!store
            .forget_stray_due(&live, T0 + Duration::seconds(5))
            .await
            .unwrap());
        assert_eq!(
            store.due(T0 + Duration::seconds(5), 10).await.unwrap(),
            [live]
        );
    }

    #[tokio::test]
    async fn due_is_ordered_and_stops_at_the_future() {
        let (store, _) = store().await;
        assert_eq!(store.next_due().await.unwrap(), None);
        assert!(store.due(T0, 10).await.unwrap().is_empty());
        let l30 = store.create_at(lease("p", 30, None), T0).await.unwrap();
        let l10 = store.create_at(lease("p", 10, None), T0).await.unwrap();
        let l20 = store
            .create_at(lease("p", 20, None), T0 + Duration::milliseconds(300))
            .await
            .unwrap();
        assert_eq!(
            store.next_due().await.unwrap(),
            Some(T0 + Duration::seconds(10))
        );
        assert!(store
            .due(T0 + Duration::seconds(9), 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store.due(T0 + Duration::seconds(10), 10).await.unwrap(),
            [l10.id.as_str()]
        );
        // l20 expires at 20.3 s: due at 21, never before it has expired.
        assert_eq!(
            store
                .due(T0 + Duration::milliseconds(20_900), 10)
                .await
                .unwrap(),
            [l10.id.as_str()]
        );
        assert_eq!(
            store.due(T0 + Duration::seconds(21), 10).await.unwrap(),
            [l10.id.clone(), l20.id.clone()]
        );
        assert_eq!(
            store.due(T0 + Duration::hours(1), 10).await.unwrap(),
            [l10.id.clone(), l20.id.clone(), l30.id.clone()]
        );
        assert_eq!(
            store.due(T0 + Duration::hours(1), 2).await.unwrap(),
            [l10.id.clone(), l20.id.clone()]
        );
        assert!(store
            .due(T0 + Duration::hours(1), 0)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn renewed_moves_the_due_index() {
        let (store, raw) = store().await;
        let e = store.create_at(lease("p/q", 60, None), T0).await.unwrap();
        let now = T0 + Duration::seconds(30);
        let until = now + Duration::seconds(600);
        let renewed = store.renewed(&e.id, until, now).await.unwrap().unwrap();
        assert_eq!(renewed.expire_time, until);
        assert_eq!(renewed.last_renewal, Some(now));
        assert_eq!(renewed.issue_time, T0);
        assert_eq!(store.get(&e.id).await.unwrap(), Some(renewed));
        let due_keys: Vec<String> = keys_of(&raw, &e.id)
            .into_iter()
            .filter(|k| k.starts_with(DUE_PREFIX))
            .collect();
        assert_eq!(
            due_keys,
            [due_key(
                until.unix_timestamp(),
                &LeaseId::parse(&e.id).unwrap()
            )]
        );
        assert!(store
            .due(T0 + Duration::seconds(60), 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(store.due(until, 10).await.unwrap(), [e.id.as_str()]);
        // Renewal may shorten.
        let sooner = now + Duration::seconds(5);
        store.renewed(&e.id, sooner, now).await.unwrap().unwrap();
        assert_eq!(store.next_due().await.unwrap(), Some(sooner));
        assert_eq!(
            keys_of(&raw, &e.id)
                .iter()
                .filter(|k| k.starts_with(DUE_PREFIX))
                .count(),
            1
        );
    }

    #[tokio::test]
    async fn failures_defer_and_irrevocable() {
        let (store, raw) = store().await;
        let e = store
            .create_at(lease("db/creds/r", 10, Some("tok")), T0)
            .await
            .unwrap();
        let now = T0 + Duration::seconds(10);
        assert_eq!(store.due(now, 10).await.unwrap(), [e.id.as_str()]);

        let retry = now + Duration::seconds(30);
        let failed = store
            .record_failure(&e.id, "connection refused", retry)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(failed.revocation.attempts, 1);
        assert_eq!(
            failed.revocation.last_error.as_deref(),
            Some("connection refused")
        );
        assert!(!failed.revocation.irrevocable);
        assert!(store.due(now, 10).await.unwrap().is_empty());
        assert_eq!(store.next_due().await.unwrap(), Some(retry));
        let wire = failed.to_lookup_wire(now);
        assert_eq!(wire["revocation_failures"], 1);
        assert_eq!(wire["irrevocable"], false);

        let failed = store
            .record_failure(&e.id, "timeout", retry + Duration::seconds(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(failed.revocation.attempts, 2);
        assert_eq!(failed.revocation.last_error.as_deref(), Some("timeout"));

        // Defer: moved, not counted.
        let later = retry + Duration::seconds(500);
        store.defer(&e.id, later).await.unwrap();
        let deferred = store.get(&e.id).await.unwrap().unwrap();
        assert_eq!(deferred.revocation.attempts, 2);
        assert_eq!(store.next_due().await.unwrap(), Some(later));
        assert!(store
            .due(later - Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(store.due(later, 10).await.unwrap(), [e.id.as_str()]);

        // Irrevocable: off the due index, on the irrevocable one.
        store
            .mark_irrevocable(&e.id, "role does not exist")
            .await
            .unwrap();
        assert_eq!(store.next_due().await.unwrap(), None);
        assert!(store
            .due(later + Duration::days(365), 10)
            .await
            .unwrap()
            .is_empty());
        let listed = store.irrevocable(10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, e.id);
        assert!(listed[0].revocation.irrevocable);
        assert_eq!(listed[0].revocation.attempts, 2);
        assert_eq!(
            listed[0].revocation.last_error.as_deref(),
            Some("role does not exist")
        );
        assert_eq!(store.count_irrevocable().await.unwrap(), 1);
        let wire = listed[0].to_lookup_wire(now);
        assert_eq!(wire["irrevocable"], true);
        assert_eq!(wire["revocation_error"], "role does not exist");
        assert!(keys_of(&raw, &e.id)
            .iter()
            .all(|k| !k.starts_with(DUE_PREFIX)));
        // Neither defer, failures, renewal nor schedule_now put it back on the due index.
        store.defer(&e.id, now).await.unwrap();
        store.record_failure(&e.id, "again", now).await.unwrap();
        store
            .renewed(&e.id, now + Duration::hours(1), now)
            .await
            .unwrap();
        store.schedule_now_at(&e.id, now).await.unwrap();
        assert_eq!(store.next_due().await.unwrap(), None);
        assert_eq!(store.count_irrevocable().await.unwrap(), 1);

        // Delete: every key goes, in one batch.
        assert!(store.delete(&e.id).await.unwrap());
        assert!(
            keys_of(&raw, &e.id).is_empty(),
            "{:?}",
            keys_of(&raw, &e.id)
        );
        assert!(raw.keys().iter().all(|k| !k.starts_with("sys/expire/")));
        assert_eq!(store.count_irrevocable().await.unwrap(), 0);
        assert!(store.irrevocable(10).await.unwrap().is_empty());
        assert!(!store.delete(&e.id).await.unwrap());
        assert!(store
            .record_failure(&e.id, "x", now)
            .await
            .unwrap()
            .is_none());
        store.defer(&e.id, now).await.unwrap();
        store.mark_irrevocable(&e.id, "x").await.unwrap();
        assert!(raw.keys().iter().all(|k| !k.starts_with("sys/expire/")));
    }

    #[tokio::test]
    async fn delete_removes_every_index_key() {
        let (store, raw) = store().await;
        let plain = store.create_at(lease("a/b", 10, None), T0).await.unwrap();
        let owned = store
            .create_at(lease("a/b", 10, Some("tok")), T0)
            .await
            .unwrap();
        let failing = store
            .create_at(lease("a/c", 10, Some("tok")), T0)
            .await
            .unwrap();
        store
            .record_failure(&failing.id, "x", T0 + Duration::seconds(99))
            .await
            .unwrap();
        let scheduled = store
            .create_at(lease("a/d", 10, Some("tok")), T0)
            .await
            .unwrap();
        store.schedule_now_at(&scheduled.id, T0).await.unwrap();
        for e in [&plain, &owned, &failing, &scheduled] {
            assert!(!keys_of(&raw, &e.id).is_empty());
            assert!(store.delete(&e.id).await.unwrap());
            assert!(keys_of(&raw, &e.id).is_empty(), "{}", e.id);
        }
        // Scan the raw barrier: nothing of the lease store is left.
        let barrier_keys = store.barrier.scan("sys/expire/", "", 1000).await.unwrap();
        assert!(barrier_keys.is_empty(), "{barrier_keys:?}");
    }

    #[tokio::test]
    async fn concurrent_changes_of_one_lease_are_serialised() {
        let (store, _) = store().await;
        let store = Arc::new(store);
        let e = store.create_at(lease("p", 10, None), T0).await.unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = store.clone();
                let id = e.id.clone();
                tokio::spawn(async move {
                    store
                        .record_failure(&id, &format!("e{i}"), T0 + Duration::seconds(i))
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let after = store.get(&e.id).await.unwrap().unwrap();
        assert_eq!(after.revocation.attempts, 50);
        // Still exactly one due key.
        assert_eq!(
            store.due(T0 + Duration::hours(1), 100).await.unwrap(),
            [e.id]
        );
    }

    #[tokio::test]
    async fn ten_thousand_leases_due_reads_only_a_page_of_keys() {
        let (store, raw) = store().await;
        let store = Arc::new(store);
        // Created concurrently in a few tasks; ttl = i seconds.
        let mut tasks = Vec::new();
        for chunk in 0..8u64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut made = Vec::new();
                for i in (chunk..10_000).step_by(8) {
                    let e = store.create_at(lease("db/creds/r", i, None), T0).await?;
                    made.push((i, e.id));
                }
                Ok::<_, LeaseError>(made)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap().unwrap());
        }
        assert_eq!(all.len(), 10_000);
        all.sort();
        let (gets, scanned) = (raw.gets(), raw.scanned());

        let now = T0 + Duration::seconds(99);
        let due = store.due(now, 1000).await.unwrap();
        let want: Vec<String> = all[..100].iter().map(|(_, id)| id.clone()).collect();
        assert_eq!(due, want, "only the 100 due leases, earliest first");
        assert_eq!(raw.gets(), gets, "due reads no entry");
        assert!(raw.scanned() - scanned <= 1000, "one page of index keys");

        let scanned = raw.scanned();
        let first = store.due(now, 10).await.unwrap();
        assert_eq!(first, want[..10]);
        assert!(raw.scanned() - scanned <= 10);
        assert_eq!(store.next_due().await.unwrap(), Some(T0));
        assert_eq!(raw.gets(), gets);
    }

    #[tokio::test]
    async fn counting_irrevocable_pages_past_one_page() {
        let (store, raw) = store().await;
        let n = COUNT_PAGE + 7;
        let mut ids = Vec::new();
        for _ in 0..n {
            let e = store
                .create_at(lease("db/creds/r", 10, None), T0)
                .await
                .unwrap();
            store.mark_irrevocable(&e.id, "gone").await.unwrap();
            ids.push(e.id);
        }
        ids.sort();
        let gets = raw.gets();
        assert_eq!(store.count_irrevocable().await.unwrap(), n);
        assert_eq!(raw.gets(), gets, "counting reads no entry");
        let first: Vec<String> = store
            .irrevocable(5)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(first, ids[..5]);
        assert_eq!(store.next_due().await.unwrap(), None);
    }

    #[test]
    fn stripes_spread_and_debug() {
        let mut used = std::collections::HashSet::new();
        for i in 0..1000 {
            let id = LeaseId::parse(&format!("p/{i}")).unwrap();
            let s = stripe_of(&id);
            assert!(s < STRIPES);
            used.insert(s);
        }
        assert!(used.len() > STRIPES / 2, "{}", used.len());
        assert_eq!(bounded(&"é".repeat(MAX_ERROR_LEN)).len(), MAX_ERROR_LEN);
        assert_eq!(bounded("short"), "short");
    }

    #[tokio::test]
    async fn sealed_store_fails_with_the_barriers_kind() {
        let (barrier, _, _) = unsealed_barrier().await;
        let store = LeaseStore::new(barrier.clone());
        let e = store.create_at(lease("p", 10, None), T0).await.unwrap();
        assert!(!format!("{store:?}").contains("Secr3t"));
        barrier.seal();
        let err = store.get(&e.id).await.unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Sealed);
        assert!(store.due(T0, 1).await.is_err());
        assert!(store.create_at(lease("p", 10, None), T0).await.is_err());
    }
}
