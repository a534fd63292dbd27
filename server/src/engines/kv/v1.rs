//! KV version 1: the whole request body is the secret; one value per key.
//!
//! Also serves `cubbyhole/` (through a per-token view, without TTL reporting). Keys are
//! the request path relative to the mount, stored as-is in the mount's view, which
//! refuses empty, `.`/`..` segments and control characters (400). Values are stored as
//! the JSON the client sent, so numbers and nesting round-trip unchanged.

use serde_json::{json, Map, Value};

use crate::core::duration::parse_seconds;
use crate::core::request::Operation;
use crate::engines::{EngineError, EngineRequest, EngineResponse};

/// How reads report `lease_duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlReporting {
    /// kv v1: the secret's `ttl` field, else the mount's default TTL.
    MountDefault,
    /// cubbyhole: always 0.
    None,
}

/// Serves one request.
pub async fn handle(
    req: &EngineRequest<'_>,
    ttl: TtlReporting,
) -> Result<EngineResponse, EngineError> {
    match req.operation {
        Operation::Read => read(req, ttl).await,
        Operation::List => list(req).await,
        Operation::Update => write(req).await,
        Operation::Delete => {
            require_key(req.path)?;
            req.ctx.view.delete(req.path).await?;
            Ok(EngineResponse::empty())
        }
        Operation::Patch => Err(EngineError::UnsupportedOperation),
    }
}

/// Existence check for the ACL's create-vs-update decision: whether the key exists.
/// `None` for paths that have no item (folders).
pub async fn exists(req: &EngineRequest<'_>) -> Result<Option<bool>, EngineError> {
    if req.path.is_empty() || req.path.ends_with('/') {
        return Ok(None);
    }
    Ok(Some(req.ctx.view.get(req.path).await?.is_some()))
}

fn require_key(path: &str) -> Result<(), EngineError> {
    if path.is_empty() || path.ends_with('/') {
        return Err(EngineError::Invalid(
            "a key name is required (the path must not end in '/')".to_string(),
        ));
    }
    Ok(())
}

async fn read(req: &EngineRequest<'_>, ttl: TtlReporting) -> Result<EngineResponse, EngineError> {
    if req.path.is_empty() || req.path.ends_with('/') {
        return Err(EngineError::NotFound);
    }
    let Some(raw) = req.ctx.view.get(req.path).await? else {
        return Err(EngineError::NotFound);
    };
    let data: Value =
        serde_json::from_slice(&raw).map_err(|e| EngineError::Corrupt(e.to_string()))?;
    let lease_duration = match ttl {
        TtlReporting::None => 0,
        TtlReporting::MountDefault => secret_ttl(&data).unwrap_or(req.ctx.default_lease_ttl),
    };
    Ok(EngineResponse {
        data: Some(data),
        lease_duration,
        ..Default::default()
    })
}

/// The `ttl` field of a stored secret, in seconds, when present and valid.
fn secret_ttl(data: &Value) -> Option<u64> {
    match data.get("ttl")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_seconds(s).ok(),
        _ => None,
    }
}

async fn list(req: &EngineRequest<'_>) -> Result<EngineResponse, EngineError> {
    let folder = if req.path.is_empty() || req.path.ends_with('/') {
        req.path.to_string()
    } else {
        format!("{}/", req.path)
    };
    let keys = req.ctx.view.list(&folder).await?;
    if keys.is_empty() {
        return Err(EngineError::NotFound);
    }
    Ok(EngineResponse::data(json!({ "keys": keys })))
}

async fn write(req: &EngineRequest<'_>) -> Result<EngineResponse, EngineError> {
    require_key(req.path)?;
    if req.data.is_empty() {
        return Err(EngineError::Invalid("missing data fields".to_string()));
    }
    if let Some(ttl) = req.data.get("ttl") {
        let ok = match ttl {
            Value::Number(n) => n.as_u64().is_some(),
            Value::String(s) => parse_seconds(s).is_ok(),
            _ => false,
        };
        if !ok {
            return Err(EngineError::Invalid(format!(
                "invalid 'ttl': {}",
                parse_seconds(&ttl.to_string())
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default()
            )));
        }
    }
    let body = serde_json::to_vec(&Value::Object(Map::clone(req.data)))
        .map_err(|e| EngineError::Corrupt(e.to_string()))?;
    req.ctx.view.put(req.path, &body).await?;
    Ok(EngineResponse::empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engines::{EngineRequest, MountContext};
    use serde_json::json;

    async fn ctx() -> MountContext {
        MountContext::for_test("logical/test/", "kv/", "kv_12345678").await
    }

    async fn call(
        ctx: &MountContext,
        op: Operation,
        path: &str,
        data: Value,
    ) -> Result<EngineResponse, EngineError> {
        let data = data.as_object().cloned().unwrap_or_default();
        handle(
            &EngineRequest {
                operation: op,
                path,
                data: &data,
                ctx,
                display_name: "token",
            },
            TtlReporting::MountDefault,
        )
        .await
    }

    #[tokio::test]
    async fn write_read_list_delete() {
        let c = ctx().await;
        let secret = json!({"n": 5, "nested": {"a": [1, 2.5, "x"]}, "s": "v"});
        assert_eq!(
            call(&c, Operation::Update, "app/db", secret.clone())
                .await
                .unwrap(),
            EngineResponse::empty()
        );
        let r = call(&c, Operation::Read, "app/db", json!({}))
            .await
            .unwrap();
        assert_eq!(r.data.unwrap(), secret);
        assert_eq!(r.lease_duration, 2_764_800);
        call(
            &c,
            Operation::Update,
            "app/ttl",
            json!({"ttl": "30m", "v": 1}),
        )
        .await
        .unwrap();
        assert_eq!(
            call(&c, Operation::Read, "app/ttl", json!({}))
                .await
                .unwrap()
                .lease_duration,
            1800
        );
        call(&c, Operation::Update, "top", json!({"v": 1}))
            .await
            .unwrap();
        let l = call(&c, Operation::List, "", json!({})).await.unwrap();
        assert_eq!(l.data.unwrap(), json!({"keys": ["app/", "top"]}));
        let l = call(&c, Operation::List, "app/", json!({})).await.unwrap();
        assert_eq!(l.data.unwrap(), json!({"keys": ["db", "ttl"]}));
        assert!(matches!(
            call(&c, Operation::List, "nothing/", json!({})).await,
            Err(EngineError::NotFound)
        ));
        call(&c, Operation::Delete, "app/db", json!({}))
            .await
            .unwrap();
        call(&c, Operation::Delete, "app/db", json!({}))
            .await
            .unwrap();
        assert!(matches!(
            call(&c, Operation::Read, "app/db", json!({})).await,
            Err(EngineError::NotFound)
        ));
    }

    #[tokio::test]
    async fn bad_input() {
        let c = ctx().await;
        assert!(matches!(
            call(&c, Operation::Update, "k", json!({})).await,
            Err(EngineError::Invalid(_))
        ));
        assert!(matches!(
            call(&c, Operation::Update, "k/", json!({"a": 1})).await,
            Err(EngineError::Invalid(_))
        ));
        assert!(matches!(
            call(&c, Operation::Update, "k", json!({"ttl": "bogus"})).await,
            Err(EngineError::Invalid(_))
        ));
        let e = call(&c, Operation::Update, "a/../b", json!({"a": 1}))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Invalid);
        let e = call(&c, Operation::Update, "a//b", json!({"a": 1}))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Invalid);
        assert!(matches!(
            call(&c, Operation::Patch, "k", json!({"a": 1})).await,
            Err(EngineError::UnsupportedOperation)
        ));
        // Any UTF-8 key name without control characters is fine.
        call(
            &c,
            Operation::Update,
            "ünïcode key/with spaces",
            json!({"a": 1}),
        )
        .await
        .unwrap();
    }
}
