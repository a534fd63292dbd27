//! The Shamir seal: how the unseal key is split, recognised and put back together.
//!
//! Sits beside the barrier (`seal → barrier`): the seal turns operator shares into the
//! [`UnsealKey`](crate::barrier::UnsealKey) that opens the barrier's wrapped root key;
//! it never sees the root key or any data key.
//!
//! - [`shamir`]: split/combine over GF(256) (vsss-rs, exact-pinned).
//! - [`config`]: the persisted seal configuration (threshold, shares, share commitments).
//! - [`progress`]: shares collected towards a threshold (unseal, rekey, rekey verify).
//! - [`rekey`]: the rekey operation as a typed lifecycle.
//!
//! Invariants: share bytes live only in zeroizing types and are never logged; the seal
//! configuration on disk holds no secret (commitments are keyed hashes under a random salt).

pub mod config;
pub mod progress;
pub mod rekey;
pub mod shamir;

pub use config::{SealConfig, SealConfigError};
pub use progress::{ShareOutcome, ShareProgress};
pub use rekey::{RekeyOperation, RekeyStage};
pub use shamir::{KeyShare, ShamirError};

use crate::error::ErrorKind;

/// Failures of the seal's own logic (not of Shamir arithmetic or the barrier).
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The requested configuration is not valid.
    #[error("invalid seal configuration: {0}")]
    InvalidConfig(#[from] SealConfigError),
    /// Share parsing or combination failed.
    #[error(transparent)]
    Shamir(#[from] ShamirError),
    /// A well-formed share that this vault never issued.
    #[error("unseal key does not belong to this vault (it matches none of the issued shares)")]
    ForeignShare,
    /// The persisted configuration could not be read.
    #[error("stored seal configuration is corrupt")]
    CorruptConfig,
}

impl SealError {
    /// How this failure is reported to a client.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SealError::InvalidConfig(_) | SealError::ForeignShare => ErrorKind::Invalid,
            SealError::Shamir(e) => e.kind(),
            SealError::CorruptConfig => ErrorKind::Internal,
        }
    }
}
