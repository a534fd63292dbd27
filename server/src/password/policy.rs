//! A password policy: parsing Vault's policy language and generating passwords.
//!
//! ```hcl
//! length = 20
//! rule "charset" {
//!   charset = "abcdefghijklmnopqrstuvwxyz"
//!   min-chars = 1
//! }
//! rule "charset" { charset = "0123456789" min-chars = 1 }
//! ```
//!
//! or the same as JSON (`{"length": 20, "rule": [{"charset": {"charset": "...",
//! "min-chars": 1}}]}`; `"rule": {"charset": [...]}` too), or base64 of either
//! ([`PasswordPolicy::parse_text_or_base64`]). HCL1's one-line blocks with several
//! attributes are accepted too (see `hcl1`). Both syntaxes are lowered to one JSON
//! shape and validated in one place: `length` in [`MIN_LENGTH`]..=[`MAX_LENGTH`], at least
//! one charset rule, every charset non-empty and printable (duplicates within a set are
//! dropped), `min-chars` summing to at most `length` (which makes every policy
//! satisfiable).
//!
//! Generation: each character is drawn uniformly from the union of the charsets by
//! rejection sampling of OS random bytes (never `byte % n`, which is biased); a draw that
//! misses a `min-chars` is thrown away and redrawn, at most [`MAX_ATTEMPTS`] times, so
//! the result is uniform over the passwords the policy allows.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::PasswordError;

/// Shortest allowed `length`.
pub const MIN_LENGTH: usize = 4;
/// Longest allowed `length`.
pub const MAX_LENGTH: usize = 100;
/// Draws before [`PasswordPolicy::generate`] gives up.
const MAX_ATTEMPTS: usize = 10_000;

/// One `rule "charset"`: draw at least `min_chars` characters from `charset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharsetRule {
    charset: Vec<char>,
    min_chars: usize,
}

impl CharsetRule {
    /// The characters of the set (duplicates removed, in first-seen order).
    pub fn charset(&self) -> String {
        self.charset.iter().collect()
    }

    /// The minimum number of characters from this set.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }
}

/// A parsed, valid password policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    length: usize,
    rules: Vec<CharsetRule>,
    /// The union of every rule's charset, deduplicated.
    alphabet: Vec<char>,
}

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";

impl PasswordPolicy {
    /// Vault's default for database credentials: 20 characters from `[A-Za-z0-9-]`, at
    /// least one upper-case letter, one lower-case letter, one digit and one `-`.
    pub fn default_policy() -> PasswordPolicy {
        let rule = |set: &str| CharsetRule {
            charset: dedup(set),
            min_chars: 1,
        };
        PasswordPolicy::build(20, vec![rule(LOWER), rule(UPPER), rule(DIGITS), rule("-")])
    }

    /// Parses HCL or JSON policy text.
    pub fn parse(text: &str) -> Result<PasswordPolicy, PasswordError> {
        let value = if text.trim_start().starts_with('{') {
            serde_json::from_str::<Value>(text).map_err(|e| PasswordError::Syntax(e.to_string()))?
        } else {
            hcl_to_json(text)?
        };
        from_json(&value)
    }

    /// Parses policy text, or base64 of it (tried only when the text itself does not
    /// parse). Returns the text to store (decoded) and the policy.
    pub fn parse_text_or_base64(raw: &str) -> Result<(String, PasswordPolicy), PasswordError> {
        match PasswordPolicy::parse(raw) {
            Ok(policy) => Ok((raw.to_string(), policy)),
            Err(err) => match decode_base64(raw) {
                Some(decoded) => {
                    let policy = PasswordPolicy::parse(&decoded)?;
                    Ok((decoded, policy))
                }
                None => Err(err),
            },
        }
    }

    /// The password length, in characters.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The charset rules.
    pub fn rules(&self) -> &[CharsetRule] {
        &self.rules
    }

    /// A new password following the policy.
    pub fn generate(&self) -> Result<Zeroizing<String>, PasswordError> {
        let mut random = RandomBytes::new();
        let max_char_len = self
            .alphabet
            .iter()
            .map(|c| c.len_utf8())
            .max()
            .unwrap_or(1);
        for _ in 0..MAX_ATTEMPTS {
            // Capacity for the longest outcome up front: a reallocation would leave an
            // unzeroized copy behind.
            let mut candidate = Zeroizing::new(String::with_capacity(self.length * max_char_len));
            for _ in 0..self.length {
                let index = random.below(self.alphabet.len())?;
                candidate.push(self.alphabet[index]);
            }
            if self.satisfied_by(&candidate) {
                return Ok(candidate);
            }
        }
        Err(PasswordError::Unsatisfiable(MAX_ATTEMPTS))
    }

    /// Whether `password` has the policy's length and meets every `min-chars`.
    pub fn satisfied_by(&self, password: &str) -> bool {
        password.chars().count() == self.length
            && self.rules.iter().all(|rule| {
                password
                    .chars()
                    .filter(|c| rule.charset.contains(c))
                    .count()
                    >= rule.min_chars
            })
    }

    fn build(length: usize, rules: Vec<CharsetRule>) -> PasswordPolicy {
        let mut seen = BTreeSet::new();
        let alphabet = rules
            .iter()
            .flat_map(|r| r.charset.iter().copied())
            .filter(|c| seen.insert(*c))
            .collect();
        PasswordPolicy {
            length,
            rules,
            alphabet,
        }
    }
}

/// The characters of `s`, duplicates removed, first occurrence kept.
fn dedup(s: &str) -> Vec<char> {
    let mut seen = BTreeSet::new();
    s.chars().filter(|c| seen.insert(*c)).collect()
}

/// The UTF-8 text a base64 body decodes to (line breaks ignored).
fn decode_base64(text: &str) -> Option<String> {
    let compact: String = text.split_whitespace().collect();
    if compact.is_empty() {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    String::from_utf8(bytes).ok()
}

// ---------------------------------------------------------------------------------------
// Syntax → one JSON shape → policy
// ---------------------------------------------------------------------------------------

fn syntax(message: impl Into<String>) -> PasswordError {
    PasswordError::Syntax(message.into())
}

fn invalid(message: impl Into<String>) -> PasswordError {
    PasswordError::Invalid(message.into())
}

/// HCL → `{"length": .., "rule": [{"charset": {..}}, ..]}`: attributes become keys,
/// each block becomes one element of an array under its identifier, wrapped in its
/// labels.
fn hcl_to_json(text: &str) -> Result<Value, PasswordError> {
    let body = match hcl::parse(text) {
        Ok(body) => body,
        // HCL1 layouts (several attributes on one line) get a second try; a failure
        // reports the first error, whose positions are in the text as written.
        Err(err) => {
            hcl::parse(&super::hcl1::normalize(text)).map_err(|_| syntax(hcl_error(&err)))?
        }
    };
    hcl_body(body)
}

fn hcl_body(body: hcl::Body) -> Result<Value, PasswordError> {
    let mut out = Map::new();
    for structure in body.0 {
        match structure {
            hcl::Structure::Attribute(attr) => {
                out.insert(attr.key.to_string(), hcl_value(attr.expr)?);
            }
            hcl::Structure::Block(block) => {
                let mut value = hcl_body(block.body)?;
                for label in block.labels.into_iter().rev() {
                    let mut wrapped = Map::new();
                    wrapped.insert(label.into_inner(), value);
                    value = Value::Object(wrapped);
                }
                match out
                    .entry(block.identifier.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(items) => items.push(value),
                    _ => {
                        return Err(syntax(format!(
                            "{} is both an attribute and a block",
                            block.identifier
                        )))
                    }
                }
            }
        }
    }
    Ok(Value::Object(out))
}

/// A literal HCL expression as JSON; anything needing evaluation is refused.
fn hcl_value(expr: hcl::Expression) -> Result<Value, PasswordError> {
    use hcl::Expression as E;
    Ok(match expr {
        E::Null => Value::Null,
        E::Bool(b) => Value::Bool(b),
        E::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(i)) => Value::from(i),
            _ => return Err(syntax("numbers must be integers")),
        },
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
                    _ => return Err(syntax("object keys must be names or strings")),
                };
                out.insert(key, hcl_value(value)?);
            }
            Value::Object(out)
        }
        E::Parenthesis(inner) => hcl_value(*inner)?,
        _ => {
            return Err(syntax(
                "only literal values are allowed (no variables, interpolation or functions)",
            ))
        }
    })
}

/// The parser's complaint on one line: `At 1:10: expected ...`.
fn hcl_error(err: &hcl::Error) -> String {
    match err {
        hcl::Error::Parse(parse) => {
            let at = parse.location();
            format!("At {}:{}: {}", at.line(), at.column(), parse.message())
        }
        other => other.to_string(),
    }
}

/// The one validation of both syntaxes.
fn from_json(value: &Value) -> Result<PasswordPolicy, PasswordError> {
    let Value::Object(top) = value else {
        return Err(syntax("the policy must be an object"));
    };
    let mut length = None;
    let mut rules = Vec::new();
    for (key, value) in top {
        match key.as_str() {
            "length" => length = Some(integer(value, "length")?),
            "rule" => collect_rules(value, &mut rules)?,
            other => return Err(invalid(format!("unknown key {other:?}"))),
        }
    }
    let length = length.ok_or_else(|| invalid("length is required"))?;
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(invalid(format!(
            "length must be between {MIN_LENGTH} and {MAX_LENGTH}, got {length}"
        )));
    }
    if rules.is_empty() {
        return Err(invalid("at least one charset rule is required"));
    }
    let min_total: usize = rules.iter().map(|r| r.min_chars).sum();
    if min_total > length {
        return Err(invalid(format!(
            "the min-chars of the rules add up to {min_total}, more than the length {length}"
        )));
    }
    Ok(PasswordPolicy::build(length, rules))
}

/// `rule` as HCL lowers it (`[{"charset": {..}}, ..]`) or as JSON writes it (an array
/// of such objects, or `{"charset": {..} | [{..}, ..]}`).
fn collect_rules(value: &Value, out: &mut Vec<CharsetRule>) -> Result<(), PasswordError> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|item| collect_rules(item, out)),
        Value::Object(by_kind) => {
            for (kind, body) in by_kind {
                if kind != "charset" {
                    return Err(invalid(format!("unrecognized rule type {kind:?}")));
                }
                match body {
                    Value::Object(fields) => out.push(charset_rule(fields)?),
                    Value::Array(bodies) => {
                        for body in bodies {
                            let Value::Object(fields) = body else {
                                return Err(syntax("a charset rule must be an object"));
                            };
                            out.push(charset_rule(fields)?);
                        }
                    }
                    _ => return Err(syntax("a charset rule must be an object")),
                }
            }
            Ok(())
        }
        _ => Err(syntax("rule must be a block or an object")),
    }
}

fn charset_rule(fields: &Map<String, Value>) -> Result<CharsetRule, PasswordError> {
    let mut charset = None;
    let mut min_chars = 0;
    for (key, value) in fields {
        match key.as_str() {
            "charset" => match value {
                Value::String(s) => charset = Some(s.as_str()),
                _ => return Err(invalid("charset must be a string")),
            },
            "min-chars" | "min_chars" => min_chars = integer(value, "min-chars")?,
            other => return Err(invalid(format!("unknown charset rule key {other:?}"))),
        }
    }
    let charset = charset.ok_or_else(|| invalid("a charset rule needs a charset"))?;
    if charset.is_empty() {
        return Err(invalid("a charset must not be empty"));
    }
    if charset.chars().any(char::is_control) {
        return Err(invalid("a charset must hold only printable characters"));
    }
    Ok(CharsetRule {
        charset: dedup(charset),
        min_chars,
    })
}

/// A non-negative integer: a number, or a string of digits.
fn integer(value: &Value, what: &str) -> Result<usize, PasswordError> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| invalid(format!("{what} must be a non-negative integer")))
}

// ---------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------

/// OS random bytes, fetched 256 at a time into a buffer zeroized on drop.
struct RandomBytes {
    buf: Zeroizing<[u8; 256]>,
    pos: usize,
}

impl RandomBytes {
    fn new() -> RandomBytes {
        RandomBytes {
            buf: Zeroizing::new([0u8; 256]),
            pos: 256,
        }
    }

    fn byte(&mut self) -> Result<u8, PasswordError> {
        if self.pos == self.buf.len() {
            getrandom::fill(&mut self.buf[..]).map_err(|_| PasswordError::Rng)?;
            self.pos = 0;
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// A uniform integer in `0..n` (`n` ≥ 1) by rejection sampling: one byte when
    /// `n` ≤ 256, four otherwise; values in the incomplete top range are redrawn.
    fn below(&mut self, n: usize) -> Result<usize, PasswordError> {
        let n = u64::try_from(n.max(1)).map_err(|_| PasswordError::Rng)?;
        let (bytes, space) = if n <= 256 {
            (1, 1u64 << 8)
        } else {
            (4, 1u64 << 32)
        };
        let limit = space - space % n;
        loop {
            let mut x = 0u64;
            for _ in 0..bytes {
                x = (x << 8) | u64::from(self.byte()?);
            }
            if x < limit {
                return usize::try_from(x % n).map_err(|_| PasswordError::Rng);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HCL: &str = r#"
length = 20
rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 1
}
rule "charset" {
  charset = "0123456789"
  min-chars = 1
}
"#;

    #[test]
    fn parses_hcl() {
        let p = PasswordPolicy::parse(HCL).unwrap();
        assert_eq!(p.length(), 20);
        assert_eq!(p.rules().len(), 2);
        assert_eq!(p.rules()[1].charset(), "0123456789");
        assert_eq!(p.rules()[1].min_chars(), 1);
        assert_eq!(p.alphabet.len(), 36);
    }

    #[test]
    fn parses_one_line_blocks() {
        let p = PasswordPolicy::parse(
            "length = 8\nrule \"charset\" { charset = \"0123456789\" }\nrule \"charset\" {\n charset = \"ab\"\n min-chars = 2\n}",
        )
        .unwrap();
        assert_eq!(p.rules().len(), 2);
        assert_eq!(p.rules()[0].min_chars(), 0);
        // Two attributes on one line, as Vault's documentation writes them.
        let q = PasswordPolicy::parse(
            "length = 8\nrule \"charset\" { charset = \"0123456789\" min-chars = 1 }",
        )
        .unwrap();
        assert_eq!(q.rules()[0].min_chars(), 1);
    }

    #[test]
    fn parses_json_shapes() {
        let array = r#"{"length": 12, "rule": [
            {"charset": {"charset": "abc", "min-chars": 2}},
            {"charset": {"charset": "123", "min-chars": "1"}}]}"#;
        let p = PasswordPolicy::parse(array).unwrap();
        assert_eq!(p.length(), 12);
        assert_eq!(p.rules().len(), 2);
        let object = r#"{"length": "12", "rule": {"charset": [{"charset": "abc"}, {"charset": "xyz", "min-chars": 3}]}}"#;
        let q = PasswordPolicy::parse(object).unwrap();
        assert_eq!(q.rules()[1].min_chars(), 3);
        let single = r#"{"length": 6, "rule": {"charset": {"charset": "aab"}}}"#;
        assert_eq!(
            PasswordPolicy::parse(single).unwrap().rules()[0].charset(),
            "ab"
        );
    }

    #[test]
    fn parses_base64() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(HCL);
        let (text, p) = PasswordPolicy::parse_text_or_base64(&encoded).unwrap();
        assert_eq!(text, HCL);
        assert_eq!(p.length(), 20);
        let (text, _) = PasswordPolicy::parse_text_or_base64(HCL).unwrap();
        assert_eq!(text, HCL);
    }

    #[test]
    fn refuses_invalid_policies() {
        let cases = [
            ("", "length is required"),
            ("length = 3\nrule \"charset\" { charset = \"ab\" }", "between"),
            ("length = 101\nrule \"charset\" { charset = \"ab\" }", "between"),
            ("length = 10", "at least one charset"),
            ("length = 10\nrule \"charset\" { charset = \"\" }", "empty"),
            ("length = 10\nrule \"charset\" { min-chars = 1 }", "needs a charset"),
            ("length = 10\nrule \"charset\" { charset = \"a\tb\" }", "printable"),
            (
                "length = 4\nrule \"charset\" {\n charset = \"a\"\n min-chars = 3\n}\nrule \"charset\" {\n charset = \"b\"\n min-chars = 2\n}",
                "add up to 5",
            ),
            ("length = 10\nrule \"other\" { charset = \"a\" }", "unrecognized rule type"),
            ("length = 10\nfoo = 1\nrule \"charset\" { charset = \"a\" }", "unknown key"),
            ("length = -5\nrule \"charset\" { charset = \"a\" }", "non-negative"),
            ("length = var.x", "literal"),
            ("length = ", "parse"),
            ("{\"length\": 10, ", "parse"),
            ("{\"length\": 10, \"rule\": 5}", "rule must be"),
        ];
        for (text, expected) in cases {
            let err = PasswordPolicy::parse(text).unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{text:?}: {err} (expected {expected:?})"
            );
            assert_eq!(err.kind(), crate::error::ErrorKind::Invalid);
        }
        assert!(PasswordPolicy::parse_text_or_base64("not base64 !!").is_err());
    }

    #[test]
    fn generation_honours_length_charsets_and_minimums() {
        let p = PasswordPolicy::parse(
            "length = 8\nrule \"charset\" {\n charset = \"abc\"\n min-chars = 3\n}\nrule \"charset\" {\n charset = \"XYZ\"\n min-chars = 2\n}\nrule \"charset\" {\n charset = \"!\"\n min-chars = 1\n}",
        )
        .unwrap();
        for _ in 0..500 {
            let pw = p.generate().unwrap();
            assert_eq!(pw.chars().count(), 8);
            assert!(pw.chars().all(|c| "abcXYZ!".contains(c)), "{}", pw.as_str());
            assert!(pw.chars().filter(|c| "abc".contains(*c)).count() >= 3);
            assert!(pw.chars().filter(|c| "XYZ".contains(*c)).count() >= 2);
            assert!(pw.contains('!'));
        }
    }

    #[test]
    fn generation_of_unicode_charsets() {
        let p =
            PasswordPolicy::parse("length = 10\nrule \"charset\" { charset = \"äöü€\" }").unwrap();
        let pw = p.generate().unwrap();
        assert_eq!(pw.chars().count(), 10);
        assert!(pw.chars().all(|c| "äöü€".contains(c)));
    }

    #[test]
    fn default_policy_shape() {
        let p = PasswordPolicy::default_policy();
        assert_eq!(p.length(), 20);
        assert_eq!(p.alphabet.len(), 63);
        let mut seen = BTreeSet::new();
        for _ in 0..300 {
            let pw = p.generate().unwrap();
            assert_eq!(pw.len(), 20);
            assert!(pw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            assert!(pw.chars().any(|c| c.is_ascii_uppercase()));
            assert!(pw.chars().any(|c| c.is_ascii_lowercase()));
            assert!(pw.chars().any(|c| c.is_ascii_digit()));
            assert!(pw.contains('-'));
            assert!(seen.insert(pw.to_string()));
        }
    }

    #[test]
    fn sampling_is_uniform() {
        // 3 symbols (256 % 3 ≠ 0: a modulo sampler would favour the first one).
        let mut random = RandomBytes::new();
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[random.below(3).unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|c| (9_500..10_500).contains(c)),
            "{counts:?}"
        );
        // More than 256 symbols takes the four-byte path.
        for _ in 0..1000 {
            assert!(random.below(1000).unwrap() < 1000);
        }
        assert_eq!(random.below(1).unwrap(), 0);
    }

    #[test]
    fn satisfied_by() {
        let p = PasswordPolicy::default_policy();
        assert!(p.satisfied_by("dEY-ArkghH8fEMzGvi7E"));
        assert!(!p.satisfied_by("dEYzArkghH8fEMzGvi7E"));
        assert!(!p.satisfied_by("dEY-"));
    }
}
