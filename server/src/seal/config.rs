//! The persisted seal configuration.
//!
//! Stored in plaintext (outside the barrier, under `core/seal/config`) because it is
//! needed while sealed. It holds the threshold, the number of shares, and one commitment
//! per issued share: `HMAC-SHA256(salt, share)` with a random 32-byte salt. Commitments
//! let the server refuse, at once and with a clear message, a well-formed share that was
//! never issued by this vault (Shamir alone would only fail at the threshold, after
//! silently consuming the operators' good shares). A commitment reveals nothing useful
//! about a share: shares are uniformly random and the salt is random.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::shamir::KeyShare;
use super::SealError;

/// Physical key of the seal configuration.
pub const SEAL_CONFIG_KEY: &str = "core/seal/config";

/// Vault's limit on the number of shares.
pub const MAX_SHARES: u32 = 255;

/// Why a requested configuration is invalid (messages as Vault's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealConfigError {
    /// `secret_shares` is zero.
    #[error("shares must be at least one")]
    NoShares,
    /// `secret_threshold` is zero or missing.
    #[error("threshold must be at least one")]
    NoThreshold,
    /// More than one share with a threshold of one.
    #[error("threshold must be greater than one for multiple shares")]
    ThresholdOneWithMultipleShares,
    /// Threshold above the share count.
    #[error("threshold cannot be larger than shares")]
    ThresholdAboveShares,
    /// Too many shares.
    #[error("shares must be less than 256")]
    TooManyShares,
}

/// A validated `(shares, threshold)` pair: the only way to get one is [`Shape::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    shares: u8,
    threshold: u8,
}

impl Shape {
    /// Validates a requested configuration.
    pub fn new(shares: u32, threshold: u32) -> Result<Shape, SealConfigError> {
        // Vault's order of checks (SealConfig.Validate).
        if shares == 0 {
            return Err(SealConfigError::NoShares);
        }
        if threshold == 0 {
            return Err(SealConfigError::NoThreshold);
        }
        if shares > 1 && threshold < 2 {
            return Err(SealConfigError::ThresholdOneWithMultipleShares);
        }
        if shares > MAX_SHARES {
            return Err(SealConfigError::TooManyShares);
        }
        if threshold > shares {
            return Err(SealConfigError::ThresholdAboveShares);
        }
        // Both fit in u8: shares <= 255 and threshold <= shares.
        Ok(Shape {
            shares: u8::try_from(shares).map_err(|_| SealConfigError::TooManyShares)?,
            threshold: u8::try_from(threshold).map_err(|_| SealConfigError::TooManyShares)?,
        })
    }

    /// Number of shares.
    pub fn shares(self) -> u8 {
        self.shares
    }

    /// Shares needed.
    pub fn threshold(self) -> u8 {
        self.threshold
    }
}

/// The seal configuration as persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealConfig {
    /// Number of shares issued.
    pub secret_shares: u8,
    /// Shares needed to unseal.
    pub secret_threshold: u8,
    /// Hex salt of the share commitments.
    pub commitment_salt: String,
    /// Hex `HMAC-SHA256(salt, share)`, one per issued share.
    pub commitments: Vec<String>,
}

impl SealConfig {
    /// Builds the configuration for freshly split shares.
    pub fn for_shares(shape: Shape, shares: &[KeyShare]) -> Result<SealConfig, SealError> {
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).map_err(|_| SealError::Shamir(super::ShamirError::Rng))?;
        let commitments = shares
            .iter()
            .map(|s| hex::encode(commit(&salt, s)))
            .collect();
        Ok(SealConfig {
            secret_shares: shape.shares(),
            secret_threshold: shape.threshold(),
            commitment_salt: hex::encode(salt),
            commitments,
        })
    }

    /// Parses the stored form and checks it is self-consistent.
    pub fn decode(bytes: &[u8]) -> Result<SealConfig, SealError> {
        let config: SealConfig =
            serde_json::from_slice(bytes).map_err(|_| SealError::CorruptConfig)?;
        let shape_ok = Shape::new(config.secret_shares.into(), config.secret_threshold.into())
            .is_ok()
            && config.commitments.len() == usize::from(config.secret_shares);
        if !shape_ok {
            return Err(SealError::CorruptConfig);
        }
        Ok(config)
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising a struct of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The validated shape.
    pub fn shape(&self) -> Shape {
        Shape {
            shares: self.secret_shares,
            threshold: self.secret_threshold,
        }
    }

    /// Checks that `share` is one this vault issued (constant time per commitment).
    pub fn check_share(&self, share: &KeyShare) -> Result<(), SealError> {
        let salt = hex::decode(&self.commitment_salt).map_err(|_| SealError::CorruptConfig)?;
        let digest = commit(&salt, share);
        let mut found = subtle::Choice::from(0u8);
        for stored in &self.commitments {
            let stored = hex::decode(stored).map_err(|_| SealError::CorruptConfig)?;
            found |= stored.as_slice().ct_eq(digest.as_slice());
        }
        if bool::from(found) {
            Ok(())
        } else {
            Err(SealError::ForeignShare)
        }
    }
}

fn commit(salt: &[u8], share: &KeyShare) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(salt) {
        Ok(mac) => mac,
        Err(_) => return [0u8; 32],
    };
    mac.update(b"strongroom/v1/share-commitment");
    mac.update(share.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::seal::shamir;

    #[test]
    fn shape_rules_match_vault() {
        assert_eq!(Shape::new(5, 0), Err(SealConfigError::NoThreshold));
        assert_eq!(Shape::new(0, 0), Err(SealConfigError::NoShares));
        assert_eq!(Shape::new(3, 5), Err(SealConfigError::ThresholdAboveShares));
        assert_eq!(
            Shape::new(3, 1),
            Err(SealConfigError::ThresholdOneWithMultipleShares)
        );
        assert_eq!(Shape::new(256, 3), Err(SealConfigError::TooManyShares));
        assert!(Shape::new(1, 1).is_ok());
        assert!(Shape::new(5, 3).is_ok());
        assert!(Shape::new(255, 255).is_ok());
    }

    #[test]
    fn commitments_recognise_own_shares_only() {
        let secret = [7u8; 32];
        let shape = Shape::new(3, 2).unwrap();
        let shares = shamir::split(&secret, 3, 2).unwrap();
        let config = SealConfig::for_shares(shape, &shares).unwrap();
        for s in &shares {
            config.check_share(s).unwrap();
        }
        let other = shamir::split(&secret, 3, 2).unwrap();
        for s in &other {
            assert!(matches!(
                config.check_share(s),
                Err(SealError::ForeignShare)
            ));
        }
        let decoded = SealConfig::decode(&config.encode()).unwrap();
        assert_eq!(decoded, config);
    }

    #[test]
    fn corrupt_config_is_typed() {
        assert!(matches!(
            SealConfig::decode(b"{"),
            Err(SealError::CorruptConfig)
        ));
        let bad =
            br#"{"secret_shares":3,"secret_threshold":5,"commitment_salt":"","commitments":[]}"#;
        assert!(matches!(
            SealConfig::decode(bad),
            Err(SealError::CorruptConfig)
        ));
    }
}
