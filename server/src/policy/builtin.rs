//! The two built-in policies.
//!
//! * `root` has no text: an ACL holding it allows everything, sudo included
//!   ([`super::Acl::root`]). It can be neither changed nor deleted.
//! * `default` is attached to every token unless the token opts out. It lets a token
//!   look after itself (lookup/renew/revoke-self, its capabilities, its leases, its
//!   cubbyhole, response wrapping, hashing). Its text below is what is stored at first
//!   unseal; operators may edit it later but not delete it.
//!
//! The two identity paths use templates and so never match on this server (see
//! [`super::PathPattern`]); they are kept so that the policy reads back as operators
//! expect.

use std::sync::{Arc, OnceLock};

use super::parse::{parse, Policy, PolicyName};

/// The stock `default` policy.
pub const DEFAULT_POLICY_HCL: &str = r#"# The built-in default policy: what every token may do for itself.

# The token itself: look it up, renew it, revoke it.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/revoke-self" {
  capabilities = ["update"]
}

# What this token may do on a path.
path "sys/capabilities-self" {
  capabilities = ["update"]
}

# The token's own identity entity.
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}

# The token's effective ACL, for user interfaces.
path "sys/internal/ui/resultant-acl" {
  capabilities = ["read"]
}

# Leases, addressed by lease_id in the request body.
path "sys/leases/renew" {
  capabilities = ["update"]
}
path "sys/leases/lookup" {
  capabilities = ["update"]
}

# The token's private cubbyhole.
path "cubbyhole/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Response wrapping.
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}
path "sys/wrapping/lookup" {
  capabilities = ["update"]
}
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}

# Hashing helpers.
path "sys/tools/hash" {
  capabilities = ["update"]
}
path "sys/tools/hash/*" {
  capabilities = ["update"]
}

# OIDC provider authorization endpoint.
path "identity/oidc/provider/+/authorize" {
  capabilities = ["read", "update"]
}
"#;

/// The stock `default` policy, parsed once.
pub fn default_policy() -> Arc<Policy> {
    static DEFAULT: OnceLock<Arc<Policy>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            let name = PolicyName::default_policy();
            // The text is a constant covered by a unit test; should it ever fail to
            // parse, grant nothing rather than panic.
            let policy = parse(&name, DEFAULT_POLICY_HCL).unwrap_or_else(|_| Policy {
                name,
                rules: Vec::new(),
                text: DEFAULT_POLICY_HCL.to_string(),
            });
            Arc::new(policy)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_parses() {
        let policy = parse(&PolicyName::default_policy(), DEFAULT_POLICY_HCL)
            .expect("the default policy must parse");
        assert_eq!(policy.rules.len(), 16);
        assert_eq!(policy.text, DEFAULT_POLICY_HCL);
        assert_eq!(*default_policy(), policy);
        let caps = |path: &str| {
            policy
                .rules
                .iter()
                .find(|r| r.pattern.as_str() == path)
                .map(|r| r.capabilities.names())
        };
        assert_eq!(caps("auth/token/lookup-self"), Some(vec!["read"]));
        assert_eq!(caps("sys/capabilities-self"), Some(vec!["update"]));
        assert_eq!(
            caps("cubbyhole/*"),
            Some(vec!["create", "delete", "list", "read", "update"])
        );
        assert_eq!(
            caps("identity/oidc/provider/+/authorize"),
            Some(vec!["read", "update"])
        );
        assert!(policy
            .rules
            .iter()
            .filter(|r| r.pattern.as_str().starts_with("identity/entity/"))
            .all(|r| r.pattern.is_templated()));
    }
}
