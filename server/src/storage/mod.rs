//! Physical storage: untrusted bytes under string keys.
//!
//! Sits at the bottom of the stack (`barrier → storage`). Nothing here knows about
//! encryption: the barrier encrypts before it calls a [`Backend`], and everything a
//! backend holds must be assumed readable by an attacker.
//!
//! Invariants every backend upholds (checked by the shared conformance suite in
//! [`conformance`]):
//! - `put` and `write_batch` return only once the write is durable (for SQLite: after
//!   the fsync of the transaction that holds it).
//! - `write_batch` is atomic: all of its operations become visible together or none do.
//! - `list(prefix)` returns the immediate children of `prefix`, sorted, with
//!   sub-folders once each and suffixed by `/` (Vault's physical list semantics).
//! - `scan(prefix, after, limit)` returns full keys (recursively, not one level), in
//!   byte order, that start with `prefix` and sort strictly after `after`, at most
//!   `limit` of them: a cursor for walking an index a page at a time. Keys are UTF-8
//!   and byte order equals `str` order, so every backend agrees on what "after" means.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::ErrorKind;

pub mod cache;
pub mod conformance;
pub mod inmem;
pub mod sqlite;

pub use cache::CachedBackend;
pub use inmem::InmemBackend;
pub use sqlite::{SqliteBackend, SqliteOptions};

/// One operation of an atomic batch.
#[derive(Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Store `value` under `key`, replacing any previous value.
    Put { key: String, value: Vec<u8> },
    /// Remove `key`; removing an absent key is not an error.
    Delete { key: String },
}

impl std::fmt::Debug for WriteOp {
    // Values may be ciphertext or (for the seal's own records) key material: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteOp::Put { key, value } => write!(f, "Put({key:?}, {} bytes)", value.len()),
            WriteOp::Delete { key } => write!(f, "Delete({key:?})"),
        }
    }
}

/// Failures of the physical store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key is not acceptable to the store (empty, too long, contains NUL).
    #[error("invalid storage key: {0}")]
    InvalidKey(String),
    /// The database reported an error.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The store is closed or its writer thread is gone.
    #[error("storage backend is unavailable")]
    Unavailable,
}

impl StorageError {
    /// How this failure is reported to a client.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StorageError::InvalidKey(_) => ErrorKind::Invalid,
            StorageError::Backend(_) => ErrorKind::Internal,
            StorageError::Unavailable => ErrorKind::Unavailable,
        }
    }
}

/// Maximum length of a physical key in bytes.
pub const MAX_KEY_LEN: usize = 8 * 1024;

/// Checks the rules every backend applies to keys.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    if key.is_empty() {
        return Err(StorageError::InvalidKey("empty key".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(StorageError::InvalidKey(format!(
            "key longer than {MAX_KEY_LEN} bytes"
        )));
    }
    if key.contains('\0') {
        return Err(StorageError::InvalidKey("key contains a NUL byte".into()));
    }
    Ok(())
}

/// A physical store of untrusted bytes.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Reads one key.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Writes one key durably.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError>;
    /// Deletes one key durably (absent is fine).
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// Immediate children of `prefix` (which is empty or ends in `/`), sorted; folders end in `/`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError>;
    /// The full keys that start with `prefix` and sort strictly after `after` (byte
    /// order; an empty `after` starts at the beginning of the prefix), ascending, at most
    /// `limit` of them. Recursive: `a/b/c` is returned for the prefix `a/`. The prefix is
    /// a plain string prefix (it need not end in `/`). Feed the last key returned back as
    /// `after` to get the next page.
    async fn scan(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, StorageError>;
    /// Applies every operation atomically and durably.
    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StorageError>;
    /// A short name for logs and `sys/seal-status.storage_type`.
    fn kind_name(&self) -> &'static str;
}

/// Checks the arguments of [`Backend::scan`] the way every backend does: a non-empty
/// `prefix` or `after` must be an acceptable key (no NUL, not too long).
pub fn validate_scan(prefix: &str, after: &str) -> Result<(), StorageError> {
    if !prefix.is_empty() {
        validate_key(prefix)?;
    }
    if !after.is_empty() {
        validate_key(after)?;
    }
    Ok(())
}

/// A shared handle to whichever backend the server was configured with.
pub type SharedBackend = Arc<dyn Backend>;

/// Turns the full keys under `prefix` into Vault-style immediate children.
///
/// `keys` must be sorted and all start with `prefix`. Shared by every backend so they
/// agree exactly on folder handling.
pub fn immediate_children<'a>(
    prefix: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        if rest.is_empty() {
            continue;
        }
        let child = match rest.find('/') {
            Some(i) => &rest[..=i],
            None => rest,
        };
        if out.last().map(String::as_str) != Some(child) {
            out.push(child.to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}
