//! Authorisation: a token's policies → an ACL → an [`Authorized`] proof.
//!
//! Sits between routing and the handlers: a handler behind the ACL takes an
//! [`Authorized`], and the only way to build one is [`Acl::authorize`] (DESIGN.md §8
//! rule 2). The two built-in policies are implemented here: `root` (everything,
//! including sudo-protected paths) and `default` (what every token may do to itself).
//! Named policies, HCL/JSON parsing and compiled path rules extend [`Acl`] without
//! changing the proof type.

use crate::core::request::Operation;
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

/// Exact paths the built-in `default` policy grants, with the operations it allows (it
/// also grants everything under `cubbyhole/`).
/// (Vault's default policy; paths of engines not present here simply never route.)
const DEFAULT_POLICY: &[(&str, &[Operation])] = &[
    ("auth/token/lookup-self", &[Operation::Read]),
    ("auth/token/renew-self", &[Operation::Update]),
    ("auth/token/revoke-self", &[Operation::Update]),
    ("sys/capabilities-self", &[Operation::Update]),
];

/// A compiled access-control list for one set of policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acl {
    /// The `root` policy: every operation on every path, with sudo.
    Root,
    /// Only the built-in `default` policy.
    Default,
}

impl Acl {
    /// Compiles the ACL of a token's policies.
    pub fn for_policies(policies: &[String]) -> Acl {
        if policies.iter().any(|p| p == "root") {
            Acl::Root
        } else {
            Acl::Default
        }
    }

    /// Checks one request. `needs_sudo` marks root-protected paths.
    pub fn authorize(
        &self,
        operation: Operation,
        path: &str,
        needs_sudo: bool,
    ) -> Result<Authorized, Denied> {
        match self {
            Acl::Root => Ok(Authorized { sudo: true }),
            Acl::Default => {
                if needs_sudo {
                    return Err(Denied);
                }
                let exact = DEFAULT_POLICY
                    .iter()
                    .any(|(p, ops)| *p == path && ops.contains(&operation));
                // `path "cubbyhole/*"`: every operation on the token's own cubbyhole.
                let cubbyhole = path.starts_with("cubbyhole/") || path == "cubbyhole";
                let allowed = exact || cubbyhole;
                if allowed {
                    Ok(Authorized { sudo: false })
                } else {
                    Err(Denied)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_passes_everything_with_sudo() {
        let acl = Acl::for_policies(&["default".into(), "root".into()]);
        let auth = acl.authorize(Operation::Update, "sys/seal", true);
        assert_eq!(auth.map(|a| a.has_sudo()), Ok(true));
    }

    #[test]
    fn default_policy_is_narrow() {
        let acl = Acl::for_policies(&["default".into()]);
        assert!(acl
            .authorize(Operation::Read, "auth/token/lookup-self", false)
            .is_ok());
        assert_eq!(
            acl.authorize(Operation::Update, "auth/token/lookup-self", false),
            Err(Denied)
        );
        assert_eq!(
            acl.authorize(Operation::Update, "sys/seal", true),
            Err(Denied)
        );
        assert_eq!(
            acl.authorize(Operation::Read, "sys/key-status", false),
            Err(Denied)
        );
    }
}
