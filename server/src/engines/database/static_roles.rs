//! Static roles: an existing database user whose password the engine owns and rotates.
//! `static-roles/:name` (create/update/read/delete/list), `static-creds/:name`,
//! `rotate-role/:name`, and the background pass over due roles (wire reference §7.4).
//!
//! Storage: `static-role/<name>` → [`StaticRole`] (JSON inside the barrier, the current
//! password included).
//!
//! Invariants:
//! - Every operation on a role holds its per-name lock, so a manual rotation, the
//!   background pass and an update never interleave; the lock is per role, so one slow
//!   database holds up only the roles on it.
//! - A rotation changes the password in the database first and stores it after. Until
//!   a rotation succeeds the stored password is the old one, which is still valid; after
//!   the database changed, storing is retried (the old password no longer works).
//! - Creating a role rotates its password at once; if that fails nothing is stored.
//! - A failed automated rotation is retried with backoff ([`rotation::backoff`]); the
//!   failure count and the last (scrubbed) error are stored and shown by the read.
//! - `username` cannot change after creation. Deleting a role leaves the user alone.

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::connections::Connections;
use super::driver::{validate_username, DriverError};
use super::roles::conversion_error;
use super::rotation::{self, Rotation};
use super::secret::StoredSecret;
use super::statements::opt_statements;
use super::{
    config, external, field, generate_password, list_keys, load_json, lock, mount_id, multierror,
    query_failure, roles, store_json, store_json_retrying, validate_name, RotationReport,
};
use crate::core::duration::opt_duration;
use crate::core::fields::{opt_bool, opt_string};
use crate::core::request::unknown_field_warning;
use crate::engines::{EngineError, EngineRequest, EngineResponse, MountContext};

/// Storage folder of static roles.
const PREFIX: &str = "static-role/";
/// Roles rotated at the same time by one background pass.
const PASS_CONCURRENCY: usize = 4;

/// Fields `static-roles/:name` accepts.
const KNOWN: &[&str] = &[
    "db_name",
    "username",
    "rotation_statements",
    "rotation_period",
    "rotation_schedule",
    "rotation_window",
    "credential_type",
    "credential_config",
    "disable_automated_rotation",
    "skip_import_rotation",
    "self_managed_password",
];

/// A stored static role. `Debug` shows `[redacted]` for the password.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StaticRole {
    /// The connection.
    pub db_name: String,
    /// The database user (fixed at creation).
    pub username: String,
    /// Statements that set the password (empty: the plugin default).
    #[serde(default)]
    pub rotation_statements: Vec<String>,
    /// Automatic rotation, if configured.
    pub rotation: Option<Rotation>,
    /// Manual-only: only `rotate-role` changes the password.
    #[serde(default)]
    pub disable_automated_rotation: bool,
    /// The current password.
    pub password: StoredSecret,
    /// When the password was last changed.
    #[serde(with = "stamp")]
    pub last_vault_rotation: OffsetDateTime,
    /// When the next attempt is due (a scheduled rotation or a retry); `None` when
    /// nothing is automatic.
    #[serde(default, with = "stamp::option")]
    pub next_rotation: Option<OffsetDateTime>,
    /// The scheduled time the next attempt belongs to (for `rotation_window`).
    #[serde(default, with = "stamp::option")]
    pub scheduled_at: Option<OffsetDateTime>,
    /// Failed attempts since the last success.
    #[serde(default)]
    pub failures: u32,
    /// The last failure (scrubbed of passwords).
    #[serde(default)]
    pub last_error: Option<String>,
}

/// RFC 3339 (nanoseconds) timestamps in stored roles.
mod stamp {
    use serde::{de::Error as _, ser::Error as _, Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format(&Rfc3339).map_err(S::Error::custom)?)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(D::Error::custom)
    }

    pub mod option {
        use super::*;

        #[allow(clippy::ref_option)] // serde's `with` hands us `&Option<T>`
        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| OffsetDateTime::parse(&text, &Rfc3339).map_err(D::Error::custom))
                .transpose()
        }
    }
}

impl StaticRole {
    /// Whether automated rotation applies.
    fn automated(&self) -> Option<&Rotation> {
        if self.disable_automated_rotation {
            None
        } else {
            self.rotation.as_ref()
        }
    }

    /// Plans the next scheduled rotation after `from` (clears any retry).
    fn plan_from(&mut self, from: OffsetDateTime) {
        let next = self.automated().and_then(|r| r.next_after(from));
        self.next_rotation = next;
        self.scheduled_at = next;
    }

    /// Seconds until the next automatic change of the password, rounded to the nearest
    /// second as Vault does (0: none planned).
    fn ttl(&self, now: OffsetDateTime) -> u64 {
        self.next_rotation
            .map(|next| {
                let millis = (next - now).whole_milliseconds();
                u64::try_from((millis + 500).div_euclid(1000)).unwrap_or(0)
            })
            .unwrap_or(0)
    }

    /// Adds `rotation_period` or `rotation_schedule`/`rotation_window` to a body.
    fn rotation_fields(&self, body: &mut Map<String, Value>) {
        match &self.rotation {
            Some(Rotation::Period { seconds }) => {
                body.insert("rotation_period".into(), json!(seconds));
            }
            Some(Rotation::Schedule { cron, window }) => {
                body.insert("rotation_schedule".into(), json!(cron));
                if let Some(w) = window {
                    body.insert("rotation_window".into(), json!(w));
                }
            }
            None => {}
        }
        if self.disable_automated_rotation {
            body.insert("disable_automated_rotation".into(), json!(true));
        }
    }

    fn last_rotation_text(&self) -> String {
        self.last_vault_rotation
            .format(&Rfc3339)
            .unwrap_or_default()
    }
}

fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// The stored static role `name`.
async fn load(ctx: &MountContext, name: &str) -> Result<Option<StaticRole>, EngineError> {
    load_json(ctx, &key(name)).await
}

/// Whether static role `name` exists (create-vs-update check).
pub(super) async fn exists(ctx: &MountContext, name: &str) -> Result<bool, EngineError> {
    Ok(ctx.view.get(&key(name)).await?.is_some())
}

/// `LIST static-roles`.
pub(super) async fn list(ctx: &MountContext) -> Result<EngineResponse, EngineError> {
    list_keys(ctx, PREFIX).await
}

/// `GET static-roles/:name`.
pub(super) async fn read(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let role = load(ctx, name).await?.ok_or(EngineError::NotFound)?;
    let mut body = Map::new();
    body.insert("credential_type".into(), json!("password"));
    body.insert("db_name".into(), json!(role.db_name));
    body.insert(
        "last_vault_rotation".into(),
        json!(role.last_rotation_text()),
    );
    body.insert(
        "rotation_statements".into(),
        json!(role.rotation_statements),
    );
    body.insert("username".into(), json!(role.username));
    role.rotation_fields(&mut body);
    if role.failures > 0 {
        body.insert("rotation_failures".into(), json!(role.failures));
        body.insert("last_rotation_error".into(), json!(role.last_error));
    }
    Ok(EngineResponse::data(Value::Object(body)))
}

/// `GET static-creds/:name`: the current password, no lease.
pub(super) async fn creds(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let role = load(ctx, name)
        .await?
        .ok_or_else(|| EngineError::Invalid(format!("unknown role: {name}")))?;
    let mut body = Map::new();
    body.insert(
        "last_vault_rotation".into(),
        json!(role.last_rotation_text()),
    );
    body.insert("password".into(), json!(role.password.expose()));
    body.insert("ttl".into(), json!(role.ttl(OffsetDateTime::now_utc())));
    body.insert("username".into(), json!(role.username));
    role.rotation_fields(&mut body);
    Ok(EngineResponse::data(Value::Object(body)))
}

/// `DELETE static-roles/:name` (the database user is left alone).
pub(super) async fn delete(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let _guard = lock(ctx, PREFIX, name).await;
    ctx.view.delete(&key(name)).await?;
    Ok(EngineResponse::empty())
}

/// The rotation fields of a write, parsed and checked against each other.
#[derive(Debug, Default, PartialEq, Eq)]
struct RotationInput {
    period: Option<u64>,
    schedule: Option<String>,
    window: Option<u64>,
    disable: Option<bool>,
}

impl RotationInput {
    fn parse(data: &Map<String, Value>) -> Result<RotationInput, EngineError> {
        let duration = |f: &str| opt_duration(data, f).map_err(|e| conversion_error(f, &e));
        let input = RotationInput {
            period: duration("rotation_period")?,
            schedule: field(opt_string(data, "rotation_schedule"))?
                .filter(|s| !s.trim().is_empty()),
            window: duration("rotation_window")?,
            disable: field(opt_bool(data, "disable_automated_rotation"))?,
        };
        if input.period.is_some() && input.schedule.is_some() {
            return Err(EngineError::Invalid(
                "mutually exclusive fields rotation_period and rotation_schedule were both \
                 specified; only one of them can be provided"
                    .into(),
            ));
        }
        if input.window.is_some() && input.period.is_some() {
            return Err(EngineError::Invalid(
                "rotation_window is invalid with use of rotation_period".into(),
            ));
        }
        Ok(input)
    }

    /// The rotation after applying this input to `current` (`None` when creating).
    fn apply(&self, current: Option<&Rotation>) -> Result<Option<Rotation>, EngineError> {
        let invalid = EngineError::Invalid;
        if let Some(p) = self.period {
            return Rotation::period(p).map(Some).map_err(invalid);
        }
        let current_window = match current {
            Some(Rotation::Schedule { window, .. }) => *window,
            _ => None,
        };
        if let Some(s) = &self.schedule {
            return Rotation::schedule(s, self.window.or(current_window))
                .map(Some)
                .map_err(invalid);
        }
        match (self.window, current) {
            (Some(w), Some(Rotation::Schedule { cron, .. })) => {
                Rotation::schedule(cron, Some(w)).map(Some).map_err(invalid)
            }
            (Some(_), _) => Err(EngineError::Invalid(
                "rotation_window is only valid with rotation_schedule".into(),
            )),
            (None, current) => Ok(current.cloned()),
        }
    }
}

fn refuse_unsupported(data: &Map<String, Value>) -> Result<(), EngineError> {
    roles::check_credential_type(data)?;
    if field(opt_bool(data, "skip_import_rotation"))? == Some(true) {
        return Err(EngineError::Invalid(
            "skip_import_rotation is not supported by this server".into(),
        ));
    }
    if field(opt_string(data, "self_managed_password"))?.is_some_and(|s| !s.is_empty()) {
        return Err(EngineError::Invalid(
            "self_managed_password is not supported by this server".into(),
        ));
    }
    Ok(())
}

const NEED_ROTATION: &str =
    "one of rotation_schedule or rotation_period must be provided to create a static account";

/// `POST static-roles/:name`: create (rotating the password at once) or update.
pub(super) async fn write(
    req: &EngineRequest<'_>,
    conns: &Connections,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let data = req.data;
    let ctx = req.ctx;
    refuse_unsupported(data)?;
    let input = RotationInput::parse(data)?;
    let db_name = field(opt_string(data, "db_name"))?.filter(|s| !s.is_empty());
    let username = field(opt_string(data, "username"))?.filter(|s| !s.is_empty());
    let statements = opt_statements(data, "rotation_statements")?;
    if let Some(db) = &db_name {
        validate_name(db)?;
    }
    let warnings: Vec<String> = unknown_field_warning(data, KNOWN).into_iter().collect();

    let _guard = lock(ctx, PREFIX, name).await;
    let now = OffsetDateTime::now_utc();
    match load(ctx, name).await? {
        Some(mut role) => {
            if username.as_ref().is_some_and(|u| *u != role.username) {
                return Err(EngineError::Invalid(
                    "cannot update static account username".into(),
                ));
            }
            let rotation = input.apply(role.rotation.as_ref())?;
            let disable = input.disable.unwrap_or(role.disable_automated_rotation);
            if rotation.is_none() && !disable {
                return Err(EngineError::Invalid(NEED_ROTATION.into()));
            }
            if let Some(db) = db_name {
                role.db_name = db;
            }
            if let Some(s) = statements {
                role.rotation_statements = s;
            }
            let replan = rotation != role.rotation || disable != role.disable_automated_rotation;
            role.rotation = rotation;
            role.disable_automated_rotation = disable;
            if replan {
                role.plan_from(role.last_vault_rotation);
            }
            store_json(ctx, &key(name), &role).await?;
        }
        None => {
            let db_name = db_name
                .ok_or_else(|| EngineError::Invalid("database name is a required field".into()))?;
            let username = username.ok_or_else(|| {
                EngineError::Invalid(
                    "username is a required field to create a static account".into(),
                )
            })?;
            let rotation = input.apply(None)?;
            let disable = input.disable.unwrap_or(false);
            if rotation.is_none() && !disable {
                return Err(EngineError::Invalid(NEED_ROTATION.into()));
            }
            let config = config::require(ctx, &db_name).await?;
            if !config.allows(name) {
                return Err(EngineError::External(format!(
                    "{name:?} is not an allowed role"
                )));
            }
            validate_username(config.plugin()?, &username)
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
            let mut role = StaticRole {
                db_name,
                username,
                rotation_statements: statements.unwrap_or_default(),
                rotation,
                disable_automated_rotation: disable,
                password: StoredSecret::default(),
                last_vault_rotation: now,
                next_rotation: None,
                scheduled_at: None,
                failures: 0,
                last_error: None,
            };
            set_password(ctx, conns, &mut role).await?;
            store_json_retrying(ctx, &key(name), &role).await?;
        }
    }
    Ok(EngineResponse {
        warnings,
        ..Default::default()
    })
}

/// Sets a new password in the database and, on success, in `role` (not yet stored):
/// `last_vault_rotation` = now, failures cleared, next rotation planned.
async fn set_password(
    ctx: &MountContext,
    conns: &Connections,
    role: &mut StaticRole,
) -> Result<(), EngineError> {
    let config = config::require(ctx, &role.db_name).await?;
    let plugin = config.plugin()?;
    let conn = conns.connection(&mount_id(ctx), &role.db_name, &config)?;
    let password = generate_password(conns, &config.password_policy).await?;
    super::set_password(
        &conn,
        &role.rotation_statements,
        plugin.default_static_rotation_statements(),
        &role.username,
        &password,
    )
    .await
    .map_err(|e| {
        // OpenBao's words (its plugin connects and verifies first).
        let message = match &e {
            DriverError::Connect(_) => format!("error verifying connection: {e}"),
            _ => format!(
                "error setting credentials: {}",
                multierror(&query_failure(&e))
            ),
        };
        external(&message, &[password.as_str(), role.password.expose()])
    })?;
    let now = OffsetDateTime::now_utc();
    role.password = StoredSecret::new(password);
    role.last_vault_rotation = now;
    role.failures = 0;
    role.last_error = None;
    role.plan_from(now);
    Ok(())
}

/// Records a failed attempt: count, message, and (for automated roles) the retry time.
fn record_failure(role: &mut StaticRole, error: &EngineError, now: OffsetDateTime) {
    role.failures = role.failures.saturating_add(1);
    role.last_error = Some(error.to_string());
    if role.automated().is_some() {
        role.next_rotation = Some(now + rotation::backoff(role.failures));
    }
}

/// Rotates `role` now and stores the outcome (under the caller's lock).
async fn rotate_locked(
    ctx: &MountContext,
    conns: &Connections,
    name: &str,
    role: &mut StaticRole,
) -> Result<(), EngineError> {
    match set_password(ctx, conns, role).await {
        Ok(()) => store_json_retrying(ctx, &key(name), role).await,
        Err(e) => {
            record_failure(role, &e, OffsetDateTime::now_utc());
            tracing::warn!(role = name, db = %role.db_name, failures = role.failures,
                error = %e, "static role rotation failed; the old password stays in use");
            if let Err(store) = store_json(ctx, &key(name), role).await {
                tracing::warn!(role = name, error = %store, "could not record the rotation failure");
            }
            Err(e)
        }
    }
}

/// `POST rotate-role/:name`.
pub(super) async fn rotate_now(
    ctx: &MountContext,
    conns: &Connections,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let _guard = lock(ctx, PREFIX, name).await;
    let mut role = load(ctx, name)
        .await?
        .ok_or_else(|| EngineError::Invalid("no static role found for role name".into()))?;
    rotate_locked(ctx, conns, name, &mut role)
        .await
        .map_err(|e| match e {
            EngineError::External(message) => EngineError::External(format!(
                "unable to finish rotating credentials; retries will continue in the background \
                 but it is also safe to retry manually: {message}"
            )),
            other => other,
        })?;
    Ok(EngineResponse::empty())
}

/// What the background pass did with one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Rotated(Option<OffsetDateTime>),
    Failed(Option<OffsetDateTime>),
    Waiting(Option<OffsetDateTime>),
}

/// What is due for `role` at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// Nothing now; the next attempt (if any).
    Later(Option<OffsetDateTime>),
    /// The window of the scheduled rotation closed: skip to the next occurrence.
    Missed,
    /// Rotate now.
    Now,
}

fn due(role: &StaticRole, now: OffsetDateTime) -> Due {
    let Some(rotation) = role.automated() else {
        return Due::Later(None);
    };
    match role.next_rotation {
        None => Due::Later(None),
        Some(next) if next > now => Due::Later(Some(next)),
        Some(_) => match role.scheduled_at {
            Some(scheduled) if rotation.window_missed(scheduled, now) => Due::Missed,
            _ => Due::Now,
        },
    }
}

async fn rotate_if_due(
    ctx: &MountContext,
    conns: &Connections,
    name: &str,
    now: OffsetDateTime,
) -> Result<Outcome, EngineError> {
    // A first look without the lock: most roles are not due, and a role whose lock is
    // held (a manual rotation against a slow database) is then not waited for.
    match load(ctx, name).await? {
        None => return Ok(Outcome::Waiting(None)),
        Some(role) => {
            if let Due::Later(next) = due(&role, now) {
                return Ok(Outcome::Waiting(next));
            }
        }
    }
    let _guard = lock(ctx, PREFIX, name).await;
    // Again under the lock: it may have been rotated, changed or deleted meanwhile.
    let Some(mut role) = load(ctx, name).await? else {
        return Ok(Outcome::Waiting(None));
    };
    match due(&role, now) {
        Due::Later(next) => Ok(Outcome::Waiting(next)),
        Due::Missed => {
            tracing::info!(
                role = name,
                "static role rotation window missed; waiting for the next scheduled time"
            );
            role.plan_from(now);
            store_json(ctx, &key(name), &role).await?;
            Ok(Outcome::Waiting(role.next_rotation))
        }
        Due::Now => match rotate_locked(ctx, conns, name, &mut role).await {
            Ok(()) => Ok(Outcome::Rotated(role.next_rotation)),
            Err(EngineError::Barrier(e)) => Err(EngineError::Barrier(e)),
            Err(_) => Ok(Outcome::Failed(role.next_rotation)),
        },
    }
}

/// Rotates every due static role of the mount (a few at a time).
pub(super) async fn rotate_due(
    ctx: &MountContext,
    conns: &Connections,
    now: OffsetDateTime,
) -> Result<RotationReport, EngineError> {
    let names: Vec<String> = ctx
        .view
        .list(PREFIX)
        .await?
        .into_iter()
        .filter(|k| !k.ends_with('/'))
        .collect();
    let outcomes: Vec<(String, Result<Outcome, EngineError>)> = futures_util::stream::iter(names)
        .map(|name| async move {
            let outcome = rotate_if_due(ctx, conns, &name, now).await;
            (name, outcome)
        })
        .buffer_unordered(PASS_CONCURRENCY)
        .collect()
        .await;
    let mut report = RotationReport::default();
    let mut note = |next: Option<OffsetDateTime>| {
        if let Some(next) = next {
            report.next_due = Some(
                report
                    .next_due
                    .map_or(next, |d: OffsetDateTime| d.min(next)),
            );
        }
    };
    let mut counts = (0, 0);
    for (name, outcome) in outcomes {
        match outcome {
            Ok(Outcome::Rotated(next)) => {
                counts.0 += 1;
                note(next);
            }
            Ok(Outcome::Failed(next)) => {
                counts.1 += 1;
                note(next);
            }
            Ok(Outcome::Waiting(next)) => note(next),
            Err(e) => {
                counts.1 += 1;
                tracing::warn!(role = %name, error = %e, "static role rotation pass failed for a role");
            }
        }
    }
    report.rotated = counts.0;
    report.failed = counts.1;
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::core::request::Operation::{Read, Update};
    use crate::engines::database::testing::Mount;

    async fn invalid(m: &Mount, body: Value) -> String {
        match m.error(Update, "static-roles/s", body.clone()).await {
            EngineError::Invalid(msg) => msg,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[tokio::test]
    async fn validation() {
        let m = Mount::new().await;
        let base = json!({"db_name": "pg", "username": "app"});
        let with = |extra: Value| {
            let mut b = base.clone();
            b.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            b
        };
        assert_eq!(
            invalid(&m, with(json!({"rotation_period": 4}))).await,
            "rotation_period must be 5 seconds or more"
        );
        assert_eq!(
            invalid(&m, with(json!({"rotation_period": "4s"}))).await,
            "rotation_period must be 5 seconds or more"
        );
        assert!(invalid(
            &m,
            with(json!({"rotation_period": 60, "rotation_schedule": "0 * * * *"}))
        )
        .await
        .starts_with("mutually exclusive fields"));
        assert_eq!(invalid(&m, base.clone()).await, NEED_ROTATION);
        assert_eq!(
            invalid(&m, with(json!({"rotation_window": "2h"}))).await,
            "rotation_window is only valid with rotation_schedule"
        );
        assert_eq!(
            invalid(
                &m,
                with(json!({"rotation_window": "2h", "rotation_period": 60}))
            )
            .await,
            "rotation_window is invalid with use of rotation_period"
        );
        assert_eq!(
            invalid(
                &m,
                with(json!({"rotation_window": 60, "rotation_schedule": "0 * * * *"}))
            )
            .await,
            "rotation_window must be 3600 seconds or more"
        );
        assert!(
            invalid(&m, with(json!({"rotation_schedule": "61 * * * *"})))
                .await
                .starts_with("could not parse rotation_schedule")
        );
        assert!(
            invalid(&m, with(json!({"rotation_schedule": "* * * * * *"})))
                .await
                .starts_with("could not parse rotation_schedule")
        );
        assert_eq!(
            invalid(&m, json!({"username": "app", "rotation_period": 60})).await,
            "database name is a required field"
        );
        assert_eq!(
            invalid(&m, json!({"db_name": "pg", "rotation_period": 60})).await,
            "username is a required field to create a static account"
        );
        assert!(invalid(
            &m,
            with(json!({"rotation_period": 60, "credential_type": "client_certificate"}))
        )
        .await
        .contains("not supported"));
        assert!(invalid(
            &m,
            with(json!({"rotation_period": 60, "skip_import_rotation": true}))
        )
        .await
        .contains("not supported"));
        // Valid input, but no connection: Vault's 500, and nothing stored.
        match m
            .error(
                Update,
                "static-roles/s",
                with(json!({"rotation_period": 60})),
            )
            .await
        {
            EngineError::External(msg) => {
                assert_eq!(
                    msg,
                    "1 error occurred:\n\t* failed to find entry for connection with name: \"pg\"\n\n"
                );
            }
            other => panic!("{other:?}"),
        }
        // Manual-only mode needs neither period nor schedule.
        match m
            .error(
                Update,
                "static-roles/s",
                with(json!({"disable_automated_rotation": true})),
            )
            .await
        {
            EngineError::External(_) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            m.error(Read, "static-roles/s", json!({})).await,
            EngineError::NotFound
        ));
        match m.error(Read, "static-creds/s", json!({})).await {
            EngineError::Invalid(msg) => assert_eq!(msg, "unknown role: s"),
            other => panic!("{other:?}"),
        }
    }

    fn role(rotation: Option<Rotation>, last: OffsetDateTime) -> StaticRole {
        let mut role = StaticRole {
            db_name: "pg".into(),
            username: "app".into(),
            rotation_statements: Vec::new(),
            rotation,
            disable_automated_rotation: false,
            password: StoredSecret::new(zeroize::Zeroizing::new("old".into())),
            last_vault_rotation: last,
            next_rotation: None,
            scheduled_at: None,
            failures: 0,
            last_error: None,
        };
        role.plan_from(last);
        role
    }

    #[test]
    fn next_rotation_period() {
        let t0 = datetime!(2026-05-01 12:00:00 UTC);
        let mut r = role(Some(Rotation::period(3600).unwrap()), t0);
        assert_eq!(r.next_rotation, Some(datetime!(2026-05-01 13:00:00 UTC)));
        assert_eq!(r.ttl(t0), 3600);
        // Rounded to the nearest second, as Vault reports it.
        assert_eq!(r.ttl(t0 + Duration::from_millis(400)), 3600);
        assert_eq!(r.ttl(t0 + Duration::from_millis(600)), 3599);
        assert_eq!(r.ttl(datetime!(2026-05-01 14:00:00 UTC)), 0);
        assert_eq!(due(&r, t0), Due::Later(r.next_rotation));
        assert_eq!(due(&r, datetime!(2026-05-01 13:00:00 UTC)), Due::Now);
        // A failure retries after the backoff, and the read shows it.
        let now = datetime!(2026-05-01 13:00:00 UTC);
        record_failure(&mut r, &EngineError::External("db down".into()), now);
        record_failure(&mut r, &EngineError::External("db down".into()), now);
        assert_eq!(r.failures, 2);
        assert_eq!(r.next_rotation, Some(datetime!(2026-05-01 13:00:10 UTC)));
        assert_eq!(due(&r, now), Due::Later(r.next_rotation));
        assert_eq!(due(&r, datetime!(2026-05-01 13:00:10 UTC)), Due::Now);
        // Manual-only: nothing is ever due, ttl 0.
        r.disable_automated_rotation = true;
        r.plan_from(now);
        assert_eq!(r.next_rotation, None);
        assert_eq!(due(&r, now + Duration::from_secs(86_400)), Due::Later(None));
        assert_eq!(r.ttl(now), 0);
        // The stored form round-trips and never prints the password.
        let text = serde_json::to_string(&r).unwrap();
        let back: StaticRole = serde_json::from_str(&text).unwrap();
        assert_eq!(back.last_vault_rotation, t0);
        assert_eq!(back.password.expose(), "old");
        assert!(!format!("{back:?}").contains("old\""));
    }

    #[tokio::test]
    async fn failed_background_rotation_is_visible_and_backs_off() {
        let m = Mount::new().await;
        let t0 = OffsetDateTime::now_utc() - Duration::from_secs(120);
        let role = role(Some(Rotation::period(60).unwrap()), t0);
        store_json(&m.ctx, "static-role/st", &role).await.unwrap();
        assert_eq!(
            crate::engines::database::exists(&crate::engines::EngineRequest {
                operation: Update,
                path: "static-roles/st",
                data: &Map::new(),
                ctx: &m.ctx,
                display_name: "",
            })
            .await
            .unwrap(),
            Some(true)
        );
        // The role is due, but its connection does not exist: a failure, retried in 5 s.
        let now = OffsetDateTime::now_utc();
        let report = rotate_due(&m.ctx, &m.conns, now).await.unwrap();
        assert_eq!((report.rotated, report.failed), (0, 1));
        let next = report.next_due.unwrap();
        assert!(next > now && next <= now + Duration::from_secs(6), "{next}");
        let read = m.data(Read, "static-roles/st", json!({})).await;
        assert_eq!(read["rotation_failures"], json!(1));
        assert_eq!(
            read["last_rotation_error"],
            json!("failed to find entry for connection with name: \"pg\"")
        );
        // Not due again until the retry time; the old password is still served.
        let report = rotate_due(&m.ctx, &m.conns, now).await.unwrap();
        assert_eq!((report.rotated, report.failed), (0, 0));
        let creds = m.data(Read, "static-creds/st", json!({})).await;
        assert_eq!(creds["password"], json!("old"));
        assert!(creds["ttl"].as_u64().unwrap() <= 5);
        // rotate-role reports the failure to the caller, in OpenBao's words.
        match m.error(Update, "rotate-role/st", json!({})).await {
            EngineError::External(msg) => assert_eq!(
                msg,
                "1 error occurred:\n\t* unable to finish rotating credentials; retries will \
                 continue in the background but it is also safe to retry manually: failed to \
                 find entry for connection with name: \"pg\"\n\n"
            ),
            other => panic!("{other:?}"),
        }
        match m.error(Update, "rotate-role/nope", json!({})).await {
            EngineError::Invalid(msg) => assert_eq!(msg, "no static role found for role name"),
            other => panic!("{other:?}"),
        }
        let read = m.data(Read, "static-roles/st", json!({})).await;
        assert_eq!(read["rotation_failures"], json!(2));
    }

    #[test]
    fn next_rotation_cron_with_window() {
        let created = datetime!(2026-05-01 12:00:00 UTC);
        let rot = Rotation::schedule("0 2 * * *", Some(3600)).unwrap();
        let r = role(Some(rot), created);
        let at = datetime!(2026-05-02 02:00:00 UTC);
        assert_eq!(r.next_rotation, Some(at));
        assert_eq!(r.scheduled_at, Some(at));
        assert_eq!(
            due(&r, datetime!(2026-05-02 01:59:59 UTC)),
            Due::Later(Some(at))
        );
        assert_eq!(due(&r, datetime!(2026-05-02 02:30:00 UTC)), Due::Now);
        assert_eq!(due(&r, datetime!(2026-05-02 03:00:01 UTC)), Due::Missed);
        // After a miss the next occurrence is planned.
        let mut r = r;
        r.plan_from(datetime!(2026-05-02 03:00:01 UTC));
        assert_eq!(r.next_rotation, Some(datetime!(2026-05-03 02:00:00 UTC)));
        // Retries stay inside the window, then wait for the next occurrence.
        let mut r = role(
            Some(Rotation::schedule("0 2 * * *", Some(3600)).unwrap()),
            created,
        );
        record_failure(
            &mut r,
            &EngineError::External("x".into()),
            datetime!(2026-05-02 02:59:58 UTC),
        );
        assert_eq!(due(&r, datetime!(2026-05-02 03:00:03 UTC)), Due::Missed);
    }
}
