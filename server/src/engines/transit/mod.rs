//! Transit: encryption as a service (skeleton; filled in by the transit work).

use super::{EngineError, EngineRequest, EngineResponse};

/// Serves one request on a transit mount.
pub async fn handle(_req: &EngineRequest<'_>) -> Result<EngineResponse, EngineError> {
    Err(EngineError::UnsupportedPath)
}

/// Existence check for writes (create vs update).
pub async fn exists(_req: &EngineRequest<'_>) -> Result<Option<bool>, EngineError> {
    Ok(None)
}
