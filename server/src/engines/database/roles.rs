//! Dynamic roles: `roles/:name` (create/update/read/delete/list), wire reference §7.2.
//!
//! Storage: `role/<name>` → [`Role`] (JSON). A role names its connection (`db_name`) but
//! is not checked against it when written (Vault's behaviour): the connection may come
//! later, and `creds` reports a missing one. An update merges into the stored role.
//! Writes hold the role's per-name lock.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::statements::opt_statements;
use super::{field, list_keys, load_json, lock, store_json, validate_name};
use crate::core::duration::opt_duration;
use crate::core::fields::opt_string;
use crate::core::request::unknown_field_warning;
use crate::engines::{EngineError, EngineRequest, EngineResponse, MountContext};

/// Storage folder of dynamic roles.
const PREFIX: &str = "role/";

/// Fields `roles/:name` accepts.
const KNOWN: &[&str] = &[
    "db_name",
    "creation_statements",
    "revocation_statements",
    "rollback_statements",
    "renew_statements",
    "default_ttl",
    "max_ttl",
    "credential_type",
    "credential_config",
];

/// A stored dynamic role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Role {
    /// The connection.
    pub db_name: String,
    /// Statements that create the user (empty until written: `creds` then refuses).
    #[serde(default)]
    pub creation_statements: Vec<String>,
    /// Statements that drop it (empty: the driver's default revocation).
    #[serde(default)]
    pub revocation_statements: Vec<String>,
    /// Statements run when creation fails half-way.
    #[serde(default)]
    pub rollback_statements: Vec<String>,
    /// Statements that extend it (empty: the plugin default).
    #[serde(default)]
    pub renew_statements: Vec<String>,
    /// Seconds; 0 = the mount default.
    #[serde(default)]
    pub default_ttl: u64,
    /// Seconds; 0 = the mount maximum.
    #[serde(default)]
    pub max_ttl: u64,
}

/// Vault's error for a field value that does not convert (a bad duration, say).
pub(super) fn conversion_error(field: &str, error: &impl std::fmt::Display) -> EngineError {
    EngineError::Invalid(format!(
        "error converting input for field {field:?}: {error}"
    ))
}

/// `credential_type`: only `password` is offered.
pub(super) fn check_credential_type(
    data: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), EngineError> {
    match field(opt_string(data, "credential_type"))?.as_deref() {
        None | Some("" | "password") => Ok(()),
        Some(other) => Err(EngineError::Invalid(format!(
            "credential_type {other:?} is not supported by this server: use \"password\""
        ))),
    }
}

/// The stored role `name`.
pub(super) async fn load(ctx: &MountContext, name: &str) -> Result<Option<Role>, EngineError> {
    load_json(ctx, &format!("{PREFIX}{name}")).await
}

/// Whether role `name` exists (create-vs-update check).
pub(super) async fn exists(ctx: &MountContext, name: &str) -> Result<bool, EngineError> {
    Ok(ctx.view.get(&format!("{PREFIX}{name}")).await?.is_some())
}

/// `LIST roles`.
pub(super) async fn list(ctx: &MountContext) -> Result<EngineResponse, EngineError> {
    list_keys(ctx, PREFIX).await
}

/// `GET roles/:name`.
pub(super) async fn read(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let role = load(ctx, name).await?.ok_or(EngineError::NotFound)?;
    Ok(EngineResponse::data(json!({
        "creation_statements": role.creation_statements,
        "credential_type": "password",
        "db_name": role.db_name,
        "default_ttl": role.default_ttl,
        "max_ttl": role.max_ttl,
        "renew_statements": role.renew_statements,
        "revocation_statements": role.revocation_statements,
        "rollback_statements": role.rollback_statements,
    })))
}

/// `DELETE roles/:name` (issued credentials stay until their leases end).
pub(super) async fn delete(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let _guard = lock(ctx, PREFIX, name).await;
    ctx.view.delete(&format!("{PREFIX}{name}")).await?;
    Ok(EngineResponse::empty())
}

/// `POST roles/:name`.
pub(super) async fn write(
    req: &EngineRequest<'_>,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let data = req.data;
    check_credential_type(data)?;
    let ttl = |f: &str| opt_duration(data, f).map_err(|e| conversion_error(f, &e));
    let default_ttl = ttl("default_ttl")?;
    let max_ttl = ttl("max_ttl")?;
    let db_name = field(opt_string(data, "db_name"))?;
    let creation = opt_statements(data, "creation_statements")?;
    let revocation = opt_statements(data, "revocation_statements")?;
    let rollback = opt_statements(data, "rollback_statements")?;
    let renew = opt_statements(data, "renew_statements")?;

    let _guard = lock(req.ctx, PREFIX, name).await;
    let mut role = match load(req.ctx, name).await? {
        Some(role) => role,
        None => Role {
            db_name: String::new(),
            creation_statements: Vec::new(),
            revocation_statements: Vec::new(),
            rollback_statements: Vec::new(),
            renew_statements: Vec::new(),
            default_ttl: 0,
            max_ttl: 0,
        },
    };
    if let Some(v) = db_name {
        role.db_name = v;
    }
    if let Some(v) = creation {
        role.creation_statements = v;
    }
    if let Some(v) = revocation {
        role.revocation_statements = v;
    }
    if let Some(v) = rollback {
        role.rollback_statements = v;
    }
    if let Some(v) = renew {
        role.renew_statements = v;
    }
    if let Some(v) = default_ttl {
        role.default_ttl = v;
    }
    if let Some(v) = max_ttl {
        role.max_ttl = v;
    }
    if role.db_name.is_empty() {
        return Err(EngineError::Invalid("database name is required".into()));
    }
    validate_name(&role.db_name)?;
    // As in Vault, neither empty creation statements (`creds` refuses them) nor a
    // default TTL above the maximum (capped at issue, with a warning) is refused here:
    // a role may be written in several steps.
    store_json(req.ctx, &format!("{PREFIX}{name}"), &role).await?;
    let warnings = unknown_field_warning(data, KNOWN).into_iter().collect();
    Ok(EngineResponse {
        warnings,
        ..Default::default()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use base64::Engine as _;
    use serde_json::json;

    use crate::core::request::Operation::{Delete, List, Read, Update};
    use crate::engines::database::testing::Mount;
    use crate::engines::EngineError;

    #[tokio::test]
    async fn write_read_shapes() {
        let m = Mount::new().await;
        let one = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";";
        m.call(
            Update,
            "roles/ro",
            json!({"db_name": "pg", "creation_statements": one, "default_ttl": "1h", "max_ttl": 86400}),
        )
        .await
        .unwrap();
        assert_eq!(
            m.data(Read, "roles/ro", json!({})).await,
            json!({
                "creation_statements": [one],
                "credential_type": "password",
                "db_name": "pg",
                "default_ttl": 3600,
                "max_ttl": 86400,
                "renew_statements": [],
                "revocation_statements": [],
                "rollback_statements": []
            })
        );
        // Arrays and base64 (of a JSON array) are accepted too.
        let b64 = base64::engine::general_purpose::STANDARD.encode(r#"["A;","B;"]"#);
        m.call(
            Update,
            "roles/b",
            json!({"db_name": "pg", "creation_statements": b64, "revocation_statements": ["DROP;"], "renew_statements": "R1"}),
        )
        .await
        .unwrap();
        let r = m.data(Read, "roles/b", json!({})).await;
        assert_eq!(r["creation_statements"], json!(["A;", "B;"]));
        assert_eq!(r["revocation_statements"], json!(["DROP;"]));
        assert_eq!(r["renew_statements"], json!(["R1"]));
        assert_eq!(r["default_ttl"], json!(0));
        // An update merges.
        m.call(Update, "roles/b", json!({"default_ttl": 60}))
            .await
            .unwrap();
        let r = m.data(Read, "roles/b", json!({})).await;
        assert_eq!(r["creation_statements"], json!(["A;", "B;"]));
        assert_eq!(r["default_ttl"], json!(60));
        assert_eq!(
            m.data(List, "roles/", json!({})).await,
            json!({"keys": ["b", "ro"]})
        );
        m.call(Delete, "roles/b", json!({})).await.unwrap();
        assert!(matches!(
            m.error(Read, "roles/b", json!({})).await,
            EngineError::NotFound
        ));
        // Unknown fields warn.
        let r = m
            .call(Update, "roles/ro", json!({"bogus": 1}))
            .await
            .unwrap();
        assert_eq!(
            r.warnings,
            ["Endpoint ignored these unrecognized parameters: [bogus]"]
        );
    }

    #[tokio::test]
    async fn refused() {
        let m = Mount::new().await;
        let cases = [
            (json!({"creation_statements": "X"}), "database name is required"),
            (
                json!({"db_name": "pg", "creation_statements": "X", "credential_type": "rsa_private_key"}),
                "credential_type \"rsa_private_key\" is not supported by this server: use \"password\"",
            ),
            (
                json!({"db_name": "pg", "creation_statements": "X", "default_ttl": "bogus"}),
                "error converting input for field \"default_ttl\": time: invalid duration \"bogus\"",
            ),
        ];
        for (body, message) in cases {
            match m.error(Update, "roles/r", body.clone()).await {
                EngineError::Invalid(got) => assert_eq!(got, message, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(
            m.error(Update, &format!("roles/{}", "x".repeat(129)), json!({}))
                .await,
            EngineError::Invalid(_)
        ));
        assert!(matches!(
            m.error(Read, "roles/r", json!({})).await,
            EngineError::NotFound
        ));
    }

    /// What OpenBao accepts: a role without statements yet (written in steps) and a
    /// default TTL above the maximum (capped when credentials are issued).
    #[tokio::test]
    async fn accepted_like_openbao() {
        let m = Mount::new().await;
        m.call(Update, "roles/steps", json!({"db_name": "pg"}))
            .await
            .unwrap();
        let r = m.data(Read, "roles/steps", json!({})).await;
        assert_eq!(r["creation_statements"], json!([]));
        m.call(Update, "roles/steps", json!({"creation_statements": "X"}))
            .await
            .unwrap();
        let r = m.data(Read, "roles/steps", json!({})).await;
        assert_eq!(r["creation_statements"], json!(["X"]));
        assert_eq!(r["db_name"], json!("pg"));
        m.call(
            Update,
            "roles/big",
            json!({"db_name": "pg", "creation_statements": "X", "default_ttl": 100, "max_ttl": 10}),
        )
        .await
        .unwrap();
        let r = m.data(Read, "roles/big", json!({})).await;
        assert_eq!(
            (r["default_ttl"].clone(), r["max_ttl"].clone()),
            (json!(100), json!(10))
        );
    }
}
