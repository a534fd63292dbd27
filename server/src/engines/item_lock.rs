//! Per-item async locks: the read-modify-write of one stored item (an approle role, a
//! database connection or role) holds the lock of that item only, across its awaits
//! (storage, and for the database engine the database calls). Items are named by their
//! mount and a key within it; locks of different items are never shared.
//!
//! One process-wide table of `tokio` mutexes behind a std mutex held only to find or
//! make an entry (never across an await). Idle entries are pruned once the table grows
//! past [`PRUNE_AT`]: an entry whose only holder is the table is neither held nor awaited.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::OwnedMutexGuard;

type LockTable = Mutex<HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>>;

/// Entries in the table beyond which idle ones are dropped.
const PRUNE_AT: usize = 256;

/// Takes the lock of item `key` of the mount `mount` (its accessor or uuid).
pub async fn lock_item(mount: &str, key: &str) -> OwnedMutexGuard<()> {
    static TABLE: OnceLock<LockTable> = OnceLock::new();
    let lock = {
        let mut table = TABLE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if table.len() >= PRUNE_AT {
            // Only the table holds an idle lock: nobody waits on it or holds it.
            table.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Arc::clone(
            table
                .entry((mount.to_string(), key.to_string()))
                .or_default(),
        )
    };
    lock.lock_owned().await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_item_at_a_time_and_items_apart() {
        let held = lock_item("m1", "a").await;
        // Another item, or the same key in another mount, is free.
        let _b = lock_item("m1", "b").await;
        let _other_mount = lock_item("m2", "a").await;
        let waiting = tokio::spawn(async { lock_item("m1", "a").await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the same item waits");
        drop(held);
        assert!(tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .is_ok());
    }
}
