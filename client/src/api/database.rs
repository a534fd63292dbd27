//! Database secrets engine wire types: connection config, dynamic and static roles, and
//! the credentials they issue (`database/creds/:role`, `database/static-creds/:role`).
//!
//! Passwords are held in [`DatabasePassword`]: zeroized on drop, `Debug` redacted.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A database password: zeroized when dropped, never shown by `Debug`. Read it with
/// [`DatabasePassword::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct DatabasePassword(Zeroizing<String>);

impl DatabasePassword {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        DatabasePassword(Zeroizing::new(password.into()))
    }

    /// The password itself. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabasePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabasePassword(..)")
    }
}

impl Serialize for DatabasePassword {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DatabasePassword {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| DatabasePassword(Zeroizing::new(s)))
    }
}

/// `data` of `GET database/creds/:role`: a new database account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DatabaseCredentialData {
    /// The generated user name.
    pub username: String,
    /// Its password.
    pub password: DatabasePassword,
}

/// Dynamic credentials with the lease that owns them (revoking the lease drops the
/// account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseCredentials {
    /// The generated user name.
    pub username: String,
    /// Its password.
    pub password: DatabasePassword,
    /// The lease id (`<mount>/creds/<role>/<id>`), for renewal and revocation.
    pub lease_id: String,
    /// Seconds until the lease expires unless renewed.
    pub lease_duration: u64,
    /// Whether the lease can be renewed.
    pub renewable: bool,
}

/// `data` of `GET database/static-creds/:role`: the current password of a static role.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StaticCredentials {
    /// The database user the role manages.
    pub username: String,
    /// Its current password.
    pub password: DatabasePassword,
    /// RFC 3339 time of the last rotation by the server.
    pub last_vault_rotation: String,
    /// Seconds until the next automatic rotation (0 when none is planned).
    pub ttl: u64,
    /// Rotation period in seconds, when the role rotates on a period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_period: Option<u64>,
    /// Cron schedule, when the role rotates on a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_schedule: Option<String>,
    /// Window (seconds) after each scheduled time in which rotation may happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_window: Option<u64>,
}

/// Body of `POST database/config/:name`: a connection. `password` is the admin password
/// the server logs in with (write-only: reads never return it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DatabaseConfigRequest {
    /// `postgresql-database-plugin` or `mysql-database-plugin` (and its variants).
    pub plugin_name: String,
    /// Connection URL with `{{username}}` / `{{password}}` placeholders.
    pub connection_url: String,
    /// Admin user name.
    pub username: String,
    /// Admin password.
    pub password: DatabasePassword,
    /// Roles allowed to use this connection (`["*"]` for all).
    pub allowed_roles: Vec<String>,
    /// Whether to connect once before saving (server default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_connection: Option<bool>,
    /// Statements for `rotate-root` (the driver's default when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub root_rotation_statements: Vec<String>,
    /// Password policy for generated passwords ("" = the engine default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<String>,
    /// Username template for dynamic users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username_template: Option<String>,
}

/// Body of `POST database/roles/:name`: a dynamic role.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DatabaseRole {
    /// The connection (`database/config/:name`) the role uses.
    pub db_name: String,
    /// Statements creating the user (`{{name}}`, `{{password}}`, `{{expiration}}`).
    pub creation_statements: Vec<String>,
    /// Statements dropping it (the driver's default when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocation_statements: Vec<String>,
    /// Statements undoing a failed creation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollback_statements: Vec<String>,
    /// Statements run on renewal (`{{name}}`, `{{expiration}}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renew_statements: Vec<String>,
    /// Default lease TTL in seconds (0 = the mount's).
    #[serde(default)]
    pub default_ttl: u64,
    /// Maximum lease TTL in seconds (0 = the mount's).
    #[serde(default)]
    pub max_ttl: u64,
}

/// Body of `POST database/static-roles/:name`: a static role (an existing database
/// user whose password the server rotates). Set exactly one of `rotation_period` and
/// `rotation_schedule`, unless `disable_automated_rotation`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DatabaseStaticRole {
    /// The connection the role uses.
    pub db_name: String,
    /// The existing database user.
    pub username: String,
    /// Statements changing its password (`{{name}}`, `{{password}}`); the driver's
    /// default when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rotation_statements: Vec<String>,
    /// Rotation period in seconds (at least 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_period: Option<u64>,
    /// Cron schedule (5 fields, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_schedule: Option<String>,
    /// Window (seconds) after each scheduled time in which rotation may happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_window: Option<u64>,
    /// Only rotate on request (`rotate-role`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_automated_rotation: bool,
}

/// What `GET database/static-roles/:name` returns (no password).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DatabaseStaticRoleInfo {
    /// The connection the role uses.
    pub db_name: String,
    /// The database user.
    pub username: String,
    /// Statements changing its password.
    #[serde(default)]
    pub rotation_statements: Vec<String>,
    /// RFC 3339 time of the last rotation.
    pub last_vault_rotation: String,
    /// Rotation period in seconds.
    #[serde(default)]
    pub rotation_period: Option<u64>,
    /// Cron schedule.
    #[serde(default)]
    pub rotation_schedule: Option<String>,
    /// Rotation window in seconds.
    #[serde(default)]
    pub rotation_window: Option<u64>,
    /// Whether rotation only happens on request.
    #[serde(default)]
    pub disable_automated_rotation: bool,
    /// Consecutive failed rotations (only present after a failure).
    #[serde(default)]
    pub rotation_failures: Option<u64>,
    /// The last rotation error (only present after a failure).
    #[serde(default)]
    pub last_rotation_error: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn password_is_redacted_in_debug_and_kept_on_the_wire() {
        let creds: DatabaseCredentialData =
            serde_json::from_str(r#"{"username":"v-x","password":"hunter2-secret"}"#).unwrap();
        assert_eq!(creds.password.expose(), "hunter2-secret");
        assert!(!format!("{creds:?}").contains("hunter2"));
        assert_eq!(
            serde_json::to_value(&creds).unwrap()["password"],
            "hunter2-secret"
        );
    }

    #[test]
    fn static_role_skips_unset_rotation_fields() {
        let role = DatabaseStaticRole {
            db_name: "pg".into(),
            username: "app".into(),
            rotation_period: Some(3600),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&role).unwrap(),
            serde_json::json!({"db_name": "pg", "username": "app", "rotation_period": 3600})
        );
    }
}
