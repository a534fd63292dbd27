//! Statement lists as clients send them: `creation_statements`, `revocation_statements`,
//! `rotation_statements`, `root_rotation_statements`, ...
//!
//! Vault accepts a JSON array of strings, one string, or the base64 of either (the CLI
//! base64-encodes `@file` contents for some commands). A single string is kept as ONE
//! element even when it holds several `;`-separated statements: the driver splits each
//! element on `;` when it runs it, so nothing is lost, and the role reads back the way it
//! was written. Empty elements are dropped.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::engines::EngineError;

/// Reads a statement-list field; `None` when absent or null.
pub(super) fn opt_statements(
    data: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, EngineError> {
    let bad = || {
        EngineError::Invalid(format!(
            "invalid value for {name:?}: expected a list of statements"
        ))
    };
    let items: Vec<String> = match data.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => parse_one(s),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad()),
    };
    Ok(Some(
        items.into_iter().filter(|s| !s.trim().is_empty()).collect(),
    ))
}

/// One string: base64 of a JSON array or of SQL, a JSON array, or SQL.
fn parse_one(text: &str) -> Vec<String> {
    let decoded = decode_base64(text);
    let text = decoded.as_deref().unwrap_or(text);
    if text.trim_start().starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
            return list;
        }
    }
    vec![text.to_string()]
}

/// The text under standard base64, when `text` is base64 of UTF-8. SQL is never valid
/// base64 (spaces, quotes, `;`), so plain statements are not mistaken for it.
fn decode_base64(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Option<Vec<String>> {
        let data = json!({ "s": v }).as_object().cloned().unwrap();
        opt_statements(&data, "s").unwrap()
    }

    #[test]
    fn array_string_and_base64() {
        assert_eq!(
            read(json!(["CREATE ROLE a;", "GRANT x TO a;"])).unwrap(),
            ["CREATE ROLE a;", "GRANT x TO a;"]
        );
        // Several statements in one string stay one element.
        let one = "CREATE ROLE \"{{name}}\"; GRANT SELECT ON t TO \"{{name}}\";";
        assert_eq!(read(json!(one)).unwrap(), [one]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(one);
        assert_eq!(read(json!(b64)).unwrap(), [one]);
        let arr = r#"["A;", "B;"]"#;
        assert_eq!(read(json!(arr)).unwrap(), ["A;", "B;"]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(arr);
        assert_eq!(read(json!(b64)).unwrap(), ["A;", "B;"]);
        assert_eq!(read(json!(["", " ", "X"])).unwrap(), ["X"]);
        assert_eq!(read(json!("")).unwrap(), Vec::<String>::new());
        assert_eq!(read(Value::Null), None);
        let data = json!({ "s": [1] }).as_object().cloned().unwrap();
        assert!(opt_statements(&data, "s").is_err());
        let data = json!({ "s": {"a": 1} }).as_object().cloned().unwrap();
        assert!(opt_statements(&data, "s").is_err());
    }
}
