//! Rendering: the envelope, raw sys bodies, errors, and the headers on every response.

use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderValue, StatusCode};
use serde_json::Value;
use strongroom_client::api::{Envelope, ErrorBody};

use super::error::ApiError;
use crate::core::request::{LogicalResponse, ResponseStatus};

/// A JSON response with the given status.
pub fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp
}

/// A response with no body (still labelled JSON, as Vault does).
pub fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

/// `{"errors":[...]}` with the error's status.
pub fn error(err: &ApiError) -> Response {
    let mut resp = json(
        err.kind().status(),
        &ErrorBody {
            errors: err.public_messages(),
        },
    );
    if let Some(secs) = err.retry_after() {
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(secs),
        );
    }
    resp
}

/// The Vault envelope for a logical response; 204 when there is nothing to say.
pub fn envelope(request_id: &str, resp: LogicalResponse) -> Response {
    if resp.is_empty() {
        return empty(StatusCode::NO_CONTENT);
    }
    let duplicate = resp.duplicate_top_level;
    let status = match resp.status {
        ResponseStatus::Ok => StatusCode::OK,
        ResponseStatus::NotFoundWithData => StatusCode::NOT_FOUND,
        ResponseStatus::BadRequestWithData => StatusCode::BAD_REQUEST,
        ResponseStatus::WithDataStatus(code) => {
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
        }
    };
    // A wrapped response carries no request id: the caller learns nothing but `wrap_info`.
    let request_id = if resp.wrap_info.is_some() {
        ""
    } else {
        request_id
    };
    let env = Envelope::<Value> {
        request_id: request_id.to_string(),
        lease_id: resp.lease_id,
        renewable: resp.renewable,
        lease_duration: resp.lease_duration,
        data: resp.data,
        wrap_info: resp.wrap_info,
        warnings: (!resp.warnings.is_empty()).then_some(resp.warnings),
        auth: resp.auth,
        mount_type: resp.mount_type,
    };
    if !duplicate {
        return json(status, &env);
    }
    let mut value = serde_json::to_value(env).unwrap_or(Value::Null);
    duplicate_data_members(&mut value);
    json(status, &value)
}

/// Copies the members of `data` to the top level (legacy sys routes), never overwriting
/// an envelope field.
fn duplicate_data_members(value: &mut Value) {
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    let Some(Value::Object(data)) = obj.get("data").cloned() else {
        return;
    };
    for (k, v) in data {
        obj.entry(k).or_insert(v);
    }
}

/// Headers every response carries.
pub fn finish(mut resp: Response, request_id: &str, tls: bool) -> Response {
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", v);
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplication_keeps_envelope_fields() {
        let mut v = json!({"request_id": "r", "data": {"term": 3, "request_id": "evil"}});
        duplicate_data_members(&mut v);
        assert_eq!(v["term"], 3);
        assert_eq!(v["request_id"], "r");
    }
}
