//! A read cache in front of a physical backend (Vault's "physical cache").
//!
//! Caches what `get` returned (present or absent) for recently used keys, bounded by
//! entry count and bytes (LRU). A write updates the cache after it is durable, but only if
//! no other write to the same key overlapped it in time: the order in which two
//! overlapping writes commit is not the order in which their completions take the cache
//! lock, so then every one of them evicts the key instead (per-key in-flight counts).
//! A read that missed may only fill the cache if no write started or completed while it
//! was reading: a generation counter, bumped before a write starts and again when it has
//! committed, is checked under the cache lock, so a slow read can never put back a value
//! a write has already replaced. Values are ciphertext (the cache sits below the barrier), so the
//! cache holds nothing the disk does not.
//!
//! `list` and `scan` return keys only and go straight to the inner backend: the cache
//! holds values, never key sets, so it cannot answer them (and need not invalidate them).
//!
//! Single-node only: a node that shares its storage with others (HA) must not use it.

use std::collections::HashMap;
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
    /// Keys with writes in flight: how many, and whether any two of them overlapped.
    in_flight: HashMap<String, InFlight>,
}

#[derive(Debug, Default)]
struct InFlight {
    writes: u32,
    overlapped: bool,
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
                in_flight: HashMap::new(),
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

    fn evict(state: &mut State, key: &str) {
        if let Some(old) = state.lru.pop(key) {
            state.bytes -= weight(&old, key);
        }
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
        let updates: Vec<(String, Option<Vec<u8>>)> = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put { key, value } => (key.clone(), Some(value.clone())),
                WriteOp::Delete { key } => (key.clone(), None),
            })
            .collect();
        {
            let mut state = self.lock();
            self.generation.fetch_add(1, Ordering::SeqCst);
            for (key, _) in &updates {
                let slot = state.in_flight.entry(key.clone()).or_default();
                slot.writes += 1;
                slot.overlapped |= slot.writes > 1;
            }
        }
        let result = self.inner.write_batch(ops).await;
        let mut state = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        for (key, value) in updates {
            let overlapped = match state.in_flight.get_mut(&key) {
                Some(slot) => {
                    slot.writes = slot.writes.saturating_sub(1);
                    let overlapped = slot.overlapped;
                    if slot.writes == 0 {
                        state.in_flight.remove(&key);
                    }
                    overlapped
                }
                None => true,
            };
            if result.is_ok() && !overlapped {
                self.insert(&mut state, &key, value);
            } else {
                // Overlapping writes (commit order unknown here) or an unknown outcome:
                // forget the key so the next read goes to storage.
                Self::evict(&mut state, &key);
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

    async fn scan(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        self.inner.scan(prefix, after, limit).await
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

    /// A backend whose writes wait until released, so a test can choose the order in which
    /// two overlapping writes complete.
    #[derive(Debug)]
    struct Gated {
        inner: InmemBackend,
        gates: Mutex<Vec<tokio::sync::oneshot::Receiver<()>>>,
    }

    #[async_trait]
    impl Backend for Gated {
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
            self.inner.get(key).await
        }
        async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
            self.write_batch(vec![WriteOp::Put {
                key: key.to_string(),
                value,
            }])
            .await
        }
        async fn delete(&self, key: &str) -> Result<(), StorageError> {
            self.inner.delete(key).await
        }
        async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
            self.inner.list(prefix).await
        }
        async fn scan(
            &self,
            prefix: &str,
            after: &str,
            limit: usize,
        ) -> Result<Vec<String>, StorageError> {
            self.inner.scan(prefix, after, limit).await
        }
        async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
            // Commit at once, then wait for the gate before reporting completion.
            self.inner.write_batch(ops).await?;
            let gate = self.gates.lock().unwrap().remove(0);
            let _ = gate.await;
            Ok(())
        }
        fn kind_name(&self) -> &'static str {
            "gated"
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn overlapping_writes_never_leave_an_older_value_cached() {
        let (open_a, gate_a) = tokio::sync::oneshot::channel();
        let (open_b, gate_b) = tokio::sync::oneshot::channel();
        let gated = Arc::new(Gated {
            inner: InmemBackend::new(),
            gates: Mutex::new(vec![gate_a, gate_b]),
        });
        let cached = Arc::new(CachedBackend::new(gated.clone()));
        // A commits first, then B; B's completion is reported first, A's last.
        let a = tokio::spawn({
            let cached = cached.clone();
            async move { cached.put("k", b"A".to_vec()).await }
        });
        while gated.inner.get("k").await.unwrap().is_none() {
            tokio::task::yield_now().await;
        }
        let b = tokio::spawn({
            let cached = cached.clone();
            async move { cached.put("k", b"B".to_vec()).await }
        });
        while gated.inner.get("k").await.unwrap().as_deref() != Some(b"B".as_slice()) {
            tokio::task::yield_now().await;
        }
        open_b.send(()).unwrap();
        b.await.unwrap().unwrap();
        open_a.send(()).unwrap();
        a.await.unwrap().unwrap();
        assert_eq!(gated.inner.get("k").await.unwrap().unwrap(), b"B");
        assert_eq!(cached.get("k").await.unwrap().unwrap(), b"B");
        assert!(cached.lock().in_flight.is_empty());
        // A lone write still updates the cache.
        let (open_c, gate_c) = tokio::sync::oneshot::channel();
        gated.gates.lock().unwrap().push(gate_c);
        open_c.send(()).unwrap();
        cached.put("k", b"C".to_vec()).await.unwrap();
        assert_eq!(
            cached.lock().lru.peek("k").cloned(),
            Some(Some(b"C".to_vec()))
        );
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
