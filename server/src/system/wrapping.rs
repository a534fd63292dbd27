//! `sys/wrapping/wrap`, `unwrap` (a wrapping token in the body), `rewrap` and `lookup`
//! behind the ACL. The wrapping itself lives in `core/wrapping.rs`; an unwrap with the
//! wrapping token as the presented token, and lookups, are answered before the ACL.

use crate::core::request::{LogicalRequest, LogicalResponse, Operation};
use crate::core::wrapping::body_token;
use crate::core::{Core, CoreError, Unsealed};

/// `sys/wrapping/wrap`: the body becomes the data of a response the pipeline then wraps.
pub(super) fn wrap(req: &LogicalRequest) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    if req.wrap_ttl.is_none() {
        return Err(CoreError::Invalid(
            "endpoint requires response wrapping to be used".into(),
        ));
    }
    if req.data.is_empty() {
        return Err(CoreError::Invalid("empty request body".into()));
    }
    Ok(LogicalResponse::with_data(serde_json::Value::Object(
        req.data.clone(),
    )))
}

/// `sys/wrapping/unwrap {"token": ...}` (the caller's own token passed the ACL).
pub(super) async fn unwrap(
    core: &Core,
    unsealed: &Unsealed,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let token = wrapping_token(req, || CoreError::WrappingTokenMissing)?;
    core.unwrap(unsealed, &token).await
}

/// `sys/wrapping/rewrap {"token": ...}`.
pub(super) async fn rewrap(
    core: &Core,
    unsealed: &Unsealed,
    req: &LogicalRequest,
) -> Result<LogicalResponse, CoreError> {
    let token = wrapping_token(req, || CoreError::Invalid("missing required token".into()))?;
    core.rewrap(unsealed, &token).await
}

/// The wrapping token in the body of a PUT/POST; `missing` when there is none.
fn wrapping_token(
    req: &LogicalRequest,
    missing: impl FnOnce() -> CoreError,
) -> Result<crate::auth::ClientToken, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    body_token(&req.data)?.ok_or_else(missing)
}
