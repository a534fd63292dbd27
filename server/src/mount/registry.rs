//! The live mount table: load, resolve (longest prefix), enable, disable, tune.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{MountEntry, MountError, MountPath};
use crate::barrier::Barrier;

/// Barrier key of the persisted table.
const TABLE_KEY: &str = "core/mounts";
/// A request path resolved to a mount.
#[derive(Debug, Clone)]
pub struct ResolvedMount {
    /// The mount.
    pub entry: Arc<MountEntry>,
    /// The path relative to the mount (may be empty).
    pub rel: String,
}

/// The mount table of an unsealed vault.
#[derive(Debug)]
pub struct MountRegistry {
    barrier: Arc<Barrier>,
    /// Sorted by path length, longest first, so the first match is the longest prefix.
    table: ArcSwap<Vec<Arc<MountEntry>>>,
    changes: tokio::sync::Mutex<()>,
}

fn sorted(mut entries: Vec<Arc<MountEntry>>) -> Vec<Arc<MountEntry>> {
    entries.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.path.cmp(&b.path)));
    entries
}

impl MountRegistry {
    /// Loads the table (creating the built-in mounts on first use).
    pub async fn load(barrier: Arc<Barrier>) -> Result<MountRegistry, MountError> {
        let mut entries: Vec<MountEntry> = match barrier.get(TABLE_KEY).await? {
            Some(raw) => serde_json::from_slice(&raw).map_err(|_| MountError::Corrupt)?,
            None => Vec::new(),
        };
        let mut changed = false;
        for builtin in MountEntry::builtins() {
            if !entries.iter().any(|e| e.path == builtin.path) {
                entries.push(builtin);
                changed = true;
            }
        }
        if changed {
            persist(&barrier, &entries).await?;
        }
        Ok(MountRegistry {
            barrier,
            table: ArcSwap::from_pointee(sorted(entries.into_iter().map(Arc::new).collect())),
            changes: tokio::sync::Mutex::new(()),
        })
    }

    /// The barrier the mounts' data lives behind.
    pub fn barrier(&self) -> &Arc<Barrier> {
        &self.barrier
    }

    /// Every mount, sorted by path.
    pub fn list(&self) -> Vec<Arc<MountEntry>> {
        let mut all: Vec<Arc<MountEntry>> = self.table.load().iter().cloned().collect();
        all.sort_by(|a, b| a.path.cmp(&b.path));
        all
    }

    /// The mount at exactly `path`.
    pub fn get(&self, path: &MountPath) -> Option<Arc<MountEntry>> {
        self.table
            .load()
            .iter()
            .find(|e| e.path == path.as_str())
            .cloned()
    }

    /// Longest-prefix match of a request path (`secret` and `secret/...` both reach `secret/`).
    pub fn resolve(&self, path: &str) -> Option<ResolvedMount> {
        self.table.load().iter().find_map(|entry| {
            let rel = if let Some(rel) = path.strip_prefix(entry.path.as_str()) {
                rel
            } else if path == entry.path.trim_end_matches('/') {
                ""
            } else {
                return None;
            };
            Some(ResolvedMount {
                entry: Arc::clone(entry),
                rel: rel.to_string(),
            })
        })
    }

    /// Adds a mount; refuses overlapping paths.
    pub async fn enable(&self, entry: MountEntry) -> Result<Arc<MountEntry>, MountError> {
        let _guard = self.changes.lock().await;
        let path = MountPath::parse(&entry.path)?;
        let current = self.table.load_full();
        if let Some(existing) = current
            .iter()
            .find(|e| MountPath::builtin(&e.path).overlaps(&path))
        {
            return Err(MountError::InUse(existing.path.clone()));
        }
        let entry = Arc::new(entry);
        let mut next: Vec<Arc<MountEntry>> = current.iter().cloned().collect();
        next.push(Arc::clone(&entry));
        self.commit(next).await?;
        Ok(entry)
    }

    /// Removes a mount and deletes its data. `Ok(None)` when nothing was mounted there.
    pub async fn disable(&self, path: &MountPath) -> Result<Option<Arc<MountEntry>>, MountError> {
        let _guard = self.changes.lock().await;
        let current = self.table.load_full();
        let Some(entry) = current.iter().find(|e| e.path == path.as_str()).cloned() else {
            return Ok(None);
        };
        if entry.is_builtin() {
            return Err(MountError::Protected {
                action: "unmount",
                path: entry.path.clone(),
            });
        }
        let next: Vec<Arc<MountEntry>> = current
            .iter()
            .filter(|e| e.path != entry.path)
            .cloned()
            .collect();
        // The table goes first: once it is persisted the data is unreachable, so a crash
        // while deleting leaves only unreferenced ciphertext behind.
        self.commit(next).await?;
        delete_tree(&self.barrier, &entry.data_prefix()).await?;
        Ok(Some(entry))
    }

    /// Replaces a mount's entry with `update(old)`.
    pub async fn tune(
        &self,
        path: &MountPath,
        update: impl FnOnce(&MountEntry) -> Result<MountEntry, MountError>,
    ) -> Result<(Arc<MountEntry>, Arc<MountEntry>), MountError> {
        let _guard = self.changes.lock().await;
        let current = self.table.load_full();
        let Some(old) = current.iter().find(|e| e.path == path.as_str()).cloned() else {
            return Err(MountError::NoMount(path.as_str().to_string()));
        };
        let new = Arc::new(update(&old)?);
        let next: Vec<Arc<MountEntry>> = current
            .iter()
            .map(|e| {
                if e.path == old.path {
                    Arc::clone(&new)
                } else {
                    Arc::clone(e)
                }
            })
            .collect();
        self.commit(next).await?;
        Ok((old, new))
    }

    async fn commit(&self, next: Vec<Arc<MountEntry>>) -> Result<(), MountError> {
        let plain: Vec<MountEntry> = next.iter().map(|e| MountEntry::clone(e)).collect();
        persist(&self.barrier, &plain).await?;
        self.table.store(Arc::new(sorted(next)));
        Ok(())
    }
}

async fn persist(barrier: &Barrier, entries: &[MountEntry]) -> Result<(), MountError> {
    let body = serde_json::to_vec(entries).map_err(|_| MountError::Corrupt)?;
    barrier.put(TABLE_KEY, &body).await?;
    Ok(())
}

/// Deletes every key under `prefix`.
pub(crate) async fn delete_tree(barrier: &Barrier, prefix: &str) -> Result<(), MountError> {
    Ok(barrier.delete_tree(prefix).await?)
}
