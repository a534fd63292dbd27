//! A read cache in front of a physical backend (Vault's "physical cache").
//!
//! Caches what `get` returned (present or absent) for recently used keys, bounded by
//! entry count and bytes (LRU). Every write updates the cache after it is durable. A read
//! that missed may only fill the cache if no write completed while it was reading: a
//! generation counter, bumped before a write starts and again when it has committed, is
//! checked under the cache lock, so a slow read can never put back a value a write has
//! already replaced. Values are ciphertext (the cache sits below the barrier), so the
//! cache holds nothing the disk does not.
//!
//! Single-node only: a node that shares its storage with others (HA) must not use it.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use lru::LruCache;

use super::{Backend, SharedBackend, StorageError, WriteOp};

/// Default bounds.
pub const DEFAULT_MAX_ENTRIES: usize = 128 * 1024;
/// Default byte bound (values only).
pub const DEFAULT_MAX_BYTES: usize = 128 * 1024 * 1024;

struct State {
    lru: LruCache<String, Option<Vec<u8>>>,
    bytes: usize,
}

/// A backend with a read cache.
pub struct CachedBackend {
    inner: SharedBackend,
    state: Mutex<State>,
    generation: AtomicU64,
    max_bytes: usize,
}

impl std::fmt::Debug for CachedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedBackend")
            .field("inner", &self.inner.kind_name())
            .finish_non_exhaustive()
    }
}

fn weight(value: &Option<Vec<u8>>, key: &str) -> usize {
    key.len() + value.as_ref().map_or(0, Vec::len)
}

impl CachedBackend {
    /// Wraps `inner` with the default bounds.
    pub fn new(inner: SharedBackend) -> CachedBackend {
        CachedBackend::with_bounds(inner, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES)
    }

    /// Wraps `inner` with explicit bounds (entries at least 1).
    pub fn with_bounds(
        inner: SharedBackend,
        max_entries: usize,
        max_bytes: usize,
    ) -> CachedBackend {
        let cap = NonZeroUsize::new(max_entries).unwrap_or(NonZeroUsize::MIN);
        CachedBackend {
            inner,
            state: Mutex::new(State {
                lru: LruCache::new(cap),
                bytes: 0,
            }),
            generation: AtomicU64::new(0),
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned cache is still a valid cache of committed values.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn insert(&self, state: &mut State, key: &str, value: Option<Vec<u8>>) {
        let w = weight(&value, key);
        if w > self.max_bytes {
            if let Some(old) = state.lru.pop(key) {
                state.bytes -= weight(&old, key);
            }
            return;
        }
        state.bytes += w;
        if let Some((old_key, old)) = state.lru.push(key.to_string(), value) {
            state.bytes -= weight(&old, &old_key);
        }
        while state.bytes > self.max_bytes {
            match state.lru.pop_lru() {
                Some((k, v)) => state.bytes -= weight(&v, &k),
                None => break,
            }
        }
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let updates: Vec<(String, Option<Vec<u8>>)> = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put { key, value } => (key.clone(), Some(value.clone())),
                WriteOp::Delete { key } => (key.clone(), None),
            })
            .collect();
        let result = self.inner.write_batch(ops).await;
        let mut state = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        match result {
            Ok(()) => {
                for (key, value) in updates {
                    self.insert(&mut state, &key, value);
                }
            }
            Err(_) => {
                // Unknown outcome: forget the keys so the next read goes to storage.
                for (key, _) in updates {
                    if let Some(old) = state.lru.pop(&key) {
                        state.bytes -= weight(&old, &key);
                    }
                }
            }
        }
        result
    }
}

#[async_trait]
impl Backend for CachedBackend {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(hit) = self.lock().lru.get(key) {
            return Ok(hit.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let value = self.inner.get(key).await?;
        let mut state = self.lock();
        if self.generation.load(Ordering::SeqCst) == generation {
            self.insert(&mut state, key, value.clone());
        }
        Ok(value)
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.write(vec![WriteOp::Put {
            key: key.to_string(),
            value,
        }])
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.write(vec![WriteOp::Delete {
            key: key.to_string(),
        }])
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        self.inner.list(prefix).await
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
        self.write(ops).await
    }

    fn kind_name(&self) -> &'static str {
        self.inner.kind_name()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::storage::{conformance, InmemBackend};

    #[tokio::test(flavor = "multi_thread")]
    async fn conformance_suite() {
        let backend = CachedBackend::new(Arc::new(InmemBackend::new()));
        conformance::run_all(&backend).await;
        let small = CachedBackend::with_bounds(Arc::new(InmemBackend::new()), 4, 4096);
        conformance::run_all(&small).await;
    }

    #[tokio::test]
    async fn reads_are_served_from_cache_and_writes_update_it() {
        let inner = Arc::new(InmemBackend::new());
        let cached = CachedBackend::new(inner.clone());
        cached.put("k", b"v1".to_vec()).await.unwrap();
        // A write behind the cache's back is not seen: proof the read came from the cache.
        inner.put("k", b"sneaky".to_vec()).await.unwrap();
        assert_eq!(cached.get("k").await.unwrap().unwrap(), b"v1");
        cached.put("k", b"v2".to_vec()).await.unwrap();
        assert_eq!(cached.get("k").await.unwrap().unwrap(), b"v2");
        cached.delete("k").await.unwrap();
        assert_eq!(cached.get("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn bounds_evict_least_recently_used() {
        let inner = Arc::new(InmemBackend::new());
        let cached = CachedBackend::with_bounds(inner.clone(), 2, 1 << 20);
        for k in ["a", "b", "c"] {
            cached.put(k, k.as_bytes().to_vec()).await.unwrap();
        }
        assert_eq!(cached.lock().lru.len(), 2);
        assert!(cached.lock().lru.peek("a").is_none());
        assert_eq!(cached.get("a").await.unwrap().unwrap(), b"a");
        let bytes = CachedBackend::with_bounds(inner, 100, 10);
        bytes.put("big", vec![0; 64]).await.unwrap();
        assert!(
            bytes.lock().lru.peek("big").is_none(),
            "oversized values are not cached"
        );
        assert_eq!(bytes.get("big").await.unwrap().unwrap().len(), 64);
    }
}
