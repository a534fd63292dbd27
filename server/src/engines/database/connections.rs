//! The pool registry: one live [`Connection`] per (mount uuid, connection name).
//!
//! Invariants:
//! - The map's std `Mutex` guards only the map: it is held to look up, insert or remove an
//!   entry, never across `.await`, a connect or a statement (opening a pool does no I/O;
//!   closing one happens after the guard is dropped). A slow database therefore delays
//!   only the requests that talk to it.
//! - A pool is tagged with the `generation` of the stored config it was built from. Every
//!   write of a config (including `rotate-root`) draws a new generation, so a request that
//!   finds a pool of another generation rebuilds it from the config it just read: a stale
//!   pool can never outlive its config, even if two writers race.
//! - The registry is in memory only and dropped on seal; pools are rebuilt lazily.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use super::config::DbConfig;
use super::driver::Connection;
use super::driver_failure;
use crate::engines::EngineError;
use crate::password::PasswordPolicyStore;

/// One live pool.
struct Pool {
    generation: u64,
    conn: Connection,
}

/// Live pools per (mount uuid, connection name). Lives as long as the vault is unsealed.
pub struct Connections {
    passwords: Arc<PasswordPolicyStore>,
    pools: Mutex<HashMap<(String, String), Pool>>,
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pools = self
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Connections")
            .field("pools", &pools)
            .finish_non_exhaustive()
    }
}

impl Connections {
    /// An empty registry; `passwords` resolves a connection's `password_policy`.
    pub fn new(passwords: Arc<PasswordPolicyStore>) -> Connections {
        Connections {
            passwords,
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// Closes and forgets every pool of a mount (unmount).
    pub fn forget_mount(&self, mount_uuid: &str) {
        let closed: Vec<Pool> = {
            let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
            let keys: Vec<(String, String)> = pools
                .keys()
                .filter(|(mount, _)| mount == mount_uuid)
                .cloned()
                .collect();
            keys.iter().filter_map(|k| pools.remove(k)).collect()
        };
        for pool in closed {
            pool.conn.close();
        }
    }

    /// The password-policy store.
    pub(super) fn passwords(&self) -> &PasswordPolicyStore {
        &self.passwords
    }

    /// The live pool of connection `name` for `config` (just read from storage): the
    /// registered one if it was built from this generation of the config, else a new one
    /// (no I/O) that replaces it.
    pub(super) fn connection(
        &self,
        mount: &str,
        name: &str,
        config: &DbConfig,
    ) -> Result<Connection, EngineError> {
        let key = (mount.to_string(), name.to_string());
        {
            let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(pool) = pools.get(&key) {
                if pool.generation == config.generation {
                    return Ok(pool.conn.clone());
                }
            }
        }
        let fresh = Connection::open(&config.settings()?)
            .map_err(|e| driver_failure("error creating database object", &e, &[]))?;
        let (conn, stale) = {
            let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
            match pools.get(&key) {
                // Someone else built this generation meanwhile: use theirs.
                Some(pool) if pool.generation == config.generation => {
                    (pool.conn.clone(), Some(fresh))
                }
                _ => {
                    let old = pools.insert(
                        key,
                        Pool {
                            generation: config.generation,
                            conn: fresh.clone(),
                        },
                    );
                    (fresh, old.map(|p| p.conn))
                }
            }
        };
        if let Some(stale) = stale {
            stale.close();
        }
        Ok(conn)
    }

    /// Registers `conn` (built from config generation `generation`) as the pool of `name`,
    /// closing the one it replaces.
    pub(super) fn install(&self, mount: &str, name: &str, generation: u64, conn: Connection) {
        let old = self
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                (mount.to_string(), name.to_string()),
                Pool { generation, conn },
            );
        if let Some(old) = old {
            old.conn.close();
        }
    }

    /// Closes and forgets the pool of `name`.
    pub(super) fn remove(&self, mount: &str, name: &str) {
        let old = self
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(mount.to_string(), name.to_string()));
        if let Some(old) = old {
            old.conn.close();
        }
    }

    /// How many pools are live (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
