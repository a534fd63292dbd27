//! The database secrets engine (`type=database`): connections, dynamic roles with leased
//! credentials, static roles with rotated passwords (wire reference §7).
//!
//! Where it sits: `core → engines::database → driver`. The core hands [`handle`] an
//! [`EngineRequest`] and the shared [`Connections`] registry; the lease machinery calls
//! [`revoke`], [`role_ttls`] and [`renew`] with the `internal` value a credential was
//! issued with, and the background job calls [`rotate_due_static_roles`].
//!
//! One file per resource: [`config`] (connections, `reset`, `rotate-root`), [`roles`]
//! (dynamic roles), [`creds`] (dynamic credentials and their leases), [`static_roles`]
//! (static roles, `static-creds`, `rotate-role`, the rotation pass), [`rotation`]
//! (periods, cron schedules, windows, backoff), [`connections`] (the pool registry),
//! [`statements`] (statement-list fields), [`username`] (username templates),
//! [`secret`] (stored passwords).
//!
//! Storage, relative to the mount's view: `config/<name>`, `role/<name>`,
//! `static-role/<name>`, all JSON inside the barrier.
//!
//! Invariants:
//! - Passwords (admin, static, generated) live in zeroizing types with redacted `Debug`;
//!   they leave the engine only in the response that issues them (`creds`,
//!   `static-creds`). Errors from drivers are already scrubbed by the driver, and
//!   [`driver_failure`] / [`external`] scrub the passwords the engine knows once more,
//!   so no error, log line or `Debug` output holds one.
//! - Failures reach the client in OpenBao's words: [`handle`] renders an external
//!   (500) failure as a Go multierror, as OpenBao's request handling does; the bare
//!   message is what leases, rotation records and logs keep.
//! - Read-modify-write of one item holds that item's async lock (a process-wide table
//!   keyed by mount and item); no lock is shared between items, connections or mounts,
//!   and the registry's std mutex is never held across `.await`. A slow or unreachable
//!   database only delays the requests that talk to it (each driver call is bounded by
//!   the driver's timeouts).

pub mod driver;

mod config;
mod connections;
mod creds;
#[cfg(test)]
mod live;
mod roles;
mod rotation;
mod secret;
mod statements;
mod static_roles;
mod username;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::OwnedMutexGuard;
use zeroize::Zeroizing;

pub use connections::Connections;

use super::{EngineError, EngineRequest, EngineResponse, MountContext};
use crate::core::fields::FieldError;
use crate::core::request::Operation;

/// TTLs of the role a lease was issued under, for renewal arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleTtls {
    /// Role `default_ttl`, seconds (0 = mount default).
    pub default_ttl: u64,
    /// Role `max_ttl`, seconds (0 = mount max).
    pub max_ttl: u64,
}

/// What a pass of the static-rotation job did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// Roles whose password was changed.
    pub rotated: usize,
    /// Roles whose rotation failed (retried later with backoff).
    pub failed: usize,
    /// When the next rotation of this mount is due, if any.
    pub next_due: Option<OffsetDateTime>,
}

// --- Routes ---

/// What a request addresses (names not yet validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Configs,
    Config(&'a str),
    Reset(&'a str),
    RotateRoot(&'a str),
    Roles,
    Role(&'a str),
    Creds(&'a str),
    StaticRoles,
    StaticRole(&'a str),
    StaticCreds(&'a str),
    RotateRole(&'a str),
}

fn route(path: &str) -> Result<Route<'_>, EngineError> {
    // A trailing `/` only follows a collection (`LIST config/`): `config/pg/` matches no
    // pattern in Vault either (404 unsupported path, not 405).
    let (head, name) = match path.split_once('/') {
        Some((head, "")) => (head, None),
        Some((head, name)) if !name.contains('/') => (head, Some(name)),
        Some(_) => return Err(EngineError::UnsupportedPath),
        None => (path, None),
    };
    Ok(match (head, name) {
        ("config", None) => Route::Configs,
        ("config", Some(n)) => Route::Config(n),
        ("reset", Some(n)) => Route::Reset(n),
        ("rotate-root", Some(n)) => Route::RotateRoot(n),
        ("roles", None) => Route::Roles,
        ("roles", Some(n)) => Route::Role(n),
        ("creds", Some(n)) => Route::Creds(n),
        ("static-roles", None) => Route::StaticRoles,
        ("static-roles", Some(n)) => Route::StaticRole(n),
        ("static-creds", Some(n)) => Route::StaticCreds(n),
        ("rotate-role", Some(n)) => Route::RotateRole(n),
        _ => return Err(EngineError::UnsupportedPath),
    })
}

// --- Contract with the core ---

/// Serves a request to a database mount.
pub async fn handle(
    req: &EngineRequest<'_>,
    conns: &Connections,
) -> Result<EngineResponse, EngineError> {
    serve(req, conns).await.map_err(|e| match e {
        // Vault's request handling renders a backend's (non-user) failure as a Go
        // multierror; the engine keeps the bare message for logs, leases and reads.
        EngineError::External(message) => EngineError::External(multierror(&message)),
        other => other,
    })
}

async fn serve(
    req: &EngineRequest<'_>,
    conns: &Connections,
) -> Result<EngineResponse, EngineError> {
    use Operation::{Delete, List, Read, Update};
    let ctx = req.ctx;
    match (route(req.path)?, req.operation) {
        (Route::Configs, List) => config::list(ctx).await,
        (Route::Config(n), Read) => config::read(ctx, n).await,
        (Route::Config(n), Update) => config::write(req, conns, n).await,
        (Route::Config(n), Delete) => config::delete(ctx, conns, n).await,
        (Route::Reset(n), Update) => config::reset(ctx, conns, n).await,
        (Route::RotateRoot(n), Update) => config::rotate_root(ctx, conns, n).await,
        (Route::Roles, List) => roles::list(ctx).await,
        (Route::Role(n), Read) => roles::read(ctx, n).await,
        (Route::Role(n), Update) => roles::write(req, n).await,
        (Route::Role(n), Delete) => roles::delete(ctx, n).await,
        (Route::Creds(n), Read) => creds::issue(req, conns, n).await,
        (Route::StaticRoles, List) => static_roles::list(ctx).await,
        (Route::StaticRole(n), Read) => static_roles::read(ctx, n).await,
        (Route::StaticRole(n), Update) => static_roles::write(req, conns, n).await,
        (Route::StaticRole(n), Delete) => static_roles::delete(ctx, n).await,
        (Route::StaticCreds(n), Read) => static_roles::creds(ctx, n).await,
        (Route::RotateRole(n), Update) => static_roles::rotate_now(ctx, conns, n).await,
        _ => Err(EngineError::UnsupportedOperation),
    }
}

/// Existence check for writes (create vs update): `config/:name`, `roles/:name`,
/// `static-roles/:name`; `None` for paths without one.
pub async fn exists(req: &EngineRequest<'_>) -> Result<Option<bool>, EngineError> {
    let ctx = req.ctx;
    let found = match route(req.path) {
        Ok(Route::Config(n)) if validate_name(n).is_ok() => config::exists(ctx, n).await?,
        Ok(Route::Role(n)) if validate_name(n).is_ok() => roles::exists(ctx, n).await?,
        Ok(Route::StaticRole(n)) if validate_name(n).is_ok() => {
            static_roles::exists(ctx, n).await?
        }
        _ => return Ok(None),
    };
    Ok(Some(found))
}

/// Revokes a dynamic credential issued by this mount (`internal` is what `creds` put in
/// its `NewSecret`: `{"db_name","role","username"}`).
pub async fn revoke(
    ctx: &MountContext,
    conns: &Connections,
    internal: &Value,
) -> Result<(), EngineError> {
    creds::revoke(ctx, conns, internal).await
}

/// The TTLs of the role a credential was issued under (renewal fails if the role is gone).
pub async fn role_ttls(ctx: &MountContext, internal: &Value) -> Result<RoleTtls, EngineError> {
    creds::role_ttls(ctx, internal).await
}

/// Extends a dynamic credential in the database to `expiration` (renew statements).
pub async fn renew(
    ctx: &MountContext,
    conns: &Connections,
    internal: &Value,
    expiration: OffsetDateTime,
) -> Result<(), EngineError> {
    creds::renew(ctx, conns, internal, expiration).await
}

/// Rotates every static role of the mount whose rotation is due at `now`.
pub async fn rotate_due_static_roles(
    ctx: &MountContext,
    conns: &Connections,
    now: OffsetDateTime,
) -> Result<RotationReport, EngineError> {
    static_roles::rotate_due(ctx, conns, now).await
}

// --- Shared by the resources ---

/// Longest connection or role name.
const MAX_NAME_LEN: usize = 128;

/// A connection or role name: 1–128 characters from `[A-Za-z0-9_.-]`, not `.`/`..`.
fn validate_name(name: &str) -> Result<(), EngineError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(EngineError::Invalid(format!(
            "invalid name {name:?}: use 1 to {MAX_NAME_LEN} letters, digits, '_', '-' and '.'"
        )))
    }
}

/// The mount's identity in the pool registry and in lease targets: its uuid, read from
/// its storage prefix (`logical/<uuid>/`); the accessor if the prefix has another shape.
fn mount_id(ctx: &MountContext) -> String {
    ctx.view
        .prefix()
        .strip_prefix("logical/")
        .and_then(|rest| rest.strip_suffix('/'))
        .filter(|uuid| !uuid.is_empty() && !uuid.contains('/'))
        .map_or_else(|| ctx.accessor.clone(), str::to_string)
}

/// A field reader's error as a 400.
fn field<T>(result: Result<T, FieldError>) -> Result<T, EngineError> {
    result.map_err(|e| EngineError::Invalid(e.to_string()))
}

/// Replaces every occurrence of each non-empty secret in `message`.
fn scrub(message: &str, secrets: &[&str]) -> String {
    let mut out = message.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret, "[redacted]");
    }
    out
}

/// A driver failure as the 500 the client sees: `<context>: <driver message>`, scrubbed
/// of `secrets` on top of the driver's own scrubbing.
fn driver_failure(context: &str, error: &driver::DriverError, secrets: &[&str]) -> EngineError {
    EngineError::External(scrub(&format!("{context}: {error}"), secrets))
}

/// An external failure with a message built by the caller, scrubbed of `secrets`.
fn external(message: &str, secrets: &[&str]) -> EngineError {
    EngineError::External(scrub(message, secrets))
}

/// Go's `multierror` rendering of a single error, as OpenBao words a backend failure
/// (`1 error occurred:\n\t* <message>\n\n`).
fn multierror(message: &str) -> String {
    format!("1 error occurred:\n\t* {message}\n\n")
}

/// A driver failure in OpenBao's SQL plugins' words: a failed statement is
/// `failed to execute query: <database message>`; anything else keeps the driver's
/// message.
fn query_failure(error: &driver::DriverError) -> String {
    match error {
        driver::DriverError::Statement(message) => format!("failed to execute query: {message}"),
        other => other.to_string(),
    }
}

/// The database's own message of a failed statement (OpenBao's revocation and renewal
/// errors carry it bare); the driver's message for anything else.
fn database_message(error: &driver::DriverError) -> String {
    match error {
        driver::DriverError::Statement(message) => message.clone(),
        other => other.to_string(),
    }
}

/// A fresh random config generation.
fn new_generation() -> Result<u64, EngineError> {
    getrandom::u64().map_err(|e| EngineError::External(format!("the OS random source failed: {e}")))
}

/// A new password from the named policy (empty: the default policy).
async fn generate_password(
    conns: &Connections,
    policy: &str,
) -> Result<Zeroizing<String>, EngineError> {
    let policy = if policy.is_empty() {
        crate::password::PasswordPolicy::default_policy()
    } else {
        match conns.passwords().get(policy).await {
            Ok(Some((_, found))) => found,
            Ok(None) => {
                return Err(EngineError::External(
                    "failed to generate password: no password policy found".into(),
                ))
            }
            Err(e) => return Err(password_policy_error(policy, e)),
        }
    };
    policy
        .generate()
        .map_err(|e| EngineError::External(format!("failed to generate password: {e}")))
}

/// A password-policy store failure: a bad name is the client's (400), storage failures
/// keep their kind, anything else is ours.
fn password_policy_error(name: &str, error: crate::password::PasswordError) -> EngineError {
    match error {
        crate::password::PasswordError::Barrier(e) => EngineError::Barrier(e),
        e if e.kind() == crate::error::ErrorKind::Invalid => {
            EngineError::Invalid(format!("password policy {name:?}: {e}"))
        }
        e => EngineError::External(format!("unable to read password policy {name:?}: {e}")),
    }
}

/// Reads a JSON entry.
async fn load_json<T: DeserializeOwned>(
    ctx: &MountContext,
    key: &str,
) -> Result<Option<T>, EngineError> {
    let Some(raw) = ctx.view.get(key).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&raw)
        .map(Some)
        .map_err(|e| EngineError::Corrupt(format!("{key}: {e}")))
}

/// Writes a JSON entry (the serialised bytes are zeroized afterwards: they may hold a
/// password).
async fn store_json<T: Serialize>(
    ctx: &MountContext,
    key: &str,
    value: &T,
) -> Result<(), EngineError> {
    let bytes = Zeroizing::new(
        serde_json::to_vec(value).map_err(|e| EngineError::Corrupt(format!("{key}: {e}")))?,
    );
    ctx.view.put(key, &bytes).await?;
    Ok(())
}

/// Delays between attempts to store a password the database already uses.
const STORE_RETRIES: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

/// [`store_json`] for an entry whose password is already live in the database: a failed
/// write is retried, since the stored (old) password no longer works.
async fn store_json_retrying<T: Serialize>(
    ctx: &MountContext,
    key: &str,
    value: &T,
) -> Result<(), EngineError> {
    let mut delays = STORE_RETRIES.iter();
    loop {
        match store_json(ctx, key, value).await {
            Ok(()) => return Ok(()),
            Err(e) => match delays.next() {
                Some(delay) => {
                    tracing::warn!(key, error = %e, "storing a rotated password failed; retrying");
                    tokio::time::sleep(*delay).await;
                }
                None => {
                    tracing::error!(key, error = %e,
                        "storing a rotated password failed; the database has a password the vault did not keep");
                    return Err(e);
                }
            },
        }
    }
}

/// `LIST <prefix>`: the items of one resource.
async fn list_keys(ctx: &MountContext, prefix: &str) -> Result<EngineResponse, EngineError> {
    crate::engines::list_items(&ctx.view, prefix).await
}

/// Sets `username`'s password to `password` with the `configured` statements, or the
/// plugin's `defaults` when there are none (root rotation, static-role rotation).
async fn set_password(
    conn: &driver::Connection,
    configured: &[String],
    defaults: &[&str],
    username: &str,
    password: &str,
) -> Result<(), driver::DriverError> {
    let statements: Vec<String> = if configured.is_empty() {
        defaults.iter().map(|s| (*s).to_string()).collect()
    } else {
        configured.to_vec()
    };
    let vars = driver::Vars {
        name: username,
        password: Some(password),
        expiration: None,
    };
    conn.execute(&statements, &vars).await
}

/// Takes the async lock of item `prefix + name` of the mount (held across the item's
/// read-modify-write, including its database calls; never shared between items).
async fn lock(ctx: &MountContext, prefix: &str, name: &str) -> OwnedMutexGuard<()> {
    crate::engines::item_lock::lock_item(&mount_id(ctx), &format!("{prefix}{name}")).await
}

/// Test harness shared by the resource files' tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod testing {
    use serde_json::{Map, Value};

    use super::Connections;
    use crate::core::request::Operation;
    use crate::engines::{EngineError, EngineRequest, EngineResponse, MountContext};

    /// A mount with its own storage and pool registry.
    pub(crate) struct Mount {
        pub ctx: MountContext,
        pub conns: Connections,
    }

    impl Mount {
        /// A fresh mount (unique uuid, so the process-wide lock table is not shared).
        pub(crate) async fn new() -> Mount {
            let uuid = uuid::Uuid::new_v4().to_string();
            let ctx = MountContext::for_test(
                &format!("logical/{uuid}/"),
                "database/",
                &format!("database_{}", &uuid[..8]),
            )
            .await;
            let (barrier, _raw, _key) = crate::barrier::testing::unsealed_barrier().await;
            let passwords = std::sync::Arc::new(crate::password::PasswordPolicyStore::new(barrier));
            Mount {
                ctx,
                conns: Connections::new(passwords),
            }
        }

        /// Serves one request as the caller `token`.
        pub(crate) async fn call(
            &self,
            operation: Operation,
            path: &str,
            data: Value,
        ) -> Result<EngineResponse, EngineError> {
            let data: Map<String, Value> = data.as_object().cloned().unwrap_or_default();
            super::handle(
                &EngineRequest {
                    operation,
                    path,
                    data: &data,
                    ctx: &self.ctx,
                    display_name: "token",
                },
                &self.conns,
            )
            .await
        }

        /// The `data` of a successful request.
        pub(crate) async fn data(&self, operation: Operation, path: &str, data: Value) -> Value {
            self.call(operation, path, data)
                .await
                .unwrap_or_else(|e| panic!("{path}: {e}"))
                .data
                .unwrap_or(Value::Null)
        }

        /// The error of a failing request.
        pub(crate) async fn error(
            &self,
            operation: Operation,
            path: &str,
            data: Value,
        ) -> EngineError {
            match self.call(operation, path, data).await {
                Ok(r) => panic!("{path}: expected an error, got {r:?}"),
                Err(e) => e,
            }
        }

        /// Stores a raw entry (to set up state without a database).
        pub(crate) async fn put_raw(&self, key: &str, value: &Value) {
            self.ctx
                .view
                .put(key, &serde_json::to_vec(value).unwrap())
                .await
                .unwrap();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("config/").unwrap(), Route::Configs);
        assert_eq!(route("config").unwrap(), Route::Configs);
        assert_eq!(route("config/pg").unwrap(), Route::Config("pg"));
        assert_eq!(route("reset/pg").unwrap(), Route::Reset("pg"));
        assert_eq!(route("rotate-root/pg").unwrap(), Route::RotateRoot("pg"));
        assert_eq!(route("roles/").unwrap(), Route::Roles);
        assert_eq!(route("roles/ro").unwrap(), Route::Role("ro"));
        assert_eq!(route("creds/ro").unwrap(), Route::Creds("ro"));
        assert_eq!(route("static-roles/").unwrap(), Route::StaticRoles);
        assert_eq!(route("static-roles/s").unwrap(), Route::StaticRole("s"));
        assert_eq!(route("static-creds/s").unwrap(), Route::StaticCreds("s"));
        assert_eq!(route("rotate-role/s").unwrap(), Route::RotateRole("s"));
        // A name followed by `/` (what `LIST config/pg` routes to) matches nothing.
        for bad in [
            "",
            "nope",
            "creds",
            "creds/",
            "creds/a/b",
            "config//",
            "config/pg/",
            "reset",
        ] {
            assert!(
                matches!(route(bad), Err(EngineError::UnsupportedPath)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names() {
        for good in ["pg", "my-db.1", "A_b", &"x".repeat(128)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a b", "a'b", "a\"b", "ü", &"x".repeat(129)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scrubbing() {
        assert_eq!(
            scrub("login as u with s3cret failed (s3cret)", &["s3cret", ""]),
            "login as u with [redacted] failed ([redacted])"
        );
    }

    #[tokio::test]
    async fn mount_identity_from_prefix() {
        let m = testing::Mount::new().await;
        let id = mount_id(&m.ctx);
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(m.ctx.view.prefix(), format!("logical/{id}/"));
        let odd = MountContext::for_test("odd/x/", "database/", "database_acc").await;
        assert_eq!(mount_id(&odd), "database_acc");
    }

    #[tokio::test]
    async fn wrong_operations_and_paths() {
        let m = testing::Mount::new().await;
        assert!(matches!(
            m.error(Operation::Delete, "creds/x", json!({})).await,
            EngineError::UnsupportedOperation
        ));
        assert!(matches!(
            m.error(Operation::Read, "nothing/x", json!({})).await,
            EngineError::UnsupportedPath
        ));
        assert!(matches!(
            m.error(Operation::List, "roles/", json!({})).await,
            EngineError::NotFound
        ));
        assert!(matches!(
            m.error(Operation::Read, "roles/a'b", json!({})).await,
            EngineError::Invalid(_)
        ));
    }
}
