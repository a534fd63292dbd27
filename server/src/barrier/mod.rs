//! The encryption barrier: everything above it sees plaintext, everything below it only
//! AES-256-GCM ciphertext.
//!
//! Where it sits: `core → barrier → storage`, `mount → barrier` (through [`StorageView`]s)
//! and `seal → barrier` (the seal hands in the [`UnsealKey`] and commits the records this
//! module prepares). DESIGN.md §4 has the key hierarchy.
//!
//! Physical layout (all other keys belong to the layers above and are encrypted entries):
//!
//! | key                  | content                                                      |
//! |----------------------|--------------------------------------------------------------|
//! | `core/seal/…`        | the seal's own plaintext records (its config), raw backend    |
//! | `core/seal/root-key` | the root key, entry format, term 0, under the unseal key      |
//! | `core/keyring`       | the encoded keyring, entry format, term 0, under a key derived from the root key |
//!
//! Invariants:
//! - The lifecycle is a type: [`BarrierState::Sealed`] or [`BarrierState::Unsealed`] holding
//!   the `Arc<Keyring>`. Readers take the current state from the `ArcSwap` and work with
//!   their own `Arc` without any lock; sealing swaps in `Sealed` and the keys are zeroized
//!   when the last in-flight operation drops its `Arc`.
//! - While sealed every data operation fails with [`BarrierError::Sealed`].
//! - `get/put/delete/list/scan/write_batch` refuse the reserved records (`core/seal/`,
//!   `core/keyring`) with [`BarrierError::Reserved`]; only the barrier (through the raw
//!   [`Barrier::backend`]) and the seal touch them. `list` and `scan` never show them
//!   either (a `scan` page is refilled past them, so it is short only at the end).
//! - Every key is checked segment by segment (no empty, `.`/`..` segment, no control
//!   character, no leading `/`) before it reaches the backend.
//! - Changes of the stored/loaded keyring (unseal, rotate, reload) are serialized by one
//!   tokio mutex; a rotation is persisted with one `put` of the keyring record before it is
//!   swapped in, and never swaps a keyring into a barrier that was sealed meanwhile.
//! - Key names are NOT encrypted (as in Vault): never put a secret in a storage key; hash it
//!   with a [`DerivedKey`] first (e.g. [`KeyPurpose::TokenHash`]).
//! - Rotation never rewrites old entries: old terms stay in the keyring forever.

pub mod entry;
pub mod keyring;
pub mod keys;
pub mod view;

use std::fmt;
use std::sync::Arc;

use aes_gcm::{Aes256Gcm, KeyInit};
use arc_swap::ArcSwap;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::ErrorKind;
use crate::storage::{SharedBackend, StorageError, WriteOp};

pub use keyring::{Keyring, Term};
pub use keys::{DataKey, DerivedKey, KeyPurpose, RootKey, UnsealKey};
pub use view::StorageView;

use entry::{open_entry, seal_entry};

/// Everything under this prefix belongs to the seal (plaintext records + the wrapped root key).
pub const SEAL_PREFIX: &str = "core/seal/";
/// The root key, wrapped under the unseal key.
pub const ROOT_KEY_PATH: &str = "core/seal/root-key";
/// The keyring, encrypted under a key derived from the root key.
pub const KEYRING_PATH: &str = "core/keyring";
/// The term number written in the header of the two records above (data terms start at 1).
pub const RECORD_TERM: u32 = 0;

/// Most deletes [`Barrier::delete_tree`] puts in one batch.
pub const DELETE_CHUNK: usize = 256;

/// Whether `key` (a key or a list folder) is one of the barrier/seal records.
pub fn is_reserved(key: &str) -> bool {
    let seal_folder = SEAL_PREFIX.trim_end_matches('/');
    key == seal_folder
        || key.starts_with(SEAL_PREFIX)
        || key == KEYRING_PATH
        || key
            .strip_prefix(KEYRING_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Failures of the barrier.
#[derive(Debug, thiserror::Error)]
pub enum BarrierError {
    /// The barrier is sealed: no keys in memory.
    #[error("Vault is sealed")]
    Sealed,
    /// No root key has been stored yet.
    #[error("Vault is not initialized")]
    NotInitialized,
    /// Authentication failed: wrong key, tampered bytes, or a ciphertext under another key.
    #[error("decryption failed")]
    Decrypt,
    /// Stored bytes do not have the expected shape.
    #[error("malformed barrier data: {0}")]
    Malformed(&'static str),
    /// An entry names a keyring term this keyring does not have.
    #[error("unknown keyring term {0}")]
    UnknownTerm(u32),
    /// The key is not acceptable (empty segment, `..`, control character, ...).
    #[error("invalid storage key: {0}")]
    InvalidKey(String),
    /// The key belongs to the barrier or the seal.
    #[error("storage key {0:?} is reserved")]
    Reserved(String),
    /// The OS random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// A cryptographic primitive refused its input (lengths beyond its limits).
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
    /// The backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl BarrierError {
    /// How this failure is reported to a client.
    pub fn kind(&self) -> ErrorKind {
        match self {
            BarrierError::Sealed | BarrierError::NotInitialized => ErrorKind::Sealed,
            BarrierError::InvalidKey(_) | BarrierError::Reserved(_) => ErrorKind::Invalid,
            BarrierError::Storage(e) => e.kind(),
            BarrierError::Decrypt
            | BarrierError::Malformed(_)
            | BarrierError::UnknownTerm(_)
            | BarrierError::Rng
            | BarrierError::Crypto(_) => ErrorKind::Internal,
        }
    }
}

/// The lifecycle of the barrier.
pub enum BarrierState {
    /// No key material in memory.
    Sealed,
    /// The keyring (and through it the root key) is loaded.
    Unsealed(Arc<Keyring>),
}

impl fmt::Debug for BarrierState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarrierState::Sealed => f.write_str("Sealed"),
            BarrierState::Unsealed(k) => f.debug_tuple("Unsealed").field(k).finish(),
        }
    }
}

/// What `sys/key-status` reports about the active term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermStatus {
    /// The active term number.
    pub term: u32,
    /// When it was installed.
    pub install_time: OffsetDateTime,
    /// Encryptions under it by this process since unseal (in memory only).
    pub encryptions: u64,
}

impl TermStatus {
    fn of(term: &Term) -> TermStatus {
        TermStatus {
            term: term.number(),
            install_time: term.install_time(),
            encryptions: term.encryptions(),
        }
    }
}

/// One operation of an atomic barrier batch (plaintext values).
///
/// The barrier takes ownership of each plaintext value and zeroizes it once encrypted.
pub enum BarrierOp {
    /// Encrypt `value` and store it under `key`.
    Put { key: String, value: Vec<u8> },
    /// Remove `key` (absent is fine).
    Delete { key: String },
}

impl BarrierOp {
    /// A put of `value`.
    pub fn put(key: impl Into<String>, value: impl Into<Vec<u8>>) -> BarrierOp {
        BarrierOp::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    /// A delete.
    pub fn delete(key: impl Into<String>) -> BarrierOp {
        BarrierOp::Delete { key: key.into() }
    }
}

impl fmt::Debug for BarrierOp {
    // Values are plaintext secrets: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarrierOp::Put { key, value } => write!(f, "Put({key:?}, {} bytes)", value.len()),
            BarrierOp::Delete { key } => write!(f, "Delete({key:?})"),
        }
    }
}

/// A batch operation as the barrier handles it: the plaintext moved into a zeroizing buffer
/// (`None` for a delete), so it is wiped however the batch ends.
pub(crate) struct PlainOp {
    pub(crate) key: String,
    pub(crate) value: Option<Zeroizing<Vec<u8>>>,
}

impl From<BarrierOp> for PlainOp {
    fn from(op: BarrierOp) -> PlainOp {
        match op {
            BarrierOp::Put { key, value } => PlainOp {
                key,
                value: Some(Zeroizing::new(value)),
            },
            BarrierOp::Delete { key } => PlainOp { key, value: None },
        }
    }
}

/// Checks a data key: segment rules, then the reserved records.
fn check_key(key: &str) -> Result<(), BarrierError> {
    view::validate_key(key)?;
    if is_reserved(key) {
        return Err(BarrierError::Reserved(key.to_string()));
    }
    Ok(())
}

fn cipher_for(key: &[u8; keys::KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

/// The root key wrapped under `unseal`, as stored at [`ROOT_KEY_PATH`].
fn wrap_root(unseal: &UnsealKey, root: &RootKey) -> Result<Vec<u8>, BarrierError> {
    seal_entry(
        &cipher_for(unseal.expose()),
        RECORD_TERM,
        ROOT_KEY_PATH,
        root.expose(),
    )
}

/// The keyring record as stored at [`KEYRING_PATH`].
fn encrypt_keyring(keyring: &Keyring) -> Result<Vec<u8>, BarrierError> {
    let key = keyring.root().keyring_key()?;
    seal_entry(
        &cipher_for(key.expose()),
        RECORD_TERM,
        KEYRING_PATH,
        &keyring.encode(),
    )
}

/// The encryption layer over one backend.
pub struct Barrier {
    backend: SharedBackend,
    state: ArcSwap<BarrierState>,
    /// Serializes unseal, rotate and reload (held across backend I/O, hence tokio's).
    keyring_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("backend", &self.backend.kind_name())
            .field("sealed", &self.is_sealed())
            .finish_non_exhaustive()
    }
}

impl Barrier {
    /// A sealed barrier over `backend`.
    pub fn new(backend: SharedBackend) -> Arc<Barrier> {
        Arc::new(Barrier {
            backend,
            state: ArcSwap::from_pointee(BarrierState::Sealed),
            keyring_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The raw backend, for the seal's own plaintext records and for committing the
    /// [`WriteOp`]s this type prepares. Everything else goes through the barrier.
    pub fn backend(&self) -> &SharedBackend {
        &self.backend
    }

    /// Whether the wrapped root key record exists.
    pub async fn is_initialized(&self) -> Result<bool, BarrierError> {
        Ok(self.backend.get(ROOT_KEY_PATH).await?.is_some())
    }

    /// A fresh root key and keyring term 1, as the two physical writes (wrapped root key
    /// under `unseal`, encrypted keyring) — NOT written: the caller commits them (in one
    /// `write_batch`) after checking under its own lock that the vault is not initialized,
    /// and marks the vault initialized only afterwards (the core writes its seal
    /// configuration last, so a crash in between leaves an uninitialized vault). The
    /// barrier stays sealed.
    pub fn initialize_records(unseal: &UnsealKey) -> Result<Vec<WriteOp>, BarrierError> {
        let keyring = Keyring::initial()?;
        Ok(vec![
            WriteOp::Put {
                key: ROOT_KEY_PATH.to_string(),
                value: wrap_root(unseal, keyring.root())?,
            },
            WriteOp::Put {
                key: KEYRING_PATH.to_string(),
                value: encrypt_keyring(&keyring)?,
            },
        ])
    }

    /// Reads and unwraps the root key. Missing → `NotInitialized`; wrong key → `Decrypt`.
    async fn open_root(&self, unseal: &UnsealKey) -> Result<RootKey, BarrierError> {
        let wrapped = self
            .backend
            .get(ROOT_KEY_PATH)
            .await?
            .ok_or(BarrierError::NotInitialized)?;
        let root = open_entry(
            &cipher_for(unseal.expose()),
            RECORD_TERM,
            ROOT_KEY_PATH,
            &wrapped,
        )?;
        RootKey::from_bytes(&root)
    }

    /// Reads and decrypts the keyring record with `root`.
    async fn load_keyring(&self, root: Arc<RootKey>) -> Result<Keyring, BarrierError> {
        let sealed = self
            .backend
            .get(KEYRING_PATH)
            .await?
            .ok_or(BarrierError::Malformed("the keyring record is missing"))?;
        let key = root.keyring_key()?;
        let encoded = open_entry(
            &cipher_for(key.expose()),
            RECORD_TERM,
            KEYRING_PATH,
            &sealed,
        )?;
        Keyring::decode(root, &encoded)
    }

    /// Unwraps the root key with `unseal` (wrong key → [`BarrierError::Decrypt`]), loads the
    /// keyring and switches to `Unsealed`. Already unsealed: only checks the key.
    pub async fn unseal(&self, unseal: &UnsealKey) -> Result<(), BarrierError> {
        let _guard = self.keyring_lock.lock().await;
        let root = self.open_root(unseal).await?;
        if !self.is_sealed() {
            return Ok(());
        }
        let keyring = self.load_keyring(Arc::new(root)).await?;
        self.state
            .store(Arc::new(BarrierState::Unsealed(Arc::new(keyring))));
        Ok(())
    }

    /// Checks that `unseal` opens the stored root key (rekey authorization with the old
    /// shares). Works sealed or unsealed and changes nothing.
    pub async fn verify_unseal_key(&self, unseal: &UnsealKey) -> Result<(), BarrierError> {
        self.open_root(unseal).await.map(drop)
    }

    /// The root key wrapped under `new_unseal` (rekey), as a write for the caller to commit
    /// atomically with the new seal configuration. Requires `Unsealed`.
    pub async fn rewrap_root_key(&self, new_unseal: &UnsealKey) -> Result<WriteOp, BarrierError> {
        let keyring = self.keyring()?;
        Ok(WriteOp::Put {
            key: ROOT_KEY_PATH.to_string(),
            value: wrap_root(new_unseal, keyring.root())?,
        })
    }

    /// Switches to `Sealed`. In-flight operations finish with the keyring they hold; the key
    /// material is zeroized when the last of them drops it.
    pub fn seal(&self) {
        self.state.store(Arc::new(BarrierState::Sealed));
    }

    /// Whether the barrier is sealed.
    pub fn is_sealed(&self) -> bool {
        matches!(**self.state.load(), BarrierState::Sealed)
    }

    /// The current keyring, or `Sealed`.
    fn keyring(&self) -> Result<Arc<Keyring>, BarrierError> {
        match &**self.state.load() {
            BarrierState::Sealed => Err(BarrierError::Sealed),
            BarrierState::Unsealed(keyring) => Ok(Arc::clone(keyring)),
        }
    }

    /// Adds a term: persists the new keyring (one `put`), then swaps it in. New writes use
    /// the new term; older entries still decrypt. If the barrier is sealed while the put is
    /// in flight, the new keyring is persisted (and loaded at the next unseal) but not
    /// swapped in, and this returns `Sealed`.
    pub async fn rotate(&self) -> Result<TermStatus, BarrierError> {
        let _guard = self.keyring_lock.lock().await;
        let current = self.state.load_full();
        let BarrierState::Unsealed(keyring) = &*current else {
            return Err(BarrierError::Sealed);
        };
        let next = Arc::new(keyring.rotated()?);
        self.backend
            .put(KEYRING_PATH, encrypt_keyring(&next)?)
            .await?;
        let status = TermStatus::of(next.active());
        self.swap_if_unchanged(&current, next)?;
        Ok(status)
    }

    /// Re-reads the keyring record with the root key in memory (an HA standby taking over
    /// after another node rotated). Requires `Unsealed`.
    pub async fn reload_keyring(&self) -> Result<TermStatus, BarrierError> {
        let _guard = self.keyring_lock.lock().await;
        let current = self.state.load_full();
        let BarrierState::Unsealed(keyring) = &*current else {
            return Err(BarrierError::Sealed);
        };
        let next = Arc::new(self.load_keyring(keyring.shared_root()).await?);
        let status = TermStatus::of(next.active());
        self.swap_if_unchanged(&current, next)?;
        Ok(status)
    }

    /// Installs `next` unless the state changed (i.e. the barrier was sealed) since `current`.
    fn swap_if_unchanged(
        &self,
        current: &Arc<BarrierState>,
        next: Arc<Keyring>,
    ) -> Result<(), BarrierError> {
        let previous = self
            .state
            .compare_and_swap(current, Arc::new(BarrierState::Unsealed(next)));
        if Arc::ptr_eq(&previous, current) {
            Ok(())
        } else {
            Err(BarrierError::Sealed)
        }
    }

    /// The active term, its install time and its encryption count (since unseal).
    pub fn key_status(&self) -> Result<TermStatus, BarrierError> {
        Ok(TermStatus::of(self.keyring()?.active()))
    }

    /// The key for `purpose`, HKDF-SHA256 from the root key: stable across seal/unseal,
    /// rotation and rekey. Sealed → error.
    pub fn derive_key(&self, purpose: KeyPurpose) -> Result<DerivedKey, BarrierError> {
        self.keyring()?.root().derive(purpose)
    }

    /// Reads and decrypts `key`.
    pub async fn get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, BarrierError> {
        check_key(key)?;
        self.get_checked(key).await
    }

    /// [`Barrier::get`] for a key whose segments the caller has already checked (a
    /// [`StorageView`] joining a checked relative key to its checked prefix). The
    /// reserved records stay out of reach.
    pub(crate) async fn get_checked(
        &self,
        key: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, BarrierError> {
        if is_reserved(key) {
            return Err(BarrierError::Reserved(key.to_string()));
        }
        let keyring = self.keyring()?;
        match self.backend.get(key).await? {
            None => Ok(None),
            Some(sealed) => keyring.open(key, &sealed).map(Some),
        }
    }

    /// Encrypts `value` under the active term and writes it at `key`.
    pub async fn put(&self, key: &str, value: &[u8]) -> Result<(), BarrierError> {
        check_key(key)?;
        let keyring = self.keyring()?;
        let sealed = keyring.active().seal(key, value)?;
        Ok(self.backend.put(key, sealed).await?)
    }

    /// Deletes `key` (absent is fine).
    pub async fn delete(&self, key: &str) -> Result<(), BarrierError> {
        check_key(key)?;
        self.keyring()?;
        Ok(self.backend.delete(key).await?)
    }

    /// Immediate children of the folder `prefix` (`""` or ending in `/`), without the
    /// reserved records.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        view::validate_folder(prefix)?;
        if is_reserved(prefix) {
            return Err(BarrierError::Reserved(prefix.to_string()));
        }
        self.keyring()?;
        let mut children = self.backend.list(prefix).await?;
        children.retain(|child| !is_reserved(&format!("{prefix}{child}")));
        Ok(children)
    }

    /// Full keys under the folder `prefix` (`""` or ending in `/`), recursively, that sort
    /// strictly after `after` (byte order; `""` = from the start), ascending, at most
    /// `limit`; never the reserved records. Keys only: nothing is decrypted. A page shorter
    /// than `limit` means the folder has nothing more after it; otherwise pass its last key
    /// as the next `after`.
    pub async fn scan(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, BarrierError> {
        view::validate_folder(prefix)?;
        self.scan_checked(prefix, after, limit).await
    }

    /// [`Barrier::scan`] with a plain string prefix: a folder followed by the start of a
    /// name (`sys/expire/id/database/creds/ro` matches `…/ro/x` and `…/role2/y`). The part
    /// up to the last `/` must be a valid folder; the partial name after it may not hold
    /// control characters. Reading by prefix cannot reach anything `scan` of the folder
    /// could not.
    pub async fn scan_prefix(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, BarrierError> {
        let (folder, partial) = match prefix.rfind('/') {
            Some(i) => prefix.split_at(i + 1),
            None => ("", prefix),
        };
        view::validate_folder(folder)?;
        if partial.chars().any(char::is_control) {
            return Err(BarrierError::InvalidKey(
                "key contains a control character".into(),
            ));
        }
        if prefix.len() > crate::storage::MAX_KEY_LEN {
            return Err(BarrierError::InvalidKey("prefix too long".into()));
        }
        self.scan_checked(prefix, after, limit).await
    }

    /// The scan of a checked prefix: refuses reserved folders, drops reserved keys and
    /// reads on past them so a page is only short at the end.
    async fn scan_checked(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, BarrierError> {
        let folder = &prefix[..prefix.rfind('/').map_or(0, |i| i + 1)];
        if is_reserved(folder) {
            return Err(BarrierError::Reserved(folder.to_string()));
        }
        view::validate_after(after)?;
        self.keyring()?;
        let mut out = Vec::new();
        let mut cursor = after.to_string();
        while out.len() < limit {
            let want = limit - out.len();
            let page = self.backend.scan(prefix, &cursor, want).await?;
            let full = page.len() == want;
            match page.last() {
                Some(last) => cursor.clone_from(last),
                None => break,
            }
            out.extend(page.into_iter().filter(|k| !is_reserved(k)));
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// Deletes every key under the folder `prefix`, depth first, in batches of at most
    /// [`DELETE_CHUNK`] keys (a large tree is not deleted atomically).
    pub async fn delete_tree(&self, prefix: &str) -> Result<(), BarrierError> {
        let mut folders = vec![prefix.to_string()];
        let mut batch: Vec<BarrierOp> = Vec::new();
        while let Some(folder) = folders.pop() {
            for child in self.list(&folder).await? {
                let full = format!("{folder}{child}");
                if child.ends_with('/') {
                    folders.push(full);
                } else {
                    batch.push(BarrierOp::delete(full));
                    if batch.len() >= DELETE_CHUNK {
                        self.write_batch(std::mem::take(&mut batch)).await?;
                    }
                }
            }
        }
        if !batch.is_empty() {
            self.write_batch(batch).await?;
        }
        Ok(())
    }

    /// Encrypts every put under the active term and applies all operations atomically.
    /// One bad key rejects the whole batch before anything is written. The plaintext
    /// values are zeroized (also on error) before this returns.
    pub async fn write_batch(&self, ops: Vec<BarrierOp>) -> Result<(), BarrierError> {
        self.write_plain(ops.into_iter().map(PlainOp::from).collect())
            .await
    }

    /// [`Barrier::write_batch`] on operations whose plaintext is already in zeroizing buffers.
    pub(crate) async fn write_plain(&self, ops: Vec<PlainOp>) -> Result<(), BarrierError> {
        for op in &ops {
            check_key(&op.key)?;
        }
        let keyring = self.keyring()?;
        if ops.is_empty() {
            return Ok(());
        }
        let term = keyring.active();
        let mut physical = Vec::with_capacity(ops.len());
        for op in ops {
            physical.push(match op.value {
                Some(plaintext) => WriteOp::Put {
                    value: term.seal(&op.key, &plaintext)?,
                    key: op.key,
                },
                None => WriteOp::Delete { key: op.key },
            });
        }
        Ok(self.backend.write_batch(physical).await?)
    }

    /// A view of the barrier under `prefix` (see [`StorageView`]).
    pub fn view(self: &Arc<Self>, prefix: &str) -> Result<StorageView, BarrierError> {
        StorageView::new(Arc::clone(self), prefix)
    }
}

/// An in-memory backend for the barrier's own tests (independent of `storage::inmem`).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod testing {
    use std::collections::BTreeMap;
    use std::ops::Bound;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;

    use super::{Barrier, UnsealKey};
    use crate::storage::{
        immediate_children, validate_key, validate_scan, Backend, SharedBackend, StorageError,
        WriteOp,
    };

    /// A `BTreeMap` behind a mutex; exposes its raw contents to the attack tests, and
    /// counts reads so tests can prove how much a caller read.
    #[derive(Default)]
    pub(crate) struct MemBackend {
        map: Mutex<BTreeMap<String, Vec<u8>>>,
        gets: AtomicUsize,
        scanned: AtomicUsize,
    }

    impl MemBackend {
        fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
            self.map
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        /// Every raw key and value.
        pub(crate) fn dump(&self) -> Vec<(String, Vec<u8>)> {
            self.map()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }

        pub(crate) fn keys(&self) -> Vec<String> {
            self.map().keys().cloned().collect()
        }

        pub(crate) fn raw_get(&self, key: &str) -> Option<Vec<u8>> {
            self.map().get(key).cloned()
        }

        pub(crate) fn raw_put(&self, key: &str, value: Vec<u8>) {
            self.map().insert(key.to_string(), value);
        }

        /// `get` calls so far.
        pub(crate) fn gets(&self) -> usize {
            self.gets.load(Ordering::SeqCst)
        }

        /// Keys returned by `scan` calls so far.
        pub(crate) fn scanned(&self) -> usize {
            self.scanned.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl Backend for MemBackend {
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
            validate_key(key)?;
            self.gets.fetch_add(1, Ordering::SeqCst);
            Ok(self.map().get(key).cloned())
        }
        async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
            validate_key(key)?;
            self.map().insert(key.to_string(), value);
            Ok(())
        }
        async fn delete(&self, key: &str) -> Result<(), StorageError> {
            validate_key(key)?;
            self.map().remove(key);
            Ok(())
        }
        async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
            let map = self.map();
            Ok(immediate_children(
                prefix,
                map.range(prefix.to_string()..)
                    .map(|(k, _)| k.as_str())
                    .take_while(|k| k.starts_with(prefix)),
            ))
        }
        async fn scan(
            &self,
            prefix: &str,
            after: &str,
            limit: usize,
        ) -> Result<Vec<String>, StorageError> {
            validate_scan(prefix, after)?;
            let start = if after >= prefix {
                Bound::Excluded(after)
            } else {
                Bound::Included(prefix)
            };
            let map = self.map();
            let keys: Vec<String> = map
                .range::<str, _>((start, Bound::Unbounded))
                .map(|(k, _)| k)
                .take_while(|k| k.starts_with(prefix))
                .take(limit)
                .cloned()
                .collect();
            self.scanned.fetch_add(keys.len(), Ordering::SeqCst);
            Ok(keys)
        }
        async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
            for op in &ops {
                match op {
                    WriteOp::Put { key, .. } | WriteOp::Delete { key } => validate_key(key)?,
                }
            }
            let mut map = self.map();
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
            "test-memory"
        }
    }

    /// An initialized, unsealed barrier, its raw store and its unseal key.
    pub(crate) async fn unsealed_barrier() -> (Arc<Barrier>, Arc<MemBackend>, UnsealKey) {
        let raw = Arc::new(MemBackend::default());
        let backend: SharedBackend = raw.clone();
        let barrier = Barrier::new(backend);
        let unseal = UnsealKey::generate().unwrap();
        let ops = Barrier::initialize_records(&unseal).unwrap();
        raw.write_batch(ops).await.unwrap();
        barrier.unseal(&unseal).await.unwrap();
        (barrier, raw, unseal)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::testing::{unsealed_barrier, MemBackend};
    use super::*;
    use crate::storage::Backend;

    const SECRET: &[u8] = b"correct-horse-battery-staple-7f3a9c";

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[tokio::test]
    async fn no_plaintext_on_disk() {
        let (barrier, raw, unseal) = unsealed_barrier().await;
        barrier.put("logical/a/secret", SECRET).await.unwrap();
        barrier
            .write_batch(vec![BarrierOp::put("logical/a/batched", SECRET.to_vec())])
            .await
            .unwrap();
        let view = barrier.view("logical/b").unwrap();
        view.put("nested/secret", SECRET).await.unwrap();
        barrier.rotate().await.unwrap();
        barrier.put("logical/a/after-rotate", SECRET).await.unwrap();

        let root = barrier.keyring().unwrap();
        let mut forbidden: Vec<Vec<u8>> = vec![SECRET.to_vec(), SECRET[..12].to_vec()];
        forbidden.push(unseal.expose().to_vec());
        forbidden.push(root.root().expose().to_vec());
        for term in root.terms() {
            forbidden.push(term.data_key().expose().to_vec());
        }
        let dump = raw.dump();
        assert!(dump.len() >= 6);
        for (key, value) in dump {
            for needle in &forbidden {
                assert!(
                    !contains(&value, needle),
                    "plaintext or key material under {key}"
                );
            }
        }
    }

    #[tokio::test]
    async fn every_flipped_byte_fails_typed() {
        let (barrier, raw, _) = unsealed_barrier().await;
        barrier.put("logical/a/x", b"value").await.unwrap();
        let good = raw.raw_get("logical/a/x").unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            raw.raw_put("logical/a/x", bad);
            let err = barrier.get("logical/a/x").await.unwrap_err();
            match i {
                0..=3 => assert!(matches!(err, BarrierError::UnknownTerm(_)), "{i}: {err:?}"),
                4 => assert!(matches!(err, BarrierError::Malformed(_)), "{i}: {err:?}"),
                _ => assert!(matches!(err, BarrierError::Decrypt), "{i}: {err:?}"),
            }
            assert_eq!(err.kind(), ErrorKind::Internal);
        }
        raw.raw_put("logical/a/x", good);
        assert_eq!(
            barrier
                .get("logical/a/x")
                .await
                .unwrap()
                .unwrap()
                .as_slice(),
            b"value"
        );
    }

    #[tokio::test]
    async fn moved_ciphertext_fails() {
        let (barrier, raw, _) = unsealed_barrier().await;
        barrier
            .put("logical/a/admin-password", b"hunter2")
            .await
            .unwrap();
        barrier.put("logical/a/public", b"nothing").await.unwrap();
        let stolen = raw.raw_get("logical/a/admin-password").unwrap();
        raw.raw_put("logical/a/public", stolen.clone());
        raw.raw_put("logical/b/admin-password", stolen);
        assert!(matches!(
            barrier.get("logical/a/public").await,
            Err(BarrierError::Decrypt)
        ));
        assert!(matches!(
            barrier.get("logical/b/admin-password").await,
            Err(BarrierError::Decrypt)
        ));
    }

    #[tokio::test]
    async fn truncated_entries_fail_typed() {
        let (barrier, raw, _) = unsealed_barrier().await;
        barrier.put("k", b"some value").await.unwrap();
        let good = raw.raw_get("k").unwrap();
        for len in 0..good.len() {
            raw.raw_put("k", good[..len].to_vec());
            let err = barrier.get("k").await.unwrap_err();
            assert!(
                matches!(err, BarrierError::Malformed(_) | BarrierError::Decrypt),
                "{len}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_term_and_version() {
        let (barrier, raw, _) = unsealed_barrier().await;
        barrier.put("k", b"v").await.unwrap();
        let mut entry = raw.raw_get("k").unwrap();
        entry[..4].copy_from_slice(&9u32.to_be_bytes());
        raw.raw_put("k", entry.clone());
        assert!(matches!(
            barrier.get("k").await,
            Err(BarrierError::UnknownTerm(9))
        ));
        entry[..4].copy_from_slice(&1u32.to_be_bytes());
        entry[4] = 2;
        raw.raw_put("k", entry);
        assert!(matches!(
            barrier.get("k").await,
            Err(BarrierError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn rotate_uses_new_term_and_keeps_old() {
        let (barrier, raw, unseal) = unsealed_barrier().await;
        let before = barrier.key_status().unwrap();
        assert_eq!(before.term, 1);
        barrier.put("old", b"one").await.unwrap();
        barrier.put("old2", b"one-b").await.unwrap();
        assert_eq!(barrier.key_status().unwrap().encryptions, 2);
        assert_eq!(&raw.raw_get("old").unwrap()[..4], &1u32.to_be_bytes());

        let status = barrier.rotate().await.unwrap();
        assert_eq!(status.term, 2);
        assert_eq!(status.encryptions, 0);
        assert!(status.install_time >= before.install_time);
        barrier.put("new", b"two").await.unwrap();
        barrier
            .write_batch(vec![BarrierOp::put("new-batch", b"two-b".to_vec())])
            .await
            .unwrap();
        assert_eq!(&raw.raw_get("new").unwrap()[..4], &2u32.to_be_bytes());
        assert_eq!(&raw.raw_get("new-batch").unwrap()[..4], &2u32.to_be_bytes());
        assert_eq!(barrier.key_status().unwrap().encryptions, 2);
        assert_eq!(
            barrier.get("old").await.unwrap().unwrap().as_slice(),
            b"one"
        );

        let status = barrier.rotate().await.unwrap();
        assert_eq!(status.term, 3);

        // The keyring survives seal + unseal.
        barrier.seal();
        barrier.unseal(&unseal).await.unwrap();
        let status = barrier.key_status().unwrap();
        assert_eq!(status.term, 3);
        assert_eq!(status.encryptions, 0, "counters are in memory only");
        assert_eq!(
            barrier.get("old").await.unwrap().unwrap().as_slice(),
            b"one"
        );
        assert_eq!(
            barrier.get("new").await.unwrap().unwrap().as_slice(),
            b"two"
        );
        barrier.put("newest", b"three").await.unwrap();
        assert_eq!(&raw.raw_get("newest").unwrap()[..4], &3u32.to_be_bytes());

        // And a fresh barrier over the same storage sees the same.
        let other = Barrier::new(raw.clone());
        other.unseal(&unseal).await.unwrap();
        assert_eq!(other.key_status().unwrap().term, 3);
        assert_eq!(
            other.get("new-batch").await.unwrap().unwrap().as_slice(),
            b"two-b"
        );
    }

    #[tokio::test]
    async fn reload_picks_up_another_nodes_rotation() {
        let (a, raw, unseal) = unsealed_barrier().await;
        let b = Barrier::new(raw.clone());
        b.unseal(&unseal).await.unwrap();
        a.rotate().await.unwrap();
        a.put("k", b"from a").await.unwrap();
        assert!(matches!(
            b.get("k").await,
            Err(BarrierError::UnknownTerm(2))
        ));
        assert_eq!(b.reload_keyring().await.unwrap().term, 2);
        assert_eq!(b.get("k").await.unwrap().unwrap().as_slice(), b"from a");
    }

    #[tokio::test]
    async fn wrong_unseal_key_is_decrypt() {
        let (barrier, _, unseal) = unsealed_barrier().await;
        barrier.seal();
        let wrong = UnsealKey::generate().unwrap();
        assert!(matches!(
            barrier.unseal(&wrong).await,
            Err(BarrierError::Decrypt)
        ));
        assert!(barrier.is_sealed());
        assert!(matches!(
            barrier.verify_unseal_key(&wrong).await,
            Err(BarrierError::Decrypt)
        ));
        barrier.verify_unseal_key(&unseal).await.unwrap();
        assert!(barrier.is_sealed(), "verify does not unseal");
        barrier.unseal(&unseal).await.unwrap();
        assert!(!barrier.is_sealed());
        // Unseal while unsealed still checks the key.
        assert!(matches!(
            barrier.unseal(&wrong).await,
            Err(BarrierError::Decrypt)
        ));
        assert!(!barrier.is_sealed());
    }

    #[tokio::test]
    async fn uninitialized() {
        let raw = Arc::new(MemBackend::default());
        let barrier = Barrier::new(raw.clone());
        assert!(!barrier.is_initialized().await.unwrap());
        let key = UnsealKey::generate().unwrap();
        let err = barrier.unseal(&key).await.unwrap_err();
        assert!(matches!(err, BarrierError::NotInitialized));
        assert_eq!(err.kind(), ErrorKind::Sealed);
        let ops = Barrier::initialize_records(&key).unwrap();
        assert!(
            !barrier.is_initialized().await.unwrap(),
            "records are not written by the barrier"
        );
        let keys: Vec<&str> = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put { key, .. } | WriteOp::Delete { key } => key.as_str(),
            })
            .collect();
        assert_eq!(keys, [ROOT_KEY_PATH, KEYRING_PATH]);
        raw.write_batch(ops).await.unwrap();
        assert!(barrier.is_initialized().await.unwrap());
        assert!(barrier.is_sealed());
        barrier.unseal(&key).await.unwrap();
        assert_eq!(barrier.key_status().unwrap().term, 1);
    }

    #[tokio::test]
    async fn rekey_rewraps_root() {
        let (barrier, raw, old) = unsealed_barrier().await;
        barrier.put("k", b"v").await.unwrap();
        let derived = *barrier.derive_key(KeyPurpose::TokenHash).unwrap().expose();
        let new = UnsealKey::generate().unwrap();
        let op = barrier.rewrap_root_key(&new).await.unwrap();
        assert!(matches!(&op, WriteOp::Put { key, .. } if key == ROOT_KEY_PATH));
        assert!(
            !format!("{op:?}").contains('['),
            "WriteOp debug must not print bytes"
        );
        raw.write_batch(vec![op]).await.unwrap();
        barrier.seal();
        assert!(matches!(
            barrier.unseal(&old).await,
            Err(BarrierError::Decrypt)
        ));
        barrier.unseal(&new).await.unwrap();
        assert_eq!(barrier.get("k").await.unwrap().unwrap().as_slice(), b"v");
        assert_eq!(
            barrier.derive_key(KeyPurpose::TokenHash).unwrap().expose(),
            &derived
        );

        barrier.seal();
        assert!(matches!(
            barrier.rewrap_root_key(&new).await,
            Err(BarrierError::Sealed)
        ));
    }

    #[tokio::test]
    async fn sealed_refuses_everything() {
        let (barrier, raw, _) = unsealed_barrier().await;
        barrier.put("k", b"v").await.unwrap();
        barrier.seal();
        assert!(barrier.is_sealed());
        let before = raw.dump();
        assert!(matches!(barrier.get("k").await, Err(BarrierError::Sealed)));
        assert!(matches!(
            barrier.put("k", b"x").await,
            Err(BarrierError::Sealed)
        ));
        assert!(matches!(
            barrier.delete("k").await,
            Err(BarrierError::Sealed)
        ));
        assert!(matches!(barrier.list("").await, Err(BarrierError::Sealed)));
        assert!(matches!(
            barrier
                .write_batch(vec![BarrierOp::put("k", b"x".to_vec())])
                .await,
            Err(BarrierError::Sealed)
        ));
        assert!(matches!(
            barrier.write_batch(vec![]).await,
            Err(BarrierError::Sealed)
        ));
        assert!(matches!(barrier.rotate().await, Err(BarrierError::Sealed)));
        assert!(matches!(
            barrier.reload_keyring().await,
            Err(BarrierError::Sealed)
        ));
        assert!(matches!(barrier.key_status(), Err(BarrierError::Sealed)));
        assert!(matches!(
            barrier.derive_key(KeyPurpose::AuditHmac),
            Err(BarrierError::Sealed)
        ));
        let new = UnsealKey::generate().unwrap();
        assert!(matches!(
            barrier.rewrap_root_key(&new).await,
            Err(BarrierError::Sealed)
        ));
        assert_eq!(BarrierError::Sealed.kind(), ErrorKind::Sealed);
        assert!(raw.dump() == before, "nothing was written while sealed");
    }

    #[tokio::test]
    async fn in_flight_reader_survives_seal() {
        let (barrier, _, _) = unsealed_barrier().await;
        barrier.put("k", b"v").await.unwrap();
        let keyring = barrier.keyring().unwrap();
        barrier.seal();
        // The holder of the Arc can still finish; new operations cannot.
        let sealed = keyring.active().seal("k2", b"w").unwrap();
        assert_eq!(keyring.open("k2", &sealed).unwrap().as_slice(), b"w");
        assert!(matches!(barrier.get("k").await, Err(BarrierError::Sealed)));
    }

    #[tokio::test]
    async fn reserved_keys_refused() {
        let (barrier, raw, _) = unsealed_barrier().await;
        raw.raw_put("core/seal/config", b"{}".to_vec());
        let before = raw.dump();
        for key in [
            ROOT_KEY_PATH,
            "core/seal/config",
            "core/seal",
            "core/seal/a/b",
            KEYRING_PATH,
            "core/keyring/x",
        ] {
            let err = barrier.get(key).await.unwrap_err();
            assert!(matches!(err, BarrierError::Reserved(_)), "{key}: {err:?}");
            assert_eq!(err.kind(), ErrorKind::Invalid);
            assert!(matches!(
                barrier.put(key, b"x").await,
                Err(BarrierError::Reserved(_))
            ));
            assert!(matches!(
                barrier.delete(key).await,
                Err(BarrierError::Reserved(_))
            ));
            assert!(matches!(
                barrier
                    .write_batch(vec![
                        BarrierOp::put("fine", b"x".to_vec()),
                        BarrierOp::delete(key)
                    ])
                    .await,
                Err(BarrierError::Reserved(_))
            ));
        }
        assert!(matches!(
            barrier.list("core/seal/").await,
            Err(BarrierError::Reserved(_))
        ));
        assert!(matches!(
            barrier.list("core/keyring/").await,
            Err(BarrierError::Reserved(_))
        ));
        assert!(raw.dump() == before, "refused operations wrote nothing");

        // Neighbours are not reserved, and listing core/ hides the records.
        barrier.put("core/keyring-notes", b"x").await.unwrap();
        barrier.put("core/sealed-at", b"x").await.unwrap();
        barrier.put("core/mounts", b"x").await.unwrap();
        assert_eq!(
            barrier.list("core/").await.unwrap(),
            ["keyring-notes", "mounts", "sealed-at"]
        );
        assert_eq!(barrier.list("").await.unwrap(), ["core/"]);
    }

    #[tokio::test]
    async fn barrier_keys_are_checked() {
        let (barrier, _, _) = unsealed_barrier().await;
        for bad in ["", "/a", "a//b", "a/../core/seal/root-key", "a\0", "a/"] {
            let err = barrier.put(bad, b"x").await.unwrap_err();
            assert!(
                matches!(err, BarrierError::InvalidKey(_)),
                "{bad:?}: {err:?}"
            );
            assert_eq!(err.kind(), ErrorKind::Invalid);
        }
        assert!(matches!(
            barrier.list("a").await,
            Err(BarrierError::InvalidKey(_))
        ));
    }

    #[tokio::test]
    async fn round_trips_and_deletes() {
        let (barrier, _, _) = unsealed_barrier().await;
        assert!(barrier.get("missing").await.unwrap().is_none());
        barrier.put("a/b", b"").await.unwrap();
        assert!(barrier.get("a/b").await.unwrap().unwrap().is_empty());
        barrier
            .write_batch(vec![
                BarrierOp::put("a/c", b"c".to_vec()),
                BarrierOp::delete("a/b"),
            ])
            .await
            .unwrap();
        assert!(barrier.get("a/b").await.unwrap().is_none());
        assert_eq!(barrier.list("a/").await.unwrap(), ["c"]);
        barrier.delete("a/c").await.unwrap();
        barrier.delete("a/c").await.unwrap();
        assert!(barrier.list("a/").await.unwrap().is_empty());
        barrier.write_batch(vec![]).await.unwrap();
    }

    #[tokio::test]
    async fn derived_keys_per_purpose_and_stable() {
        let (barrier, _, unseal) = unsealed_barrier().await;
        let first: Vec<[u8; 32]> = KeyPurpose::ALL
            .iter()
            .map(|p| *barrier.derive_key(*p).unwrap().expose())
            .collect();
        let mut unique = first.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), first.len());

        barrier.rotate().await.unwrap();
        barrier.seal();
        barrier.unseal(&unseal).await.unwrap();
        let again: Vec<[u8; 32]> = KeyPurpose::ALL
            .iter()
            .map(|p| *barrier.derive_key(*p).unwrap().expose())
            .collect();
        assert_eq!(first, again);

        // Another vault derives other keys.
        let (other, _, _) = unsealed_barrier().await;
        assert_ne!(
            other.derive_key(KeyPurpose::TokenHash).unwrap().expose(),
            &first[0]
        );
    }

    #[tokio::test]
    async fn tampered_key_records_fail_typed() {
        let (barrier, raw, unseal) = unsealed_barrier().await;
        barrier.seal();
        let root = raw.raw_get(ROOT_KEY_PATH).unwrap();
        let keyring = raw.raw_get(KEYRING_PATH).unwrap();
        for (path, good) in [(ROOT_KEY_PATH, &root), (KEYRING_PATH, &keyring)] {
            for i in 0..good.len() {
                let mut bad = good.clone();
                bad[i] ^= 0x40;
                raw.raw_put(path, bad);
                let err = barrier.unseal(&unseal).await.unwrap_err();
                assert!(
                    matches!(
                        err,
                        BarrierError::Decrypt
                            | BarrierError::Malformed(_)
                            | BarrierError::UnknownTerm(_)
                    ),
                    "{path} {i}: {err:?}"
                );
                assert!(barrier.is_sealed());
            }
            for len in 0..good.len() {
                raw.raw_put(path, good[..len].to_vec());
                assert!(barrier.unseal(&unseal).await.is_err());
            }
            raw.raw_put(path, good.clone());
        }
        // The keyring record cannot be swapped for the root-key record (AAD).
        raw.raw_put(KEYRING_PATH, root.clone());
        assert!(matches!(
            barrier.unseal(&unseal).await,
            Err(BarrierError::Decrypt)
        ));
        raw.raw_put(KEYRING_PATH, keyring);
        barrier.unseal(&unseal).await.unwrap();
    }

    #[test]
    fn futures_are_send_and_barrier_is_sync() {
        fn send<T: Send>(_: &T) {}
        fn sync<T: Send + Sync>() {}
        sync::<Barrier>();
        sync::<StorageView>();
        sync::<Keyring>();
        let barrier = Barrier::new(Arc::new(MemBackend::default()));
        let key = UnsealKey::from_bytes(&[1u8; 32]).unwrap();
        send(&barrier.get("k"));
        send(&barrier.put("k", b"v"));
        send(&barrier.list(""));
        send(&barrier.scan("", "", 1));
        send(&barrier.scan_prefix("a", "", 1));
        send(&barrier.write_batch(vec![]));
        send(&barrier.unseal(&key));
        send(&barrier.rotate());
        send(&barrier.rewrap_root_key(&key));
        let view = barrier.view("v").unwrap();
        send(&view.get("k"));
        send(&view.write_batch(vec![]));
        send(&view.scan("", "", 1));
    }

    #[tokio::test]
    async fn scan_is_recursive_paged_and_ordered() {
        let (barrier, _, _) = unsealed_barrier().await;
        for key in ["a/1", "a/b/2", "a/b/c/3", "a/c", "ab/x", "b/x", "a0"] {
            barrier.put(key, b"v").await.unwrap();
        }
        assert_eq!(
            barrier.scan("a/", "", 10).await.unwrap(),
            ["a/1", "a/b/2", "a/b/c/3", "a/c"]
        );
        assert_eq!(barrier.scan("a/", "", 2).await.unwrap(), ["a/1", "a/b/2"]);
        assert_eq!(
            barrier.scan("a/", "a/b/2", 2).await.unwrap(),
            ["a/b/c/3", "a/c"]
        );
        assert!(barrier.scan("a/", "a/c", 2).await.unwrap().is_empty());
        assert!(barrier.scan("a/", "", 0).await.unwrap().is_empty());
        assert!(barrier.scan("zz/", "", 10).await.unwrap().is_empty());
        assert_eq!(
            barrier.scan("", "", 100).await.unwrap(),
            ["a/1", "a/b/2", "a/b/c/3", "a/c", "a0", "ab/x", "b/x"]
        );
        // A string prefix through scan_prefix: "a" matches a/…, a0 and ab/….
        assert_eq!(
            barrier.scan_prefix("a/b", "", 10).await.unwrap(),
            ["a/b/2", "a/b/c/3"]
        );
        assert_eq!(
            barrier.scan_prefix("a", "a/c", 10).await.unwrap(),
            ["a0", "ab/x"]
        );
        // Folders only for scan; checked folder parts for scan_prefix.
        for bad in ["a", "/a/", "a//", "../", "a\0/"] {
            assert!(
                matches!(
                    barrier.scan(bad, "", 1).await,
                    Err(BarrierError::InvalidKey(_))
                ),
                "{bad:?}"
            );
        }
        for bad in ["a//b", "../x", "/a", "a/\u{1b}x"] {
            assert!(
                matches!(
                    barrier.scan_prefix(bad, "", 1).await,
                    Err(BarrierError::InvalidKey(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            barrier.scan("a/", "x\0", 1).await,
            Err(BarrierError::InvalidKey(_))
        ));
    }

    #[tokio::test]
    async fn scan_never_returns_reserved_records_and_refills_the_page() {
        let (barrier, raw, _) = unsealed_barrier().await;
        raw.raw_put("core/seal/config", b"{}".to_vec());
        barrier.put("core/a", b"x").await.unwrap();
        barrier.put("core/keyring-notes", b"x").await.unwrap();
        barrier.put("core/mounts", b"x").await.unwrap();
        // The raw page ["core/a", "core/keyring"] loses the keyring; the barrier reads on.
        assert_eq!(
            barrier.scan("core/", "", 2).await.unwrap(),
            ["core/a", "core/keyring-notes"]
        );
        assert_eq!(
            barrier.scan("", "", 100).await.unwrap(),
            ["core/a", "core/keyring-notes", "core/mounts"]
        );
        assert_eq!(
            barrier.scan("", "core/a", 1).await.unwrap(),
            ["core/keyring-notes"]
        );
        assert_eq!(
            barrier.scan_prefix("core/se", "", 10).await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            barrier.scan_prefix("core/keyring", "", 10).await.unwrap(),
            ["core/keyring-notes"]
        );
        for reserved in ["core/seal/", "core/keyring/", "core/seal/x/"] {
            assert!(
                matches!(
                    barrier.scan(reserved, "", 10).await,
                    Err(BarrierError::Reserved(_))
                ),
                "{reserved}"
            );
        }
        assert!(matches!(
            barrier.scan_prefix("core/seal/ro", "", 10).await,
            Err(BarrierError::Reserved(_))
        ));
        barrier.seal();
        assert!(matches!(
            barrier.scan("", "", 10).await,
            Err(BarrierError::Sealed)
        ));
        assert!(matches!(
            barrier.scan_prefix("core/", "", 0).await,
            Err(BarrierError::Sealed)
        ));
    }

    #[test]
    fn reserved_predicate() {
        for k in [
            "core/seal",
            "core/seal/",
            "core/seal/x",
            "core/keyring",
            "core/keyring/",
            "core/keyring/x",
        ] {
            assert!(is_reserved(k), "{k}");
        }
        for k in [
            "core/sealx",
            "core/keyring2",
            "core/keyrings/x",
            "core/",
            "",
            "seal/",
            "xcore/seal/",
        ] {
            assert!(!is_reserved(k), "{k}");
        }
    }

    #[test]
    fn barrier_op_debug_is_redacted() {
        let op = BarrierOp::put("k", SECRET.to_vec());
        let s = format!("{op:?}");
        assert!(!s.contains("correct"), "{s}");
        assert_eq!(s, format!("Put(\"k\", {} bytes)", SECRET.len()));
    }
}
