//! Authorisation: policy text → compiled ACL → an [`Authorized`] proof.
//!
//! Sits between routing and the handlers (DESIGN.md §3 step 4): a handler behind the ACL
//! takes an [`Authorized`], and the only way to build one is [`Acl::authorize`]
//! (DESIGN.md §8 rule 2). Everything but [`store`] is pure: no storage, no clock except
//! the `expiration` check at compile time; an [`Acl`] is compiled once per policy set
//! and cached.
//!
//! * [`capability`] — the closed set of capabilities and a bitset of them;
//! * [`pattern`] — `path` patterns (exact, trailing `*`, `+` segments) and their
//!   priority order;
//! * [`parse`](mod@parse) — HCL / JSON / base64 policy text → [`Policy`];
//! * [`rule`] — one path stanza: merging and parameter / wrapping constraints;
//! * [`builtin`] — the `default` policy text (and `root`, which has none);
//! * [`acl`] — the compiled ACL: resolution, `authorize`, capabilities-self;
//! * [`store`] — stored named policies and the compiled-ACL cache (the one part that
//!   touches storage).
//!
//! Vault's model, kept exactly: for a request path the single highest-priority matching
//! pattern across all of a token's policies wins; the same pattern in several policies
//! is unioned; lower-priority patterns are ignored; `deny` beats everything; `root`
//! bypasses everything.

pub mod acl;
pub mod builtin;
pub mod capability;
mod error;
pub mod parse;
pub mod pattern;
pub mod rule;
pub mod store;

pub use acl::{Acl, AclRequest, PathCapabilities};
pub use builtin::{default_policy, DEFAULT_POLICY_HCL};
pub use capability::{Capabilities, Capability};
pub use error::PolicyError;
pub use parse::{parse, Policy, PolicyName, PATH_KEYS};
pub use pattern::PathPattern;
pub use rule::{ParameterMap, PathRule};

use crate::error::ErrorKind;

/// Proof that a request passed the ACL. Not constructible outside this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorized {
    sudo: bool,
}

impl Authorized {
    /// Whether the token holds `sudo` on the path (root-protected endpoints require it).
    pub fn has_sudo(&self) -> bool {
        self.sudo
    }
}

/// The request was refused by the ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("permission denied")]
pub struct Denied;

impl Denied {
    /// Always 403.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::PermissionDenied
    }
}
