//! `sys/init` (unauthenticated, raw body).

use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value};
use strongroom_client::api::{InitResponse, InitStatus};

use super::error::ApiError;
use super::response::json;
use crate::core::fields::{opt_u32, require_empty};
use crate::core::request::Operation;
use crate::core::Core;

pub(super) async fn handle(
    core: &Core,
    op: Operation,
    data: &Map<String, Value>,
) -> Result<Response, ApiError> {
    match op {
        Operation::Read => Ok(json(
            StatusCode::OK,
            &InitStatus {
                initialized: core.is_initialized(),
            },
        )),
        Operation::Update => {
            require_empty(data, "pgp_keys", "PGP encryption of key shares")?;
            require_empty(
                data,
                "root_token_pgp_key",
                "PGP encryption of the root token",
            )?;
            require_empty(data, "recovery_shares", "a recovery seal")?;
            require_empty(data, "recovery_pgp_keys", "a recovery seal")?;
            let shares = opt_u32(data, "secret_shares")?.unwrap_or(0);
            let threshold = opt_u32(data, "secret_threshold")?.unwrap_or(0);
            let out = core.init(shares, threshold).await?;
            let body = InitResponse {
                keys: out.shares.iter().map(|s| s.to_hex()).collect(),
                keys_base64: out.shares.iter().map(|s| s.to_base64()).collect(),
                root_token: out.root_token.expose().to_string(),
            };
            Ok(json(StatusCode::OK, &body))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
