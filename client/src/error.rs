//! Errors of the HTTP client: one enum, [`ClientError`], for every call.
//!
//! A server refusal keeps its status and the server's own messages
//! ([`ClientError::Api`]); a failure to get an answer at all keeps the transport error
//! and how many attempts were made ([`TransportError`]). No variant ever holds the
//! token, a password or a secret: request bodies and headers are not part of any error.

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status; `errors` are its messages. When the
    /// status was retryable (429, 5xx) this is the answer to the last attempt.
    #[error("server returned {status}: {}", errors.join("; "))]
    Api {
        /// HTTP status code.
        status: u16,
        /// The server's `errors` list.
        errors: Vec<String>,
    },
    /// No answer could be obtained (connection refused or lost, timeout, TLS failure),
    /// after every attempt the retry policy allowed.
    #[error("transport error: {0}")]
    Transport(#[source] TransportError),
    /// The response body did not have the expected shape.
    #[error("unexpected response body: {0}")]
    Decode(String),
    /// The client was configured wrongly (bad address, CA or client certificate file).
    #[error("client configuration: {0}")]
    Config(String),
    /// A call was given an argument it cannot send (an empty user name, a mount path
    /// with `..`, an orphan token with a role); nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server could not be reached at all (as opposed to refusing).
    pub fn is_transport(&self) -> bool {
        matches!(self, ClientError::Transport(_))
    }
}

impl From<reqwest::Error> for ClientError {
    /// A transport error from a single attempt.
    fn from(err: reqwest::Error) -> Self {
        ClientError::Transport(TransportError {
            attempts: 1,
            source: err,
        })
    }
}

impl From<TransportError> for ClientError {
    fn from(err: TransportError) -> Self {
        ClientError::Transport(err)
    }
}

/// The last transport failure of a request and how many attempts were made.
#[derive(Debug)]
pub struct TransportError {
    attempts: u32,
    source: reqwest::Error,
}

impl TransportError {
    /// A closure wrapping a `reqwest` error of the `attempts`-th attempt (0 when the
    /// error came before any request, e.g. while building the connection pool).
    pub(crate) fn from_reqwest(attempts: u32) -> impl Fn(reqwest::Error) -> TransportError {
        move |source| TransportError { attempts, source }
    }

    /// How many attempts were made (1 when the first failure was not retried).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the last attempt could not connect.
    pub fn is_connect(&self) -> bool {
        self.source.is_connect()
    }

    /// Whether the last attempt timed out.
    pub fn is_timeout(&self) -> bool {
        self.source.is_timeout()
    }

    /// The underlying `reqwest` error of the last attempt.
    pub fn reqwest(&self) -> &reqwest::Error {
        &self.source
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.attempts > 1 {
            write!(f, "after {} attempts: {}", self.attempts, self.source)
        } else {
            write!(f, "{}", self.source)
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_text_carries_status_and_messages() {
        let err = ClientError::Api {
            status: 400,
            errors: vec!["invalid username or password".into(), "x".into()],
        };
        assert_eq!(
            err.to_string(),
            "server returned 400: invalid username or password; x"
        );
        assert_eq!(err.status(), Some(400));
        assert!(!err.is_transport());
        assert_eq!(ClientError::Config("c".into()).status(), None);
    }
}
