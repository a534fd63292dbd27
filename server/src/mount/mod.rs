//! Mount tables: which engine serves which path prefix.
//!
//! Sits under `core`/`router` and over the barrier: the table is one JSON record inside
//! the barrier (`core/mounts`), and every mount's data lives under its own barrier prefix
//! `logical/<uuid>/`, reached only through a [`StorageView`](crate::barrier::StorageView).
//! The in-memory table is copy-on-write behind an `ArcSwap`: requests read it lock-free,
//! changes (enable, disable, tune) are serialised by one async mutex, persisted first, then
//! swapped in. The built-in `sys/` and `cubbyhole/` mounts always exist and cannot be
//! disabled.

mod entry;
mod path;
mod registry;

pub use entry::{MountConfig, MountEntry, MountType, SYSTEM_DEFAULT_TTL};
pub use path::MountPath;
pub use registry::{MountRegistry, ResolvedMount};

use crate::barrier::BarrierError;
use crate::error::ErrorKind;

/// Failures of mount management.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// Overlapping or duplicate path.
    #[error("path is already in use at {0}")]
    InUse(String),
    /// Unknown engine type.
    #[error("plugin not found in the catalog: {0}")]
    UnknownType(String),
    /// No `type` given.
    #[error("backend type must be specified as a string")]
    MissingType,
    /// No mount at the path.
    #[error("No secret engine mount at {0}")]
    NoMount(String),
    /// A protected mount.
    #[error("cannot {action} {path:?}")]
    Protected {
        /// What was attempted.
        action: &'static str,
        /// The mount.
        path: String,
    },
    /// Invalid path or option.
    #[error("{0}")]
    Invalid(String),
    /// Storage/encryption failure.
    #[error(transparent)]
    Barrier(#[from] BarrierError),
    /// The stored table could not be decoded.
    #[error("stored mount table is corrupt")]
    Corrupt,
}

impl MountError {
    /// The kind, hence the status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MountError::InUse(_)
            | MountError::UnknownType(_)
            | MountError::MissingType
            | MountError::NoMount(_)
            | MountError::Protected { .. }
            | MountError::Invalid(_) => ErrorKind::Invalid,
            MountError::Barrier(e) => e.kind(),
            MountError::Corrupt => ErrorKind::Internal,
        }
    }
}
