//! The policy module's one error enum.
//!
//! Every variant is the client's fault (a bad policy name or policy text), so every
//! variant is a 400. Messages follow Vault's wording where Vault has one
//! (`failed to parse policy: path "x": invalid capability "bogus"`).

use crate::error::ErrorKind;

/// A policy name or policy text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The policy name is empty (after trimming).
    #[error("policy name must be provided in the URL")]
    EmptyName,
    /// The policy name is unusable for another reason.
    #[error("invalid policy name: {0}")]
    InvalidName(&'static str),
    /// The text is neither valid HCL nor valid JSON (the parser's message).
    #[error("failed to parse policy: {0}")]
    Syntax(String),
    /// A top-level key other than `path` (and the ignored `name`).
    #[error("failed to parse policy: invalid key {key:?}")]
    UnknownKey {
        /// The offending key.
        key: String,
    },
    /// A key inside a `path` stanza that the language does not have.
    #[error("failed to parse policy: path {path:?}: invalid key {key:?}")]
    UnknownPathKey {
        /// The stanza's path.
        path: String,
        /// The offending key.
        key: String,
    },
    /// A Vault Enterprise key (`control_group`, `mfa_methods`) that this server cannot
    /// enforce: refused rather than silently granting more than the author meant.
    #[error("failed to parse policy: path {path:?}: {key:?} is not supported")]
    Unsupported {
        /// The stanza's path.
        path: String,
        /// The offending key.
        key: String,
    },
    /// A capability name outside the language.
    #[error("failed to parse policy: path {path:?}: invalid capability {capability:?}")]
    InvalidCapability {
        /// The stanza's path.
        path: String,
        /// The offending name.
        capability: String,
    },
    /// A legacy `policy = "..."` value other than read, write, deny, sudo.
    #[error("failed to parse policy: path {path:?}: invalid policy {policy:?}")]
    InvalidShorthand {
        /// The stanza's path.
        path: String,
        /// The offending value.
        policy: String,
    },
    /// A key with a value of the wrong shape or an unparsable duration/time.
    #[error("failed to parse policy: path {path:?}: invalid value for {key:?}: {reason}")]
    InvalidValue {
        /// The stanza's path.
        path: String,
        /// The key whose value is wrong.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `max_wrapping_ttl` below `min_wrapping_ttl` in one stanza.
    #[error(
        "failed to parse policy: path {path:?}: max_wrapping_ttl cannot be less than min_wrapping_ttl"
    )]
    WrappingTtlOrder {
        /// The stanza's path.
        path: String,
    },
    /// `+*` in a path (neither one segment nor a prefix).
    #[error("failed to parse policy: path {path:?}: invalid use of wildcards ('+*' is forbidden)")]
    PlusGlob {
        /// The offending path.
        path: String,
    },
}

impl PolicyError {
    /// Always 400: every variant is a refusal of client input.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Invalid
    }
}
