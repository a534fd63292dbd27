//! Connections: `config/:name` (create/update/read/delete/list), `reset/:name`,
//! `rotate-root/:name` (wire reference §7.1).
//!
//! Storage: `config/<name>` → [`DbConfig`] (JSON inside the barrier, the admin password
//! included). The admin password is never returned: reads build their body field by
//! field, and [`DbConfig`]'s `Debug` leaves it (and the URL, which may embed one) out.
//!
//! Invariants:
//! - A write merges into the stored config, checks everything it can (plugin, password
//!   policy, username template, the URL parses, and by default connects and pings), and
//!   stores nothing if a check fails. Each stored version has a fresh random
//!   `generation`; the pool registry rebuilds any pool of another generation.
//! - Writes, `reset` and `rotate-root` of one connection hold its per-name lock, so a
//!   root rotation cannot interleave with an update of the same config.
//! - `rotate-root` changes the password in the database first and stores it after; if
//!   storing fails it is retried, since the old password no longer works.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::connections::Connections;
use super::driver::{ConnectionSettings, DriverError, Plugin};
use super::secret::StoredSecret;
use super::username::UsernameTemplate;
use super::{
    driver_failure, external, field, generate_password, list_keys, load_json, lock, mount_id,
    multierror, new_generation, query_failure, store_json, store_json_retrying, validate_name,
};
use crate::core::duration::opt_duration;
use crate::core::fields::{opt_bool, opt_string, opt_string_list, opt_u32, require_empty};
use crate::core::request::unknown_field_warning;
use crate::engines::{EngineError, EngineRequest, EngineResponse, MountContext};

/// Storage folder of connection configs.
const PREFIX: &str = "config/";
/// Vault's default pool size.
const DEFAULT_MAX_OPEN: u32 = 4;
/// What the read reports as `plugin_version` (built-in plugins have none).
const PLUGIN_VERSION: &str = "";

/// Fields `config/:name` accepts.
const KNOWN: &[&str] = &[
    "plugin_name",
    "plugin_version",
    "connection_url",
    "username",
    "password",
    "allowed_roles",
    "verify_connection",
    "root_rotation_statements",
    "password_policy",
    "username_template",
    "max_open_connections",
    "max_idle_connections",
    "max_connection_lifetime",
    "disable_escaping",
    "password_authentication",
    "tls_ca",
    "tls_certificate",
    "tls_certificate_key",
    "private_key",
];

/// A stored connection.
#[derive(Serialize, Deserialize)]
pub(super) struct DbConfig {
    /// Vault's plugin name (validated by [`Plugin::parse`] before it is stored).
    pub plugin_name: String,
    /// URL or DSN with `{{username}}`/`{{password}}` placeholders.
    #[serde(default)]
    pub connection_url: String,
    /// The admin user.
    #[serde(default)]
    pub username: String,
    /// The admin password (never returned).
    #[serde(default)]
    pub password: StoredSecret,
    /// Roles that may use this connection (`*` and `*`-globs).
    #[serde(default)]
    pub allowed_roles: Vec<String>,
    /// Statements of `rotate-root` (empty: the plugin default).
    #[serde(default)]
    pub root_rotation_statements: Vec<String>,
    /// Password policy of generated passwords (empty: the default policy).
    #[serde(default)]
    pub password_policy: String,
    /// Username template of dynamic credentials (empty: the driver default).
    #[serde(default)]
    pub username_template: String,
    /// Pool size.
    #[serde(default = "default_max_open")]
    pub max_open_connections: u32,
    /// Idle connections kept (0: as many as `max_open_connections`).
    #[serde(default)]
    pub max_idle_connections: u32,
    /// Seconds before a connection is recycled (0: never).
    #[serde(default)]
    pub max_connection_lifetime: u64,
    /// Fill URL placeholders without URL-escaping.
    #[serde(default)]
    pub disable_escaping: bool,
    /// PostgreSQL `password_authentication` (`password` or `scram-sha-256`; empty = password).
    #[serde(default)]
    pub password_authentication: String,
    /// Changes with every stored version (pool registry staleness tag).
    #[serde(default)]
    pub generation: u64,
}

fn default_max_open() -> u32 {
    DEFAULT_MAX_OPEN
}

impl std::fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbConfig")
            .field("plugin_name", &self.plugin_name)
            .field("username", &self.username)
            .field("allowed_roles", &self.allowed_roles)
            .finish_non_exhaustive()
    }
}

impl DbConfig {
    fn empty(plugin_name: String) -> DbConfig {
        DbConfig {
            plugin_name,
            connection_url: String::new(),
            username: String::new(),
            password: StoredSecret::default(),
            allowed_roles: Vec::new(),
            root_rotation_statements: Vec::new(),
            password_policy: String::new(),
            username_template: String::new(),
            max_open_connections: DEFAULT_MAX_OPEN,
            max_idle_connections: 0,
            max_connection_lifetime: 0,
            disable_escaping: false,
            password_authentication: String::new(),
            generation: 0,
        }
    }

    /// The driver.
    pub(super) fn plugin(&self) -> Result<Plugin, EngineError> {
        Plugin::parse(&self.plugin_name).map_err(|e| EngineError::Corrupt(e.to_string()))
    }

    /// What the driver needs to open a pool.
    pub(super) fn settings(&self) -> Result<ConnectionSettings, EngineError> {
        let max_open = if self.max_open_connections == 0 {
            DEFAULT_MAX_OPEN
        } else {
            self.max_open_connections
        };
        let max_idle = if self.max_idle_connections == 0 {
            max_open
        } else {
            self.max_idle_connections.min(max_open)
        };
        Ok(ConnectionSettings {
            plugin: self.plugin()?,
            connection_url: self.connection_url.clone(),
            username: self.username.clone(),
            password: self.password.to_zeroizing(),
            disable_escaping: self.disable_escaping,
            max_open_connections: max_open,
            max_idle_connections: max_idle,
            max_connection_lifetime: std::time::Duration::from_secs(self.max_connection_lifetime),
        })
    }

    /// Whether role `role` may use this connection.
    pub(super) fn allows(&self, role: &str) -> bool {
        self.allowed_roles
            .iter()
            .any(|pattern| pattern == "*" || crate::encoding::star_glob(pattern, role))
    }

    /// The parsed username template, if one is set.
    pub(super) fn username_template(&self) -> Result<Option<UsernameTemplate>, EngineError> {
        if self.username_template.is_empty() {
            return Ok(None);
        }
        UsernameTemplate::parse(&self.username_template)
            .map(Some)
            .map_err(|e| EngineError::Corrupt(format!("username_template: {e}")))
    }

    /// The body of `GET config/:name`.
    fn read_body(&self) -> Value {
        let mut details = json!({
            "connection_url": self.connection_url,
            "username": self.username,
        });
        if let Value::Object(d) = &mut details {
            if !self.username_template.is_empty() {
                d.insert("username_template".into(), json!(self.username_template));
            }
            if !self.password_authentication.is_empty() {
                d.insert(
                    "password_authentication".into(),
                    json!(self.password_authentication),
                );
            }
            if self.disable_escaping {
                d.insert("disable_escaping".into(), json!(true));
            }
            if self.max_open_connections != DEFAULT_MAX_OPEN {
                d.insert(
                    "max_open_connections".into(),
                    json!(self.max_open_connections),
                );
            }
            if self.max_idle_connections != 0 {
                d.insert(
                    "max_idle_connections".into(),
                    json!(self.max_idle_connections),
                );
            }
            if self.max_connection_lifetime != 0 {
                d.insert(
                    "max_connection_lifetime".into(),
                    json!(self.max_connection_lifetime),
                );
            }
        }
        json!({
            "allowed_roles": self.allowed_roles,
            "connection_details": details,
            "password_policy": self.password_policy,
            "plugin_name": self.plugin_name,
            "plugin_version": PLUGIN_VERSION,
            "root_credentials_rotate_statements": self.root_rotation_statements,
        })
    }
}

/// The stored config of connection `name`.
pub(super) async fn load(ctx: &MountContext, name: &str) -> Result<Option<DbConfig>, EngineError> {
    load_json(ctx, &format!("{PREFIX}{name}")).await
}

/// The stored config of connection `name`, or Vault's 500 when there is none.
pub(super) async fn require(ctx: &MountContext, name: &str) -> Result<DbConfig, EngineError> {
    load(ctx, name)
        .await?
        .ok_or_else(|| missing_connection(name))
}

/// Vault's error for a role whose connection does not exist.
pub(super) fn missing_connection(name: &str) -> EngineError {
    EngineError::External(format!(
        "failed to find entry for connection with name: {name:?}"
    ))
}

/// Whether connection `name` exists (create-vs-update check).
pub(super) async fn exists(ctx: &MountContext, name: &str) -> Result<bool, EngineError> {
    Ok(ctx.view.get(&format!("{PREFIX}{name}")).await?.is_some())
}

/// `LIST config`.
pub(super) async fn list(ctx: &MountContext) -> Result<EngineResponse, EngineError> {
    list_keys(ctx, PREFIX).await
}

/// `GET config/:name`.
pub(super) async fn read(ctx: &MountContext, name: &str) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let config = load(ctx, name).await?.ok_or(EngineError::NotFound)?;
    Ok(EngineResponse::data(config.read_body()))
}

/// `DELETE config/:name`: forgets the config and closes its pool.
pub(super) async fn delete(
    ctx: &MountContext,
    conns: &Connections,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let _guard = lock(ctx, PREFIX, name).await;
    ctx.view.delete(&format!("{PREFIX}{name}")).await?;
    conns.remove(&mount_id(ctx), name);
    Ok(EngineResponse::empty())
}

fn creating(message: impl std::fmt::Display) -> EngineError {
    EngineError::Invalid(format!("error creating database object: {message}"))
}

/// OpenBao's refusal of an unknown `plugin_name`: its catalog lookup fails twice (with
/// and without a version) and reports both in one multierror.
fn unknown_plugin(error: DriverError) -> EngineError {
    match error {
        DriverError::UnknownPlugin(name) => {
            let line = format!("plugin not found in the catalog: {name}");
            creating(format!(
                "invalid database version: 2 errors occurred:\n\t* {line}\n\t* {line}\n\n"
            ))
        }
        other => creating(other),
    }
}

/// `POST config/:name`: create, or merge into the stored config.
pub(super) async fn write(
    req: &EngineRequest<'_>,
    conns: &Connections,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let data = req.data;
    for tls in [
        "tls_ca",
        "tls_certificate",
        "tls_certificate_key",
        "private_key",
    ] {
        require_empty(data, tls, tls).map_err(|e| EngineError::Invalid(e.to_string()))?;
    }
    let verify = field(opt_bool(data, "verify_connection"))?.unwrap_or(true);
    let ctx = req.ctx;
    let _guard = lock(ctx, PREFIX, name).await;

    let mut config = match load(ctx, name).await? {
        Some(stored) => stored,
        None => {
            let plugin = field(opt_string(data, "plugin_name"))?.unwrap_or_default();
            if plugin.is_empty() {
                return Err(EngineError::Invalid("empty plugin name".into()));
            }
            DbConfig::empty(plugin)
        }
    };
    if let Some(p) = field(opt_string(data, "plugin_name"))? {
        if !p.is_empty() {
            config.plugin_name = p;
        }
    }
    let plugin = Plugin::parse(&config.plugin_name).map_err(unknown_plugin)?;
    if let Some(v) = field(opt_string(data, "connection_url"))? {
        config.connection_url = v;
    }
    if let Some(v) = field(opt_string(data, "username"))? {
        config.username = v;
    }
    if let Some(v) = field(opt_string(data, "password"))? {
        config.password = StoredSecret::new(zeroize::Zeroizing::new(v));
    }
    if let Some(v) = field(opt_string_list(data, "allowed_roles"))? {
        config.allowed_roles = v;
    }
    if let Some(v) = super::statements::opt_statements(data, "root_rotation_statements")? {
        config.root_rotation_statements = v;
    }
    if let Some(v) = field(opt_string(data, "password_policy"))? {
        config.password_policy = v.trim().to_string();
    }
    if let Some(v) = field(opt_string(data, "username_template"))? {
        config.username_template = v;
    }
    if let Some(v) = field(opt_u32(data, "max_open_connections"))? {
        config.max_open_connections = if v == 0 { DEFAULT_MAX_OPEN } else { v };
    }
    if let Some(v) = field(opt_u32(data, "max_idle_connections"))? {
        config.max_idle_connections = v;
    }
    if let Some(v) = opt_duration(data, "max_connection_lifetime")
        .map_err(|e| EngineError::Invalid(format!("invalid max_connection_lifetime: {e}")))?
    {
        config.max_connection_lifetime = v;
    }
    if let Some(v) = field(opt_bool(data, "disable_escaping"))? {
        config.disable_escaping = v;
    }
    if let Some(v) = field(opt_string(data, "password_authentication"))? {
        match v.as_str() {
            "" | "password" | "scram-sha-256" => config.password_authentication = v,
            other => {
                return Err(EngineError::Invalid(format!(
                "invalid password_authentication {other:?}: use \"password\" or \"scram-sha-256\""
            )))
            }
        }
        if plugin.is_mysql() && !config.password_authentication.is_empty() {
            return Err(EngineError::Invalid(
                "password_authentication applies to PostgreSQL only".into(),
            ));
        }
    }
    if !config.username_template.is_empty() {
        UsernameTemplate::parse(&config.username_template).map_err(|e| {
            EngineError::Invalid(format!("unable to initialize username template: {e}"))
        })?;
    }
    if !config.password_policy.is_empty() {
        let known = conns
            .passwords()
            .get(&config.password_policy)
            .await
            .map_err(|e| super::password_policy_error(&config.password_policy, e))?;
        if known.is_none() {
            return Err(EngineError::Invalid(format!(
                "password policy {:?} does not exist",
                config.password_policy
            )));
        }
    }

    config.generation = new_generation()?;
    let conn = super::driver::Connection::open(&config.settings()?).map_err(creating)?;
    if verify {
        if let Err(e) = conn.verify().await {
            conn.close();
            let message = super::scrub(&e.to_string(), &[config.password.expose()]);
            return Err(creating(format!("error verifying connection: {message}")));
        }
    }
    store_json(ctx, &format!("{PREFIX}{name}"), &config).await?;
    conns.install(&mount_id(ctx), name, config.generation, conn);

    let warnings = unknown_field_warning(data, KNOWN).into_iter().collect();
    Ok(EngineResponse {
        warnings,
        ..Default::default()
    })
}

/// `POST reset/:name`: closes the pool and opens (and verifies) a new one.
pub(super) async fn reset(
    ctx: &MountContext,
    conns: &Connections,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let _guard = lock(ctx, PREFIX, name).await;
    let config = require(ctx, name).await?;
    let mount = mount_id(ctx);
    conns.remove(&mount, name);
    let conn = conns.connection(&mount, name, &config)?;
    conn.verify().await.map_err(|e| {
        driver_failure(
            "error verifying connection",
            &e,
            &[config.password.expose()],
        )
    })?;
    Ok(EngineResponse::empty())
}

/// `POST rotate-root/:name`: a new admin password, set in the database, then stored.
pub(super) async fn rotate_root(
    ctx: &MountContext,
    conns: &Connections,
    name: &str,
) -> Result<EngineResponse, EngineError> {
    validate_name(name)?;
    let _guard = lock(ctx, PREFIX, name).await;
    let mut config = require(ctx, name).await?;
    if config.username.is_empty() {
        return Err(EngineError::External(
            "unable to rotate root credentials: no username in configuration".into(),
        ));
    }
    let plugin = config.plugin()?;
    let mount = mount_id(ctx);
    let conn = conns.connection(&mount, name, &config)?;
    let password = generate_password(conns, &config.password_policy).await?;
    super::set_password(
        &conn,
        &config.root_rotation_statements,
        plugin.default_root_rotation_statements(),
        &config.username,
        &password,
    )
    .await
    .map_err(|e| {
        let message = match &e {
            DriverError::Connect(_) => format!("error verifying connection: {e}"),
            _ => format!("failed to update user: {}", multierror(&query_failure(&e))),
        };
        external(&message, &[password.as_str(), config.password.expose()])
    })?;
    config.password = StoredSecret::new(password);
    config.generation = new_generation()?;
    store_json_retrying(ctx, &format!("{PREFIX}{name}"), &config).await?;
    // The old pool authenticated with the old password; the next request builds a new one.
    conns.remove(&mount, name);
    Ok(EngineResponse::empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::core::request::Operation::{Delete, List, Read, Update};
    use crate::engines::database::testing::Mount;

    /// A PostgreSQL URL nobody listens on (connection refused at once).
    const DEAD_PG: &str =
        "postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres?sslmode=disable";

    fn invalid_message(e: EngineError) -> String {
        match e {
            EngineError::Invalid(m) => m,
            other => panic!("expected 400, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn create_read_merge_never_shows_the_password() {
        let m = Mount::new().await;
        m.call(
            Update,
            "config/pg",
            json!({
                "plugin_name": "postgresql-database-plugin",
                "connection_url": DEAD_PG,
                "username": "baoadmin",
                "password": "Sup3r-Secret-Pw",
                "allowed_roles": "ro,static1",
                "verify_connection": false
            }),
        )
        .await
        .unwrap();
        let expected = json!({
            "allowed_roles": ["ro", "static1"],
            "connection_details": {"connection_url": DEAD_PG, "username": "baoadmin"},
            "password_policy": "",
            "plugin_name": "postgresql-database-plugin",
            "plugin_version": "",
            "root_credentials_rotate_statements": []
        });
        assert_eq!(m.data(Read, "config/pg", json!({})).await, expected);
        assert_eq!(m.conns.len(), 1);
        // An update merges: only allowed_roles changes.
        m.call(
            Update,
            "config/pg",
            json!({"allowed_roles": ["*"], "verify_connection": false}),
        )
        .await
        .unwrap();
        let mut expected = expected;
        expected["allowed_roles"] = json!(["*"]);
        let read = m.data(Read, "config/pg", json!({})).await;
        assert_eq!(read, expected);
        assert!(!read.to_string().contains("Sup3r-Secret-Pw"));
        let stored = load(&m.ctx, "pg").await.unwrap().unwrap();
        assert_eq!(stored.password.expose(), "Sup3r-Secret-Pw");
        assert!(!format!("{stored:?}").contains("Sup3r"));
        // Statements and the extra settings read back.
        m.call(
            Update,
            "config/pg",
            json!({
                "root_rotation_statements": ["ALTER ROLE \"{{username}}\" PASSWORD '{{password}}';"],
                "username_template": "{{.RoleName}}-{{random 8}}",
                "max_open_connections": 2,
                "verify_connection": false,
                "unknown_thing": 1
            }),
        )
        .await
        .map(|r| {
            assert_eq!(
                r.warnings,
                ["Endpoint ignored these unrecognized parameters: [unknown_thing]"]
            );
        })
        .unwrap();
        let read = m.data(Read, "config/pg", json!({})).await;
        assert_eq!(
            read["root_credentials_rotate_statements"],
            json!(["ALTER ROLE \"{{username}}\" PASSWORD '{{password}}';"])
        );
        assert_eq!(
            read["connection_details"]["username_template"],
            json!("{{.RoleName}}-{{random 8}}")
        );
        assert_eq!(read["connection_details"]["max_open_connections"], json!(2));
        assert_eq!(
            m.data(List, "config/", json!({})).await,
            json!({"keys": ["pg"]})
        );
        m.call(Delete, "config/pg", json!({})).await.unwrap();
        assert_eq!(m.conns.len(), 0);
        assert!(matches!(
            m.error(Read, "config/pg", json!({})).await,
            EngineError::NotFound
        ));
        assert!(matches!(
            m.error(List, "config/", json!({})).await,
            EngineError::NotFound
        ));
    }

    #[tokio::test]
    async fn refused_writes_store_nothing() {
        let m = Mount::new().await;
        let base = |extra: Value| {
            let mut body = json!({
                "plugin_name": "postgresql-database-plugin",
                "connection_url": DEAD_PG,
                "username": "admin",
                "password": "Wr0ng-Pw-For-Test",
                "verify_connection": false
            });
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            body
        };
        assert_eq!(
            invalid_message(
                m.error(Update, "config/x", json!({"connection_url": "x"}))
                    .await
            ),
            "empty plugin name"
        );
        assert_eq!(
            invalid_message(
                m.error(
                    Update,
                    "config/x",
                    base(json!({"plugin_name": "nope-database-plugin"}))
                )
                .await
            ),
            "error creating database object: invalid database version: 2 errors occurred:\n\t* \
             plugin not found in the catalog: nope-database-plugin\n\t* plugin not found in the \
             catalog: nope-database-plugin\n\n"
        );
        assert_eq!(
            invalid_message(
                m.error(
                    Update,
                    "config/x",
                    base(json!({"password_policy": "nosuch"}))
                )
                .await
            ),
            "password policy \"nosuch\" does not exist"
        );
        assert!(invalid_message(
            m.error(
                Update,
                "config/x",
                base(json!({"username_template": "{{.Nope}}"}))
            )
            .await
        )
        .starts_with("unable to initialize username template"));
        assert!(invalid_message(
            m.error(
                Update,
                "config/x",
                base(json!({"password_authentication": "md5"}))
            )
            .await
        )
        .starts_with("invalid password_authentication"));
        assert!(invalid_message(
            m.error(Update, "config/x", base(json!({"tls_ca": "PEM"})))
                .await
        )
        .contains("not supported"));
        // Verification (the default) against a dead port: 400, nothing stored, no password.
        let message = invalid_message(
            m.error(Update, "config/x", base(json!({"verify_connection": true})))
                .await,
        );
        assert!(
            message.starts_with("error creating database object: error verifying connection: "),
            "{message}"
        );
        assert!(!message.contains("Wr0ng-Pw-For-Test"), "{message}");
        assert!(matches!(
            m.error(Read, "config/x", json!({})).await,
            EngineError::NotFound
        ));
        assert_eq!(m.conns.len(), 0);
        // A policy that exists is accepted.
        m.conns
            .passwords()
            .put(
                "short",
                "length = 12\nrule \"charset\" { charset = \"abc123\" }",
            )
            .await
            .unwrap();
        m.call(
            Update,
            "config/x",
            base(json!({"password_policy": "short"})),
        )
        .await
        .unwrap();
        assert_eq!(
            m.data(Read, "config/x", json!({})).await["password_policy"],
            json!("short")
        );
        // reset / rotate-root of a missing connection: Vault's 500 (a Go multierror).
        for path in ["reset/none", "rotate-root/none"] {
            match m.error(Update, path, json!({})).await {
                EngineError::External(msg) => assert_eq!(
                    msg,
                    "1 error occurred:\n\t* failed to find entry for connection with name: \"none\"\n\n"
                ),
                other => panic!("{path}: {other:?}"),
            }
        }
        // reset and rotate-root of an unreachable database: 500 naming the failure, not
        // the password.
        for path in ["reset/x", "rotate-root/x"] {
            match m.error(Update, path, json!({})).await {
                EngineError::External(msg) => {
                    assert!(
                        msg.starts_with("1 error occurred:\n\t* error verifying connection: "),
                        "{msg}"
                    );
                    assert!(!msg.contains("Wr0ng-Pw-For-Test"), "{msg}");
                }
                other => panic!("{other:?}"),
            }
        }
        // rotate-root without an admin username: a 500, as in OpenBao.
        m.call(
            Update,
            "config/nouser",
            base(json!({"username": "", "password": ""})),
        )
        .await
        .unwrap();
        match m.error(Update, "rotate-root/nouser", json!({})).await {
            EngineError::External(msg) => assert_eq!(
                msg,
                "1 error occurred:\n\t* unable to rotate root credentials: no username in configuration\n\n"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn allowed_roles_globs() {
        let mut c = DbConfig::empty("postgresql-database-plugin".into());
        assert!(!c.allows("ro"));
        c.allowed_roles = vec!["*".into()];
        assert!(c.allows("anything"));
        c.allowed_roles = vec!["app-*".into(), "ro".into()];
        assert!(c.allows("app-1"));
        assert!(c.allows("ro"));
        assert!(!c.allows("rw"));
        assert!(!c.allows("xapp-1"));
    }

    #[test]
    fn pool_settings() {
        let mut c = DbConfig::empty("mysql-database-plugin".into());
        c.max_open_connections = 0;
        let s = c.settings().unwrap();
        assert_eq!((s.max_open_connections, s.max_idle_connections), (4, 4));
        c.max_open_connections = 8;
        c.max_idle_connections = 20;
        let s = c.settings().unwrap();
        assert_eq!((s.max_open_connections, s.max_idle_connections), (8, 8));
        assert!(!format!("{s:?}").contains("password"));
    }
}
