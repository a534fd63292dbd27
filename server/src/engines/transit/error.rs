//! Errors of the transit engine, in OpenBao's words.
//!
//! Every user-facing failure of a transit operation is a [`TransitError`]; its `Display`
//! is the exact text OpenBao answers (wire reference §8). A batch item keeps the text in
//! its `error` member; a single request turns it into an [`EngineError`] here, the one
//! place that picks the status. No variant carries key material or plaintext.

use crate::engines::EngineError;

/// What a transit operation reports.
#[derive(Debug, thiserror::Error)]
pub enum TransitError {
    /// A request field is missing or malformed (400).
    #[error("{0}")]
    Invalid(String),
    /// The named key does not exist where the operation needs it (400, as OpenBao).
    #[error("{0}")]
    KeyNotFound(&'static str),
    /// No such key where a read expects one: 404.
    #[error("not found")]
    NotFound,
    /// `vault:` prefix missing.
    #[error("invalid ciphertext: no prefix")]
    NoPrefix,
    /// `vault:vN` without the payload.
    #[error("invalid ciphertext: wrong number of fields")]
    WrongFields,
    /// `vN` is not a number.
    #[error("invalid ciphertext: version number could not be decoded")]
    BadVersion,
    /// The version is above the key's latest.
    #[error("invalid ciphertext: version is too new")]
    TooNew,
    /// The version is below `min_decryption_version`.
    #[error("ciphertext or signature version is disallowed by policy (too old)")]
    TooOld,
    /// The payload is not base64.
    #[error("invalid ciphertext: could not decode base64")]
    CiphertextBase64,
    /// The payload is shorter than nonce + tag.
    #[error("invalid ciphertext length")]
    CiphertextLength,
    /// The AEAD tag did not verify (tampered, wrong key, wrong context or AAD).
    #[error("cipher: message authentication failed")]
    AuthFailed,
    /// A signature string without the `vault:` prefix.
    #[error("invalid signature: no prefix")]
    SignatureNoPrefix,
    /// A signature string with a wrong layout.
    #[error("invalid signature: wrong number of fields")]
    SignatureFields,
    /// A signature version that is not a number.
    #[error("invalid signature: version number could not be decoded")]
    SignatureVersion,
    /// A signature version above the key's latest.
    #[error("invalid signature: version is too new")]
    SignatureTooNew,
    /// A signature payload that is not base64.
    #[error("invalid base64 signature value")]
    SignatureBase64,
    /// A derived key used without `context`.
    #[error("missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key")]
    MissingContext,
    /// An operation the key type cannot do, e.g. `message encryption not supported for
    /// key type ed25519`.
    #[error("{0}")]
    Unsupported(String),
    /// Storage or the barrier failed (500 for a single request).
    #[error("internal error")]
    Internal(#[source] Box<EngineError>),
}

impl TransitError {
    /// A 400 with `message`.
    pub fn invalid(message: impl Into<String>) -> TransitError {
        TransitError::Invalid(message.into())
    }

    /// Whether this is the client's fault (400) rather than the server's (500).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, TransitError::Internal(_))
    }
}

impl From<EngineError> for TransitError {
    fn from(e: EngineError) -> TransitError {
        TransitError::Internal(Box::new(e))
    }
}

impl From<crate::barrier::BarrierError> for TransitError {
    fn from(e: crate::barrier::BarrierError) -> TransitError {
        TransitError::Internal(Box::new(EngineError::Barrier(e)))
    }
}

impl From<crate::core::fields::FieldError> for TransitError {
    fn from(e: crate::core::fields::FieldError) -> TransitError {
        TransitError::Invalid(e.0)
    }
}

impl From<TransitError> for EngineError {
    fn from(e: TransitError) -> EngineError {
        match e {
            TransitError::Internal(inner) => *inner,
            TransitError::NotFound => EngineError::NotFound,
            other => EngineError::Invalid(other.to_string()),
        }
    }
}
