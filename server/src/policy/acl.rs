//! The compiled ACL of one set of policies, and the check every request goes through.
//!
//! Compiled once per distinct policy set (the caller caches it) and read-only after:
//!
//! * exact patterns live in a hash map keyed by the path, so the common case is one
//!   lookup and no allocation;
//! * wildcard patterns (`*`, `+`) live in a vector sorted by priority, highest first
//!   ([`PathPattern::cmp_priority`]), so the first one that matches is the winner;
//! * the same pattern in several policies (or twice in one) is merged into one rule
//!   ([`PathRule::merge`]); different patterns are never unioned.
//!
//! Resolution of a path, as Vault/OpenBao do it: the exact rule if there is one; for
//! LIST/SCAN, the exact rule of the path without its trailing `/`; the best wildcard
//! rule; for LIST/SCAN, the best wildcard rule of the path without its trailing `/`.
//! An exact pattern outranks every wildcard pattern matching the same path, so looking
//! in the map first is the same as ranking everything.
//!
//! Then: `deny` (or no rule) refuses; the needed capability must be present; sudo when
//! the endpoint is root-protected; wrapping-TTL bounds; parameter constraints for
//! reads and writes. The `root` policy skips all of it.
//!
//! Templated patterns never match and expired stanzas (OpenBao `expiration`) are left
//! out at compile time; an ACL compiled before a stanza expires keeps it until the
//! caller recompiles.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::capability::{Capabilities, Capability};
use super::parse::Policy;
use super::rule::PathRule;
use super::{Authorized, Denied};

/// What one request needs from the ACL.
#[derive(Debug, Clone, Copy)]
pub struct AclRequest<'a> {
    /// The request path without a leading `/` (for LIST/SCAN, with the trailing `/`
    /// the API layer adds; one is added here if it is missing).
    pub path: &'a str,
    /// The operation's capability: create, read, update, patch, delete, list or scan.
    pub needs: Capability,
    /// The endpoint is root-protected: `sudo` is needed as well.
    pub needs_sudo: bool,
    /// The request's top-level parameters (body or query), for parameter constraints.
    pub params: Option<&'a Map<String, Value>>,
    /// The requested response-wrapping TTL (`None` = not wrapped), for
    /// `min_wrapping_ttl` / `max_wrapping_ttl`.
    pub wrap_ttl: Option<Duration>,
}

impl<'a> AclRequest<'a> {
    /// A request for `needs` on `path`, without sudo, parameters or wrapping.
    pub fn new(path: &'a str, needs: Capability) -> AclRequest<'a> {
        AclRequest {
            path,
            needs,
            needs_sudo: false,
            params: None,
            wrap_ttl: None,
        }
    }
}

/// What a token holds on one path (capabilities-self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathCapabilities {
    /// The `root` policy: everything.
    Root,
    /// The winning rule's capabilities (empty when no rule matches).
    Granted(Capabilities),
}

impl PathCapabilities {
    /// The list Vault shows: `["root"]`, `["deny"]` for denied or nothing, otherwise
    /// the capabilities in alphabetical order.
    pub fn names(self) -> Vec<&'static str> {
        match self {
            PathCapabilities::Root => vec!["root"],
            PathCapabilities::Granted(caps) if caps.is_empty() || caps.is_deny() => {
                vec![Capability::Deny.as_str()]
            }
            PathCapabilities::Granted(caps) => caps.names(),
        }
    }
}

/// A compiled access-control list. Cloning is cheap (shared).
#[derive(Clone)]
pub struct Acl(Arc<Compiled>);

enum Compiled {
    Root,
    Rules(RuleSet),
}

struct RuleSet {
    exact: HashMap<String, PathRule>,
    /// Highest priority first.
    globs: Vec<PathRule>,
    /// The earliest `expiration` among the stanzas compiled in: from then on this ACL is
    /// stale and must be compiled again.
    stale_at: Option<OffsetDateTime>,
}

impl Acl {
    /// The ACL of the `root` policy: everything, with sudo.
    pub fn root() -> Acl {
        static ROOT: OnceLock<Acl> = OnceLock::new();
        ROOT.get_or_init(|| Acl(Arc::new(Compiled::Root))).clone()
    }

    /// Compiles the ACL of a set of policies. A policy named `root` anywhere in the set
    /// makes it the root ACL.
    pub fn compile(policies: &[Arc<Policy>]) -> Acl {
        if policies.iter().any(|p| p.name.is_root()) {
            return Acl::root();
        }
        let now = OffsetDateTime::now_utc();
        let mut exact: HashMap<String, PathRule> = HashMap::new();
        let mut globs: HashMap<String, PathRule> = HashMap::new();
        let rules = policies.iter().flat_map(|p| p.rules.iter());
        let mut stale_at: Option<OffsetDateTime> = None;
        for rule in rules.filter(|r| !r.pattern.is_templated() && !r.is_expired(now)) {
            if let Some(at) = rule.expiration {
                stale_at = Some(stale_at.map_or(at, |s| s.min(at)));
            }
            let table = if rule.pattern.is_exact() {
                &mut exact
            } else {
                &mut globs
            };
            match table.entry(rule.pattern.as_str().to_string()) {
                Entry::Occupied(mut merged) => merged.get_mut().merge(rule),
                Entry::Vacant(slot) => {
                    slot.insert(rule.clone());
                }
            }
        }
        let mut globs: Vec<PathRule> = globs.into_values().collect();
        globs.sort_by(|a, b| b.pattern.cmp_priority(&a.pattern));
        Acl(Arc::new(Compiled::Rules(RuleSet {
            exact,
            globs,
            stale_at,
        })))
    }

    /// Whether a stanza compiled into this ACL has expired since (the ACL must then be
    /// compiled again; a cache must not keep serving it).
    pub fn is_stale(&self, now: OffsetDateTime) -> bool {
        self.stale_at().is_some_and(|at| at <= now)
    }

    /// When this ACL goes stale (the earliest `expiration` compiled in), if ever.
    pub fn stale_at(&self) -> Option<OffsetDateTime> {
        match &*self.0 {
            Compiled::Root => None,
            Compiled::Rules(set) => set.stale_at,
        }
    }

    /// Whether this is the root ACL.
    pub fn is_root(&self) -> bool {
        matches!(*self.0, Compiled::Root)
    }

    /// What the token holds on `path` (capabilities-self semantics: the LIST fallbacks
    /// apply, the path is taken as given).
    pub fn capabilities(&self, path: &str) -> PathCapabilities {
        match &*self.0 {
            Compiled::Root => PathCapabilities::Root,
            Compiled::Rules(set) => PathCapabilities::Granted(
                set.resolve(trim_slash(path), true)
                    .map_or(Capabilities::EMPTY, |r| r.capabilities),
            ),
        }
    }

    /// [`Acl::capabilities`] as Vault renders it: `["root"]`, `["deny"]`, or the sorted
    /// capability names.
    pub fn capability_names(&self, path: &str) -> Vec<&'static str> {
        self.capabilities(path).names()
    }

    /// Checks one request; the only way to obtain an [`Authorized`].
    pub fn authorize(&self, req: &AclRequest<'_>) -> Result<Authorized, Denied> {
        let set = match &*self.0 {
            Compiled::Root => return Ok(Authorized { sudo: true }),
            Compiled::Rules(set) => set,
        };
        let listing = matches!(req.needs, Capability::List | Capability::Scan);
        let path = trim_slash(req.path);
        let path = if listing && !path.ends_with('/') {
            Cow::Owned(format!("{path}/"))
        } else {
            Cow::Borrowed(path)
        };
        let rule = set.resolve(&path, listing).ok_or(Denied)?;
        let caps = rule.capabilities;
        if caps.is_deny() || matches!(req.needs, Capability::Deny | Capability::Sudo) {
            return Err(Denied);
        }
        if !caps.contains(req.needs) || (req.needs_sudo && !caps.contains(Capability::Sudo)) {
            return Err(Denied);
        }
        if !rule.permits_wrap_ttl(req.wrap_ttl) {
            return Err(Denied);
        }
        let checks_params = matches!(
            req.needs,
            Capability::Read | Capability::Create | Capability::Update | Capability::Patch
        );
        if checks_params && !rule.permits_parameters(req.params) {
            return Err(Denied);
        }
        Ok(Authorized {
            sudo: caps.contains(Capability::Sudo),
        })
    }

    /// Whether the token may see the mount at `mount_path` (`secret/`) at all: root,
    /// some capability on the mount path itself, or a non-deny rule reaching below it.
    /// This is the gate of `sys/internal/ui/mounts`.
    pub fn has_mount_access(&self, mount_path: &str) -> bool {
        let set = match &*self.0 {
            Compiled::Root => return true,
            Compiled::Rules(set) => set,
        };
        let mount_path = trim_slash(mount_path);
        let grants = |r: &PathRule| !r.capabilities.is_deny() && !r.capabilities.is_empty();
        set.resolve(mount_path, true).is_some_and(grants)
            || set
                .exact
                .values()
                .chain(&set.globs)
                .any(|r| grants(r) && r.pattern.may_match_under(mount_path))
    }
}

impl RuleSet {
    /// The winning rule for `path`; `listing` enables the trailing-slash fallbacks.
    fn resolve(&self, path: &str, listing: bool) -> Option<&PathRule> {
        if let Some(rule) = self.exact.get(path) {
            return Some(rule);
        }
        let trimmed = if listing {
            path.strip_suffix('/')
        } else {
            None
        };
        if let Some(rule) = trimmed.and_then(|t| self.exact.get(t)) {
            return Some(rule);
        }
        self.best_glob(path)
            .or_else(|| trimmed.and_then(|t| self.best_glob(t)))
    }

    fn best_glob(&self, path: &str) -> Option<&PathRule> {
        self.globs.iter().find(|r| r.pattern.matches(path))
    }
}

/// Request paths are relative to `/v1/`; tolerate leading slashes as Vault does.
fn trim_slash(path: &str) -> &str {
    path.trim_start_matches('/')
}

impl fmt::Debug for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Compiled::Root => f.write_str("Acl::Root"),
            Compiled::Rules(set) => f
                .debug_struct("Acl")
                .field("exact", &set.exact.keys().collect::<Vec<_>>())
                .field(
                    "globs",
                    &set.globs
                        .iter()
                        .map(|r| r.pattern.as_str())
                        .collect::<Vec<_>>(),
                )
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::parse::{parse, PolicyName};
    use super::*;

    fn policy(name: &str, text: &str) -> Arc<Policy> {
        let name = PolicyName::parse(name).expect("name");
        Arc::new(parse(&name, text).expect("policy parses"))
    }

    fn acl_of(texts: &[&str]) -> Acl {
        let policies: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| policy(&format!("p{i}"), t))
            .collect();
        Acl::compile(&policies)
    }

    fn allows(acl: &Acl, path: &str, needs: Capability) -> bool {
        acl.authorize(&AclRequest::new(path, needs)).is_ok()
    }

    fn params(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn exact_beats_glob_across_policies_without_union() {
        // Vault reference §3.3: A `kv/p/*` {read} + B `kv/p/exact` {update}.
        let acl = acl_of(&[
            r#"path "kv/p/*" { capabilities = ["read"] }"#,
            r#"path "kv/p/exact" { capabilities = ["update"] }"#,
        ]);
        assert!(!allows(&acl, "kv/p/exact", Capability::Read));
        assert!(allows(&acl, "kv/p/exact", Capability::Update));
        assert_eq!(acl.capability_names("kv/p/exact"), ["update"]);
        assert!(allows(&acl, "kv/p/other", Capability::Read));
        assert_eq!(acl.capability_names("kv/p/other"), ["read"]);
    }

    #[test]
    fn identical_patterns_are_unioned() {
        let acl = acl_of(&[
            r#"path "kv/u/*" { capabilities = ["read"] }"#,
            r#"path "kv/u/*" { capabilities = ["update", "list"] }"#,
        ]);
        assert_eq!(acl.capability_names("kv/u/x"), ["list", "read", "update"]);
        assert!(allows(&acl, "kv/u/x", Capability::Read));
        assert!(allows(&acl, "kv/u/x", Capability::Update));
    }

    #[test]
    fn plus_matches_one_segment() {
        let acl = acl_of(&[r#"path "kv/+/plus" { capabilities = ["read"] }"#]);
        assert!(allows(&acl, "kv/zz/plus", Capability::Read));
        assert!(!allows(&acl, "kv/zz/yy/plus", Capability::Read));
        assert_eq!(acl.capability_names("kv/zz/yy/plus"), ["deny"]);
    }

    #[test]
    fn deny_wins_within_a_merged_set() {
        let acl = acl_of(&[
            r#"path "kv/d/*" { capabilities = ["read", "update", "sudo"] }"#,
            r#"path "kv/d/*" { capabilities = ["deny"] }"#,
            r#"path "kv/d/open" { capabilities = ["read"] }"#,
        ]);
        assert!(!allows(&acl, "kv/d/x", Capability::Read));
        assert_eq!(acl.capability_names("kv/d/x"), ["deny"]);
        // A more specific pattern still wins over the denied glob.
        assert!(allows(&acl, "kv/d/open", Capability::Read));
    }

    #[test]
    fn deny_on_exact_path_beats_a_glob() {
        let acl = acl_of(&[r#"
path "secret/data/app/*" { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
path "secret/data/app/admin" { capabilities = ["deny"] }
"#]);
        assert!(allows(&acl, "secret/data/app/one", Capability::Read));
        assert!(!allows(&acl, "secret/data/app/admin", Capability::Read));
        assert_eq!(
            acl.capability_names("secret/data/app/one"),
            ["create", "delete", "list", "patch", "read", "update"]
        );
        assert_eq!(acl.capability_names("secret/data/app/admin"), ["deny"]);
        assert_eq!(acl.capability_names("nope"), ["deny"]);
    }

    #[test]
    fn create_versus_update() {
        let acl = acl_of(&[r#"
path "kv/u/*" { capabilities = ["update", "read"] }
path "kv/c/*" { capabilities = ["create"] }
"#]);
        assert!(!allows(&acl, "kv/u/new", Capability::Create));
        assert!(allows(&acl, "kv/u/exists", Capability::Update));
        assert!(allows(&acl, "kv/c/new2", Capability::Create));
        assert!(!allows(&acl, "kv/c/exists", Capability::Update));
    }

    #[test]
    fn list_uses_the_trailing_slash() {
        for pattern in ["kv/lst/", "kv/lst*", "kv/lst"] {
            let acl = acl_of(&[&format!(
                r#"path "{pattern}" {{ capabilities = ["list"] }}"#
            )]);
            assert!(allows(&acl, "kv/lst/", Capability::List), "{pattern}");
            // The caller forgot the slash: added here.
            assert!(allows(&acl, "kv/lst", Capability::List), "{pattern}");
        }
        // `kv/lst/*` does not cover the folder itself for a read…
        let acl = acl_of(&[r#"path "kv/lst/*" { capabilities = ["list", "read"] }"#]);
        assert!(allows(&acl, "kv/lst/", Capability::List));
        assert!(allows(&acl, "kv/lst/sub/", Capability::List));
        assert!(!allows(&acl, "kv/lst", Capability::Read));
        // …and a read grant on the folder path is not a list grant.
        let acl = acl_of(&[r#"path "kv/r/" { capabilities = ["read"] }"#]);
        assert!(!allows(&acl, "kv/r/", Capability::List));
    }

    #[test]
    fn list_fallback_to_the_path_without_slash() {
        // `kv/+` matches `kv/a` but not `kv/a/`: the LIST fallback tries `kv/a` too.
        let acl = acl_of(&[r#"path "kv/+" { capabilities = ["list"] }"#]);
        assert!(allows(&acl, "kv/a/", Capability::List));
        assert!(!allows(&acl, "kv/a/", Capability::Read));
    }

    #[test]
    fn sudo() {
        let acl = acl_of(&[r#"
path "sys/seal" { capabilities = ["sudo", "update"] }
path "sys/mounts/*" { capabilities = ["update"] }
"#]);
        let seal = AclRequest {
            needs_sudo: true,
            ..AclRequest::new("sys/seal", Capability::Update)
        };
        assert_eq!(acl.authorize(&seal).map(|a| a.has_sudo()), Ok(true));
        let mount = AclRequest {
            needs_sudo: true,
            ..AclRequest::new("sys/mounts/x", Capability::Update)
        };
        assert_eq!(acl.authorize(&mount), Err(Denied));
        let plain = AclRequest::new("sys/mounts/x", Capability::Update);
        assert_eq!(acl.authorize(&plain).map(|a| a.has_sudo()), Ok(false));
        assert_eq!(acl.capability_names("sys/seal"), ["sudo", "update"]);
        // Sudo or deny are not operations.
        assert!(!allows(&acl, "sys/seal", Capability::Sudo));
        assert!(!allows(&acl, "sys/seal", Capability::Deny));
    }

    #[test]
    fn root_bypasses_everything() {
        let root = Acl::compile(&[
            policy("root", ""),
            policy("x", r#"path "*" { capabilities = ["deny"] }"#),
        ]);
        assert!(root.is_root());
        let req = AclRequest {
            needs_sudo: true,
            ..AclRequest::new("sys/seal", Capability::Update)
        };
        assert_eq!(root.authorize(&req).map(|a| a.has_sudo()), Ok(true));
        assert_eq!(root.capability_names("anything"), ["root"]);
        assert!(root.has_mount_access("secret/"));
        assert!(Acl::root().is_root());
    }

    #[test]
    fn empty_acl_denies() {
        let acl = Acl::compile(&[]);
        assert!(!acl.is_root());
        assert!(!allows(&acl, "anything", Capability::Read));
        assert_eq!(acl.capability_names("anything"), ["deny"]);
        assert_eq!(
            PathCapabilities::Granted(Capabilities::EMPTY).names(),
            ["deny"]
        );
    }

    #[test]
    fn priority_across_policies() {
        let acl = acl_of(&[
            r#"path "foo/+" { capabilities = ["read"] }"#,
            r#"path "foo/a*" { capabilities = ["update"] }"#,
            r#"path "foo/*" { capabilities = ["delete"] }"#,
        ]);
        // foo/a* outranks foo/+ (first wildcard later) which outranks foo/*.
        assert_eq!(acl.capability_names("foo/abc"), ["update"]);
        assert_eq!(acl.capability_names("foo/xyz"), ["read"]);
        assert_eq!(acl.capability_names("foo/xyz/deeper"), ["delete"]);
    }

    #[test]
    fn parameter_constraints_apply_to_writes_and_reads() {
        let acl = acl_of(&[r#"
path "kv/p" {
  capabilities       = ["create", "update", "read", "list", "delete"]
  allowed_parameters = { "name" = [], "size" = ["small", "*-large"] }
  denied_parameters  = { "secret" = [] }
}
path "kv/req" {
  capabilities        = ["update"]
  required_parameters = ["id"]
}
"#]);
        let write = |needs, body: Value| {
            let p = params(body);
            acl.authorize(&AclRequest {
                params: Some(&p),
                ..AclRequest::new("kv/p", needs)
            })
            .is_ok()
        };
        assert!(write(
            Capability::Create,
            json!({"name": "x", "size": "small"})
        ));
        assert!(write(Capability::Update, json!({"size": "extra-large"})));
        assert!(write(Capability::Read, json!({"name": "x"})));
        assert!(!write(Capability::Update, json!({"size": "medium"})));
        assert!(!write(Capability::Create, json!({"other": 1})));
        assert!(!write(Capability::Update, json!({"secret": "s"})));
        assert!(!write(Capability::Read, json!({"secret": "s"})));
        // Lists and deletes ignore parameter constraints.
        assert!(write(Capability::Delete, json!({"secret": "s"})));
        assert!(write(Capability::List, json!({"secret": "s"})));

        let req = |body: Option<Value>| {
            let p = body.map(params);
            acl.authorize(&AclRequest {
                params: p.as_ref(),
                ..AclRequest::new("kv/req", Capability::Update)
            })
            .is_ok()
        };
        assert!(!req(None));
        assert!(!req(Some(json!({"other": 1}))));
        assert!(req(Some(json!({"id": 7}))));
    }

    #[test]
    fn wrapping_ttl_bounds() {
        let acl = acl_of(&[r#"
path "kv/w" {
  capabilities     = ["read"]
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = "1h"
}"#]);
        let read = |ttl: Option<u64>| {
            acl.authorize(&AclRequest {
                wrap_ttl: ttl.map(Duration::from_secs),
                ..AclRequest::new("kv/w", Capability::Read)
            })
            .is_ok()
        };
        assert!(!read(None));
        assert!(read(Some(60)));
        assert!(!read(Some(7200)));
    }

    #[test]
    fn merged_wrapping_bounds_take_the_lowest() {
        let acl = acl_of(&[
            "path \"kv/w\" {\n capabilities = [\"read\"]\n max_wrapping_ttl = \"1h\"\n}",
            "path \"kv/w\" {\n capabilities = [\"read\"]\n max_wrapping_ttl = \"10m\"\n}",
        ]);
        let read = |ttl: u64| {
            acl.authorize(&AclRequest {
                wrap_ttl: Some(Duration::from_secs(ttl)),
                ..AclRequest::new("kv/w", Capability::Read)
            })
            .is_ok()
        };
        assert!(read(600));
        assert!(!read(1800));
    }

    #[test]
    fn hcl_and_json_compile_alike() {
        let hcl = acl_of(&[r#"
path "kv/a/*" { capabilities = ["read", "list"] }
path "kv/a/x" { capabilities = ["update"] }
path "kv/+/y" { capabilities = ["delete"] }
"#]);
        let json = acl_of(&[r#"{"path": {
  "kv/a/*": {"capabilities": ["read", "list"]},
  "kv/a/x": {"capabilities": ["update"]},
  "kv/+/y": {"capabilities": ["delete"]}
}}"#]);
        for path in ["kv/a/x", "kv/a/z", "kv/a/y", "kv/b/y", "kv/b/z", "kv/a/"] {
            assert_eq!(
                hcl.capability_names(path),
                json.capability_names(path),
                "{path}"
            );
        }
        assert_eq!(format!("{hcl:?}"), format!("{json:?}"));
    }

    #[test]
    fn expired_and_templated_stanzas_are_left_out() {
        let acl = acl_of(&[r#"
path "kv/old" {
  capabilities = ["read"]
  expiration   = "2001-01-01T00:00:00Z"
}
path "kv/new" {
  capabilities = ["read"]
  expiration   = "2999-01-01T00:00:00Z"
}
path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read"] }
"#]);
        assert!(!allows(&acl, "kv/old", Capability::Read));
        assert!(allows(&acl, "kv/new", Capability::Read));
        // The ACL knows when it goes stale: at the earliest expiration compiled in.
        let now = OffsetDateTime::now_utc();
        assert!(!acl.is_stale(now));
        let far = now + time::Duration::days(365 * 2000);
        assert!(acl.is_stale(far));
        assert!(!acl_of(&[r#"path "kv/x" { capabilities = ["read"] }"#]).is_stale(far));
        assert!(!Acl::root().is_stale(far));
        assert!(!allows(
            &acl,
            "identity/entity/id/{{identity.entity.id}}",
            Capability::Read
        ));
    }

    #[test]
    fn default_policy_acl() {
        let acl = Acl::compile(&[crate::policy::default_policy()]);
        assert!(!acl.is_root());
        assert!(allows(&acl, "auth/token/lookup-self", Capability::Read));
        assert!(!allows(&acl, "auth/token/lookup-self", Capability::Update));
        assert!(allows(&acl, "auth/token/renew-self", Capability::Update));
        assert!(allows(&acl, "sys/capabilities-self", Capability::Update));
        assert!(allows(&acl, "cubbyhole/x", Capability::Create));
        assert!(allows(&acl, "cubbyhole/x", Capability::Delete));
        assert!(allows(&acl, "cubbyhole/", Capability::List));
        assert!(allows(&acl, "cubbyhole", Capability::List));
        assert!(allows(&acl, "sys/tools/hash/sha2-256", Capability::Update));
        assert!(allows(
            &acl,
            "identity/oidc/provider/p/authorize",
            Capability::Read
        ));
        assert!(!allows(&acl, "sys/key-status", Capability::Read));
        assert_eq!(acl.capability_names("sys/seal"), ["deny"]);
        assert!(acl.has_mount_access("cubbyhole/"));
        assert!(!acl.has_mount_access("secret/"));
        let seal = AclRequest {
            needs_sudo: true,
            ..AclRequest::new("sys/seal", Capability::Update)
        };
        assert_eq!(acl.authorize(&seal), Err(Denied));
    }

    #[test]
    fn mount_access() {
        let wide = acl_of(&[r#"
path "secret/data/app/*" { capabilities = ["read"] }
path "+/data/shared" { capabilities = ["read"] }
path "sec*" { capabilities = ["list"] }
"#]);
        assert!(wide.has_mount_access("secret/"));
        assert!(wide.has_mount_access("other/"), "via the + pattern");
        assert!(wide.has_mount_access("security/"), "via the sec* prefix");
        let blocked = acl_of(&[r#"
path "blocked/*" { capabilities = ["deny"] }
path "blocked/x" { capabilities = [] }
"#]);
        assert!(!blocked.has_mount_access("blocked/"));
        let narrow = acl_of(&[r#"path "a/b" { capabilities = ["read"] }"#]);
        assert!(narrow.has_mount_access("a/"));
        assert!(!narrow.has_mount_access("b/"));
    }

    #[test]
    fn leading_slash_in_request_path() {
        let acl = acl_of(&[r#"path "kv/x" { capabilities = ["read"] }"#]);
        assert!(allows(&acl, "/kv/x", Capability::Read));
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::Compiled;
        use super::*;
        use crate::policy::PathPattern;

        fn pattern() -> impl Strategy<Value = String> {
            (
                prop::collection::vec(prop::sample::select(vec!["a", "b", "ab", "+"]), 1..4),
                any::<bool>(),
            )
                .prop_map(|(segments, star)| {
                    let body = segments.join("/");
                    if star && !body.ends_with('+') {
                        format!("{body}*")
                    } else {
                        body
                    }
                })
        }

        fn path() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(vec!["a", "b", "ab", "abc", ""]), 1..5)
                .prop_map(|segments| segments.join("/"))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Exact map first, then the first match in the sorted vector, picks the
            /// same pattern as ranking every matching pattern by priority.
            #[test]
            fn resolution_is_the_highest_priority_match(
                patterns in prop::collection::vec(pattern(), 1..8),
                paths in prop::collection::vec(path(), 1..8),
            ) {
                let texts: Vec<String> = patterns
                    .iter()
                    .map(|p| format!("path \"{p}\" {{\n  capabilities = [\"read\"]\n}}\n"))
                    .collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let acl = acl_of(&refs);
                let Compiled::Rules(set) = &*acl.0 else {
                    return Err(TestCaseError::fail("not a rule set"));
                };
                let parsed: Vec<PathPattern> = patterns
                    .iter()
                    .map(|p| PathPattern::parse(p))
                    .collect::<Result<_, _>>()
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                for path in &paths {
                    let expected = parsed
                        .iter()
                        .filter(|p| p.matches(path))
                        .max_by(|a, b| a.cmp_priority(b))
                        .map(PathPattern::as_str);
                    let got = set.resolve(path, false).map(|r| r.pattern.as_str());
                    prop_assert_eq!(got, expected, "path {:?}", path);
                }
            }

            #[test]
            fn parse_never_panics(text in ".{0,200}") {
                let name = PolicyName::parse("p").map_err(|e| TestCaseError::fail(e.to_string()))?;
                let _ = parse(&name, &text);
            }

            #[test]
            fn matching_never_panics(pattern in ".{0,40}", path in ".{0,40}") {
                if let Ok(p) = PathPattern::parse(&pattern) {
                    let _ = p.matches(&path);
                    let _ = p.may_match_under(&path);
                }
            }
        }
    }
}
