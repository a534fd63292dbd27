//! Errors of the core pipeline and lifecycle.

use crate::auth::TokenError;
use crate::barrier::BarrierError;
use crate::engines::EngineError;
use crate::error::ErrorKind;
use crate::mount::MountError;
use crate::policy::Denied;
use crate::seal::{SealConfigError, SealError, ShamirError};
use crate::storage::StorageError;

use super::fields::FieldError;

/// What the core reports; [`CoreError::kind`] picks the status, [`CoreError::public_messages`]
/// what the client reads.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Sealed or not initialised (logical paths).
    #[error("Vault is sealed")]
    Sealed,
    /// An operation that needs an initialised vault.
    #[error("Vault is not initialized")]
    NotInitialized,
    /// `sys/init` twice.
    #[error("Vault is already initialized")]
    AlreadyInitialized,
    /// `reset` while unsealed.
    #[error("vault is unsealed")]
    AlreadyUnsealed,
    /// Missing/unknown/expired token or ACL denial.
    #[error("permission denied")]
    PermissionDenied,
    /// No mount or fixed route for the path.
    #[error("no handler for route {0:?}. route entry not found.")]
    NoHandler(String),
    /// A `sys/` path that is not an endpoint.
    #[error("1 error occurred:\n\t* unsupported path\n\n")]
    UnsupportedPath,
    /// A rate limit refused the request (429 with `Retry-After`).
    #[error("rate limit quota exceeded")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// `auth/token/lookup` (and friends) on an unknown or expired token.
    #[error("bad token")]
    BadToken,
    /// Nothing at the path (404 with an empty `errors`).
    #[error("not found")]
    NotFound,
    /// Wrong verb for the path.
    #[error("unsupported operation")]
    MethodNotAllowed,
    /// A request field is invalid.
    #[error("{0}")]
    Field(#[from] FieldError),
    /// Any other invalid request, with its message.
    #[error("{0}")]
    Invalid(String),
    /// The combined shares did not open the root key.
    #[error("unable to retrieve stored keys: invalid key: failed to decrypt keys from storage: cipher: message authentication failed")]
    WrongUnsealKey,
    /// Seal logic.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// Barrier.
    #[error(transparent)]
    Barrier(#[from] BarrierError),
    /// Token store.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Physical storage.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Mount management.
    #[error(transparent)]
    Mount(#[from] MountError),
    /// The policy store (boxed: the parse errors are large).
    #[error(transparent)]
    Policy(Box<crate::policy::store::PolicyStoreError>),
    /// A secrets engine.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The lease store.
    #[error(transparent)]
    Lease(#[from] crate::lease::LeaseError),
    /// The task serving the request failed (a bug: it panicked).
    #[error("the request's task failed")]
    Aborted,
    /// Audit devices (fail closed: `Audit(Unrecorded)` refuses the request).
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The CLI preflight (`sys/internal/ui/mounts`) found no accessible mount.
    #[error("preflight capability check returned 403, please ensure client's policies grant access to path {0:?}")]
    PreflightDenied(String),
    /// `sys/wrapping/unwrap` with neither a token in the body nor a token header.
    #[error("error validating wrapping token: empty token in request body")]
    WrappingTokenMissing,
    /// A wrapping token that is unknown, expired, spent, or not a wrapping token.
    #[error("wrapping token is not valid or does not exist")]
    WrappingTokenInvalid,
}

impl From<ShamirError> for CoreError {
    fn from(e: ShamirError) -> Self {
        CoreError::Seal(SealError::Shamir(e))
    }
}

impl From<SealConfigError> for CoreError {
    fn from(e: SealConfigError) -> Self {
        CoreError::Seal(SealError::InvalidConfig(e))
    }
}

impl From<Denied> for CoreError {
    fn from(_: Denied) -> Self {
        CoreError::PermissionDenied
    }
}

impl CoreError {
    /// The kind, hence the HTTP status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::Sealed => ErrorKind::Sealed,
            CoreError::NotInitialized
            | CoreError::AlreadyInitialized
            | CoreError::AlreadyUnsealed
            | CoreError::Field(_)
            | CoreError::Invalid(_)
            | CoreError::WrongUnsealKey => ErrorKind::Invalid,
            CoreError::PermissionDenied | CoreError::BadToken => ErrorKind::PermissionDenied,
            CoreError::NotFound => ErrorKind::NotFound,
            CoreError::RateLimited { .. } => ErrorKind::TooManyRequests,
            CoreError::NoHandler(_) | CoreError::UnsupportedPath => ErrorKind::NotFound,
            CoreError::MethodNotAllowed => ErrorKind::MethodNotAllowed,
            CoreError::Seal(e) => e.kind(),
            CoreError::Barrier(e) => e.kind(),
            CoreError::Token(e) => e.kind(),
            CoreError::Storage(e) => e.kind(),
            CoreError::Mount(e) => e.kind(),
            CoreError::Engine(e) => e.kind(),
            CoreError::Lease(e) => e.kind(),
            CoreError::Policy(e) => e.kind(),
            CoreError::PreflightDenied(_) | CoreError::WrappingTokenMissing => {
                ErrorKind::PermissionDenied
            }
            CoreError::WrappingTokenInvalid => ErrorKind::Invalid,
            CoreError::Audit(e) => e.kind(),
            CoreError::Aborted => ErrorKind::Internal,
        }
    }

    /// What the client reads in `errors`. Internal causes are not shown (they are logged).
    pub fn public_messages(&self) -> Vec<String> {
        match (self, self.kind()) {
            (CoreError::MethodNotAllowed | CoreError::NotFound, _) => Vec::new(),
            (CoreError::Engine(e), _) => e.public_messages(),
            (CoreError::Barrier(BarrierError::Sealed), _) => vec!["Vault is sealed".to_string()],
            (CoreError::Audit(crate::audit::AuditError::Unrecorded), _) => {
                vec!["internal error: the audit log is unavailable".to_string()]
            }
            (_, ErrorKind::Internal) => vec!["internal error".to_string()],
            (_, ErrorKind::Unavailable) => {
                vec!["storage is unavailable; the request was not completed".to_string()]
            }
            _ => vec![self.to_string()],
        }
    }
}
