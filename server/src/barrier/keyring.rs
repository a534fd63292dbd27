//! The keyring: every data-key term ever installed, the active one, and the root key.
//!
//! Where it sits: inside the barrier (`core → barrier → storage`). While unsealed the barrier
//! holds one `Arc<Keyring>`; writes encrypt under [`Keyring::active`], reads look the term
//! of the entry up with [`Keyring::get`]. The keyring itself is stored encrypted (by
//! `mod.rs`) under a key derived from the root key, at `core/keyring`.
//!
//! Invariants:
//! - A `Keyring` is immutable after construction, except for the per-term encryption
//!   counters. Rotation builds a new keyring ([`Keyring::rotated`]) that shares the old
//!   terms (`Arc<Term>`) and adds `active + 1`; readers holding the old `Arc<Keyring>`
//!   are unaffected.
//! - The active term is always present in `terms`; term numbers start at 1 (0 is reserved
//!   for the records encrypted outside the keyring) and only grow.
//! - Each term's AES-256-GCM cipher is built once (key expansion) when the term is created
//!   or decoded, never per operation.
//! - The encoded keyring contains key material: it is only ever held in [`Zeroizing`]
//!   buffers. The root key is NOT part of the encoding (it is stored wrapped under the
//!   unseal key and handed to [`Keyring::decode`]).
//! - The encryption counters live in memory only: they restart at 0 at every unseal and
//!   are a monitoring aid for `sys/key-status`, not a nonce-budget guarantee.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aes_gcm::{Aes256Gcm, KeyInit};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::entry::{seal_entry, Entry};
use super::keys::{DataKey, RootKey, KEY_LEN};
use super::BarrierError;

/// Magic bytes at the start of an encoded keyring.
const MAGIC: &[u8; 4] = b"SRKR";
/// Version of the encoded keyring layout.
const FORMAT_VERSION: u8 = 1;
/// magic | format version | active term u32 | term count u32
const HEADER_LEN: usize = 4 + 1 + 4 + 4;
/// term u32 | install time (unix nanoseconds) i128 | key
const TERM_RECORD_LEN: usize = 4 + 16 + KEY_LEN;

/// One data key of the keyring and the cipher built from it.
pub struct Term {
    number: u32,
    key: DataKey,
    install_time: OffsetDateTime,
    cipher: Aes256Gcm,
    encryptions: AtomicU64,
}

impl Term {
    fn new(number: u32, key: DataKey, install_time: OffsetDateTime) -> Term {
        let cipher = Aes256Gcm::new(key.expose().into());
        Term {
            number,
            key,
            install_time,
            cipher,
            encryptions: AtomicU64::new(0),
        }
    }

    /// The term number (1, 2, ...).
    pub fn number(&self) -> u32 {
        self.number
    }

    /// When the term was installed (UTC).
    pub fn install_time(&self) -> OffsetDateTime {
        self.install_time
    }

    /// How many entries this process has encrypted under this term since unseal.
    pub fn encryptions(&self) -> u64 {
        self.encryptions.load(Ordering::Relaxed)
    }

    /// Encrypts `plaintext` for the physical key `key` under this term.
    pub(crate) fn seal(&self, key: &str, plaintext: &[u8]) -> Result<Vec<u8>, BarrierError> {
        let sealed = seal_entry(&self.cipher, self.number, key, plaintext)?;
        self.encryptions.fetch_add(1, Ordering::Relaxed);
        Ok(sealed)
    }

    /// The cached cipher of this term.
    pub(crate) fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }

    /// The raw data key, for tests that scan storage for key material.
    #[cfg(test)]
    pub(crate) fn data_key(&self) -> &DataKey {
        &self.key
    }
}

impl fmt::Debug for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Term")
            .field("number", &self.number)
            .field("key", &self.key)
            .field("install_time", &self.install_time)
            .field("encryptions", &self.encryptions())
            .finish_non_exhaustive()
    }
}

/// The set of data-key terms plus the root key, as held while unsealed.
pub struct Keyring {
    root: Arc<RootKey>,
    terms: BTreeMap<u32, Arc<Term>>,
    active: Arc<Term>,
}

impl Keyring {
    /// A new vault's keyring: a fresh root key and term 1 with a fresh data key.
    pub fn initial() -> Result<Keyring, BarrierError> {
        Keyring::with_root(Arc::new(RootKey::generate()?))
    }

    /// Term 1 under an existing root key.
    pub(crate) fn with_root(root: Arc<RootKey>) -> Result<Keyring, BarrierError> {
        let term = Arc::new(Term::new(1, DataKey::generate()?, now()));
        Ok(Keyring {
            root,
            terms: BTreeMap::from([(1, Arc::clone(&term))]),
            active: term,
        })
    }

    /// A new keyring with every term of this one plus a fresh active term `active + 1`.
    /// `self` is untouched (copy-on-write).
    pub fn rotated(&self) -> Result<Keyring, BarrierError> {
        let number = self
            .active
            .number
            .checked_add(1)
            .ok_or(BarrierError::Crypto("keyring term numbers exhausted"))?;
        let term = Arc::new(Term::new(number, DataKey::generate()?, now()));
        let mut terms = self.terms.clone();
        terms.insert(number, Arc::clone(&term));
        Ok(Keyring {
            root: Arc::clone(&self.root),
            terms,
            active: term,
        })
    }

    /// The term new writes are encrypted under.
    pub fn active(&self) -> &Arc<Term> {
        &self.active
    }

    /// The term numbered `term`, if this keyring has it.
    pub fn get(&self, term: u32) -> Option<&Arc<Term>> {
        self.terms.get(&term)
    }

    /// Every term, oldest first.
    pub fn terms(&self) -> impl Iterator<Item = &Arc<Term>> {
        self.terms.values()
    }

    /// The root key this keyring was unlocked with.
    pub(crate) fn root(&self) -> &RootKey {
        &self.root
    }

    /// A shared handle to the root key (for re-reading the keyring record).
    pub(crate) fn shared_root(&self) -> Arc<RootKey> {
        Arc::clone(&self.root)
    }

    /// Decrypts an entry with the term it names. Unknown term → [`BarrierError::UnknownTerm`].
    pub(crate) fn open(&self, key: &str, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
        let entry = Entry::parse(bytes)?;
        let term = self
            .get(entry.term())
            .ok_or(BarrierError::UnknownTerm(entry.term()))?;
        entry.open(term.cipher(), key)
    }

    /// The binary encoding of the terms (not the root key):
    ///
    /// ```text
    /// "SRKR" | format u8 = 1 | active u32 BE | count u32 BE
    ///        | count × (term u32 BE | install time unix-nanos i128 BE | key 32 B)
    /// ```
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            HEADER_LEN + TERM_RECORD_LEN * self.terms.len(),
        ));
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.active.number.to_be_bytes());
        // The count fits: term numbers are u32 and unique.
        let count = u32::try_from(self.terms.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for term in self.terms.values() {
            out.extend_from_slice(&term.number.to_be_bytes());
            out.extend_from_slice(&term.install_time.unix_timestamp_nanos().to_be_bytes());
            out.extend_from_slice(term.key.expose());
        }
        out
    }

    /// Parses [`Keyring::encode`]'s output; `root` is the root key the record was opened with.
    ///
    /// Any inconsistency (lengths, magic, version, term 0, duplicate or unordered terms,
    /// missing active term, bad timestamp) → [`BarrierError::Malformed`]. Never panics.
    pub fn decode(root: Arc<RootKey>, bytes: &[u8]) -> Result<Keyring, BarrierError> {
        let mut reader = Reader(bytes);
        if reader.take(4)? != MAGIC {
            return Err(BarrierError::Malformed("keyring: bad magic"));
        }
        if reader.take(1)? != [FORMAT_VERSION] {
            return Err(BarrierError::Malformed("keyring: unknown format version"));
        }
        let active = reader.u32()?;
        let count = usize::try_from(reader.u32()?)
            .map_err(|_| BarrierError::Malformed("keyring: term count"))?;
        if count == 0
            || reader.remaining() / TERM_RECORD_LEN != count
            || reader.remaining() % TERM_RECORD_LEN != 0
        {
            return Err(BarrierError::Malformed(
                "keyring: term count does not match length",
            ));
        }
        let mut terms = BTreeMap::new();
        let mut previous = 0u32;
        for _ in 0..count {
            let number = reader.u32()?;
            if number <= previous {
                return Err(BarrierError::Malformed(
                    "keyring: terms not strictly increasing from 1",
                ));
            }
            previous = number;
            let mut nanos = [0u8; 16];
            nanos.copy_from_slice(reader.take(16)?);
            let install_time =
                OffsetDateTime::from_unix_timestamp_nanos(i128::from_be_bytes(nanos))
                    .map_err(|_| BarrierError::Malformed("keyring: install time out of range"))?;
            let key = DataKey::from_bytes(reader.take(KEY_LEN)?)?;
            terms.insert(number, Arc::new(Term::new(number, key, install_time)));
        }
        let active = terms
            .get(&active)
            .cloned()
            .ok_or(BarrierError::Malformed("keyring: active term missing"))?;
        Ok(Keyring {
            root,
            terms,
            active,
        })
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active.number)
            .field("terms", &self.terms.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A bounds-checked cursor over the encoded keyring.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BarrierError> {
        if self.0.len() < n {
            return Err(BarrierError::Malformed("keyring: truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, BarrierError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }

    fn remaining(&self) -> usize {
        self.0.len()
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn root() -> Arc<RootKey> {
        Arc::new(RootKey::from_bytes(&[9u8; 32]).unwrap())
    }

    #[test]
    fn initial_has_term_one() {
        let kr = Keyring::initial().unwrap();
        assert_eq!(kr.active().number(), 1);
        assert!(kr.get(1).is_some());
        assert!(kr.get(0).is_none());
        assert!(kr.get(2).is_none());
        assert_eq!(kr.active().encryptions(), 0);
    }

    #[test]
    fn rotation_is_copy_on_write() {
        let kr1 = Keyring::with_root(root()).unwrap();
        let kr2 = kr1.rotated().unwrap();
        let kr3 = kr2.rotated().unwrap();
        assert_eq!(kr1.active().number(), 1);
        assert_eq!(kr1.terms().count(), 1);
        assert_eq!(kr2.active().number(), 2);
        assert_eq!(kr3.active().number(), 3);
        assert_eq!(
            kr3.terms().map(|t| t.number()).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        // Terms are shared, not copied.
        assert!(Arc::ptr_eq(kr1.get(1).unwrap(), kr3.get(1).unwrap()));
        assert!(Arc::ptr_eq(kr2.active(), kr3.get(2).unwrap()));
        assert_ne!(
            kr1.get(1).unwrap().key.expose(),
            kr3.get(3).unwrap().key.expose()
        );
    }

    #[test]
    fn old_terms_still_open_and_counters_count() {
        let kr1 = Keyring::with_root(root()).unwrap();
        let old = kr1.active().seal("k", b"old").unwrap();
        let kr2 = kr1.rotated().unwrap();
        let new = kr2.active().seal("k", b"new").unwrap();
        assert_eq!(&new[..4], &2u32.to_be_bytes());
        assert_eq!(kr2.open("k", &old).unwrap().as_slice(), b"old");
        assert_eq!(kr2.open("k", &new).unwrap().as_slice(), b"new");
        assert!(matches!(
            kr1.open("k", &new),
            Err(BarrierError::UnknownTerm(2))
        ));
        assert_eq!(kr2.get(1).unwrap().encryptions(), 1);
        assert_eq!(kr2.get(2).unwrap().encryptions(), 1);
    }

    #[test]
    fn encode_decode_round_trip() {
        let kr = Keyring::with_root(root())
            .unwrap()
            .rotated()
            .unwrap()
            .rotated()
            .unwrap();
        let sealed = kr.get(2).unwrap().seal("x", b"two").unwrap();
        let encoded = kr.encode();
        assert_eq!(encoded.len(), HEADER_LEN + 3 * TERM_RECORD_LEN);
        let decoded = Keyring::decode(root(), &encoded).unwrap();
        assert_eq!(decoded.active().number(), 3);
        for (a, b) in kr.terms().zip(decoded.terms()) {
            assert_eq!(a.number(), b.number());
            assert_eq!(a.install_time(), b.install_time());
            assert_eq!(a.key.expose(), b.key.expose());
        }
        assert_eq!(decoded.open("x", &sealed).unwrap().as_slice(), b"two");
        // The root key is not part of the encoding.
        assert!(!encoded.windows(32).any(|w| w == [9u8; 32]));
    }

    #[test]
    fn decode_rejects_inconsistencies() {
        let kr = Keyring::with_root(root()).unwrap().rotated().unwrap();
        let good = kr.encode().to_vec();
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for len in 0..good.len() {
            cases.push(good[..len].to_vec());
        }
        let mut extra = good.clone();
        extra.push(0);
        cases.push(extra);
        let mut magic = good.clone();
        magic[0] = b'X';
        cases.push(magic);
        let mut version = good.clone();
        version[4] = 2;
        cases.push(version);
        let mut active = good.clone();
        active[5..9].copy_from_slice(&7u32.to_be_bytes());
        cases.push(active);
        let mut count = good.clone();
        count[9..13].copy_from_slice(&0u32.to_be_bytes());
        cases.push(count);
        let mut dup = good.clone();
        dup[HEADER_LEN + TERM_RECORD_LEN..HEADER_LEN + TERM_RECORD_LEN + 4]
            .copy_from_slice(&1u32.to_be_bytes());
        cases.push(dup);
        let mut zero = good.clone();
        zero[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&0u32.to_be_bytes());
        cases.push(zero);
        let mut time = good.clone();
        time[HEADER_LEN + 4..HEADER_LEN + 20].copy_from_slice(&i128::MAX.to_be_bytes());
        cases.push(time);
        for (i, case) in cases.iter().enumerate() {
            let err = Keyring::decode(root(), case).unwrap_err();
            assert!(
                matches!(err, BarrierError::Malformed(_)),
                "case {i}: {err:?}"
            );
        }
    }

    #[test]
    fn debug_does_not_print_keys() {
        let kr = Keyring::with_root(root()).unwrap();
        let s = format!("{kr:?} {:?}", kr.active());
        assert!(s.contains("DataKey(..)"), "{s}");
        assert!(!s.contains("[9"), "{s}");
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Keyring::decode(root(), &bytes);
        }

        #[test]
        fn decode_never_panics_on_plausible_headers(
            active in 0u32..4, count in 0u32..4, body in proptest::collection::vec(any::<u8>(), 0..200)
        ) {
            let mut bytes = MAGIC.to_vec();
            bytes.push(FORMAT_VERSION);
            bytes.extend_from_slice(&active.to_be_bytes());
            bytes.extend_from_slice(&count.to_be_bytes());
            bytes.extend_from_slice(&body);
            let _ = Keyring::decode(root(), &bytes);
        }
    }
}
