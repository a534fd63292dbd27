//! `sys/seal` (PUT/POST, sudo): drop every key from memory.

use super::Sudo;
use crate::core::request::{unknown_field_warning, LogicalRequest, LogicalResponse, Operation};
use crate::core::{Core, CoreError};

pub(super) async fn handle(
    core: &Core,
    req: &LogicalRequest,
    _sudo: Sudo,
) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Update {
        return Err(CoreError::MethodNotAllowed);
    }
    core.seal().await?;
    let mut resp = LogicalResponse::empty();
    resp.warnings.extend(unknown_field_warning(&req.data, &[]));
    Ok(resp)
}
