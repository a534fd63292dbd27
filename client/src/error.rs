//! Errors of the HTTP client.

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status; `errors` are its messages.
    #[error("server returned {status}: {}", errors.join("; "))]
    Api {
        /// HTTP status code.
        status: u16,
        /// The server's `errors` list.
        errors: Vec<String>,
    },
    /// The request could not be sent or the response not read.
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// The response body did not have the expected shape.
    #[error("unexpected response body: {0}")]
    Decode(String),
    /// The client was configured wrongly (bad address or CA file).
    #[error("client configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}
