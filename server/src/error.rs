//! The one status table.
//!
//! Every module has its own `thiserror` enum with a `kind()` method returning an
//! [`ErrorKind`]. The HTTP status for a kind is chosen here and nowhere else
//! (DESIGN.md §6), so a storage failure, a barrier failure and a seal failure that
//! mean the same thing to a client always get the same status.

use http::StatusCode;

/// What a failure means to the client, independent of which module produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or semantically invalid (400).
    Invalid,
    /// Missing/invalid token or an ACL denial (403).
    PermissionDenied,
    /// Nothing at this path (404).
    NotFound,
    /// The verb is not supported on this path (405).
    MethodNotAllowed,
    /// The request body exceeds the configured limit (413).
    PayloadTooLarge,
    /// Wrong content type, e.g. PATCH without merge-patch (415).
    UnsupportedMediaType,
    /// Rate limited / standby (429).
    TooManyRequests,
    /// Something failed inside the server (500).
    Internal,
    /// An upstream system (a database we manage) failed (502).
    BadGateway,
    /// The vault is sealed or not initialized (503).
    Sealed,
    /// The backing store is unavailable (503).
    Unavailable,
}

impl ErrorKind {
    /// The one mapping from kinds to HTTP status codes.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::BadGateway => StatusCode::BAD_GATEWAY,
            ErrorKind::Sealed | ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Whether the detailed message may be shown to the client. Internal failures
    /// show a generic message; the cause goes to the log inside the request span.
    pub fn is_public(self) -> bool {
        !matches!(self, ErrorKind::Internal | ErrorKind::Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_vault_codes() {
        assert_eq!(ErrorKind::Invalid.status(), 400);
        assert_eq!(ErrorKind::PermissionDenied.status(), 403);
        assert_eq!(ErrorKind::NotFound.status(), 404);
        assert_eq!(ErrorKind::MethodNotAllowed.status(), 405);
        assert_eq!(ErrorKind::PayloadTooLarge.status(), 413);
        assert_eq!(ErrorKind::UnsupportedMediaType.status(), 415);
        assert_eq!(ErrorKind::TooManyRequests.status(), 429);
        assert_eq!(ErrorKind::Internal.status(), 500);
        assert_eq!(ErrorKind::BadGateway.status(), 502);
        assert_eq!(ErrorKind::Sealed.status(), 503);
        assert_eq!(ErrorKind::Unavailable.status(), 503);
    }
}
