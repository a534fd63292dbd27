//! The on-disk format of one encrypted entry.
//!
//! Where it sits: `barrier → storage`. The barrier seals every value with [`seal_entry`]
//! before it reaches a backend and opens it with [`Entry::parse`] + [`Entry::open`] (or
//! [`open_entry`] when the term is fixed, as for the root-key and keyring records).
//!
//! Layout (DESIGN.md §4):
//!
//! ```text
//! term u32 BE | version u8 (= 1) | nonce 12 B (random) | ciphertext | tag 16 B
//! ```
//!
//! AEAD is AES-256-GCM; the associated data is the full physical storage key, so a
//! ciphertext copied or moved to another key fails to open.
//!
//! Invariants:
//! - Parsing checks every length before slicing; any input, of any length, yields a typed
//!   [`BarrierError`] (`Malformed`, `UnknownTerm`, `Decrypt`), never a panic.
//! - The header (term, version, nonce) is authenticated too: it is part of the AAD, so a
//!   changed term or version byte fails to open even if it names another valid term.
//! - Nonces are 96 random bits from the OS RNG per entry; the caller rotates the term long
//!   before 2^32 encryptions under one key.
//! - Plaintext is only ever held in [`Zeroizing`] buffers here; encryption happens in place
//!   in a buffer allocated at its final size, so no plaintext copy is left behind by a
//!   reallocation.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use zeroize::Zeroizing;

use super::BarrierError;

/// The only entry format version this code writes and reads.
pub const ENTRY_VERSION: u8 = 1;
/// Bytes of the big-endian term number.
pub const TERM_LEN: usize = 4;
/// Bytes of the version.
pub const VERSION_LEN: usize = 1;
/// Bytes of the AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Bytes of the AES-GCM tag.
pub const TAG_LEN: usize = 16;
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = TERM_LEN + VERSION_LEN + NONCE_LEN;
/// The shortest well-formed entry (empty plaintext).
pub const MIN_ENTRY_LEN: usize = HEADER_LEN + TAG_LEN;

/// The associated data: the header followed by the physical key. The header is fixed-size,
/// so the concatenation is unambiguous.
fn aad(header: &[u8], key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + key.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(key.as_bytes());
    aad
}

/// Encrypts `plaintext` for storage under the physical key `key` with `cipher`, the key of
/// keyring term `term`.
pub fn seal_entry(
    cipher: &Aes256Gcm,
    term: u32,
    key: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, BarrierError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| BarrierError::Rng)?;

    let total = HEADER_LEN + plaintext.len() + TAG_LEN;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&term.to_be_bytes());
    out.push(ENTRY_VERSION);
    out.extend_from_slice(&nonce);
    let aad = aad(&out, key);
    out.extend_from_slice(plaintext);

    let body = out
        .get_mut(HEADER_LEN..)
        .ok_or(BarrierError::Crypto("entry header"))?;
    let tag = match cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, body) {
        Ok(tag) => tag,
        Err(_) => {
            // Only for inputs beyond GCM's limits; do not leave the plaintext behind.
            zeroize::Zeroize::zeroize(&mut out);
            return Err(BarrierError::Crypto("plaintext too long for AES-GCM"));
        }
    };
    out.extend_from_slice(&tag);
    debug_assert_eq!(out.len(), total);
    Ok(out)
}

/// A stored entry whose lengths and version have been checked, not yet authenticated.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    term: u32,
    header: &'a [u8],
    ciphertext: &'a [u8],
    tag: &'a [u8],
}

impl<'a> Entry<'a> {
    /// Splits `bytes` into header, ciphertext and tag.
    ///
    /// Shorter than [`MIN_ENTRY_LEN`] or an unknown version → [`BarrierError::Malformed`].
    pub fn parse(bytes: &'a [u8]) -> Result<Entry<'a>, BarrierError> {
        if bytes.len() < MIN_ENTRY_LEN {
            return Err(BarrierError::Malformed(
                "entry shorter than its header and tag",
            ));
        }
        let (header, rest) = bytes.split_at(HEADER_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let (term_bytes, after_term) = header.split_at(TERM_LEN);
        let mut term = [0u8; TERM_LEN];
        term.copy_from_slice(term_bytes);
        match after_term.first() {
            Some(&ENTRY_VERSION) => {}
            _ => return Err(BarrierError::Malformed("unknown entry version")),
        }
        Ok(Entry {
            term: u32::from_be_bytes(term),
            header,
            ciphertext,
            tag,
        })
    }

    /// The keyring term the entry claims to be encrypted under (unauthenticated until opened).
    pub fn term(&self) -> u32 {
        self.term
    }

    /// Authenticates and decrypts with `cipher` (the claimed term's key), binding `key`.
    ///
    /// Wrong key, wrong storage key or any modified byte → [`BarrierError::Decrypt`].
    pub fn open(&self, cipher: &Aes256Gcm, key: &str) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
        let nonce = self
            .header
            .get(TERM_LEN + VERSION_LEN..HEADER_LEN)
            .ok_or(BarrierError::Malformed("entry header"))?;
        let aad = aad(self.header, key);
        let mut buf = Zeroizing::new(self.ciphertext.to_vec());
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                &aad,
                buf.as_mut_slice(),
                Tag::from_slice(self.tag),
            )
            .map_err(|_| BarrierError::Decrypt)?;
        Ok(buf)
    }
}

impl std::fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("term", &self.term)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// Opens an entry that must be under `term` (e.g. term 0 for the root-key and keyring
/// records). Another term → [`BarrierError::UnknownTerm`].
pub fn open_entry(
    cipher: &Aes256Gcm,
    term: u32,
    key: &str,
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
    let entry = Entry::parse(bytes)?;
    if entry.term() != term {
        return Err(BarrierError::UnknownTerm(entry.term()));
    }
    entry.open(cipher, key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use aes_gcm::KeyInit;
    use proptest::prelude::*;

    use super::*;

    fn cipher(byte: u8) -> Aes256Gcm {
        Aes256Gcm::new(&[byte; 32].into())
    }

    const KEY: &str = "logical/1234/secret/foo";

    #[test]
    fn round_trip_and_layout() {
        let c = cipher(1);
        let sealed = seal_entry(&c, 7, KEY, b"hello world").unwrap();
        assert_eq!(sealed.len(), MIN_ENTRY_LEN + 11);
        assert_eq!(&sealed[..4], &7u32.to_be_bytes());
        assert_eq!(sealed[4], ENTRY_VERSION);
        let entry = Entry::parse(&sealed).unwrap();
        assert_eq!(entry.term(), 7);
        assert_eq!(entry.open(&c, KEY).unwrap().as_slice(), b"hello world");
        assert_eq!(
            open_entry(&c, 7, KEY, &sealed).unwrap().as_slice(),
            b"hello world"
        );
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let c = cipher(2);
        let sealed = seal_entry(&c, 1, KEY, b"").unwrap();
        assert_eq!(sealed.len(), MIN_ENTRY_LEN);
        assert!(open_entry(&c, 1, KEY, &sealed).unwrap().is_empty());
    }

    #[test]
    fn nonces_are_fresh() {
        let c = cipher(3);
        let a = seal_entry(&c, 1, KEY, b"same").unwrap();
        let b = seal_entry(&c, 1, KEY, b"same").unwrap();
        assert_ne!(a[5..17], b[5..17]);
        assert_ne!(a, b);
    }

    #[test]
    fn no_plaintext_in_ciphertext() {
        let c = cipher(4);
        let secret = b"SUPER-SECRET-PASSWORD-0123456789";
        let sealed = seal_entry(&c, 1, KEY, secret).unwrap();
        assert!(!sealed.windows(8).any(|w| secret.windows(8).any(|s| s == w)));
    }

    #[test]
    fn every_flipped_bit_position_fails() {
        let c = cipher(5);
        let sealed = seal_entry(&c, 1, KEY, b"a secret value of some length").unwrap();
        for i in 0..sealed.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut bad = sealed.clone();
                bad[i] ^= mask;
                let err = open_entry(&c, 1, KEY, &bad).unwrap_err();
                match i {
                    0..=3 => assert!(matches!(err, BarrierError::UnknownTerm(_)), "{i}: {err:?}"),
                    4 => assert!(matches!(err, BarrierError::Malformed(_)), "{i}: {err:?}"),
                    _ => assert!(matches!(err, BarrierError::Decrypt), "{i}: {err:?}"),
                }
                // Even when the caller does not pin the term, a changed header fails.
                if let Ok(entry) = Entry::parse(&bad) {
                    assert!(
                        matches!(entry.open(&c, KEY), Err(BarrierError::Decrypt)),
                        "{i}"
                    );
                }
            }
        }
    }

    #[test]
    fn moved_ciphertext_fails() {
        let c = cipher(6);
        let sealed = seal_entry(&c, 1, KEY, b"value").unwrap();
        for other in [
            "logical/1234/secret/bar",
            "logical/1234/secret/fo",
            "",
            "logical/1234/secret/foo/",
        ] {
            assert!(matches!(
                open_entry(&c, 1, other, &sealed),
                Err(BarrierError::Decrypt)
            ));
        }
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = seal_entry(&cipher(7), 1, KEY, b"value").unwrap();
        assert!(matches!(
            open_entry(&cipher(8), 1, KEY, &sealed),
            Err(BarrierError::Decrypt)
        ));
    }

    #[test]
    fn every_truncation_is_a_typed_error() {
        let c = cipher(9);
        let sealed = seal_entry(&c, 1, KEY, b"some plaintext").unwrap();
        for len in 0..sealed.len() {
            let err = open_entry(&c, 1, KEY, &sealed[..len]).unwrap_err();
            if len < MIN_ENTRY_LEN {
                assert!(matches!(err, BarrierError::Malformed(_)), "{len}: {err:?}");
            } else {
                assert!(matches!(err, BarrierError::Decrypt), "{len}: {err:?}");
            }
        }
        // Extending is as bad as truncating.
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(matches!(
            open_entry(&c, 1, KEY, &longer),
            Err(BarrierError::Decrypt)
        ));
    }

    #[test]
    fn unknown_version_and_term_are_typed() {
        let c = cipher(10);
        let mut sealed = seal_entry(&c, 1, KEY, b"value").unwrap();
        assert!(matches!(
            open_entry(&c, 2, KEY, &sealed),
            Err(BarrierError::UnknownTerm(1))
        ));
        for version in [0u8, 2, 255] {
            sealed[4] = version;
            assert!(matches!(
                Entry::parse(&sealed),
                Err(BarrierError::Malformed(_))
            ));
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128), term in any::<u32>()) {
            let c = cipher(11);
            let result = open_entry(&c, term, KEY, &bytes);
            prop_assert!(matches!(
                result,
                Err(BarrierError::Malformed(_) | BarrierError::UnknownTerm(_) | BarrierError::Decrypt)
            ));
            if let Ok(entry) = Entry::parse(&bytes) {
                prop_assert!(entry.open(&c, KEY).is_err());
            }
        }

        #[test]
        fn round_trip_any_plaintext(plaintext in proptest::collection::vec(any::<u8>(), 0..512), term in any::<u32>()) {
            let c = cipher(12);
            let sealed = seal_entry(&c, term, KEY, &plaintext).unwrap();
            prop_assert_eq!(sealed.len(), MIN_ENTRY_LEN + plaintext.len());
            let opened = open_entry(&c, term, KEY, &sealed).unwrap();
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        }
    }
}
