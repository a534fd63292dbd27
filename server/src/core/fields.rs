//! Lenient field readers for request data, as Vault accepts them.
//!
//! Clients send integers as strings and strings as integers (`"secret_shares":"3"`), and
//! `null` for absent optional fields (hvac). These readers turn a JSON map into typed
//! values at the edge of each handler; a wrong type is a 400 naming the field.

use serde_json::{Map, Value};

/// A field had the wrong type or an invalid value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(pub String);

fn present<'a>(data: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    data.get(name).filter(|v| !v.is_null())
}

/// An unsigned integer: a JSON number or a numeric string; `None` when absent or null.
pub fn opt_u64(data: &Map<String, Value>, name: &str) -> Result<Option<u64>, FieldError> {
    let Some(value) = present(data, name) else {
        return Ok(None);
    };
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| {
        FieldError(format!(
            "invalid value for {name:?}: expected a non-negative integer"
        ))
    })
}

/// A `u32` (see [`opt_u64`]).
pub fn opt_u32(data: &Map<String, Value>, name: &str) -> Result<Option<u32>, FieldError> {
    opt_u64(data, name)?
        .map(|v| {
            u32::try_from(v)
                .map_err(|_| FieldError(format!("invalid value for {name:?}: too large")))
        })
        .transpose()
}

/// A boolean: JSON bool, or the strings/numbers Go's strconv.ParseBool accepts.
pub fn opt_bool(data: &Map<String, Value>, name: &str) -> Result<Option<bool>, FieldError> {
    let Some(value) = present(data, name) else {
        return Ok(None);
    };
    let parsed = match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => parse_bool(s),
        _ => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| FieldError(format!("invalid value for {name:?}: expected a boolean")))
}

/// Go's `strconv.ParseBool` vocabulary.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A string (numbers and booleans are rendered as text, as Vault's field decoder does).
pub fn opt_string(data: &Map<String, Value>, name: &str) -> Result<Option<String>, FieldError> {
    let Some(value) = present(data, name) else {
        return Ok(None);
    };
    match value {
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(FieldError(format!(
            "invalid value for {name:?}: expected a string"
        ))),
    }
}

/// A list of strings: a JSON array of strings, or one comma-separated string (Vault's
/// `CommaStringSlice`); items are trimmed and empty items dropped. `None` when absent.
pub fn opt_string_list(
    data: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, FieldError> {
    let Some(value) = present(data, name) else {
        return Ok(None);
    };
    let bad = || {
        FieldError(format!(
            "invalid value for {name:?}: expected a list of strings"
        ))
    };
    let items: Vec<String> = match value {
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(bad()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad()),
    };
    Ok(Some(
        items
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    ))
}

/// A map of strings to strings (token `meta`). `None` when absent.
pub fn opt_string_map(
    data: &Map<String, Value>,
    name: &str,
) -> Result<Option<std::collections::BTreeMap<String, String>>, FieldError> {
    let Some(value) = present(data, name) else {
        return Ok(None);
    };
    let bad = || {
        FieldError(format!(
            "invalid value for {name:?}: expected a map of strings"
        ))
    };
    let Value::Object(map) = value else {
        return Err(bad());
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(bad()),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// A list of strings that must be empty: for features Strongroom does not offer
/// (PGP-encrypted shares). A non-empty value is refused rather than silently ignored.
pub fn require_empty(data: &Map<String, Value>, name: &str, what: &str) -> Result<(), FieldError> {
    let empty = match present(data, name) {
        None => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_u64() == Some(0),
        Some(Value::Bool(b)) => !b,
        Some(_) => false,
    };
    if empty {
        Ok(())
    } else {
        Err(FieldError(format!(
            "{what} is not supported by this server"
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn numbers_as_strings_and_nulls() {
        let d = map(json!({"a": 3, "b": "4", "c": null, "d": "x", "e": -1, "f": true}));
        assert_eq!(opt_u64(&d, "a").unwrap(), Some(3));
        assert_eq!(opt_u64(&d, "b").unwrap(), Some(4));
        assert_eq!(opt_u64(&d, "c").unwrap(), None);
        assert_eq!(opt_u64(&d, "missing").unwrap(), None);
        assert!(opt_u64(&d, "d").is_err());
        assert!(opt_u64(&d, "e").is_err());
        assert!(opt_u64(&d, "f").is_err());
        assert_eq!(opt_bool(&d, "f").unwrap(), Some(true));
        assert_eq!(opt_string(&d, "a").unwrap().as_deref(), Some("3"));
        assert!(require_empty(&d, "c", "x").is_ok());
        assert!(require_empty(&d, "a", "x").is_err());
    }
}
