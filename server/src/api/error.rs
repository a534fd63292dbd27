//! Errors of the HTTP edge, and how every error becomes `{"errors":[...]}`.

use crate::core::CoreError;
use crate::error::ErrorKind;

/// Failures detected at the HTTP edge, plus core errors passing through.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// From the core.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A trusted proxy sent an `X-Forwarded-For` whose last entry is not an address.
    #[error("invalid X-Forwarded-For header: the last entry is not an IP address")]
    BadForwardedFor,
    /// The global request quota is spent.
    #[error("rate limit quota exceeded")]
    QuotaExceeded {
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// Body above the configured limit.
    #[error("http: request body too large")]
    BodyTooLarge,
    /// The body could not be read.
    #[error("failed to read request body")]
    BodyRead,
    /// The body is not valid JSON (or not an object).
    #[error("failed to decode JSON input: {0}")]
    BadJson(String),
    /// The body nests deeper than allowed.
    #[error("failed to decode JSON input: nesting deeper than {0} levels")]
    TooDeep(usize),
    /// A form body could not be parsed.
    #[error("failed to parse form input")]
    BadForm,
    /// PATCH without a merge-patch content type.
    #[error("PATCH requires Content-Type of application/merge-patch+json, provided {0}")]
    PatchContentType(String),
    /// Verb not supported at all, or not on this endpoint.
    #[error("unsupported operation")]
    MethodNotAllowed,
    /// Namespaces are not supported; only the root namespace exists.
    #[error("namespace not found")]
    NamespaceNotFound,
    /// The path is not valid (bad escape, invalid UTF-8, control characters).
    #[error("invalid request path: {0}")]
    BadPath(&'static str),
    /// A query parameter is invalid.
    #[error("{0}")]
    BadQuery(String),
    /// `?list=true` together with `?scan=true`.
    #[error("list and scan may not be requested together")]
    ListAndScan,
    /// `X-Vault-Wrap-TTL` is not a duration.
    #[error("error parsing X-Vault-Wrap-TTL header: {0}")]
    BadWrapTtl(String),
    /// The request took longer than the configured timeout.
    #[error("request timed out")]
    Timeout,
}

impl From<crate::core::fields::FieldError> for ApiError {
    fn from(e: crate::core::fields::FieldError) -> Self {
        ApiError::Core(CoreError::Field(e))
    }
}

impl ApiError {
    /// The kind, hence the status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::Core(e) => e.kind(),
            ApiError::BodyTooLarge => ErrorKind::PayloadTooLarge,
            ApiError::PatchContentType(_) => ErrorKind::UnsupportedMediaType,
            ApiError::MethodNotAllowed => ErrorKind::MethodNotAllowed,
            ApiError::NamespaceNotFound => ErrorKind::NotFound,
            ApiError::Timeout => ErrorKind::Unavailable,
            ApiError::QuotaExceeded { .. } => ErrorKind::TooManyRequests,
            ApiError::BodyRead
            | ApiError::BadJson(_)
            | ApiError::TooDeep(_)
            | ApiError::BadForm
            | ApiError::BadPath(_)
            | ApiError::BadQuery(_)
            | ApiError::BadForwardedFor
            | ApiError::ListAndScan
            | ApiError::BadWrapTtl(_) => ErrorKind::Invalid,
        }
    }

    /// Seconds for `Retry-After`, for rate-limited requests.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::QuotaExceeded { retry_after }
            | ApiError::Core(CoreError::RateLimited { retry_after }) => Some(*retry_after),
            _ => None,
        }
    }

    /// The `errors` list the client reads.
    pub fn public_messages(&self) -> Vec<String> {
        match self {
            ApiError::Core(e) => e.public_messages(),
            ApiError::MethodNotAllowed => Vec::new(),
            ApiError::Timeout => vec![self.to_string()],
            other => vec![other.to_string()],
        }
    }
}
