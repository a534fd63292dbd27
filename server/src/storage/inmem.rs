//! In-memory backend, for tests and for `dev` mode.
//!
//! [`InmemBackend`] keeps every key in one `BTreeMap` behind a `std::sync::RwLock`.
//! Nothing survives the process, so "durable" here simply means "visible to every
//! later call": `put`, `delete` and `write_batch` return only after the map has been
//! updated.
//!
//! Invariants (the same ones the shared [`conformance`](super::conformance) suite
//! checks on every backend):
//! - every key is checked with [`validate_key`] before anything is read or written;
//! - a `write_batch` validates all of its keys first and then applies its operations
//!   in order under one write-lock acquisition, so readers see all of it or none of
//!   it, and an invalid key anywhere fails the whole batch with nothing applied;
//! - `list` walks the sorted map from `prefix` and hands the matching keys to
//!   [`immediate_children`], exactly like the SQLite backend;
//! - `scan` is one `BTreeMap::range` from the tighter of the two lower bounds (`after`,
//!   exclusive, or `prefix`, inclusive), stopped at the first key outside the prefix
//!   or at `limit`.
//!
//! The lock is never held across an `.await` (every method does its work
//! synchronously), and no code path panics while holding it, so a poisoned lock can
//! only come from an out-of-memory abort; we still recover from poisoning instead of
//! panicking because the map is never left half-updated by our own code.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use super::{immediate_children, validate_key, validate_scan, Backend, StorageError, WriteOp};

/// A [`Backend`] that keeps everything in memory.
#[derive(Default)]
pub struct InmemBackend {
    map: RwLock<BTreeMap<String, Vec<u8>>>,
}

impl InmemBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for InmemBackend {
    // Values may be key material: print only the size of the store.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InmemBackend")
            .field("keys", &self.read().len())
            .finish()
    }
}

#[async_trait]
impl Backend for InmemBackend {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        validate_key(key)?;
        Ok(self.read().get(key).cloned())
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        validate_key(key)?;
        self.write().insert(key.to_owned(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        validate_key(key)?;
        self.write().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        if !prefix.is_empty() {
            validate_key(prefix)?;
        }
        let map = self.read();
        let keys = map
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .map(|(k, _)| k.as_str())
            .take_while(|k| k.starts_with(prefix));
        Ok(immediate_children(prefix, keys))
    }

    async fn scan(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        validate_scan(prefix, after)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Start at whichever bound is tighter: everything below `prefix` is outside it.
        let start = if after >= prefix {
            Bound::Excluded(after)
        } else {
            Bound::Included(prefix)
        };
        let map = self.read();
        Ok(map
            .range::<str, _>((start, Bound::Unbounded))
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
        for op in &ops {
            match op {
                WriteOp::Put { key, .. } | WriteOp::Delete { key } => validate_key(key)?,
            }
        }
        if ops.is_empty() {
            return Ok(());
        }
        let mut map = self.write();
        for op in ops {
            match op {
                WriteOp::Put { key, value } => {
                    map.insert(key, value);
                }
                WriteOp::Delete { key } => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }

    fn kind_name(&self) -> &'static str {
        "inmem"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::storage::{conformance, SharedBackend};

    #[tokio::test(flavor = "multi_thread")]
    async fn conformance_suite() {
        let backend = InmemBackend::new();
        conformance::run_all(&backend).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn conformance_parallel_tasks() {
        let backend: SharedBackend = Arc::new(InmemBackend::new());
        conformance::parallel_tasks(backend).await;
    }

    #[tokio::test]
    async fn debug_does_not_print_values() {
        let backend = InmemBackend::new();
        backend.put("k", b"hunter2".to_vec()).await.unwrap();
        let shown = format!("{backend:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("keys: 1"), "{shown}");
        assert_eq!(backend.kind_name(), "inmem");
    }
}
