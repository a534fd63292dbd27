//! `sys/rotate` and `sys/rotate/keyring` (PUT/POST, sudo): add a keyring term.
//!
//! New writes use the new term; entries written under older terms still decrypt.

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
    let status = core.barrier().rotate().await?;
    tracing::info!(term = status.term, "keyring rotated");
    let mut resp = LogicalResponse::empty();
    resp.warnings.extend(unknown_field_warning(&req.data, &[]));
    Ok(resp)
}
