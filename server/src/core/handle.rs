//! The request pipeline behind the ACL.
//!
//! sealed? → resolve token → route → authorise (proof) → handler. Every step builds the
//! next step's input; nothing is mutated and restored.

use std::sync::Arc;

use super::request::{LogicalRequest, LogicalResponse};
use super::{Core, CoreError};
use crate::auth::TokenEntry;
use crate::policy::{Acl, Authorized};
use crate::router::{self, Route};
use crate::{auth, system};

/// Who is calling, once the token resolved.
#[derive(Debug)]
pub struct Caller<'a> {
    /// The stored entry of the presented token.
    pub entry: Arc<TokenEntry>,
    /// The presented token itself (echoed only to its own holder).
    pub token: &'a crate::auth::ClientToken,
}

impl Core {
    /// Serves one logical request.
    pub async fn handle(&self, req: &LogicalRequest) -> Result<LogicalResponse, CoreError> {
        let unsealed = self.unsealed()?;
        let token = req.token.as_ref().ok_or(CoreError::PermissionDenied)?;
        let entry = unsealed
            .tokens
            .resolve(token)
            .await?
            .ok_or(CoreError::PermissionDenied)?;
        let route = router::resolve(&req.path);
        let acl = Acl::for_policies(&entry.policies);
        let needs_sudo = route.is_some_and(Route::needs_sudo);
        let authorized: Authorized = acl.authorize(req.operation, &req.path, needs_sudo)?;
        let caller = Caller { entry, token };
        match route {
            Some(Route::Sys(endpoint)) => system::handle(self, endpoint, req, authorized).await,
            Some(Route::Token(endpoint)) => {
                auth::token_endpoints::handle(endpoint, req, &caller, authorized)
            }
            Some(Route::UnknownSys) => Err(CoreError::UnsupportedPath),
            None => Err(CoreError::NoHandler(req.path.clone())),
        }
    }
}
