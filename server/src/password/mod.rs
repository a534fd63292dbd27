//! Password policies (`sys/policies/password/:name`): how generated passwords look.
//!
//! A policy says how long a password is and which characters it is drawn from, with a
//! minimum count per character set (Vault's `length` + `rule "charset"` language, HCL or
//! JSON). [`PasswordPolicy::generate`] draws uniformly from the union of the sets with OS
//! randomness and redraws until every minimum holds. Policies are stored in the barrier
//! by [`PasswordPolicyStore`]; the `sys/` handlers live in `system::password_policies`,
//! and the database engine generates credentials from a named policy or from
//! [`PasswordPolicy::default_policy`].
//!
//! Invariants: a stored policy always parsed when it was written; a generated password
//! lives in a `Zeroizing` buffer and never appears in an error, a log line or `Debug`.

mod hcl1;
mod policy;
mod store;

pub use policy::{CharsetRule, PasswordPolicy, MAX_LENGTH, MIN_LENGTH};
pub use store::{PasswordPolicyName, PasswordPolicyStore, STORAGE_PREFIX};

use crate::barrier::BarrierError;
use crate::error::ErrorKind;

/// Failures of password policies and their store.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The policy text is neither HCL nor JSON.
    #[error("unable to parse policy: {0}")]
    Syntax(String),
    /// The policy parsed but breaks a rule (length, charsets, min-chars).
    #[error("invalid password policy: {0}")]
    Invalid(String),
    /// The name is not acceptable.
    #[error("invalid password policy name: {0}")]
    InvalidName(&'static str),
    /// No password met every `min-chars` within the attempt budget.
    #[error("unable to generate a password satisfying the policy after {0} attempts")]
    Unsatisfiable(usize),
    /// The OS random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// Storage or decryption failed.
    #[error(transparent)]
    Barrier(#[from] BarrierError),
    /// A stored entry could not be read back.
    #[error("password policy store: corrupt entry {0:?}")]
    Corrupt(String),
}

impl PasswordError {
    /// How this failure is reported to a client.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PasswordError::Syntax(_)
            | PasswordError::Invalid(_)
            | PasswordError::InvalidName(_)
            | PasswordError::Unsatisfiable(_) => ErrorKind::Invalid,
            PasswordError::Barrier(e) => e.kind(),
            PasswordError::Rng | PasswordError::Corrupt(_) => ErrorKind::Internal,
        }
    }
}
