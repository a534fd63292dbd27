//! Shares collected towards a threshold.
//!
//! Used for unsealing, for the old shares of a rekey and for the new shares of a rekey
//! verification. Each attempt has a random UUID nonce (shown in `sys/seal-status`). The
//! same share twice is ignored, not counted (Vault behaviour). Held shares zeroize when
//! the progress is dropped or reset.

use subtle::ConstantTimeEq;

use super::shamir::KeyShare;

/// What adding a share did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareOutcome {
    /// Counted; the threshold is not reached yet.
    Counted,
    /// The same share was already given; nothing changed.
    Duplicate,
    /// Counted, and the threshold is now reached.
    ThresholdReached,
}

/// Shares collected so far in one attempt.
#[derive(Debug)]
pub struct ShareProgress {
    nonce: String,
    threshold: u8,
    shares: Vec<KeyShare>,
}

impl ShareProgress {
    /// Starts a new attempt with a fresh nonce.
    pub fn new(threshold: u8) -> ShareProgress {
        ShareProgress {
            nonce: uuid::Uuid::new_v4().to_string(),
            threshold,
            shares: Vec::new(),
        }
    }

    /// The attempt's nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Shares counted so far.
    pub fn count(&self) -> u32 {
        // At most 255 shares are ever held.
        u32::try_from(self.shares.len()).unwrap_or(u32::MAX)
    }

    /// Adds a share.
    pub fn add(&mut self, share: KeyShare) -> ShareOutcome {
        let seen = self
            .shares
            .iter()
            .fold(subtle::Choice::from(0u8), |acc, s| {
                acc | s.as_bytes().ct_eq(share.as_bytes())
            });
        if bool::from(seen) {
            return ShareOutcome::Duplicate;
        }
        self.shares.push(share);
        if self.shares.len() >= usize::from(self.threshold) {
            ShareOutcome::ThresholdReached
        } else {
            ShareOutcome::Counted
        }
    }

    /// The collected shares (for combination once the threshold is reached).
    pub fn shares(&self) -> &[KeyShare] {
        &self.shares
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::seal::shamir;

    #[test]
    fn duplicates_are_ignored_and_threshold_detected() {
        let shares = shamir::split(&[1u8; 32], 3, 2).unwrap();
        let mut p = ShareProgress::new(2);
        let again = KeyShare::from_bytes(shares[0].as_bytes().to_vec()).unwrap();
        let second = KeyShare::from_bytes(shares[1].as_bytes().to_vec()).unwrap();
        let mut it = shares.into_iter();
        assert_eq!(p.add(it.next().unwrap()), ShareOutcome::Counted);
        assert_eq!(p.add(again), ShareOutcome::Duplicate);
        assert_eq!(p.count(), 1);
        assert_eq!(p.add(second), ShareOutcome::ThresholdReached);
        assert_eq!(
            uuid::Uuid::parse_str(p.nonce()).unwrap().get_version_num(),
            4
        );
    }
}
