//! Policy text → [`Policy`]: the edge where HCL, JSON and base64 bodies become typed
//! path rules.
//!
//! Accepted forms (all three as Vault does):
//!
//! * HCL: `path "secret/*" { capabilities = ["read"] }` (also the HCL1-style
//!   attribute form `path = { "secret/*" = { ... } }`);
//! * JSON: `{"path": {"secret/*": {"capabilities": ["read"]}}}` (chosen when the text
//!   starts with `{`);
//! * base64 of either, tried only when the raw text does not parse and the decoded
//!   bytes are UTF-8. [`Policy::text`] holds the decoded text.
//!
//! Both syntaxes are first lowered to the same shape — a list of (path, JSON object of
//! keys) stanzas — so one function ([`build_rule`]) validates keys and values for both.
//! Top-level keys: `path` and `name` (ignored; the name comes from the URL). Per-path
//! keys: see [`PATH_KEYS`]; anything else is refused with a 400 naming it.
//!
//! The same pattern written twice in one policy is merged into one rule (see
//! [`PathRule::merge`]). A policy without any `path` is valid and grants nothing, as in
//! Vault (the API layer refuses an empty body before parsing).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::capability::{Capabilities, Capability};
use super::pattern::PathPattern;
use super::rule::{ParameterMap, PathRule};
use super::PolicyError;
use crate::core::duration;

/// A policy name, parsed at the edge: trimmed and lower-cased (Vault lower-cases policy
/// names), non-empty, at most [`PolicyName::MAX_LEN`] bytes, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PolicyName(String);

impl PolicyName {
    /// Longest accepted name, in bytes.
    pub const MAX_LEN: usize = 256;

    /// Parses a name as given in a URL or a token's policy list.
    pub fn parse(raw: &str) -> Result<PolicyName, PolicyError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(PolicyError::EmptyName);
        }
        if name.len() > PolicyName::MAX_LEN {
            return Err(PolicyError::InvalidName("longer than 256 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(PolicyError::InvalidName("contains control characters"));
        }
        // A name is one storage key segment (`sys/policy/<name>`).
        if name.contains('/') || name == "." || name == ".." {
            return Err(PolicyError::InvalidName(
                "must not contain '/' or be '.' or '..'",
            ));
        }
        Ok(PolicyName(name.to_lowercase()))
    }

    /// The built-in `root` policy's name.
    pub fn root() -> PolicyName {
        PolicyName("root".to_string())
    }

    /// The built-in `default` policy's name.
    pub fn default_policy() -> PolicyName {
        PolicyName("default".to_string())
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `root`.
    pub fn is_root(&self) -> bool {
        self.0 == "root"
    }

    /// Whether this is `default`.
    pub fn is_default(&self) -> bool {
        self.0 == "default"
    }
}

impl TryFrom<String> for PolicyName {
    type Error = PolicyError;

    fn try_from(raw: String) -> Result<PolicyName, PolicyError> {
        PolicyName::parse(&raw)
    }
}

impl From<PolicyName> for String {
    fn from(name: PolicyName) -> String {
        name.0
    }
}

impl AsRef<str> for PolicyName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicyName({:?})", self.0)
    }
}

/// A parsed ACL policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Its name.
    pub name: PolicyName,
    /// One rule per distinct pattern, in order of first appearance.
    pub rules: Vec<PathRule>,
    /// The policy text as it should be stored and read back (base64 bodies decoded).
    pub text: String,
}

/// Parses policy text (HCL, JSON, or base64 of either).
pub fn parse(name: &PolicyName, text: &str) -> Result<Policy, PolicyError> {
    let (rules, text) = match parse_rules(text) {
        Ok(rules) => (rules, text.to_string()),
        Err(err) => match decode_base64(text) {
            Some(decoded) => (parse_rules(&decoded)?, decoded),
            None => return Err(err),
        },
    };
    Ok(Policy {
        name: name.clone(),
        rules,
        text,
    })
}

/// The UTF-8 text a base64 body decodes to (line breaks ignored, as Go's decoder does).
fn decode_base64(text: &str) -> Option<String> {
    let compact: String = text
        .trim()
        .chars()
        .filter(|c| *c != '\n' && *c != '\r')
        .collect();
    if compact.is_empty() {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// One `path` stanza lowered from either syntax: the path as written and its keys.
struct Stanza {
    path: String,
    keys: Map<String, Value>,
}

fn parse_rules(text: &str) -> Result<Vec<PathRule>, PolicyError> {
    let stanzas = if text.trim_start().starts_with('{') {
        json_stanzas(text)?
    } else {
        hcl_stanzas(text)?
    };
    let mut rules: Vec<PathRule> = Vec::with_capacity(stanzas.len());
    for stanza in stanzas {
        let rule = build_rule(&stanza.path, &stanza.keys)?;
        // Stanzas with different expirations stay apart: each lapses on its own.
        match rules
            .iter_mut()
            .find(|r| r.pattern == rule.pattern && r.expiration == rule.expiration)
        {
            Some(existing) => existing.merge(&rule),
            None => rules.push(rule),
        }
    }
    Ok(rules)
}

fn json_stanzas(text: &str) -> Result<Vec<Stanza>, PolicyError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
    let Value::Object(top) = value else {
        return Err(PolicyError::Syntax(
            "does not contain a root object".to_string(),
        ));
    };
    let mut out = Vec::new();
    for (key, value) in top {
        top_level(&key, value, &mut out)?;
    }
    Ok(out)
}

fn hcl_stanzas(text: &str) -> Result<Vec<Stanza>, PolicyError> {
    let body = hcl::parse(text).map_err(|e| PolicyError::Syntax(hcl_error(&e)))?;
    let mut out = Vec::new();
    for structure in body.0 {
        match structure {
            hcl::Structure::Attribute(attr) => {
                let value = hcl_value(attr.expr)?;
                top_level(attr.key.as_str(), value, &mut out)?;
            }
            hcl::Structure::Block(block) => {
                if block.identifier.as_str() != "path" {
                    return Err(PolicyError::UnknownKey {
                        key: block.identifier.to_string(),
                    });
                }
                let mut labels = block.labels.into_iter();
                let (Some(label), None) = (labels.next(), labels.next()) else {
                    return Err(PolicyError::Syntax(
                        "a path block takes exactly one label, the path".to_string(),
                    ));
                };
                out.push(Stanza {
                    path: label.into_inner(),
                    keys: hcl_body(block.body)?,
                });
            }
        }
    }
    Ok(out)
}

/// The parser's complaint on one line, where it is: `At 1:10: expected ...` (the shape
/// of Vault's HCL errors) rather than the parser's multi-line rendering.
fn hcl_error(err: &hcl::Error) -> String {
    match err {
        hcl::Error::Parse(parse) => {
            let at = parse.location();
            format!("At {}:{}: {}", at.line(), at.column(), parse.message())
        }
        other => other.to_string(),
    }
}

/// A top-level key of either syntax.
fn top_level(key: &str, value: Value, out: &mut Vec<Stanza>) -> Result<(), PolicyError> {
    match key {
        // Vault decodes it, then uses the name from the URL.
        "name" => Ok(()),
        "path" => collect_paths(value, out),
        _ => Err(PolicyError::UnknownKey {
            key: key.to_string(),
        }),
    }
}

/// `{"<path>": {keys} | [{keys}, ...]}` or a list of such objects.
fn collect_paths(value: Value, out: &mut Vec<Stanza>) -> Result<(), PolicyError> {
    match value {
        Value::Object(paths) => {
            for (path, keys) in paths {
                match keys {
                    Value::Object(keys) => out.push(Stanza { path, keys }),
                    Value::Array(items) => {
                        for item in items {
                            let Value::Object(keys) = item else {
                                return Err(not_an_object(&path));
                            };
                            out.push(Stanza {
                                path: path.clone(),
                                keys,
                            });
                        }
                    }
                    _ => return Err(not_an_object(&path)),
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .into_iter()
            .try_for_each(|item| collect_paths(item, out)),
        _ => Err(PolicyError::Syntax(
            "\"path\" must be an object of paths".to_string(),
        )),
    }
}

fn not_an_object(path: &str) -> PolicyError {
    PolicyError::InvalidValue {
        path: path.to_string(),
        key: "path".to_string(),
        reason: "expected an object".to_string(),
    }
}

/// A block body as a JSON object; nested blocks become nested objects keyed by their
/// identifier (then by each label).
fn hcl_body(body: hcl::Body) -> Result<Map<String, Value>, PolicyError> {
    let mut out = Map::new();
    for structure in body.0 {
        match structure {
            hcl::Structure::Attribute(attr) => {
                out.insert(attr.key.to_string(), hcl_value(attr.expr)?);
            }
            hcl::Structure::Block(block) => {
                let mut value = Value::Object(hcl_body(block.body)?);
                for label in block.labels.into_iter().rev() {
                    let mut wrapped = Map::new();
                    wrapped.insert(label.into_inner(), value);
                    value = Value::Object(wrapped);
                }
                out.insert(block.identifier.to_string(), value);
            }
        }
    }
    Ok(out)
}

/// A literal HCL expression as JSON; anything that would need evaluation is refused.
fn hcl_value(expr: hcl::Expression) -> Result<Value, PolicyError> {
    use hcl::Expression as E;
    Ok(match expr {
        E::Null => Value::Null,
        E::Bool(b) => Value::Bool(b),
        E::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        E::String(s) => Value::String(s),
        E::Array(items) => {
            Value::Array(items.into_iter().map(hcl_value).collect::<Result<_, _>>()?)
        }
        E::Object(object) => {
            let mut out = Map::new();
            for (key, value) in object {
                let key = match key {
                    hcl::ObjectKey::Identifier(id) => id.to_string(),
                    hcl::ObjectKey::Expression(E::String(s)) => s,
                    _ => {
                        return Err(PolicyError::Syntax(
                            "object keys must be names or strings".to_string(),
                        ))
                    }
                };
                out.insert(key, hcl_value(value)?);
            }
            Value::Object(out)
        }
        E::Parenthesis(inner) => hcl_value(*inner)?,
        _ => {
            return Err(PolicyError::Syntax(
                "only literal values are allowed (no variables, interpolation or functions)"
                    .to_string(),
            ))
        }
    })
}

/// The keys a `path` stanza may hold.
pub const PATH_KEYS: &[&str] = &[
    "capabilities",
    "policy",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "comment",
    "expiration",
    "pagination_limit",
    "list_scan_response_keys_filter_path",
];

/// Vault Enterprise keys that would restrict access in ways this server cannot enforce.
const UNSUPPORTED_PATH_KEYS: &[&str] = &["control_group", "mfa_methods"];

/// Validates one stanza and builds its rule.
fn build_rule(path: &str, keys: &Map<String, Value>) -> Result<PathRule, PolicyError> {
    for key in keys.keys() {
        if UNSUPPORTED_PATH_KEYS.contains(&key.as_str()) {
            return Err(PolicyError::Unsupported {
                path: path.to_string(),
                key: key.clone(),
            });
        }
        if !PATH_KEYS.contains(&key.as_str()) {
            return Err(PolicyError::UnknownPathKey {
                path: path.to_string(),
                key: key.clone(),
            });
        }
    }
    let pattern = PathPattern::parse(path)?;
    let invalid = |key: &str, reason: &str| PolicyError::InvalidValue {
        path: path.to_string(),
        key: key.to_string(),
        reason: reason.to_string(),
    };

    let mut capabilities = Capabilities::EMPTY;
    if let Some(value) = keys.get("policy") {
        match value {
            Value::Null => {}
            Value::String(shorthand) => {
                capabilities = capabilities.union(legacy_shorthand(path, shorthand)?);
            }
            _ => return Err(invalid("policy", "expected a string")),
        }
    }
    for name in string_list(keys, "capabilities").map_err(|r| invalid("capabilities", r))? {
        let cap = Capability::parse(name).ok_or_else(|| PolicyError::InvalidCapability {
            path: path.to_string(),
            capability: name.to_string(),
        })?;
        capabilities = capabilities.with(cap);
    }

    let mut rule = PathRule::new(pattern, capabilities);
    rule.allowed_parameters =
        parameter_map(keys, "allowed_parameters").map_err(|r| invalid("allowed_parameters", r))?;
    rule.denied_parameters =
        parameter_map(keys, "denied_parameters").map_err(|r| invalid("denied_parameters", r))?;
    rule.required_parameters = string_list(keys, "required_parameters")
        .map_err(|r| invalid("required_parameters", r))?
        .into_iter()
        .map(str::to_lowercase)
        .collect();
    rule.min_wrapping_ttl =
        wrapping_ttl(keys, "min_wrapping_ttl").map_err(|r| invalid("min_wrapping_ttl", &r))?;
    rule.max_wrapping_ttl =
        wrapping_ttl(keys, "max_wrapping_ttl").map_err(|r| invalid("max_wrapping_ttl", &r))?;
    if let (Some(min), Some(max)) = (rule.min_wrapping_ttl, rule.max_wrapping_ttl) {
        if max < min {
            return Err(PolicyError::WrappingTtlOrder {
                path: path.to_string(),
            });
        }
    }
    rule.expiration = expiration(keys).map_err(|r| invalid("expiration", r))?;

    // Accepted for OpenBao compatibility, not enforced: list pagination and list
    // filtering change list output, never widen access.
    match keys.get("pagination_limit") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some() => {}
        Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => {}
        Some(_) => {
            return Err(invalid(
                "pagination_limit",
                "expected a non-negative integer",
            ))
        }
    }
    match keys.get("list_scan_response_keys_filter_path") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(_) => {
            return Err(invalid(
                "list_scan_response_keys_filter_path",
                "expected a string",
            ))
        }
    }
    Ok(rule)
}

/// `policy = "read" | "write" | "deny" | "sudo"` (pre-capabilities syntax).
fn legacy_shorthand(path: &str, shorthand: &str) -> Result<Capabilities, PolicyError> {
    use Capability::{Create, Delete, Deny, List, Read, Sudo, Update};
    Ok(match shorthand {
        "deny" => Capabilities::of(&[Deny]),
        "read" => Capabilities::of(&[Read, List]),
        "write" => Capabilities::of(&[Create, Read, Update, Delete, List]),
        "sudo" => Capabilities::of(&[Create, Read, Update, Delete, List, Sudo]),
        other => {
            return Err(PolicyError::InvalidShorthand {
                path: path.to_string(),
                policy: other.to_string(),
            })
        }
    })
}

/// A list of strings (absent or null = empty).
fn string_list<'a>(keys: &'a Map<String, Value>, key: &str) -> Result<Vec<&'a str>, &'static str> {
    match keys.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or("expected a list of strings"))
            .collect(),
        Some(_) => Err("expected a list of strings"),
    }
}

/// `{name: [values]}`; names lower-cased, a null list read as `[]` (any value).
fn parameter_map(keys: &Map<String, Value>, key: &str) -> Result<ParameterMap, &'static str> {
    match keys.get(key) {
        None | Some(Value::Null) => Ok(ParameterMap::new()),
        Some(Value::Object(params)) => params
            .iter()
            .map(|(name, values)| match values {
                Value::Array(values) => Ok((name.to_lowercase(), values.clone())),
                Value::Null => Ok((name.to_lowercase(), Vec::new())),
                _ => Err("expected a list of values for each parameter"),
            })
            .collect(),
        Some(_) => Err("expected an object of parameter names"),
    }
}

/// A wrapping-TTL bound; zero means unset, as in Vault.
fn wrapping_ttl(keys: &Map<String, Value>, key: &str) -> Result<Option<Duration>, String> {
    let seconds = duration::opt_duration(keys, key).map_err(|e| e.to_string())?;
    Ok(seconds.filter(|s| *s > 0).map(Duration::from_secs))
}

/// OpenBao's `expiration`: RFC 3339, or integer Unix seconds.
fn expiration(keys: &Map<String, Value>) -> Result<Option<OffsetDateTime>, &'static str> {
    const REASON: &str = "expected an RFC 3339 time";
    match keys.get("expiration") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => match s.parse::<i64>() {
            Ok(secs) => OffsetDateTime::from_unix_timestamp(secs)
                .map(Some)
                .map_err(|_| REASON),
            Err(_) => OffsetDateTime::parse(s, &Rfc3339)
                .map(Some)
                .map_err(|_| REASON),
        },
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
            .map(Some)
            .ok_or(REASON),
        Some(_) => Err(REASON),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn name() -> PolicyName {
        PolicyName::parse("test").expect("name")
    }

    fn ok(text: &str) -> Policy {
        match parse(&name(), text) {
            Ok(p) => p,
            Err(e) => panic!("{text:?} should parse: {e}"),
        }
    }

    fn err(text: &str) -> String {
        match parse(&name(), text) {
            Ok(p) => panic!("{text:?} should fail, got {p:?}"),
            Err(e) => {
                assert_eq!(e.kind(), crate::error::ErrorKind::Invalid);
                e.to_string()
            }
        }
    }

    fn caps(p: &Policy, pattern: &str) -> Vec<&'static str> {
        p.rules
            .iter()
            .find(|r| r.pattern.as_str() == pattern)
            .map(|r| r.capabilities.names())
            .unwrap_or_default()
    }

    const SAMPLE_HCL: &str = r#"
# a comment
path "secret/data/app/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
path "secret/metadata/app/+/conf" { capabilities = ["read", "list"] }
path "secret/data/app/admin"      { capabilities = ["deny"] }
path "sys/seal"                   { capabilities = ["sudo", "update"] }
path "kv/params" {
  capabilities       = ["create", "update"]
  allowed_parameters = {
    "Name" = []
    "size" = ["small", "*-large"]
  }
  denied_parameters   = { "secret" = [] }
  required_parameters = ["name"]
  min_wrapping_ttl    = "1m"
  max_wrapping_ttl    = 3600
  comment             = "ignored"
}
"#;

    #[test]
    fn hcl_sample() {
        let p = ok(SAMPLE_HCL);
        assert_eq!(p.rules.len(), 5);
        assert_eq!(
            caps(&p, "secret/data/app/*"),
            ["create", "delete", "list", "patch", "read", "update"]
        );
        assert_eq!(caps(&p, "secret/metadata/app/+/conf"), ["list", "read"]);
        assert_eq!(caps(&p, "secret/data/app/admin"), ["deny"]);
        assert_eq!(caps(&p, "sys/seal"), ["sudo", "update"]);
        let r = &p.rules[4];
        assert_eq!(r.pattern.as_str(), "kv/params");
        assert_eq!(
            r.allowed_parameters.keys().collect::<Vec<_>>(),
            ["name", "size"]
        );
        assert_eq!(
            r.allowed_parameters["size"],
            [json!("small"), json!("*-large")]
        );
        assert!(r.allowed_parameters["name"].is_empty());
        assert!(r.denied_parameters["secret"].is_empty());
        assert_eq!(r.required_parameters, ["name"]);
        assert_eq!(r.min_wrapping_ttl, Some(Duration::from_secs(60)));
        assert_eq!(r.max_wrapping_ttl, Some(Duration::from_secs(3600)));
        assert_eq!(p.text, SAMPLE_HCL);
        assert_eq!(p.name.as_str(), "test");
    }

    #[test]
    fn json_gives_the_same_rules_as_hcl() {
        let json_text = json!({
            "path": {
                "secret/data/app/*": {"capabilities": ["create", "read", "update", "patch", "delete", "list"]},
                "secret/metadata/app/+/conf": {"capabilities": ["read", "list"]},
                "secret/data/app/admin": {"capabilities": ["deny"]},
                "sys/seal": {"capabilities": ["sudo", "update"]},
                "kv/params": {
                    "capabilities": ["create", "update"],
                    "allowed_parameters": {"Name": [], "size": ["small", "*-large"]},
                    "denied_parameters": {"secret": []},
                    "required_parameters": ["name"],
                    "min_wrapping_ttl": "1m",
                    "max_wrapping_ttl": 3600,
                    "comment": "ignored"
                }
            }
        })
        .to_string();
        let from_json = ok(&json_text);
        let from_hcl = ok(SAMPLE_HCL);
        let sorted = |p: &Policy| {
            let mut rules = p.rules.clone();
            rules.sort_by(|a, b| a.pattern.as_str().cmp(b.pattern.as_str()));
            rules
        };
        assert_eq!(sorted(&from_json), sorted(&from_hcl));
    }

    #[test]
    fn vault_reference_json() {
        let p = ok(r#"{"path":{"secret/data/j":{"capabilities":["read"]}}}"#);
        assert_eq!(caps(&p, "secret/data/j"), ["read"]);
        // A list of path objects, and a list of stanzas for one path.
        let p =
            ok(r#"{"path":[{"a":{"capabilities":["read"]}},{"a":[{"capabilities":["list"]}]}]}"#);
        assert_eq!(p.rules.len(), 1);
        assert_eq!(caps(&p, "a"), ["list", "read"]);
    }

    #[test]
    fn hcl1_attribute_form() {
        let p = ok(r#"path = { "a/*" = { capabilities = ["read"] } }"#);
        assert_eq!(caps(&p, "a/*"), ["read"]);
    }

    #[test]
    fn nested_block_form_of_parameters() {
        let p = ok(r#"
path "a" {
  capabilities = ["update"]
  allowed_parameters {
    foo = ["bar"]
  }
}"#);
        assert_eq!(p.rules[0].allowed_parameters["foo"], [json!("bar")]);
    }

    #[test]
    fn base64_body() {
        let hcl = r#"path "kv/b64" { capabilities = ["read"] }"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(hcl);
        let p = ok(&encoded);
        assert_eq!(caps(&p, "kv/b64"), ["read"]);
        assert_eq!(p.text, hcl, "the decoded text is what gets stored");

        let json_text = r#"{"path":{"kv/j":{"capabilities":["list"]}}}"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(json_text);
        // With line breaks and a trailing newline, as `base64` prints it.
        let wrapped = format!("{}\n{}\n", &encoded[..20], &encoded[20..]);
        let p = ok(&wrapped);
        assert_eq!(caps(&p, "kv/j"), ["list"]);
        assert_eq!(p.text, json_text);

        // A base64 body that decodes to a bad policy reports the decoded error.
        let bad = base64::engine::general_purpose::STANDARD
            .encode(r#"path "x" { capabilities = ["bogus"] }"#);
        assert_eq!(
            err(&bad),
            r#"failed to parse policy: path "x": invalid capability "bogus""#
        );
        // Not base64 and not a policy: the raw parse error.
        assert!(err("path {").starts_with("failed to parse policy: "));
    }

    #[test]
    fn legacy_shorthand() {
        let p = ok(r#"
path "r" { policy = "read" }
path "w" { policy = "write" }
path "d" { policy = "deny" }
path "s" { policy = "sudo" }
path "m" {
  policy       = "read"
  capabilities = ["update"]
}
"#);
        assert_eq!(caps(&p, "r"), ["list", "read"]);
        assert_eq!(
            caps(&p, "w"),
            ["create", "delete", "list", "read", "update"]
        );
        assert_eq!(caps(&p, "d"), ["deny"]);
        assert_eq!(
            caps(&p, "s"),
            ["create", "delete", "list", "read", "sudo", "update"]
        );
        assert_eq!(caps(&p, "m"), ["list", "read", "update"]);
        assert_eq!(
            err(r#"path "x" { policy = "admin" }"#),
            r#"failed to parse policy: path "x": invalid policy "admin""#
        );
    }

    #[test]
    fn invalid_capability_message() {
        assert_eq!(
            err(r#"path "x" { capabilities = ["read", "bogus"] }"#),
            r#"failed to parse policy: path "x": invalid capability "bogus""#
        );
        assert_eq!(
            err(r#"{"path":{"x":{"capabilities":["READ"]}}}"#),
            r#"failed to parse policy: path "x": invalid capability "READ""#
        );
    }

    #[test]
    fn scan_is_accepted() {
        let p = ok(r#"path "x/*" { capabilities = ["scan", "list"] }"#);
        assert_eq!(caps(&p, "x/*"), ["list", "scan"]);
    }

    #[test]
    fn deny_alone_survives() {
        let p = ok(r#"path "x" { capabilities = ["read", "deny", "sudo"] }"#);
        assert_eq!(caps(&p, "x"), ["deny"]);
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "path {",
            r#"path "x" { capabilities = ["read" }"#,
            "{not json",
            r#"path "x" "y" { capabilities = [] }"#,
            "path = 5",
            r#"path "x" { capabilities = [var.x] }"#,
            r#"path "x" { capabilities = ["${x}"] }"#,
            "[]",
        ] {
            let msg = err(bad);
            assert!(msg.starts_with("failed to parse policy: "), "{bad}: {msg}");
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
        assert!(err("path {").starts_with("failed to parse policy: At 1:"));
    }

    #[test]
    fn unknown_keys_are_named() {
        assert_eq!(
            err(r#"paths "x" { capabilities = ["read"] }"#),
            r#"failed to parse policy: invalid key "paths""#
        );
        assert_eq!(
            err(r#"bogus = 1"#),
            r#"failed to parse policy: invalid key "bogus""#
        );
        assert_eq!(
            err(r#"{"path":{},"extra":1}"#),
            r#"failed to parse policy: invalid key "extra""#
        );
        assert_eq!(
            err(r#"
path "x" {
  capabilities = ["read"]
  capabilites  = ["list"]
}"#),
            r#"failed to parse policy: path "x": invalid key "capabilites""#
        );
        assert_eq!(
            err(r#"path "x" { control_group = { ttl = "1h" } }"#),
            r#"failed to parse policy: path "x": "control_group" is not supported"#
        );
    }

    #[test]
    fn openbao_extras_are_accepted() {
        let p = ok(r#"
name = "ignored"
path "x/*" {
  capabilities = ["list"]
  expiration = "2999-01-02T03:04:05Z"
  pagination_limit = 100
  list_scan_response_keys_filter_path = "{{ .path }}"
}"#);
        assert_eq!(p.rules.len(), 1);
        assert!(p.rules[0].expiration.is_some());
        assert!(!p.rules[0].is_expired(OffsetDateTime::now_utc()));
        let past = ok(r#"
path "x" {
  capabilities = ["read"]
  expiration   = "2001-01-01T00:00:00Z"
}"#);
        assert!(past.rules[0].is_expired(OffsetDateTime::now_utc()));
        assert!(err(r#"path "x" { expiration = "tomorrow" }"#).contains("expiration"));
        assert!(err(r#"path "x" { pagination_limit = -1 }"#).contains("pagination_limit"));
    }

    #[test]
    fn durations() {
        let p = ok(r#"
path "x" {
  capabilities     = ["read"]
  min_wrapping_ttl = "90"
  max_wrapping_ttl = "1h30m"
}"#);
        assert_eq!(p.rules[0].min_wrapping_ttl, Some(Duration::from_secs(90)));
        assert_eq!(p.rules[0].max_wrapping_ttl, Some(Duration::from_secs(5400)));
        let zero = ok(r#"path "x" { min_wrapping_ttl = 0 }"#);
        assert_eq!(zero.rules[0].min_wrapping_ttl, None);
        assert_eq!(
            err(r#"path "x" { min_wrapping_ttl = "bogus" }"#),
            r#"failed to parse policy: path "x": invalid value for "min_wrapping_ttl": time: invalid duration "bogus""#
        );
        assert_eq!(
            err(r#"
path "x" {
  min_wrapping_ttl = "2h"
  max_wrapping_ttl = "1h"
}"#),
            r#"failed to parse policy: path "x": max_wrapping_ttl cannot be less than min_wrapping_ttl"#
        );
    }

    #[test]
    fn bad_value_shapes() {
        for (bad, key) in [
            (r#"path "x" { capabilities = "read" }"#, "capabilities"),
            (r#"path "x" { capabilities = [1] }"#, "capabilities"),
            (r#"path "x" { policy = ["read"] }"#, "policy"),
            (
                r#"path "x" { allowed_parameters = ["a"] }"#,
                "allowed_parameters",
            ),
            (
                r#"path "x" { denied_parameters = { a = "b" } }"#,
                "denied_parameters",
            ),
            (
                r#"path "x" { required_parameters = "a" }"#,
                "required_parameters",
            ),
            (r#"{"path":{"x":"read"}}"#, "path"),
        ] {
            let msg = err(bad);
            assert!(
                msg.contains(&format!("invalid value for {key:?}")),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn same_path_twice_is_merged() {
        let p = ok(r#"
path "kv/x" { capabilities = ["read"] }
path "kv/y" { capabilities = ["list"] }
path "/kv/x" { capabilities = ["update"] }
"#);
        assert_eq!(p.rules.len(), 2);
        assert_eq!(caps(&p, "kv/x"), ["read", "update"]);
        let denied = ok(r#"
path "kv/x" { capabilities = ["read"] }
path "kv/x" { capabilities = ["deny"] }
"#);
        assert_eq!(caps(&denied, "kv/x"), ["deny"]);
    }

    #[test]
    fn plus_star_refused() {
        assert_eq!(
            err(r#"path "kv/+*" { capabilities = ["read"] }"#),
            r#"failed to parse policy: path "kv/+*": invalid use of wildcards ('+*' is forbidden)"#
        );
    }

    #[test]
    fn no_paths_is_an_empty_policy() {
        assert!(ok("# nothing here\n").rules.is_empty());
        assert!(ok("{}").rules.is_empty());
    }

    #[test]
    fn policy_names() {
        assert_eq!(
            PolicyName::parse("  My-Policy ").map(|n| n.to_string()),
            Ok("my-policy".into())
        );
        assert_eq!(PolicyName::parse("   "), Err(PolicyError::EmptyName));
        assert!(PolicyName::parse("a\nb").is_err());
        assert!(PolicyName::parse(&"x".repeat(257)).is_err());
        assert!(PolicyName::parse(&"x".repeat(256)).is_ok());
        assert!(PolicyName::parse("ROOT").is_ok_and(|n| n.is_root()));
        assert!(PolicyName::default_policy().is_default());
        let n: PolicyName = serde_json::from_value(json!("App")).expect("deserialize");
        assert_eq!(serde_json::to_value(&n).ok(), Some(json!("app")));
        assert!(serde_json::from_value::<PolicyName>(json!("")).is_err());
    }

    mod never_panics {
        use proptest::prelude::*;

        use super::super::{parse, PolicyName};

        fn name() -> PolicyName {
            PolicyName::parse("p").unwrap_or_else(|_| PolicyName::default_policy())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]

            /// Arbitrary text: parse returns Ok or Err, never panics.
            #[test]
            fn arbitrary_text(text in ".{0,400}") {
                let _ = parse(&name(), &text);
            }

            /// Text assembled from the language's own tokens, which reaches deeper into
            /// the parser than random characters do.
            #[test]
            fn policy_shaped_text(parts in proptest::collection::vec(prop_oneof![
                Just("path"), Just("\"secret/*\""), Just("\"a/+/b\""), Just("{"), Just("}"),
                Just("["), Just("]"), Just("="), Just(","), Just("capabilities"),
                Just("\"read\""), Just("\"deny\""), Just("\"bogus\""), Just("policy"),
                Just("allowed_parameters"), Just("\"*\""), Just("min_wrapping_ttl"),
                Just("\"1h\""), Just("-5"), Just("1e309"), Just("\n"), Just("#"), Just("\"\\u0000\""),
                Just("{\"path\":"), Just(":"), Just("null"), Just("true"), Just("\"+*\""),
            ], 0..40)) {
                let text = parts.join(" ");
                let _ = parse(&name(), &text);
            }

            /// Names: any input is accepted (normalised) or refused, never panics.
            #[test]
            fn arbitrary_names(raw in ".{0,300}") {
                let _ = PolicyName::parse(&raw);
            }
        }
    }
}

#[cfg(test)]
mod deep_nesting {
    /// Deeply nested policy text (a policy writer's input) is refused, never a stack
    /// overflow that would take the server down.
    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let name =
            super::PolicyName::parse("p").unwrap_or_else(|_| super::PolicyName::default_policy());
        for n in [1_000usize, 100_000] {
            for text in [
                format!("path \"x\" {{ capabilities = {} }}", "[".repeat(n)),
                format!("path \"x\" {{ a = {} }}", "{ a = ".repeat(n)),
                format!("path \"x\" {{ a = {} }}", "(".repeat(n)),
                format!("{{\"path\":{}", "[".repeat(n)),
                format!("{{\"path\":{}", "{\"a\":".repeat(n)),
            ] {
                assert!(super::parse(&name, &text).is_err());
            }
        }
    }
}
