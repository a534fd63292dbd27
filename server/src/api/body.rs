//! Request bodies: size limit, JSON depth limit, JSON or form decoding.
//!
//! Vault parses a body as JSON whatever its `Content-Type`, except
//! `application/x-www-form-urlencoded`, which it decodes as a form unless the body
//! itself looks like JSON (curl's `-d '{...}'` sends JSON labelled as a form, and
//! OpenBao sniffs the body for exactly this reason). The body must be a
//! JSON object (or empty). Depth is checked by a scan before parsing, so a deeply nested
//! body costs linear time and no recursion.

use axum::body::Body;
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value};

use super::error::ApiError;

/// Reads the whole body, refusing more than `limit` bytes (413).
pub async fn read_limited(body: Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(ApiError::BodyTooLarge)
            } else {
                Err(ApiError::BodyRead)
            }
        }
    }
}

/// Maximum nesting of `[`/`{` outside strings.
pub fn check_depth(bytes: &[u8], max: usize) -> Result<(), ApiError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Err(ApiError::TooDeep(max));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Decodes a body into request data.
pub fn decode(
    bytes: &[u8],
    content_type: Option<&str>,
    max_depth: usize,
) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let is_form = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| {
            ct.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let looks_like_json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if is_form && !looks_like_json {
        if std::str::from_utf8(bytes).is_err() {
            return Err(ApiError::BadForm);
        }
        return Ok(form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect());
    }
    check_depth(bytes, max_depth)?;
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        // `bao write -f <path>` (a write without fields) sends `null`.
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(ApiError::BadJson(
            "the body must be a JSON object".to_string(),
        )),
        Err(e) => Err(ApiError::BadJson(e.to_string())),
    }
}

/// Decodes a query string into request data (`?a=1&b=x`).
pub fn decode_query(query: Option<&str>) -> Map<String, Value> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            check_depth(deep.as_bytes(), 64),
            Err(ApiError::TooDeep(64))
        ));
        assert!(check_depth(br#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[["}"#, 3).is_ok());
        assert!(check_depth(br#"{"a":"\"[[[["}"#, 2).is_ok());
    }

    #[test]
    fn decoding() {
        assert!(decode(b"", None, 10).unwrap().is_empty());
        // `bao write -f` sends a bare `null`: no fields.
        assert!(decode(b"null", None, 10).unwrap().is_empty());
        assert_eq!(
            decode(br#"{"a":1}"#, Some("text/plain"), 10).unwrap()["a"],
            1
        );
        assert!(matches!(
            decode(b"[1]", None, 10),
            Err(ApiError::BadJson(_))
        ));
        assert!(matches!(decode(b"{", None, 10), Err(ApiError::BadJson(_))));
        let form = decode(
            b"type=kv&x=a+b",
            Some("application/x-www-form-urlencoded"),
            10,
        )
        .unwrap();
        assert_eq!(form["type"], "kv");
        assert_eq!(form["x"], "a b");
        // curl -d '{...}' labels JSON as a form: it is still JSON.
        let curl = decode(
            br#" {"secret_shares":1}"#,
            Some("application/x-www-form-urlencoded"),
            10,
        )
        .unwrap();
        assert_eq!(curl["secret_shares"], 1);
        assert_eq!(decode_query(Some("list=true&v=2"))["v"], "2");
    }
}
