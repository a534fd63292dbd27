//! Shamir secret sharing of the unseal key.
//!
//! This is the bottom layer of the seal: `seal` → **`seal::shamir`** → (the
//! unseal key it rebuilds opens the keyring that opens the) `barrier`. At init
//! and rekey the seal generates a fresh 32-byte unseal key, [`split`]s it into
//! [`KeyShare`]s that go back to the operators exactly once (hex and base64, as
//! Vault's `keys` / `keys_base64`), and forgets them. At unseal the operators
//! send their shares back one by one; the seal [`KeyShare::parse`]s each, and
//! once it holds `threshold` of them it [`combine`]s them into the unseal key.
//! The arithmetic is `vsss-rs` (GF(2^8), byte-wise, the same field as Vault).
//! The share layout is vsss-rs's: one x-coordinate byte followed by the 32 y
//! bytes (Vault puts x last; clients treat shares as opaque bytes); this
//! module adds the typed validation, Vault's error texts, an OS-backed RNG and
//! zeroization around it.
//!
//! Invariants:
//! - A [`KeyShare`] is either a whole key ([`SECRET_LEN`] bytes: the 1-of-1
//!   configuration, where Vault does not split at all) or a share of
//!   [`SHARE_LEN`] bytes whose x-coordinate (first byte) is non-zero. Nothing
//!   else can be constructed.
//! - Key material lives only in [`Zeroizing`] buffers owned by this module or
//!   handed to the caller as such; [`KeyShare`] has no `Clone`, no `Serialize`,
//!   and its `Debug` shows the x-coordinate only. The one exception is the text
//!   returned by [`KeyShare::to_hex`] / [`KeyShare::to_base64`], which exists to
//!   be written into the init/rekey response.
//! - `vsss-rs` does not zeroize its internal polynomial when it drops it. It
//!   reuses one polynomial for every byte of the secret, so what it leaves in
//!   freed memory is the polynomial of the *last* byte it splits. [`split`]
//!   therefore appends one filler byte (a constant zero, not part of the key),
//!   and drops that column from every share: the leftover polynomial belongs
//!   to the filler and says nothing about the key.
//! - Shamir alone cannot tell a wrong or foreign share from a right one: any
//!   `threshold` shares with distinct x-coordinates interpolate to *some* 32
//!   bytes. Detecting a wrong share is the seal's job (it checks every
//!   submitted share against per-share commitments, and the combined key must
//!   open the stored root key); this module only rejects shares that are
//!   malformed, duplicated or too few.
//! - Randomness comes from the operating system (`getrandom`). A failure of
//!   the OS source never yields shares: [`split`] returns [`ShamirError::Rng`].

use std::convert::Infallible;
use std::fmt;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use rand_core::{TryCryptoRng, TryRng};
use vsss_rs::Gf256;
use zeroize::{Zeroize, Zeroizing};

use crate::error::ErrorKind;

/// Length of the unseal key, the secret that is split.
pub const SECRET_LEN: usize = 32;

/// Length of one share: the x-coordinate byte followed by [`SECRET_LEN`] y bytes.
pub const SHARE_LEN: usize = SECRET_LEN + 1;

/// Largest number of shares (Vault caps `secret_shares` at 255: x-coordinates
/// are the non-zero elements of GF(2^8)).
pub const MAX_SHARES: u8 = 255;

/// Standard-alphabet base64 that accepts the key with or without its `=`
/// padding. Vault's own encoding is padded standard base64; a 33-byte share
/// never has padding, a 32-byte whole key has one `=`.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a share could not be parsed, split or combined.
///
/// Every message is safe to show a client: none contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShamirError {
    /// The operator's text is neither hex nor base64 (Vault's exact text).
    #[error("'key' must be a valid hex or base64 string")]
    InvalidEncoding,
    /// The decoded key is neither a share nor a whole key.
    #[error(
        "unseal key has the wrong length: expected 33 bytes (or 32 for a single key), got {got}"
    )]
    WrongLength {
        /// The decoded length in bytes.
        got: usize,
    },
    /// A share whose x-coordinate is zero (that point is the secret itself).
    #[error("unseal key share is invalid: its x-coordinate is zero")]
    ZeroCoordinate,
    /// Two shares with the same x-coordinate.
    #[error("duplicate unseal key share")]
    DuplicateShare,
    /// Fewer shares than the threshold.
    #[error("not enough unseal key shares: need {need}, got {got}")]
    NotEnoughShares {
        /// How many shares were given.
        got: usize,
        /// The threshold.
        need: u8,
    },
    /// A whole (unsplit) key was given where shares of a split key are expected.
    #[error("expected an unseal key share, got a whole unseal key")]
    UnexpectedWholeKey,
    /// A share was given where the whole (unsplit) key is expected (threshold 1).
    #[error("expected a whole unseal key, got an unseal key share")]
    UnexpectedKeyShare,
    /// More than one key was given for a threshold of 1.
    #[error("a single unseal key is expected when the threshold is 1, got {got}")]
    TooManyKeys {
        /// How many keys were given.
        got: usize,
    },
    /// The shares/threshold configuration is invalid (Vault's texts; Vault's
    /// init/rekey handlers prefix them with "invalid seal configuration: ").
    #[error("{0}")]
    InvalidConfig(&'static str),
    /// The secret handed to [`split`] is not [`SECRET_LEN`] bytes (a server bug).
    #[error("the secret to split must be 32 bytes, got {got}")]
    SecretLength {
        /// The length given.
        got: usize,
    },
    /// The operating system's random source failed.
    #[error("failed to read randomness from the operating system")]
    Rng,
    /// The secret-sharing library failed or returned something malformed
    /// after our own checks passed (a bug, never the client's fault).
    #[error("secret sharing failed: {0}")]
    Internal(&'static str),
}

impl ShamirError {
    /// What this failure means to a client.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ShamirError::Rng | ShamirError::SecretLength { .. } | ShamirError::Internal(_) => {
                ErrorKind::Internal
            }
            ShamirError::InvalidEncoding
            | ShamirError::WrongLength { .. }
            | ShamirError::ZeroCoordinate
            | ShamirError::DuplicateShare
            | ShamirError::NotEnoughShares { .. }
            | ShamirError::UnexpectedWholeKey
            | ShamirError::UnexpectedKeyShare
            | ShamirError::TooManyKeys { .. }
            | ShamirError::InvalidConfig(_) => ErrorKind::Invalid,
        }
    }
}

/// One unseal key as given to (or by) an operator: either a share
/// ([`SHARE_LEN`] bytes, x-coordinate first, never zero) or, in the 1-of-1
/// configuration, the whole key ([`SECRET_LEN`] bytes).
///
/// Zeroized on drop. Deliberately not `Clone` and not `Serialize`; `Debug`
/// shows only the (public) x-coordinate.
pub struct KeyShare {
    bytes: Zeroizing<Vec<u8>>,
}

impl KeyShare {
    /// Parses an operator's text: trims surrounding whitespace, then decodes
    /// hex when the length is that of a key or a share (64 or 66 hex digits,
    /// either case), otherwise standard base64 (padding optional). Vault does
    /// the same: hex first only when it yields a plausible key length, so a
    /// base64 string made only of hex digits is still read as base64.
    pub fn parse(text: &str) -> Result<KeyShare, ShamirError> {
        let text = text.trim().as_bytes();

        if text.len() == 2 * SECRET_LEN || text.len() == 2 * SHARE_LEN {
            let mut buf = Zeroizing::new(vec![0u8; text.len() / 2]);
            if hex::decode_to_slice(text, buf.as_mut_slice()).is_ok() {
                return KeyShare::from_zeroizing(buf);
            }
        }

        let mut buf = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(text.len())]);
        match BASE64_LENIENT.decode_slice(text, buf.as_mut_slice()) {
            Ok(len) => {
                buf.truncate(len);
                KeyShare::from_zeroizing(buf)
            }
            Err(_) => Err(ShamirError::InvalidEncoding),
        }
    }

    /// Takes raw bytes: exactly [`SECRET_LEN`] (a whole 1-of-1 key) or
    /// [`SHARE_LEN`] with a non-zero x-coordinate. The input is zeroized when
    /// it is rejected.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<KeyShare, ShamirError> {
        KeyShare::from_zeroizing(Zeroizing::new(bytes))
    }

    fn from_zeroizing(bytes: Zeroizing<Vec<u8>>) -> Result<KeyShare, ShamirError> {
        match bytes.len() {
            SECRET_LEN => Ok(KeyShare { bytes }),
            SHARE_LEN if bytes[0] == 0 => Err(ShamirError::ZeroCoordinate),
            SHARE_LEN => Ok(KeyShare { bytes }),
            got => Err(ShamirError::WrongLength { got }),
        }
    }

    /// The raw bytes (x-coordinate first for a share).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Lower-case hex, as in Vault's `keys` (only for the init/rekey response).
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes.as_slice())
    }

    /// Padded standard base64, as in Vault's `keys_base64` (only for the
    /// init/rekey response).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.bytes.as_slice())
    }

    /// True for the [`SECRET_LEN`]-byte whole key of a 1-of-1 configuration.
    pub fn is_whole_key(&self) -> bool {
        self.bytes.len() == SECRET_LEN
    }

    /// The share's x-coordinate (public), or `None` for a whole key.
    pub fn x(&self) -> Option<u8> {
        if self.is_whole_key() {
            None
        } else {
            self.bytes.first().copied()
        }
    }
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.x() {
            Some(x) => write!(f, "KeyShare(x={x}, ..)"),
            None => f.write_str("KeyShare(whole key, ..)"),
        }
    }
}

/// Checks a shares/threshold request the way Vault's `SealConfig.Validate`
/// does (same order, same texts), taking the JSON integers as they come.
/// Returns them as `u8` for [`split`].
pub fn check_config(shares: i64, threshold: i64) -> Result<(u8, u8), ShamirError> {
    if shares < 1 {
        return Err(ShamirError::InvalidConfig("shares must be at least one"));
    }
    if threshold < 1 {
        return Err(ShamirError::InvalidConfig("threshold must be at least one"));
    }
    if shares > 1 && threshold == 1 {
        return Err(ShamirError::InvalidConfig(
            "threshold must be greater than one for multiple shares",
        ));
    }
    let Ok(shares) = u8::try_from(shares) else {
        return Err(ShamirError::InvalidConfig("shares must be less than 256"));
    };
    let Ok(threshold) = u8::try_from(threshold) else {
        return Err(ShamirError::InvalidConfig(
            "threshold must be less than 256",
        ));
    };
    if threshold > shares {
        return Err(ShamirError::InvalidConfig(
            "threshold cannot be larger than shares",
        ));
    }
    Ok((shares, threshold))
}

/// Splits a [`SECRET_LEN`]-byte secret into `shares` shares, any `threshold`
/// of which rebuild it. `1`-of-`1` returns the secret itself as a single
/// whole-key [`KeyShare`] (Vault does not split in that case). Otherwise
/// `2 <= threshold <= shares <= 255`; the shares have x-coordinates
/// `1..=shares` in order.
pub fn split(secret: &[u8], shares: u8, threshold: u8) -> Result<Vec<KeyShare>, ShamirError> {
    split_with(secret, shares, threshold, OsRng::new(getrandom::fill))
}

fn split_with(
    secret: &[u8],
    shares: u8,
    threshold: u8,
    mut rng: OsRng,
) -> Result<Vec<KeyShare>, ShamirError> {
    let (shares, threshold) = check_config(shares.into(), threshold.into())?;
    if secret.len() != SECRET_LEN {
        return Err(ShamirError::SecretLength { got: secret.len() });
    }
    if shares == 1 {
        return Ok(vec![KeyShare {
            bytes: Zeroizing::new(secret.to_vec()),
        }]);
    }

    // The secret plus one filler column; see the module header for why.
    let mut padded = Zeroizing::new([0u8; SECRET_LEN + 1]);
    padded[..SECRET_LEN].copy_from_slice(secret);

    let split = Gf256::split_bytes(
        usize::from(threshold),
        usize::from(shares),
        padded.as_slice(),
        &mut rng,
    );
    let mut raw = Zeroizing::new(split.map_err(|_| ShamirError::Internal("split failed"))?);
    if rng.failed {
        // `raw` is zeroized on the way out; nothing built from a failed
        // random source is ever returned.
        return Err(ShamirError::Rng);
    }
    if raw.len() != usize::from(shares) {
        return Err(ShamirError::Internal(
            "split returned the wrong number of shares",
        ));
    }

    let mut out = Vec::with_capacity(raw.len());
    for (index, share) in raw.iter_mut().enumerate() {
        // x, the SECRET_LEN key columns, then the filler column.
        if share.len() != SHARE_LEN + 1 {
            return Err(ShamirError::Internal(
                "split returned a share of the wrong length",
            ));
        }
        // Sequential ids 1..=n: non-zero and distinct by construction; check anyway.
        if usize::from(share[0]) != index + 1 {
            return Err(ShamirError::Internal(
                "split returned an unexpected x-coordinate",
            ));
        }
        // Drop the filler column in place (no reallocation, no copy), then
        // move the buffer into the share.
        share.truncate(SHARE_LEN);
        out.push(KeyShare {
            bytes: Zeroizing::new(std::mem::take(share)),
        });
    }
    Ok(out)
}

/// Rebuilds the secret from shares.
///
/// With `threshold == 1` exactly one whole-key [`KeyShare`] is expected and its
/// bytes are returned. Otherwise every share must be a [`SHARE_LEN`]-byte share
/// with a non-zero x-coordinate, the x-coordinates must be pairwise distinct,
/// and there must be at least `threshold` of them; all the given shares are
/// used. A share from another split (or a corrupted one) is *not* detected
/// here: it yields a wrong secret; the seal refuses such shares earlier, by
/// their commitments.
pub fn combine(shares: &[KeyShare], threshold: u8) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    if threshold == 0 {
        return Err(ShamirError::InvalidConfig("threshold must be at least one"));
    }

    if threshold == 1 {
        return match shares {
            [] => Err(ShamirError::NotEnoughShares { got: 0, need: 1 }),
            [one] if one.is_whole_key() => Ok(Zeroizing::new(one.bytes.to_vec())),
            [_] => Err(ShamirError::UnexpectedKeyShare),
            many => Err(ShamirError::TooManyKeys { got: many.len() }),
        };
    }

    // x-coordinates are public: plain comparisons are fine.
    let mut seen = [false; 256];
    for share in shares {
        if share.is_whole_key() {
            return Err(ShamirError::UnexpectedWholeKey);
        }
        if share.bytes.len() != SHARE_LEN {
            return Err(ShamirError::WrongLength {
                got: share.bytes.len(),
            });
        }
        let x = usize::from(share.bytes[0]);
        if x == 0 {
            return Err(ShamirError::ZeroCoordinate);
        }
        if seen[x] {
            return Err(ShamirError::DuplicateShare);
        }
        seen[x] = true;
    }
    if shares.len() < usize::from(threshold) {
        return Err(ShamirError::NotEnoughShares {
            got: shares.len(),
            need: threshold,
        });
    }

    // vsss-rs wants `&[Vec<u8>]`; the copies are zeroized when dropped.
    let copies: Zeroizing<Vec<Vec<u8>>> =
        Zeroizing::new(shares.iter().map(|s| s.bytes.to_vec()).collect());
    let secret = Gf256::combine_bytes(copies.as_slice())
        .map(Zeroizing::new)
        .map_err(|e| match e {
            vsss_rs::Error::SharingInvalidIdentifier => ShamirError::ZeroCoordinate,
            vsss_rs::Error::SharingDuplicateIdentifier => ShamirError::DuplicateShare,
            _ => ShamirError::Internal("combine failed"),
        })?;
    if secret.len() != SECRET_LEN {
        return Err(ShamirError::Internal(
            "combine returned a secret of the wrong length",
        ));
    }
    Ok(secret)
}

/// The operating system's CSPRNG as the infallible `rand_core` 0.10
/// [`CryptoRng`](rand_core::CryptoRng) that `vsss-rs` requires.
///
/// `getrandom` can fail, `vsss-rs` cannot take an error, and a panic is not
/// acceptable in the server: on failure this records it (sticky), hands out
/// zeros from then on, and the caller discards everything produced with it
/// (see [`split_with`]). Reads are buffered to keep syscalls few; the buffer is
/// zeroized on drop.
struct OsRng {
    source: fn(&mut [u8]) -> Result<(), getrandom::Error>,
    buf: Zeroizing<[u8; 256]>,
    pos: usize,
    failed: bool,
}

impl OsRng {
    fn new(source: fn(&mut [u8]) -> Result<(), getrandom::Error>) -> OsRng {
        OsRng {
            source,
            buf: Zeroizing::new([0u8; 256]),
            pos: 256,
            failed: false,
        }
    }

    fn fill(&mut self, dst: &mut [u8]) {
        for byte in dst.iter_mut() {
            if self.failed {
                *byte = 0;
                continue;
            }
            if self.pos == self.buf.len() {
                if (self.source)(self.buf.as_mut_slice()).is_err() {
                    self.failed = true;
                    self.buf.zeroize();
                    *byte = 0;
                    continue;
                }
                self.pos = 0;
            }
            *byte = self.buf[self.pos];
            // Each random byte is handed out once and then wiped.
            self.buf[self.pos] = 0;
            self.pos += 1;
        }
    }
}

impl TryRng for OsRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        let v = u32::from_le_bytes(b);
        b.zeroize();
        Ok(v)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        let v = u64::from_le_bytes(b);
        b.zeroize();
        Ok(v)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.fill(dst);
        Ok(())
    }
}

impl TryCryptoRng for OsRng {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn os_secret() -> [u8; SECRET_LEN] {
        let mut s = [0u8; SECRET_LEN];
        getrandom::fill(&mut s).unwrap();
        s
    }

    fn share_from(bytes: &[u8]) -> KeyShare {
        KeyShare::from_bytes(bytes.to_vec()).unwrap()
    }

    fn raw(shares: &[KeyShare]) -> Vec<Vec<u8>> {
        shares.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn threshold_and_count() -> impl Strategy<Value = (u8, u8)> {
        (2u8..=10).prop_flat_map(|n| (2u8..=n, Just(n)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_threshold_subset_rebuilds_the_secret(
            secret in any::<[u8; SECRET_LEN]>(),
            (t, n, order) in threshold_and_count().prop_flat_map(|(t, n)| {
                (Just(t), Just(n), Just((0..usize::from(n)).collect::<Vec<_>>()).prop_shuffle())
            }),
        ) {
            let shares = split(&secret, n, t).unwrap();
            prop_assert_eq!(shares.len(), usize::from(n));
            for (i, s) in shares.iter().enumerate() {
                prop_assert_eq!(s.as_bytes().len(), SHARE_LEN);
                prop_assert_eq!(s.x(), Some(u8::try_from(i + 1).unwrap()));
            }

            // A random t-subset in random order.
            let picked: Vec<KeyShare> = order[..usize::from(t)]
                .iter()
                .map(|&i| share_from(shares[i].as_bytes()))
                .collect();
            prop_assert_eq!(combine(&picked, t).unwrap().to_vec(), &secret[..]);

            // All n shares work too.
            prop_assert_eq!(combine(&shares, t).unwrap().to_vec(), &secret[..]);

            // t-1 shares: refused outright...
            let short = &picked[..usize::from(t) - 1];
            prop_assert_eq!(
                combine(short, t).unwrap_err(),
                ShamirError::NotEnoughShares { got: usize::from(t) - 1, need: t }
            );
            // ...and interpolating them anyway (claiming threshold t-1) gives
            // something else (equal with probability 2^-256).
            if t > 2 {
                let direct = Gf256::combine_bytes(raw(short)).unwrap();
                prop_assert_ne!(direct.as_slice(), &secret[..]);
                let ours = combine(short, t - 1).unwrap();
                prop_assert_ne!(ours.as_slice(), &secret[..]);
            } else {
                // One share of a degree-1 polynomial: its y bytes are not the secret.
                prop_assert_ne!(&short[0].as_bytes()[1..], &secret[..]);
                prop_assert_eq!(combine(short, 1).unwrap_err(), ShamirError::UnexpectedKeyShare);
            }
        }

        #[test]
        fn parse_never_panics(text in any::<String>()) {
            let _ = KeyShare::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_near_misses(
            text in "[ \t]{0,2}[0-9a-fA-F]{60,70}[ \n]{0,2}|[A-Za-z0-9+/]{40,48}={0,3}",
        ) {
            let _ = KeyShare::parse(&text);
        }

        #[test]
        fn parse_round_trips(
            y in any::<[u8; SECRET_LEN]>(),
            x in 1u8..=255,
            whole in any::<bool>(),
        ) {
            let mut bytes = Vec::new();
            if !whole {
                bytes.push(x);
            }
            bytes.extend_from_slice(&y);
            let share = share_from(&bytes);
            prop_assert_eq!(share.is_whole_key(), whole);

            let hex = share.to_hex();
            let b64 = share.to_base64();
            prop_assert_eq!(KeyShare::parse(&hex).unwrap().as_bytes().to_vec(), &bytes[..]);
            prop_assert_eq!(KeyShare::parse(&hex.to_uppercase()).unwrap().as_bytes().to_vec(), &bytes[..]);
            prop_assert_eq!(KeyShare::parse(&b64).unwrap().as_bytes().to_vec(), &bytes[..]);
            let padded = format!("  {b64}\n");
            prop_assert_eq!(KeyShare::parse(&padded).unwrap().as_bytes().to_vec(), &bytes[..]);
            let unpadded = b64.trim_end_matches('=');
            prop_assert_eq!(KeyShare::parse(unpadded).unwrap().as_bytes().to_vec(), &bytes[..]);
        }
    }

    #[test]
    fn one_of_one_is_the_raw_key() {
        let secret = os_secret();
        let shares = split(&secret, 1, 1).unwrap();
        assert_eq!(shares.len(), 1);
        assert!(shares[0].is_whole_key());
        assert_eq!(shares[0].x(), None);
        assert_eq!(shares[0].as_bytes(), &secret[..]);
        assert_eq!(combine(&shares, 1).unwrap().as_slice(), &secret[..]);
        // Vault hands the 1-of-1 key out as hex/base64 of the raw 32 bytes.
        assert_eq!(shares[0].to_hex(), hex::encode(secret));
        let parsed = KeyShare::parse(&shares[0].to_base64()).unwrap();
        assert_eq!(combine(&[parsed], 1).unwrap().as_slice(), &secret[..]);
    }

    #[test]
    fn config_errors_use_vaults_texts() {
        let s = os_secret();
        let msg = |e: ShamirError| e.to_string();
        assert_eq!(
            msg(split(&s, 0, 1).unwrap_err()),
            "shares must be at least one"
        );
        assert_eq!(
            msg(split(&s, 0, 0).unwrap_err()),
            "shares must be at least one"
        );
        assert_eq!(
            msg(split(&s, 3, 0).unwrap_err()),
            "threshold must be at least one"
        );
        assert_eq!(
            msg(split(&s, 3, 1).unwrap_err()),
            "threshold must be greater than one for multiple shares"
        );
        assert_eq!(
            msg(split(&s, 3, 4).unwrap_err()),
            "threshold cannot be larger than shares"
        );
        assert_eq!(
            msg(split(&s, 1, 2).unwrap_err()),
            "threshold cannot be larger than shares"
        );
        assert_eq!(
            msg(check_config(256, 2).unwrap_err()),
            "shares must be less than 256"
        );
        assert_eq!(
            msg(check_config(300, 256).unwrap_err()),
            "shares must be less than 256"
        );
        assert_eq!(
            msg(check_config(255, 256).unwrap_err()),
            "threshold must be less than 256"
        );
        assert_eq!(
            msg(check_config(-1, 2).unwrap_err()),
            "shares must be at least one"
        );
        assert_eq!(check_config(5, 3).unwrap(), (5, 3));
        assert_eq!(check_config(1, 1).unwrap(), (1, 1));
        for e in [
            split(&s, 0, 1).unwrap_err(),
            split(&s, 3, 0).unwrap_err(),
            split(&s, 3, 1).unwrap_err(),
            split(&s, 3, 4).unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::Invalid);
        }
        assert_eq!(
            combine(&[], 0).unwrap_err(),
            ShamirError::InvalidConfig("threshold must be at least one")
        );
    }

    #[test]
    fn wrong_secret_length_is_internal() {
        for len in [0usize, 31, 33] {
            let e = split(&vec![7u8; len], 3, 2).unwrap_err();
            assert_eq!(e, ShamirError::SecretLength { got: len });
            assert_eq!(e.kind(), ErrorKind::Internal);
        }
    }

    #[test]
    fn max_shares_work() {
        let secret = os_secret();
        let shares = split(&secret, MAX_SHARES, 2).unwrap();
        assert_eq!(shares.len(), 255);
        let xs: Vec<u8> = shares.iter().map(|s| s.x().unwrap()).collect();
        assert_eq!(xs, (1..=255).collect::<Vec<u8>>());
        let pair = [
            share_from(shares[254].as_bytes()),
            share_from(shares[7].as_bytes()),
        ];
        assert_eq!(combine(&pair, 2).unwrap().as_slice(), &secret[..]);

        let shares = split(&secret, MAX_SHARES, MAX_SHARES).unwrap();
        assert_eq!(
            combine(&shares, MAX_SHARES).unwrap().as_slice(),
            &secret[..]
        );
        assert_eq!(
            combine(&shares[1..], MAX_SHARES).unwrap_err(),
            ShamirError::NotEnoughShares {
                got: 254,
                need: 255
            }
        );
    }

    #[test]
    fn splits_are_randomized() {
        let secret = os_secret();
        let a = split(&secret, 3, 2).unwrap();
        let b = split(&secret, 3, 2).unwrap();
        assert_ne!(a[0].as_bytes(), b[0].as_bytes());
        // No share carries the secret in the clear.
        for s in a.iter().chain(b.iter()) {
            assert_ne!(&s.as_bytes()[1..], &secret[..]);
        }
    }

    #[test]
    fn zero_x_is_rejected() {
        let mut bytes = vec![0u8; SHARE_LEN];
        bytes[1..].copy_from_slice(&os_secret());
        assert_eq!(
            KeyShare::from_bytes(bytes.clone()).unwrap_err(),
            ShamirError::ZeroCoordinate
        );
        assert_eq!(
            KeyShare::parse(&hex::encode(&bytes)).unwrap_err(),
            ShamirError::ZeroCoordinate
        );
        // vsss-rs rejects it as well.
        let secret = os_secret();
        let shares = split(&secret, 3, 2).unwrap();
        let mut zeroed = raw(&shares[..2]);
        zeroed[0][0] = 0;
        assert_eq!(
            Gf256::combine_bytes(zeroed),
            Err(vsss_rs::Error::SharingInvalidIdentifier)
        );
    }

    #[test]
    fn duplicates_are_rejected() {
        let secret = os_secret();
        let shares = split(&secret, 3, 2).unwrap();

        // The very same share twice.
        let same = [
            share_from(shares[0].as_bytes()),
            share_from(shares[0].as_bytes()),
        ];
        assert_eq!(combine(&same, 2).unwrap_err(), ShamirError::DuplicateShare);

        // Same x, different y.
        let mut forged = shares[1].as_bytes().to_vec();
        forged[0] = shares[0].as_bytes()[0];
        let clash = [share_from(shares[0].as_bytes()), share_from(&forged)];
        assert_eq!(combine(&clash, 2).unwrap_err(), ShamirError::DuplicateShare);

        // A duplicate among enough distinct shares is still refused.
        let three = [
            share_from(shares[0].as_bytes()),
            share_from(shares[1].as_bytes()),
            share_from(shares[0].as_bytes()),
        ];
        assert_eq!(combine(&three, 2).unwrap_err(), ShamirError::DuplicateShare);

        // vsss-rs rejects duplicates as well.
        assert_eq!(
            Gf256::combine_bytes(raw(&clash)),
            Err(vsss_rs::Error::SharingDuplicateIdentifier)
        );
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        for len in [0usize, 1, 31, 34, 64, 65, 66] {
            let e = KeyShare::from_bytes(vec![1u8; len]).unwrap_err();
            assert_eq!(e, ShamirError::WrongLength { got: len });
            assert_eq!(e.kind(), ErrorKind::Invalid);
            assert!(e.to_string().contains(&format!("got {len}")), "{e}");
            assert!(e.to_string().contains("expected 33 bytes (or 32"), "{e}");
            if len > 0 {
                let b64 = base64::engine::general_purpose::STANDARD.encode(vec![1u8; len]);
                assert_eq!(KeyShare::parse(&b64).unwrap_err(), e);
            }
        }
        assert_eq!(
            KeyShare::parse("").unwrap_err(),
            ShamirError::WrongLength { got: 0 }
        );
    }

    #[test]
    fn bad_encodings_are_rejected_with_vaults_text() {
        let share = share_from(&[5u8; SHARE_LEN]);
        let hex = share.to_hex();
        for text in [
            "not a key!",
            "invalid key",
            &hex[..65],                                // odd hex, not base64 either
            &format!("{}g!", &hex[..64]),              // 66 chars, not hex, not base64
            &format!("{} {}", &hex[..32], &hex[32..]), // inner whitespace
            "AAAA====",
        ] {
            let e = KeyShare::parse(text).unwrap_err();
            assert_eq!(e, ShamirError::InvalidEncoding, "{text:?}");
            assert_eq!(e.to_string(), "'key' must be a valid hex or base64 string");
            assert_eq!(e.kind(), ErrorKind::Invalid);
        }
    }

    #[test]
    fn hex_wins_only_at_key_lengths() {
        // 44 hex digits: valid base64 of 33 bytes and also valid hex (22
        // bytes); like Vault, it is read as base64.
        let text = "1234567890abcdef1234567890abcdef1234567890ab";
        assert_eq!(text.len(), 44);
        let share = KeyShare::parse(text).unwrap();
        assert_eq!(share.as_bytes().len(), SHARE_LEN);
        assert_eq!(share.to_base64(), text);
    }

    #[test]
    fn mixed_whole_key_and_shares_are_rejected() {
        let secret = os_secret();
        let shares = split(&secret, 3, 2).unwrap();
        let whole = split(&secret, 1, 1).unwrap();
        let mixed = [
            share_from(shares[0].as_bytes()),
            share_from(whole[0].as_bytes()),
        ];
        assert_eq!(
            combine(&mixed, 2).unwrap_err(),
            ShamirError::UnexpectedWholeKey
        );
        let wholes = [
            share_from(whole[0].as_bytes()),
            share_from(whole[0].as_bytes()),
        ];
        assert_eq!(
            combine(&wholes, 2).unwrap_err(),
            ShamirError::UnexpectedWholeKey
        );
        assert_eq!(
            combine(&shares[..1], 1).unwrap_err(),
            ShamirError::UnexpectedKeyShare
        );
        assert_eq!(
            combine(&wholes, 1).unwrap_err(),
            ShamirError::TooManyKeys { got: 2 }
        );
        assert_eq!(
            combine(&[], 1).unwrap_err(),
            ShamirError::NotEnoughShares { got: 0, need: 1 }
        );
        assert_eq!(
            combine(&[], 2).unwrap_err(),
            ShamirError::NotEnoughShares { got: 0, need: 2 }
        );
    }

    /// Shamir has no integrity: a share from another split with the same x set
    /// interpolates without complaint to a secret that is neither. The seal
    /// refuses such a share on submission (per-share commitments).
    #[test]
    fn foreign_share_combines_to_a_wrong_secret() {
        let a = os_secret();
        let b = os_secret();
        let shares_a = split(&a, 3, 2).unwrap();
        let shares_b = split(&b, 3, 2).unwrap();
        let mixed = [
            share_from(shares_a[0].as_bytes()),
            share_from(shares_b[1].as_bytes()),
        ];
        let out = combine(&mixed, 2).unwrap();
        assert_eq!(out.len(), SECRET_LEN);
        assert_ne!(out.as_slice(), &a[..]);
        assert_ne!(out.as_slice(), &b[..]);
    }

    #[test]
    fn debug_does_not_leak_bytes() {
        let secret = os_secret();
        let shares = split(&secret, 3, 2).unwrap();
        let whole = split(&secret, 1, 1).unwrap();
        for s in shares.iter().chain(whole.iter()) {
            let dbg = format!("{s:?}");
            let hex = hex::encode(s.as_bytes());
            assert!(!dbg.contains(&hex), "{dbg}");
            assert!(!dbg.contains(&hex[2..10]), "{dbg}");
            assert!(!dbg.contains(&s.to_base64()), "{dbg}");
            assert!(!dbg.contains(&hex::encode(secret)[..8]), "{dbg}");
        }
        assert_eq!(format!("{:?}", shares[2]), "KeyShare(x=3, ..)");
        assert_eq!(format!("{:?}", whole[0]), "KeyShare(whole key, ..)");
        // Errors never carry bytes either.
        let e = combine(&[share_from(shares[0].as_bytes())], 2).unwrap_err();
        assert!(!format!("{e:?} {e}").contains(&hex::encode(shares[0].as_bytes())));
    }

    #[test]
    fn rng_failure_yields_no_shares() {
        fn always_fails(_: &mut [u8]) -> Result<(), getrandom::Error> {
            Err(getrandom::Error::UNSUPPORTED)
        }
        let secret = os_secret();
        let e = split_with(&secret, 5, 3, OsRng::new(always_fails)).unwrap_err();
        assert_eq!(e, ShamirError::Rng);
        assert_eq!(e.kind(), ErrorKind::Internal);
    }

    #[test]
    fn rng_failure_after_some_output_yields_no_shares() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        fn fails_second_time(buf: &mut [u8]) -> Result<(), getrandom::Error> {
            if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
                getrandom::fill(buf)
            } else {
                Err(getrandom::Error::UNEXPECTED)
            }
        }
        // 33 columns * 9 coefficients * 4 bytes > one 256-byte refill.
        let secret = os_secret();
        let e = split_with(&secret, 10, 10, OsRng::new(fails_second_time)).unwrap_err();
        assert_eq!(e, ShamirError::Rng);
        assert!(CALLS.load(Ordering::SeqCst) >= 2);
    }

    #[test]
    fn os_rng_produces_varied_output() {
        let mut rng = OsRng::new(getrandom::fill);
        let mut a = [0u8; 600];
        rng.try_fill_bytes(&mut a).unwrap();
        assert!(!rng.failed);
        // 600 bytes spanning three refills are not all equal.
        assert!(a.iter().any(|&b| b != a[0]));
        let x = rng.try_next_u64().unwrap();
        let y = rng.try_next_u64().unwrap();
        assert_ne!(x, y);
    }
}
