//! `sys/seal-status` (GET) and `sys/unseal` (PUT/POST): unauthenticated, raw bodies.

use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::response::json;
use crate::core::fields::{opt_bool, opt_string};
use crate::core::request::Operation;
use crate::core::{Core, CoreError, UnsealInput};

pub(super) async fn seal_status(core: &Core, op: Operation) -> Result<Response, ApiError> {
    if op != Operation::Read {
        return Err(ApiError::MethodNotAllowed);
    }
    Ok(json(StatusCode::OK, &core.seal_status().await))
}

pub(super) async fn unseal(
    core: &Core,
    op: Operation,
    data: &Map<String, Value>,
) -> Result<Response, ApiError> {
    if op != Operation::Update {
        return Err(ApiError::MethodNotAllowed);
    }
    if opt_bool(data, "migrate")? == Some(true) {
        return Err(CoreError::Invalid("seal migration is not supported".to_string()).into());
    }
    let reset = opt_bool(data, "reset")?.unwrap_or(false);
    let input = if reset {
        UnsealInput::Reset
    } else {
        match opt_string(data, "key")? {
            Some(key) if !key.is_empty() => UnsealInput::Key(key),
            _ => {
                if !core.is_initialized() {
                    return Err(CoreError::NotInitialized.into());
                }
                return Err(CoreError::Invalid(
                    "'key' must be specified in request body as JSON, or 'reset' set to true"
                        .to_string(),
                )
                .into());
            }
        }
    };
    core.unseal(input).await?;
    Ok(json(StatusCode::OK, &core.seal_status().await))
}
