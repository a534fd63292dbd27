//! Dynamic credentials: `creds/:name` issues a database user on a lease; the lease's
//! revocation and renewal come back here (wire reference §7.3, §10.2).
//!
//! The lease's `internal` value (kept by the core inside the barrier, never shown) is
//! [`Internal`]: `{"db_name","role","username"}`. Revocation and renewal look the role up
//! again when they run, so edited statements apply to credentials issued before the edit;
//! a deleted role still revokes (with the driver's default revocation), but no longer
//! renews.
//!
//! The password of a credential exists only in the response that issues it: it is not
//! stored, and every error built while it is alive is scrubbed of it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::connections::Connections;
use super::driver::{generate_username, validate_username, DriverError, Vars};
use super::username::Names;
use super::{
    config, database_message, driver_failure, external, generate_password, mount_id, multierror,
    query_failure, roles, validate_name, RoleTtls,
};
use crate::engines::{EngineError, EngineRequest, EngineResponse, MountContext, NewSecret};

/// What a lease remembers about the credential it revokes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Internal {
    /// The connection.
    pub db_name: String,
    /// The role it was issued under.
    pub role: String,
    /// The database user.
    pub username: String,
}

impl Internal {
    fn parse(internal: &Value) -> Result<Internal, EngineError> {
        serde_json::from_value(internal.clone())
            .map_err(|e| EngineError::Corrupt(format!("database lease data: {e}")))
    }
}

/// The TTL of a new credential: the lease arithmetic itself (wire reference §10.2), so
/// the user's `VALID UNTIL` and the lease the core registers agree to the second.
fn issue_ttl(
    role_default: u64,
    role_max: u64,
    ctx: &MountContext,
    now: OffsetDateTime,
) -> Result<u64, EngineError> {
    let input = crate::lease::TtlInput {
        requested: 0,
        backend_ttl: role_default,
        backend_max: role_max,
        mount_default: ctx.default_lease_ttl,
        mount_max: ctx.max_lease_ttl,
        issue_time: now,
        now,
    };
    crate::lease::calculate(&input)
        .map(|outcome| outcome.ttl)
        .map_err(|e| EngineError::Invalid(e.to_string()))
}

/// `GET creds/:name`.
pub(super) async fn issue(
    req: &EngineRequest<'_>,
    conns: &Connections,
    role_name: &str,
) -> Result<EngineResponse, EngineError> {
    validate_name(role_name)?;
    let ctx = req.ctx;
    let role = roles::load(ctx, role_name)
        .await?
        .ok_or_else(|| EngineError::Invalid(format!("unknown role: {role_name}")))?;
    let config = config::require(ctx, &role.db_name).await?;
    if !config.allows(role_name) {
        return Err(EngineError::External(format!(
            "{role_name:?} is not an allowed role"
        )));
    }
    let plugin = config.plugin()?;
    let conn = conns.connection(&mount_id(ctx), &role.db_name, &config)?;
    let now = OffsetDateTime::now_utc();
    let username = match config.username_template()? {
        None => generate_username(plugin, req.display_name, role_name)
            .map_err(|e| EngineError::External(format!("unable to generate username: {e}")))?,
        Some(template) => {
            let name = template
                .render(
                    Names {
                        display_name: req.display_name,
                        role_name,
                    },
                    now,
                )
                .map_err(|e| EngineError::External(format!("unable to generate username: {e}")))?;
            validate_username(plugin, &name)
                .map_err(|e| EngineError::External(format!("unable to generate username: {e}")))?;
            name
        }
    };
    let password = generate_password(conns, &config.password_policy).await?;
    let ttl = issue_ttl(role.default_ttl, role.max_ttl, ctx, now)?;
    if role.creation_statements.is_empty() {
        return Err(EngineError::External("empty creation statements".into()));
    }
    let vars = Vars {
        name: &username,
        password: Some(&password),
        expiration: Some(now + Duration::from_secs(ttl)),
    };
    if let Err(e) = conn.execute(&role.creation_statements, &vars).await {
        if !role.rollback_statements.is_empty() {
            if let Err(rollback) = conn.execute(&role.rollback_statements, &vars).await {
                let rollback = super::scrub(&rollback.to_string(), &[password.as_str()]);
                tracing::warn!(role = role_name, db = %role.db_name, error = %rollback,
                    "rollback statements failed after a failed creation");
            }
        }
        // OpenBao's words: the connection fails when the transaction starts.
        let message = match &e {
            DriverError::Connect(_) => format!("unable to start transaction: {e}"),
            _ => query_failure(&e),
        };
        return Err(external(&message, &[password.as_str()]));
    }
    let internal = Internal {
        db_name: role.db_name.clone(),
        role: role_name.to_string(),
        username: username.clone(),
    };
    Ok(EngineResponse {
        data: Some(json!({ "username": username, "password": password.as_str() })),
        secret: Some(NewSecret {
            internal: serde_json::to_value(&internal)
                .map_err(|e| EngineError::Corrupt(e.to_string()))?,
            // The role's own default: the lease arithmetic caps it by the maximum and
            // warns, as Vault does (`ttl` above is the same value, capped silently).
            default_ttl: role.default_ttl,
            max_ttl: role.max_ttl,
            renewable: true,
            target: format!("{}/{}", mount_id(ctx), role.db_name),
        }),
        ..Default::default()
    })
}

/// Revokes a credential: the role's revocation statements (after ending the user's
/// sessions), or the driver's default revocation when it has none or is gone.
pub(super) async fn revoke(
    ctx: &MountContext,
    conns: &Connections,
    internal: &Value,
) -> Result<(), EngineError> {
    let internal = Internal::parse(internal)?;
    let config = config::require(ctx, &internal.db_name).await?;
    let conn = conns.connection(&mount_id(ctx), &internal.db_name, &config)?;
    let role = roles::load(ctx, &internal.role).await?;
    match role.filter(|r| !r.revocation_statements.is_empty()) {
        Some(role) => {
            conn.terminate_sessions(&internal.username)
                .await
                .map_err(|e| driver_failure("unable to end the user's sessions", &e, &[]))?;
            let vars = Vars {
                name: &internal.username,
                password: None,
                expiration: None,
            };
            conn.execute(&role.revocation_statements, &vars)
                .await
                .map_err(|e| revoke_failure(&e))?;
        }
        None => conn
            .drop_user(&internal.username)
            .await
            .map_err(|e| revoke_failure(&e))?,
    }
    Ok(())
}

/// A failed revocation: the database's message, bare, as OpenBao reports it (the lease
/// layer adds `failed to revoke entry: …`).
fn revoke_failure(error: &DriverError) -> EngineError {
    external(&database_message(error), &[])
}

fn role_gone(role: &str) -> EngineError {
    EngineError::Invalid(format!(
        "error during renew: could not find role with name {role:?}"
    ))
}

/// The TTLs of the role a credential was issued under.
pub(super) async fn role_ttls(
    ctx: &MountContext,
    internal: &Value,
) -> Result<RoleTtls, EngineError> {
    let internal = Internal::parse(internal)?;
    let role = roles::load(ctx, &internal.role)
        .await?
        .ok_or_else(|| role_gone(&internal.role))?;
    Ok(RoleTtls {
        default_ttl: role.default_ttl,
        max_ttl: role.max_ttl,
    })
}

/// Moves a credential's expiry in the database (role `renew_statements`, else the
/// plugin default; MySQL has none, so nothing runs).
pub(super) async fn renew(
    ctx: &MountContext,
    conns: &Connections,
    internal: &Value,
    expiration: OffsetDateTime,
) -> Result<(), EngineError> {
    let internal = Internal::parse(internal)?;
    let role = roles::load(ctx, &internal.role)
        .await?
        .ok_or_else(|| role_gone(&internal.role))?;
    let config = config::require(ctx, &internal.db_name).await?;
    let statements: Vec<String> = if role.renew_statements.is_empty() {
        config
            .plugin()?
            .default_renew_statements()
            .iter()
            .map(|s| (*s).to_string())
            .collect()
    } else {
        role.renew_statements.clone()
    };
    if statements.is_empty() {
        return Ok(());
    }
    let conn = conns.connection(&mount_id(ctx), &internal.db_name, &config)?;
    let vars = Vars {
        name: &internal.username,
        password: None,
        expiration: Some(expiration),
    };
    conn.execute(&statements, &vars)
        .await
        .map_err(|e| external(&multierror(&database_message(&e)), &[]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::core::request::Operation::{Read, Update};
    use crate::engines::database::testing::Mount;

    #[tokio::test]
    async fn ttl_choice() {
        let mut ctx = MountContext::for_test("logical/x/", "database/", "database_x").await;
        let now = OffsetDateTime::now_utc();
        let ttl = |d, m, ctx: &MountContext| issue_ttl(d, m, ctx, now).unwrap();
        // Role default, capped by the smaller max.
        assert_eq!(ttl(3600, 86400, &ctx), 3600);
        (ctx.default_lease_ttl, ctx.max_lease_ttl) = (1800, 7200);
        assert_eq!(ttl(0, 0, &ctx), 1800);
        assert_eq!(ttl(10_000, 0, &ctx), 7200);
        assert_eq!(ttl(10_000, 600, &ctx), 600);
        assert_eq!(ttl(0, 600, &ctx), 600);
        assert_eq!(ttl(0, 9000, &ctx), 1800);
    }

    fn stored_config(allowed: &[&str]) -> Value {
        json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres",
            "username": "admin",
            "password": "pw",
            "allowed_roles": allowed,
            "generation": 1
        })
    }

    #[tokio::test]
    async fn errors_before_any_database() {
        let m = Mount::new().await;
        match m.error(Read, "creds/nope", json!({})).await {
            EngineError::Invalid(msg) => assert_eq!(msg, "unknown role: nope"),
            other => panic!("{other:?}"),
        }
        m.call(
            Update,
            "roles/ro",
            json!({"db_name": "my", "creation_statements": "X"}),
        )
        .await
        .unwrap();
        match m.error(Read, "creds/ro", json!({})).await {
            EngineError::External(msg) => assert_eq!(
                msg,
                "1 error occurred:\n\t* failed to find entry for connection with name: \"my\"\n\n"
            ),
            other => panic!("{other:?}"),
        }
        m.put_raw("config/my", &stored_config(&["other", "ro-*"]))
            .await;
        match m.error(Read, "creds/ro", json!({})).await {
            EngineError::External(msg) => assert_eq!(
                msg,
                "1 error occurred:\n\t* \"ro\" is not an allowed role\n\n"
            ),
            other => panic!("{other:?}"),
        }
        // A role without creation statements (accepted when written) cannot issue.
        m.put_raw("config/my", &stored_config(&["*"])).await;
        m.call(Update, "roles/empty", json!({"db_name": "my"}))
            .await
            .unwrap();
        match m.error(Read, "creds/empty", json!({})).await {
            EngineError::External(msg) => {
                assert_eq!(msg, "1 error occurred:\n\t* empty creation statements\n\n")
            }
            other => panic!("{other:?}"),
        }
        // Lease functions: a deleted role no longer renews.
        let internal = json!({"db_name": "my", "role": "gone", "username": "v-x"});
        assert!(matches!(
            role_ttls(&m.ctx, &internal).await,
            Err(EngineError::Invalid(_))
        ));
        let internal = json!({"db_name": "my", "role": "ro", "username": "v-x"});
        assert_eq!(
            role_ttls(&m.ctx, &internal).await.unwrap(),
            RoleTtls {
                default_ttl: 0,
                max_ttl: 0
            }
        );
        assert!(matches!(
            role_ttls(&m.ctx, &json!({"x": 1})).await,
            Err(EngineError::Corrupt(_))
        ));
        // Revoking against a missing connection is an external failure (retried).
        let internal = json!({"db_name": "missing", "role": "ro", "username": "v-x"});
        assert!(matches!(
            revoke(&m.ctx, &m.conns, &internal).await,
            Err(EngineError::External(_))
        ));
    }
}
