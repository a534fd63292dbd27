//! Errors of the secrets engines.

use crate::barrier::BarrierError;
use crate::error::ErrorKind;

/// What an engine reports.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Nothing at this path: 404 `{"errors":[]}`.
    #[error("not found")]
    NotFound,
    /// Invalid request: 400 with this message.
    #[error("{0}")]
    Invalid(String),
    /// The mount has no such path pattern: 404 `1 error occurred: unsupported path`.
    #[error("1 error occurred:\n\t* unsupported path\n\n")]
    UnsupportedPath,
    /// The path exists but not for this operation: 405.
    #[error("1 error occurred:\n\t* unsupported operation\n\n")]
    UnsupportedOperation,
    /// Storage/encryption failure.
    #[error(transparent)]
    Barrier(#[from] BarrierError),
    /// A login failed (unknown principal or wrong credential): 400 with this message,
    /// and counted by the lockout tracker.
    #[error("{0}")]
    LoginFailed(&'static str),
    /// Refused (e.g. a locked-out user): 403 `permission denied`.
    #[error("permission denied")]
    PermissionDenied,
    /// An external system (a database) failed: 500 with this message, which names the
    /// failure but never holds a password or a generated secret.
    #[error("{0}")]
    External(String),
    /// Stored data could not be decoded.
    #[error("stored entry is corrupt: {0}")]
    Corrupt(String),
}

impl EngineError {
    /// The kind, hence the status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::NotFound | EngineError::UnsupportedPath => ErrorKind::NotFound,
            EngineError::Invalid(_) | EngineError::LoginFailed(_) => ErrorKind::Invalid,
            EngineError::PermissionDenied => ErrorKind::PermissionDenied,
            EngineError::UnsupportedOperation => ErrorKind::MethodNotAllowed,
            EngineError::Barrier(e) => e.kind(),
            EngineError::Corrupt(_) | EngineError::External(_) => ErrorKind::Internal,
        }
    }

    /// Messages for the client (`[]` for a plain 404).
    pub fn public_messages(&self) -> Vec<String> {
        match (self, self.kind()) {
            (EngineError::NotFound, _) => Vec::new(),
            (EngineError::Barrier(BarrierError::Sealed), _) => vec!["Vault is sealed".into()],
            (EngineError::External(message), _) => vec![message.clone()],
            (_, ErrorKind::Internal) => vec!["internal error".into()],
            (_, ErrorKind::Unavailable) => {
                vec!["storage is unavailable; the request was not completed".into()]
            }
            _ => vec![self.to_string()],
        }
    }
}
