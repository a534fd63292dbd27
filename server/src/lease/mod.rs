//! Leases: the persistence half of the lease manager.
//!
//! Where it sits: `core → lease → barrier`. When an engine response carries a secret
//! with a TTL, the core computes its TTL with [`ttl::calculate`] and registers it with
//! [`LeaseStore::create`]; the scheduler asks [`LeaseStore::due`] / [`LeaseStore::next_due`]
//! what needs attention, and the `sys/leases/*` endpoints look leases up, renew and revoke
//! them through the same store.
//!
//! Leases are rows in the barrier indexed by time (DESIGN.md §5): nothing loads all of
//! them, and memory does not grow with their number. The physical layout is in
//! [`layout`]; ids in [`id`]; the entry and its wire shape in [`entry`]; the store in
//! [`store`].
//!
//! Invariants:
//! - Every change of an entry and of its index keys is ONE atomic barrier batch, so an
//!   index never points at a missing entry and a live entry is always indexed.
//! - A lease that is not irrevocable has exactly one due-index key; an irrevocable lease
//!   has none and one irrevocable-index key.
//! - Ids handed in by callers are parsed first; an id that is not well formed is simply
//!   absent (never an error, never a storage key).
//! - `internal` (engine secrets) never appears in `Debug` output, errors or logs.

pub mod entry;
pub mod id;
pub mod layout;
pub mod store;
pub mod ttl;

pub use entry::{LeaseEntry, NewLease, RevocationState};
pub use id::LeaseId;
pub use store::LeaseStore;
pub use ttl::{calculate, TtlInput, TtlOutcome};

use crate::barrier::BarrierError;
use crate::error::ErrorKind;

/// Failures of the lease store and of the TTL arithmetic.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Storage or decryption failed.
    #[error("lease store: {0}")]
    Barrier(#[from] BarrierError),
    /// A stored entry could not be parsed (or does not belong where it was found).
    #[error("lease store: corrupt entry")]
    Corrupt,
    /// The system RNG failed while generating a lease id.
    #[error("lease store: random number generator failed")]
    Rng,
    /// The request path a lease was to be created under is not a valid id prefix.
    #[error("invalid lease path")]
    InvalidPath,
    /// The owner token hash of a new lease is not a valid key segment.
    #[error("invalid lease owner")]
    InvalidOwner,
    /// A TTL so large that the expiry time cannot be represented.
    #[error("lease TTL out of range")]
    TtlOutOfRange,
    /// The lease has reached its maximum TTL (Vault's message).
    #[error("past the max TTL, cannot renew")]
    PastMaxTtl,
    /// No maximum TTL to cap against (the mount's effective max is always set).
    #[error("max TTL must be greater than zero")]
    NoMaxTtl,
}

impl LeaseError {
    /// How this failure is reported to a client.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LeaseError::Barrier(e) => e.kind(),
            LeaseError::InvalidPath
            | LeaseError::InvalidOwner
            | LeaseError::TtlOutOfRange
            | LeaseError::PastMaxTtl => ErrorKind::Invalid,
            LeaseError::Corrupt | LeaseError::Rng | LeaseError::NoMaxTtl => ErrorKind::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(LeaseError::Corrupt.kind(), ErrorKind::Internal);
        assert_eq!(LeaseError::Rng.kind(), ErrorKind::Internal);
        assert_eq!(LeaseError::NoMaxTtl.kind(), ErrorKind::Internal);
        assert_eq!(LeaseError::PastMaxTtl.kind(), ErrorKind::Invalid);
        assert_eq!(LeaseError::InvalidPath.kind(), ErrorKind::Invalid);
        assert_eq!(
            LeaseError::Barrier(BarrierError::Sealed).kind(),
            ErrorKind::Sealed
        );
        assert_eq!(
            LeaseError::PastMaxTtl.to_string(),
            "past the max TTL, cannot renew"
        );
    }
}
