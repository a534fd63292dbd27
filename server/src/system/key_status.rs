//! `sys/key-status` (GET): the active keyring term.

use strongroom_client::api::KeyStatus;
use time::format_description::well_known::Rfc3339;

use crate::core::request::{LogicalRequest, LogicalResponse, Operation};
use crate::core::{Core, CoreError};

pub(super) fn handle(core: &Core, req: &LogicalRequest) -> Result<LogicalResponse, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::MethodNotAllowed);
    }
    let status = core.barrier().key_status()?;
    let body = KeyStatus {
        term: status.term,
        install_time: status.install_time.format(&Rfc3339).unwrap_or_default(),
        encryptions: status.encryptions,
    };
    let mut resp = LogicalResponse::with_data(
        serde_json::to_value(body).map_err(|e| CoreError::Invalid(e.to_string()))?,
    );
    resp.duplicate_top_level = true;
    Ok(resp)
}
