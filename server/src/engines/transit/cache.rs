//! The cache of decoded transit keys, and the only way keys are read and written.
//!
//! Where it sits: one [`KeyCache`] lives in the core's `Unsealed` state (so sealing drops
//! it with every key in it) and is handed to [`super::handle`]. Entries are keyed by the
//! mount's storage prefix (which holds the mount's uuid) and the key name, so mounts
//! never share entries; a mount that is gone leaves entries nobody asks for, which the
//! bound evicts.
//!
//! Invariant: the cache never holds a key older than storage. Every write (create,
//! rotate, config, trim, delete) and every fill after a miss runs under the key's item
//! lock ([`lock_item`]) and updates or evicts the entry before the lock is released; a
//! reader that hits the cache takes no lock. A fill re-checks the cache under the lock,
//! so a slow fill cannot overwrite a newer key put there by a write.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::OwnedMutexGuard;

use super::error::TransitError;
use super::key::Key;
use crate::barrier::StorageView;
use crate::engines::item_lock::lock_item;

/// Keys cached at most (over all mounts).
const CAPACITY: usize = 4096;

/// Storage key of a named key, relative to the mount.
pub fn storage_key(name: &str) -> String {
    format!("policy/{name}")
}

#[derive(Default)]
struct Entries {
    /// mount storage prefix → key name → key.
    mounts: HashMap<String, HashMap<String, Arc<Key>>>,
    len: usize,
}

/// Decoded keys of every transit mount, bounded.
#[derive(Default)]
pub struct KeyCache {
    inner: RwLock<Entries>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self
            .inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len;
        f.debug_struct("KeyCache").field("len", &len).finish()
    }
}

impl KeyCache {
    /// An empty cache.
    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    fn get(&self, prefix: &str, name: &str) -> Option<Arc<Key>> {
        let entries = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        entries.mounts.get(prefix)?.get(name).cloned()
    }

    fn insert(&self, prefix: &str, name: &str, key: Arc<Key>) {
        let mut entries = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len >= CAPACITY {
            // Drop an arbitrary entry: correctness never depends on what is cached.
            let victim = entries
                .mounts
                .iter()
                .find_map(|(m, keys)| keys.keys().next().map(|k| (m.clone(), k.clone())));
            if let Some((m, k)) = victim {
                remove_entry(&mut entries, &m, &k);
            }
        }
        let previous = entries
            .mounts
            .entry(prefix.to_string())
            .or_default()
            .insert(name.to_string(), key);
        if previous.is_none() {
            entries.len += 1;
        }
    }

    fn remove(&self, prefix: &str, name: &str) {
        let mut entries = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        remove_entry(&mut entries, prefix, name);
    }

    /// Whether the key exists (cache first, then storage; no fill).
    pub async fn exists(&self, view: &StorageView, name: &str) -> Result<bool, TransitError> {
        if self.get(view.prefix(), name).is_some() {
            return Ok(true);
        }
        Ok(view.get(&storage_key(name)).await?.is_some())
    }

    /// The key, from the cache or (under the key's lock) from storage.
    pub async fn load(
        &self,
        view: &StorageView,
        name: &str,
    ) -> Result<Option<Arc<Key>>, TransitError> {
        if let Some(key) = self.get(view.prefix(), name) {
            return Ok(Some(key));
        }
        let locked = self.lock(view, name).await;
        locked.current().await
    }

    /// The key an operation needs: `missing` (OpenBao's text for that operation, e.g.
    /// `encryption key not found`) as a 400 when there is none.
    pub async fn require(
        &self,
        view: &StorageView,
        name: &str,
        missing: &'static str,
    ) -> Result<Arc<Key>, TransitError> {
        self.load(view, name)
            .await?
            .ok_or(TransitError::KeyNotFound(missing))
    }

    /// Takes the key's write lock.
    pub async fn lock<'a>(&'a self, view: &'a StorageView, name: &'a str) -> Locked<'a> {
        let guard = lock_item(view.prefix(), &storage_key(name)).await;
        Locked {
            _guard: guard,
            cache: self,
            view,
            name,
        }
    }
}

fn remove_entry(entries: &mut Entries, prefix: &str, name: &str) {
    let Some(keys) = entries.mounts.get_mut(prefix) else {
        return;
    };
    if keys.remove(name).is_some() {
        entries.len -= 1;
    }
    if keys.is_empty() {
        entries.mounts.remove(prefix);
    }
}

/// Proof that the key's item lock is held: the only handle that writes a key.
pub struct Locked<'a> {
    _guard: OwnedMutexGuard<()>,
    cache: &'a KeyCache,
    view: &'a StorageView,
    name: &'a str,
}

impl Locked<'_> {
    /// The current key (cached, or read from storage and cached).
    pub async fn current(&self) -> Result<Option<Arc<Key>>, TransitError> {
        if let Some(key) = self.cache.get(self.view.prefix(), self.name) {
            return Ok(Some(key));
        }
        let Some(raw) = self.view.get(&storage_key(self.name)).await? else {
            return Ok(None);
        };
        let key = Arc::new(Key::decode(&raw)?);
        self.cache
            .insert(self.view.prefix(), self.name, Arc::clone(&key));
        Ok(Some(key))
    }

    /// A private copy of the stored key to modify (always read from storage).
    pub async fn read_for_update(&self) -> Result<Option<Key>, TransitError> {
        let Some(raw) = self.view.get(&storage_key(self.name)).await? else {
            return Ok(None);
        };
        Ok(Some(Key::decode(&raw)?))
    }

    /// Stores `key` and makes it the cached one.
    pub async fn store(&self, key: Key) -> Result<Arc<Key>, TransitError> {
        let raw = key.encode()?;
        if let Err(e) = self.view.put(&storage_key(self.name), &raw).await {
            // Storage may or may not hold the new key: let the next reader look.
            self.cache.remove(self.view.prefix(), self.name);
            return Err(e.into());
        }
        let key = Arc::new(key);
        self.cache
            .insert(self.view.prefix(), self.name, Arc::clone(&key));
        Ok(key)
    }

    /// Deletes the key from storage and the cache.
    pub async fn delete(&self) -> Result<(), TransitError> {
        self.cache.remove(self.view.prefix(), self.name);
        self.view.delete(&storage_key(self.name)).await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engines::transit::key::{KeyType, NewKey};
    use crate::engines::MountContext;

    fn new_key(name: &str) -> Key {
        Key::create(
            name,
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
        .unwrap()
    }

    #[tokio::test]
    async fn writes_update_the_cache_and_delete_evicts() {
        let ctx = MountContext::for_test("logical/t1/", "transit/", "transit_1").await;
        let cache = KeyCache::new();
        assert!(cache.load(&ctx.view, "k").await.unwrap().is_none());
        let locked = cache.lock(&ctx.view, "k").await;
        locked.store(new_key("k")).await.unwrap();
        let mut k = locked.read_for_update().await.unwrap().unwrap();
        k.rotate().unwrap();
        locked.store(k).await.unwrap();
        drop(locked);
        assert_eq!(
            cache
                .load(&ctx.view, "k")
                .await
                .unwrap()
                .unwrap()
                .latest_version,
            2
        );
        // A fresh cache reads the same from storage.
        let other = KeyCache::new();
        assert_eq!(
            other
                .load(&ctx.view, "k")
                .await
                .unwrap()
                .unwrap()
                .latest_version,
            2
        );
        cache.lock(&ctx.view, "k").await.delete().await.unwrap();
        assert!(cache.load(&ctx.view, "k").await.unwrap().is_none());
        assert!(!cache.exists(&ctx.view, "k").await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_and_fills_never_leave_a_stale_key() {
        let ctx = MountContext::for_test("logical/t2/", "transit/", "transit_2").await;
        let cache = Arc::new(KeyCache::new());
        cache
            .lock(&ctx.view, "k")
            .await
            .store(new_key("k"))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (cache, view) = (Arc::clone(&cache), ctx.view.clone());
            tasks.push(tokio::spawn(async move {
                if i % 2 == 0 {
                    let locked = cache.lock(&view, "k").await;
                    let mut k = locked.read_for_update().await.unwrap().unwrap();
                    k.rotate().unwrap();
                    locked.store(k).await.unwrap();
                } else {
                    // Evict and refill while rotations run.
                    cache.remove(view.prefix(), "k");
                    cache.load(&view, "k").await.unwrap().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let cached = cache.load(&ctx.view, "k").await.unwrap().unwrap();
        let stored = KeyCache::new().load(&ctx.view, "k").await.unwrap().unwrap();
        assert_eq!(cached.latest_version, 9);
        assert_eq!(stored.latest_version, 9);
    }

    #[test]
    fn bounded() {
        let cache = KeyCache::new();
        let k = Arc::new(new_key("x"));
        for i in 0..CAPACITY + 10 {
            cache.insert("p/", &format!("k{i}"), Arc::clone(&k));
        }
        assert_eq!(cache.inner.read().unwrap().len, CAPACITY);
    }
}
