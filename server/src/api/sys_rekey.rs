//! Legacy `sys/rekey/{init,update,verify}`: unauthenticated, raw bodies (Vault clients).

use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::response::{empty, json};
use crate::core::fields::{opt_string, FieldError};
use crate::core::request::Operation;
use crate::core::{Core, CoreError};
use crate::system::rotate_root::{init_params, update_body, verify_body};

/// Which legacy rekey endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RekeyEndpoint {
    Init,
    Update,
    Verify,
}

impl RekeyEndpoint {
    pub(super) fn from_path(path: &str) -> Option<RekeyEndpoint> {
        match path {
            "sys/rekey/init" => Some(RekeyEndpoint::Init),
            "sys/rekey/update" => Some(RekeyEndpoint::Update),
            "sys/rekey/verify" => Some(RekeyEndpoint::Verify),
            _ => None,
        }
    }
}

fn key_and_nonce(data: &Map<String, Value>) -> Result<(String, String), CoreError> {
    let key = opt_string(data, "key")?
        .filter(|k| !k.is_empty())
        .ok_or_else(|| FieldError("'key' must be specified in request body as JSON".into()))?;
    let nonce = opt_string(data, "nonce")?.unwrap_or_default();
    Ok((key, nonce))
}

pub(super) async fn handle(
    core: &Core,
    endpoint: RekeyEndpoint,
    op: Operation,
    data: &Map<String, Value>,
) -> Result<Response, ApiError> {
    match (endpoint, op) {
        (RekeyEndpoint::Init, Operation::Read) => {
            Ok(json(StatusCode::OK, &core.rekey_status().await?))
        }
        (RekeyEndpoint::Init, Operation::Update) => {
            let (shares, threshold, verify) = init_params(data)?;
            Ok(json(
                StatusCode::OK,
                &core.rekey_init(shares, threshold, verify).await?,
            ))
        }
        (RekeyEndpoint::Init, Operation::Delete) => {
            core.rekey_cancel().await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        (RekeyEndpoint::Update, Operation::Update) => {
            let (key, nonce) = key_and_nonce(data)?;
            Ok(json(
                StatusCode::OK,
                &update_body(core.rekey_update(&key, &nonce).await?)?,
            ))
        }
        (RekeyEndpoint::Verify, Operation::Read) => {
            Ok(json(StatusCode::OK, &core.rekey_verify_status().await?))
        }
        (RekeyEndpoint::Verify, Operation::Delete) => {
            Ok(json(StatusCode::OK, &core.rekey_verify_restart().await?))
        }
        (RekeyEndpoint::Verify, Operation::Update) => {
            let (key, nonce) = key_and_nonce(data)?;
            Ok(json(
                StatusCode::OK,
                &verify_body(core.rekey_verify_update(&key, &nonce).await?)?,
            ))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
