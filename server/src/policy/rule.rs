//! One `path` stanza of a policy: its capabilities and constraints, how two stanzas on
//! the same pattern merge, and how the constraints judge a request.
//!
//! Merging (the same pattern twice in one policy, or in several policies of one token)
//! follows Vault: `deny` on either side leaves only `deny`; otherwise capabilities are
//! unioned, parameter maps merged (an empty value list — "any value" — absorbs a
//! non-empty one), required parameters unioned, and of the wrapping-TTL bounds the
//! lowest set value of each is kept.
//!
//! Parameter names are stored lower-cased (the parser does it) and request keys are
//! compared lower-cased, as Vault does.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::capability::Capabilities;
use super::pattern::PathPattern;

/// Parameter name → listed values (`[]` = any value).
pub type ParameterMap = BTreeMap<String, Vec<Value>>;

/// One `path "..." { ... }` stanza.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRule {
    /// Which request paths the stanza covers.
    pub pattern: PathPattern,
    /// What it grants (`deny` alone when it denies).
    pub capabilities: Capabilities,
    /// Parameters a write may carry, with their allowed values; empty = no restriction.
    pub allowed_parameters: ParameterMap,
    /// Parameters (and values) a write may not carry; wins over `allowed_parameters`.
    pub denied_parameters: ParameterMap,
    /// Parameters a request must carry.
    pub required_parameters: Vec<String>,
    /// Requests must ask for response wrapping with at least this TTL.
    pub min_wrapping_ttl: Option<Duration>,
    /// Requests must ask for response wrapping with at most this TTL.
    pub max_wrapping_ttl: Option<Duration>,
    /// OpenBao: the stanza stops applying at this instant (checked when an ACL is
    /// compiled).
    pub expiration: Option<OffsetDateTime>,
}

impl PathRule {
    /// A stanza granting `capabilities` on `pattern`, without constraints.
    pub fn new(pattern: PathPattern, capabilities: Capabilities) -> PathRule {
        PathRule {
            pattern,
            capabilities,
            allowed_parameters: ParameterMap::new(),
            denied_parameters: ParameterMap::new(),
            required_parameters: Vec::new(),
            min_wrapping_ttl: None,
            max_wrapping_ttl: None,
            expiration: None,
        }
    }

    /// Whether the stanza has expired at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expiration.is_some_and(|at| at <= now)
    }

    /// Merges another stanza on the same pattern into this one (see the module docs).
    pub fn merge(&mut self, other: &PathRule) {
        debug_assert_eq!(self.pattern, other.pattern);
        if self.capabilities.is_deny() {
            return;
        }
        if other.capabilities.is_deny() {
            self.capabilities = Capabilities::DENY;
            self.allowed_parameters.clear();
            self.denied_parameters.clear();
            return;
        }
        self.capabilities = self.capabilities.union(other.capabilities);
        self.min_wrapping_ttl = lowest(self.min_wrapping_ttl, other.min_wrapping_ttl);
        self.max_wrapping_ttl = lowest(self.max_wrapping_ttl, other.max_wrapping_ttl);
        merge_parameters(&mut self.allowed_parameters, &other.allowed_parameters);
        merge_parameters(&mut self.denied_parameters, &other.denied_parameters);
        for name in &other.required_parameters {
            if !self.required_parameters.contains(name) {
                self.required_parameters.push(name.clone());
            }
        }
    }

    /// Whether a request's wrapping TTL (`None` = not wrapped) satisfies the bounds.
    pub(super) fn permits_wrap_ttl(&self, wrap_ttl: Option<Duration>) -> bool {
        if let (Some(min), Some(max)) = (self.min_wrapping_ttl, self.max_wrapping_ttl) {
            // Possible after a merge even though one stanza cannot say it.
            if max < min {
                return false;
            }
        }
        if let Some(max) = self.max_wrapping_ttl {
            if wrap_ttl.is_none_or(|ttl| ttl > max) {
                return false;
            }
        }
        if let Some(min) = self.min_wrapping_ttl {
            if wrap_ttl.is_none_or(|ttl| ttl < min) {
                return false;
            }
        }
        true
    }

    /// Whether the request's top-level parameters (`None` = none) pass the stanza's
    /// required / denied / allowed parameter constraints. Allocates only for request
    /// keys that contain upper-case letters and only when a map has to be consulted.
    pub(super) fn permits_parameters(&self, params: Option<&Map<String, Value>>) -> bool {
        let has = |name: &str| params.is_some_and(|p| p.contains_key(name));
        if !self.required_parameters.iter().all(|name| has(name)) {
            return false;
        }
        let Some(params) = params.filter(|p| !p.is_empty()) else {
            return true;
        };

        if !self.denied_parameters.is_empty() {
            if self.denied_parameters.contains_key("*") {
                return false;
            }
            for (key, value) in params {
                if let Some(values) = self.denied_parameters.get(&*lower(key)) {
                    if value_listed(value, values) {
                        return false;
                    }
                }
            }
        }

        if self.allowed_parameters.is_empty() {
            return true;
        }
        let allow_others = self.allowed_parameters.contains_key("*");
        if allow_others && self.allowed_parameters.len() == 1 {
            return true;
        }
        params.iter().all(
            |(key, value)| match self.allowed_parameters.get(&*lower(key)) {
                Some(values) => value_listed(value, values),
                None => allow_others,
            },
        )
    }
}

/// The lower of two optional bounds, an unset bound yielding to a set one.
fn lowest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Merges `from` into `into`: per name, an empty list (any value) wins, otherwise the
/// value lists are concatenated.
fn merge_parameters(into: &mut ParameterMap, from: &ParameterMap) {
    for (name, values) in from {
        match into.get_mut(name) {
            None => {
                into.insert(name.clone(), values.clone());
            }
            Some(existing) if existing.is_empty() || values.is_empty() => existing.clear(),
            Some(existing) => existing.extend(values.iter().cloned()),
        }
    }
}

/// A request key lower-cased, borrowing when it already is.
fn lower(key: &str) -> Cow<'_, str> {
    if key.chars().any(char::is_uppercase) {
        Cow::Owned(key.to_lowercase())
    } else {
        Cow::Borrowed(key)
    }
}

/// Whether `value` is among `listed` (an empty list holds every value).
fn value_listed(value: &Value, listed: &[Value]) -> bool {
    listed.is_empty() || listed.iter().any(|entry| value_matches(value, entry))
}

/// One policy value against one request value: strings may use a leading and/or
/// trailing `*` glob; numbers compare numerically; everything else structurally.
fn value_matches(value: &Value, entry: &Value) -> bool {
    match (entry, value) {
        (Value::String(glob), Value::String(s)) => glob_matches(glob, s),
        _ => json_equal(entry, value),
    }
}

/// `*x*` contains, `*x` ends with, `x*` starts with, otherwise equality; a lone `*` is
/// an ordinary string.
fn glob_matches(glob: &str, value: &str) -> bool {
    if glob.len() < 2 {
        return glob == value;
    }
    match (glob.strip_prefix('*'), glob.strip_suffix('*')) {
        (Some(_), Some(_)) => value.contains(&glob[1..glob.len() - 1]),
        (Some(suffix), None) => value.ends_with(suffix),
        (None, Some(prefix)) => value.starts_with(prefix),
        (None, None) => glob == value,
    }
}

/// Structural equality where `1` equals `1.0`.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::capability::Capability;
    use super::*;

    fn rule(pattern: &str, caps: &[Capability]) -> PathRule {
        PathRule::new(
            PathPattern::parse(pattern).expect("pattern"),
            Capabilities::of(caps),
        )
    }

    fn params(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn map(v: Value) -> ParameterMap {
        params(v)
            .into_iter()
            .map(|(k, v)| match v {
                Value::Array(a) => (k, a),
                other => (k, vec![other]),
            })
            .collect()
    }

    #[test]
    fn merge_unions_capabilities_and_constraints() {
        let mut a = rule("kv/*", &[Capability::Read]);
        a.allowed_parameters = map(json!({"x": ["1"], "y": [], "z": ["a"]}));
        a.required_parameters = vec!["r1".into()];
        a.min_wrapping_ttl = Some(Duration::from_secs(10));
        let mut b = rule("kv/*", &[Capability::Update]);
        b.allowed_parameters = map(json!({"x": ["2"], "y": ["q"], "z": [], "w": ["k"]}));
        b.required_parameters = vec!["r1".into(), "r2".into()];
        b.min_wrapping_ttl = Some(Duration::from_secs(5));
        b.max_wrapping_ttl = Some(Duration::from_secs(60));
        a.merge(&b);
        assert_eq!(
            a.capabilities,
            Capabilities::of(&[Capability::Read, Capability::Update])
        );
        assert_eq!(
            a.allowed_parameters,
            map(json!({"x": ["1", "2"], "y": [], "z": [], "w": ["k"]}))
        );
        assert_eq!(a.required_parameters, ["r1", "r2"]);
        assert_eq!(a.min_wrapping_ttl, Some(Duration::from_secs(5)));
        assert_eq!(a.max_wrapping_ttl, Some(Duration::from_secs(60)));
    }

    #[test]
    fn merge_with_deny_is_deny() {
        let mut a = rule("kv/x", &[Capability::Read, Capability::Sudo]);
        a.allowed_parameters = map(json!({"x": []}));
        a.merge(&rule("kv/x", &[Capability::Deny]));
        assert_eq!(a.capabilities, Capabilities::DENY);
        assert!(a.allowed_parameters.is_empty());

        let mut d = rule("kv/x", &[Capability::Deny]);
        d.merge(&rule("kv/x", &[Capability::Read]));
        assert_eq!(d.capabilities, Capabilities::DENY);
    }

    #[test]
    fn wrapping_bounds() {
        let mut r = rule("kv/x", &[Capability::Read]);
        assert!(r.permits_wrap_ttl(None));
        r.min_wrapping_ttl = Some(Duration::from_secs(1));
        assert!(
            !r.permits_wrap_ttl(None),
            "a minimum makes wrapping mandatory"
        );
        assert!(r.permits_wrap_ttl(Some(Duration::from_secs(1))));
        r.max_wrapping_ttl = Some(Duration::from_secs(60));
        assert!(r.permits_wrap_ttl(Some(Duration::from_secs(60))));
        assert!(!r.permits_wrap_ttl(Some(Duration::from_secs(61))));
        r.min_wrapping_ttl = Some(Duration::from_secs(120));
        assert!(!r.permits_wrap_ttl(Some(Duration::from_secs(90))));
    }

    #[test]
    fn no_constraints_allow_anything() {
        let r = rule("kv/x", &[Capability::Update]);
        assert!(r.permits_parameters(None));
        assert!(r.permits_parameters(Some(&params(json!({"a": 1, "b": "x"})))));
    }

    #[test]
    fn required_parameters() {
        let mut r = rule("kv/x", &[Capability::Update]);
        r.required_parameters = vec!["a".into(), "b".into()];
        assert!(!r.permits_parameters(None));
        assert!(!r.permits_parameters(Some(&params(json!({"a": 1})))));
        assert!(r.permits_parameters(Some(&params(json!({"a": 1, "b": 2, "c": 3})))));
    }

    #[test]
    fn denied_parameters() {
        let mut r = rule("kv/x", &[Capability::Update]);
        r.denied_parameters = map(json!({"secret": [], "env": ["prod", "stage-*"]}));
        assert!(r.permits_parameters(Some(&params(json!({"other": 1})))));
        assert!(!r.permits_parameters(Some(&params(json!({"secret": "x"})))));
        assert!(!r.permits_parameters(Some(&params(json!({"SECRET": "x"})))));
        assert!(!r.permits_parameters(Some(&params(json!({"env": "prod"})))));
        assert!(!r.permits_parameters(Some(&params(json!({"env": "stage-eu"})))));
        assert!(r.permits_parameters(Some(&params(json!({"env": "dev"})))));
        // No parameters at all: nothing to deny.
        assert!(r.permits_parameters(None));

        let mut all = rule("kv/x", &[Capability::Update]);
        all.denied_parameters = map(json!({"*": []}));
        assert!(!all.permits_parameters(Some(&params(json!({"a": 1})))));
        assert!(all.permits_parameters(Some(&Map::new())));
    }

    #[test]
    fn allowed_parameters() {
        let mut r = rule("kv/x", &[Capability::Update]);
        r.allowed_parameters = map(json!({"name": [], "size": ["small", "*-large"], "n": [1, 2]}));
        assert!(r.permits_parameters(Some(&params(json!({"name": "anything"})))));
        assert!(r.permits_parameters(Some(&params(json!({"Name": "anything"})))));
        assert!(r.permits_parameters(Some(&params(json!({"size": "small"})))));
        assert!(r.permits_parameters(Some(&params(json!({"size": "extra-large"})))));
        assert!(!r.permits_parameters(Some(&params(json!({"size": "medium"})))));
        assert!(r.permits_parameters(Some(&params(json!({"n": 2.0})))));
        assert!(!r.permits_parameters(Some(&params(json!({"n": 3})))));
        assert!(!r.permits_parameters(Some(&params(json!({"n": "1"})))));
        assert!(!r.permits_parameters(Some(&params(json!({"other": 1})))));

        r.allowed_parameters.insert("*".into(), Vec::new());
        assert!(r.permits_parameters(Some(&params(json!({"other": 1})))));
        assert!(!r.permits_parameters(Some(&params(json!({"size": "medium"})))));

        let mut star = rule("kv/x", &[Capability::Update]);
        star.allowed_parameters = map(json!({"*": []}));
        assert!(star.permits_parameters(Some(&params(json!({"anything": [1, 2]})))));
    }

    #[test]
    fn denied_wins_over_allowed() {
        let mut r = rule("kv/x", &[Capability::Update]);
        r.allowed_parameters = map(json!({"*": []}));
        r.denied_parameters = map(json!({"admin": [true]}));
        assert!(r.permits_parameters(Some(&params(json!({"admin": false})))));
        assert!(!r.permits_parameters(Some(&params(json!({"admin": true})))));
    }

    #[test]
    fn value_globs() {
        assert!(glob_matches("foo-*", "foo-bar"));
        assert!(glob_matches("foo-*", "foo-"));
        assert!(!glob_matches("foo-*", "xfoo-bar"));
        assert!(glob_matches("*-foo", "bar-foo"));
        assert!(!glob_matches("*-foo", "bar-foox"));
        assert!(glob_matches("*mid*", "a-mid-b"));
        assert!(!glob_matches("*mid*", "a-mi-b"));
        assert!(glob_matches("*", "*"));
        assert!(!glob_matches("*", "x"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
    }

    #[test]
    fn structural_values() {
        assert!(json_equal(&json!([1, "a"]), &json!([1.0, "a"])));
        assert!(!json_equal(&json!([1, "a"]), &json!(["a", 1])));
        assert!(json_equal(&json!({"k": 1}), &json!({"k": 1})));
        assert!(!json_equal(&json!({"k": 1}), &json!({"k": 1, "j": 2})));
        assert!(json_equal(&Value::Null, &Value::Null));
        assert!(!json_equal(&Value::Null, &json!("")));
    }
}
