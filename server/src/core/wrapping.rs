//! Response wrapping: a response put in the cubbyhole of a new single-use token.

use std::sync::Arc;

use super::request::{LogicalRequest, LogicalResponse};
use super::{Core, CoreError, Unsealed};

impl Core {
    /// Wraps `resp` for `ttl` seconds (not yet implemented).
    pub(super) async fn wrap_response(
        &self,
        _unsealed: &Arc<Unsealed>,
        _req: &LogicalRequest,
        _resp: LogicalResponse,
        _ttl: u64,
    ) -> Result<LogicalResponse, CoreError> {
        Err(CoreError::Invalid(
            "response wrapping (X-Vault-Wrap-TTL) is not supported by this server yet".into(),
        ))
    }
}
