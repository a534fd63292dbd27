//! Cubbyhole: private storage per token.
//!
//! Same semantics as kv v1, but every token sees only its own subtree: the core hands
//! this engine a view already narrowed to `logical/<cubbyhole uuid>/<token key>/`, where
//! the token key is a keyed hash of the token (a different HMAC domain from the token
//! store's ids). Another token cannot name that prefix, so it reads 404.

use super::kv::v1::{self, TtlReporting};
use super::{EngineError, EngineRequest, EngineResponse};

/// Serves one request on the caller's own cubbyhole.
pub async fn handle(req: &EngineRequest<'_>) -> Result<EngineResponse, EngineError> {
    v1::handle(req, TtlReporting::None).await
}

/// Existence check (as kv v1).
pub async fn exists(req: &EngineRequest<'_>) -> Result<Option<bool>, EngineError> {
    v1::exists(req).await
}
