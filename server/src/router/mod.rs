//! Routing: a clean logical path → a closed [`Route`].
//!
//! Sits after token resolution and before the ACL in the pipeline. Every endpoint the
//! core serves behind the ACL is a variant here, so handlers match exhaustively and a
//! path that is not listed cannot reach any handler. The unauthenticated, pre-unseal
//! endpoints (`sys/init`, `sys/seal-status`, `sys/unseal`, `sys/health`, `sys/leader`,
//! legacy `sys/rekey/*`) are answered by `api` before this pipeline and are not routed
//! here. Mounted engines will add a longest-prefix table beside these fixed routes.

/// A `sys/` endpoint behind the ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysEndpoint {
    /// `sys/seal`.
    Seal,
    /// `sys/key-status`.
    KeyStatus,
    /// `sys/rotate` and `sys/rotate/keyring`.
    RotateKeyring,
    /// `sys/rotate/root/init` (OpenBao's authenticated rekey).
    RotateRootInit,
    /// `sys/rotate/root/update`.
    RotateRootUpdate,
    /// `sys/rotate/root/verify`.
    RotateRootVerify,
}

/// An `auth/token/` endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpoint {
    /// `auth/token/lookup-self`.
    LookupSelf,
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A system endpoint.
    Sys(SysEndpoint),
    /// A token-store endpoint.
    Token(TokenEndpoint),
    /// Under `sys/` but not an endpoint (404 `unsupported path`).
    UnknownSys,
}

impl Route {
    /// Root-protected paths: the token needs `sudo` as well as the verb capability.
    pub fn needs_sudo(self) -> bool {
        matches!(
            self,
            Route::Sys(
                SysEndpoint::Seal
                    | SysEndpoint::RotateKeyring
                    | SysEndpoint::RotateRootInit
                    | SysEndpoint::RotateRootUpdate
                    | SysEndpoint::RotateRootVerify
            )
        )
    }
}

/// Resolves a clean path (a list request's trailing `/` is ignored for matching).
pub fn resolve(path: &str) -> Option<Route> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let route = match path {
        "sys/seal" => Route::Sys(SysEndpoint::Seal),
        "sys/key-status" => Route::Sys(SysEndpoint::KeyStatus),
        "sys/rotate" | "sys/rotate/keyring" => Route::Sys(SysEndpoint::RotateKeyring),
        "sys/rotate/root/init" => Route::Sys(SysEndpoint::RotateRootInit),
        "sys/rotate/root/update" => Route::Sys(SysEndpoint::RotateRootUpdate),
        "sys/rotate/root/verify" => Route::Sys(SysEndpoint::RotateRootVerify),
        "auth/token/lookup-self" => Route::Token(TokenEndpoint::LookupSelf),
        p if p == "sys" || p.starts_with("sys/") => Route::UnknownSys,
        _ => return None,
    };
    Some(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            resolve("sys/rotate/keyring"),
            Some(Route::Sys(SysEndpoint::RotateKeyring))
        );
        assert_eq!(resolve("sys/seal"), Some(Route::Sys(SysEndpoint::Seal)));
        assert_eq!(resolve("sys/nope"), Some(Route::UnknownSys));
        assert_eq!(resolve("secret/data/x"), None);
        assert_eq!(resolve("system/x"), None);
        assert!(Route::Sys(SysEndpoint::Seal).needs_sudo());
        assert!(!Route::Sys(SysEndpoint::KeyStatus).needs_sudo());
    }
}
