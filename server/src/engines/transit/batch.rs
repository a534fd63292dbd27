//! `batch_input` handling shared by the data operations.
//!
//! A request is either one item (the request body itself) or a batch of items. Each
//! operation runs per item and hands back one result per item; [`respond`] renders a
//! single item as a normal answer (its error as a plain 400/500) and a batch as
//! `batch_results`, each carrying the item's `reference`. If any batch item failed, the
//! status is 400 (500 when only internal failures occurred) with the normal envelope,
//! unless `partial_failure_response_code` overrides it and some item succeeded.

use serde_json::{json, Map, Value};

use super::error::TransitError;
use crate::engines::{EngineResponse, ResponseStatus};

/// The items of a request.
pub enum Items<'a> {
    /// No `batch_input`: the request data is the one item.
    Single(&'a Map<String, Value>),
    /// The `batch_input` entries.
    Batch(Vec<&'a Map<String, Value>>),
}

impl<'a> Items<'a> {
    /// Reads `batch_input` from the request data.
    pub fn parse(data: &'a Map<String, Value>) -> Result<Items<'a>, TransitError> {
        match data.get("batch_input") {
            None | Some(Value::Null) => Ok(Items::Single(data)),
            Some(Value::Array(list)) if list.is_empty() => {
                Err(TransitError::invalid("missing batch input to process"))
            }
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.as_object().ok_or_else(|| {
                        TransitError::invalid(format!(
                            "failed to parse batch input: [{i}] expected a map, got '{}'",
                            json_type(item)
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Items::Batch),
            Some(other) => Err(TransitError::invalid(format!(
                "failed to parse batch input: source data must be an array or slice, got {}",
                json_type(other)
            ))),
        }
    }

    /// The item maps, in order.
    pub fn as_slice(&self) -> &[&'a Map<String, Value>] {
        match self {
            Items::Single(one) => std::slice::from_ref(one),
            Items::Batch(list) => list,
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Renders the per-item results (same order as the items).
pub fn respond(
    data: &Map<String, Value>,
    items: &Items<'_>,
    results: Vec<Result<Map<String, Value>, TransitError>>,
) -> Result<EngineResponse, TransitError> {
    let list = match items {
        Items::Single(_) => {
            let one = results
                .into_iter()
                .next()
                .unwrap_or_else(|| Err(TransitError::invalid("missing input")))?;
            return Ok(EngineResponse::data(Value::Object(one)));
        }
        Items::Batch(list) => list,
    };
    let (mut user_error, mut internal_error, mut success) = (false, false, false);
    let mut out = Vec::with_capacity(results.len());
    for (item, result) in list.iter().zip(results) {
        let reference = item
            .get("reference")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut entry = match result {
            Ok(map) => {
                success = true;
                map
            }
            Err(e) => {
                if e.is_user_error() {
                    user_error = true;
                } else {
                    tracing::warn!(error = ?e, "transit batch item failed");
                    internal_error = true;
                }
                let mut m = Map::new();
                m.insert("error".into(), json!(e.to_string()));
                m
            }
        };
        entry.insert("reference".into(), json!(reference));
        out.push(Value::Object(entry));
    }
    let mut resp = EngineResponse::data(json!({ "batch_results": out }));
    if user_error || internal_error {
        let mut code: u16 = if user_error { 400 } else { 500 };
        if success {
            let requested = crate::core::fields::opt_u64(data, "partial_failure_response_code");
            if !matches!(requested, Ok(None)) {
                match requested.ok().flatten().and_then(|c| u16::try_from(c).ok()) {
                    Some(c) if (1..=599).contains(&c) => code = c,
                    _ => {
                        resp.warnings.push(format!(
                            "invalid HTTP response code override from partial_failure_response_code, reverting to {code}"
                        ));
                    }
                }
            }
        }
        resp.status = match code {
            200 => ResponseStatus::Ok,
            400 => ResponseStatus::BadRequestWithData,
            other => ResponseStatus::WithDataStatus(other),
        };
    }
    Ok(resp)
}

/// A base64 field of an item (`plaintext`, `context`, `input`, ...), decoded with Go's
/// error texts; `None` when absent or null.
pub fn b64_field(
    item: &Map<String, Value>,
    name: &str,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, TransitError> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => super::ciphertext::decode_field(s).map(Some),
        Some(other) => Err(TransitError::invalid(format!(
            "'{name}' expected type 'string', got unconvertible type '{}'",
            json_type(other)
        ))),
    }
}

/// A string field of an item; `None` when absent, null or empty.
pub fn str_field<'a>(
    item: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, TransitError> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(TransitError::invalid(format!(
            "'{name}' expected type 'string', got unconvertible type '{}'",
            json_type(other)
        ))),
    }
}

/// `key_version` of an item, else of the request; `None` = latest.
pub fn key_version(
    item: &Map<String, Value>,
    data: &Map<String, Value>,
) -> Result<Option<u32>, TransitError> {
    match crate::core::fields::opt_u32(item, "key_version")? {
        Some(v) => Ok(Some(v)),
        None => Ok(crate::core::fields::opt_u32(data, "key_version")?),
    }
}
