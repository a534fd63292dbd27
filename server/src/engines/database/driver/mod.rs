//! Database drivers: talking to PostgreSQL and MySQL/MariaDB.
//!
//! The engine (`engines/database`) sees only this file's types: a [`Plugin`] (Vault's
//! built-in plugin names), the [`ConnectionSettings`] of a configured connection, a
//! [`Connection`] (a lazily connecting pool) and the [`Vars`] a statement template is
//! filled with. Everything else is private, one concern per file:
//!
//! * `dsn` — the connection URL/DSN template → a driver config, with the admin
//!   credentials set on the config object (never spliced unescaped into the URL);
//! * `template` — `{{name}}`/`{{password}}`/`{{expiration}}` filling and `;` splitting;
//! * `scrub` — removing every password we were given from error messages;
//! * `username` — Vault's default username templates and the static-username check;
//! * `postgres`, `mysql` — the pools and the statements of each database.
//!
//! Invariants: [`Connection::open`] does no I/O; every connect and statement is bounded by
//! a timeout ([`CONNECT_TIMEOUT`], [`STATEMENT_TIMEOUT`]); no lock is held across network
//! I/O (the pools are the drivers' own); no error, log line or `Debug` output holds a
//! password. TLS is not implemented: settings that demand it are refused with
//! [`DriverError::InvalidUrl`], never silently downgraded.

mod dsn;
mod mysql;
mod postgres;
mod scrub;
mod template;
mod username;

#[cfg(test)]
pub(crate) mod live_tests;

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::ErrorKind;
use scrub::Scrubber;

pub use username::{generate_username, validate_username};

/// Longest wait for a new connection (TCP connect + authentication).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a free connection of a busy pool.
pub const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest run of one operation's statements (`execute`, `drop_user`, ...). PostgreSQL
/// also enforces it server side (`SET LOCAL statement_timeout`).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Vault's default `max_open_connections`.
pub const DEFAULT_MAX_OPEN_CONNECTIONS: u32 = 4;

/// Failures talking to a database. `Display` never contains a password: messages are
/// scrubbed of every password the driver was given before they are built.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// `plugin_name` names no built-in driver.
    #[error("invalid database version: plugin not found in the catalog: {0}")]
    UnknownPlugin(String),
    /// The connection URL (or DSN) could not be parsed.
    #[error("invalid connection_url: {0}")]
    InvalidUrl(String),
    /// Could not connect (refused, timeout, authentication).
    #[error("failed to connect to the database: {0}")]
    Connect(String),
    /// A statement failed.
    #[error("failed to execute statement: {0}")]
    Statement(String),
    /// A value unfit for an identifier (a username with a quote, say).
    #[error("{0}")]
    Invalid(String),
}

impl DriverError {
    /// The kind: configuration mistakes are the client's (400); a database that refuses
    /// or fails is an upstream failure (502). The engine may map them otherwise (Vault
    /// answers a failed `verify_connection` with 400).
    pub fn kind(&self) -> ErrorKind {
        match self {
            DriverError::UnknownPlugin(_)
            | DriverError::InvalidUrl(_)
            | DriverError::Invalid(_) => ErrorKind::Invalid,
            DriverError::Connect(_) | DriverError::Statement(_) => ErrorKind::BadGateway,
        }
    }
}

/// The built-in plugins (Vault's names, kept for compatibility).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// `postgresql-database-plugin`.
    Postgres,
    /// `mysql-database-plugin` (usernames ≤ 32).
    Mysql,
    /// `mysql-legacy-database-plugin` (usernames ≤ 16).
    MysqlLegacy,
    /// `mysql-rds-database-plugin` (usernames ≤ 16).
    MysqlRds,
    /// `mysql-aurora-database-plugin` (usernames ≤ 16).
    MysqlAurora,
}

const POSTGRES_RENEW: &[&str] = &["ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}';"];
const POSTGRES_ROTATE: &[&str] = &["ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}';"];
const MYSQL_ROTATE: &[&str] = &["ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}';"];

impl Plugin {
    /// Every plugin.
    pub const ALL: [Plugin; 5] = [
        Plugin::Postgres,
        Plugin::Mysql,
        Plugin::MysqlLegacy,
        Plugin::MysqlRds,
        Plugin::MysqlAurora,
    ];

    /// Parses `plugin_name`.
    pub fn parse(name: &str) -> Result<Plugin, DriverError> {
        Plugin::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| DriverError::UnknownPlugin(name.to_string()))
    }

    /// Vault's name.
    pub fn name(self) -> &'static str {
        match self {
            Plugin::Postgres => "postgresql-database-plugin",
            Plugin::Mysql => "mysql-database-plugin",
            Plugin::MysqlLegacy => "mysql-legacy-database-plugin",
            Plugin::MysqlRds => "mysql-rds-database-plugin",
            Plugin::MysqlAurora => "mysql-aurora-database-plugin",
        }
    }

    /// Longest username the database accepts (63 for PostgreSQL, 32 MySQL, 16 legacy).
    pub fn max_username_len(self) -> usize {
        match self {
            Plugin::Postgres => 63,
            Plugin::Mysql => 32,
            Plugin::MysqlLegacy | Plugin::MysqlRds | Plugin::MysqlAurora => 16,
        }
    }

    /// Whether this is one of the MySQL flavours.
    pub fn is_mysql(self) -> bool {
        !matches!(self, Plugin::Postgres)
    }

    /// Default `renew_statements` when a role has none (PostgreSQL: move `VALID UNTIL`;
    /// MySQL: none).
    pub fn default_renew_statements(self) -> &'static [&'static str] {
        match self {
            Plugin::Postgres => POSTGRES_RENEW,
            _ => &[],
        }
    }

    /// Default `root_rotation_statements` (`ALTER ROLE "{{username}}" WITH PASSWORD
    /// '{{password}}'`, MySQL `ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}'`).
    pub fn default_root_rotation_statements(self) -> &'static [&'static str] {
        match self {
            Plugin::Postgres => POSTGRES_ROTATE,
            _ => MYSQL_ROTATE,
        }
    }

    /// Default static-role `rotation_statements` (same shape as the root rotation).
    pub fn default_static_rotation_statements(self) -> &'static [&'static str] {
        self.default_root_rotation_statements()
    }
}

/// How to reach a database. `Debug` never shows the password.
pub struct ConnectionSettings {
    /// Which driver.
    pub plugin: Plugin,
    /// The URL or DSN, with `{{username}}` / `{{password}}` placeholders.
    pub connection_url: String,
    /// The admin user filling `{{username}}`.
    pub username: String,
    /// The admin password filling `{{password}}`.
    pub password: Zeroizing<String>,
    /// Fill the placeholders without URL-escaping.
    pub disable_escaping: bool,
    /// Pool size (Vault's `max_open_connections`, default 4).
    pub max_open_connections: u32,
    /// Idle connections kept (default: `max_open_connections`).
    pub max_idle_connections: u32,
    /// Recycle connections older than this (zero: never).
    pub max_connection_lifetime: Duration,
}

impl ConnectionSettings {
    /// The pool size: `max_open_connections`, or the default when zero.
    fn pool_size(&self) -> usize {
        let n = if self.max_open_connections == 0 {
            DEFAULT_MAX_OPEN_CONNECTIONS
        } else {
            self.max_open_connections
        };
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    /// Idle connections kept: `max_idle_connections` (zero: the pool size), at most the
    /// pool size.
    fn idle_size(&self) -> usize {
        let size = self.pool_size();
        match usize::try_from(self.max_idle_connections) {
            Ok(0) | Err(_) => size,
            Ok(n) => n.min(size),
        }
    }

    /// `max_connection_lifetime`, `None` when zero.
    fn lifetime(&self) -> Option<Duration> {
        (!self.max_connection_lifetime.is_zero()).then_some(self.max_connection_lifetime)
    }
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("plugin", &self.plugin)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The values a statement template is filled with.
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    /// `{{name}}` and `{{username}}`.
    pub name: &'a str,
    /// `{{password}}`.
    pub password: Option<&'a str>,
    /// `{{expiration}}` (PostgreSQL form `2006-01-02 15:04:05-0700`).
    pub expiration: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vars")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The pool of one database, per driver.
enum Pool {
    Postgres(postgres::PgPool),
    Mysql(mysql::MyPool),
}

/// A pool of connections to one database. Cloning is cheap (shared pool). No I/O
/// happens until a method needs a connection; every connect and statement is bounded by
/// a timeout, so an unreachable database fails its own requests and nothing else.
#[derive(Clone)]
pub struct Connection {
    plugin: Plugin,
    pool: Arc<Pool>,
    /// The admin password (and its escaped form), scrubbed from every error.
    scrubber: Arc<Scrubber>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("plugin", &self.plugin)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Parses the settings and builds the pool (no I/O).
    pub fn open(settings: &ConnectionSettings) -> Result<Connection, DriverError> {
        let scrubber = Arc::new(Scrubber::for_admin(&settings.password));
        let pool = if settings.plugin.is_mysql() {
            Pool::Mysql(mysql::MyPool::open(settings, &scrubber)?)
        } else {
            Pool::Postgres(postgres::PgPool::open(settings, &scrubber)?)
        };
        Ok(Connection {
            plugin: settings.plugin,
            pool: Arc::new(pool),
            scrubber,
        })
    }

    /// The plugin.
    pub fn plugin(&self) -> Plugin {
        self.plugin
    }

    /// Connects and pings (`verify_connection`).
    pub async fn verify(&self) -> Result<(), DriverError> {
        match &*self.pool {
            Pool::Postgres(pool) => pool.verify(&self.scrubber).await,
            Pool::Mysql(pool) => pool.verify(&self.scrubber).await,
        }
    }

    /// Renders each template with `vars`, splits it on `;` into statements, and runs them
    /// all in one transaction (rolled back on the first failure). MySQL commits DDL
    /// (`CREATE USER`, `GRANT`) implicitly, so there only the statements after the last
    /// DDL are rolled back.
    pub async fn execute(&self, templates: &[String], vars: &Vars<'_>) -> Result<(), DriverError> {
        template::check_vars(vars)?;
        let scrubber = self.scrubber.with_extra(vars.password);
        let mut statements: Vec<Zeroizing<String>> = Vec::new();
        for text in templates {
            let rendered = template::render(text, vars);
            statements.extend(
                template::split_statements(&rendered).map(|s| Zeroizing::new(s.to_string())),
            );
        }
        if statements.is_empty() {
            return Ok(());
        }
        match &*self.pool {
            Pool::Postgres(pool) => pool.execute(&statements, &scrubber).await,
            Pool::Mysql(pool) => pool.execute(&statements, &scrubber).await,
        }
    }

    /// The default revocation of a dynamic user: PostgreSQL terminates the role's live
    /// sessions, revokes its privileges, reassigns and drops what it owns, and drops the
    /// role; MySQL kills its sessions, revokes everything and drops the user. Absent user:
    /// `Ok`.
    pub async fn drop_user(&self, username: &str) -> Result<(), DriverError> {
        match &*self.pool {
            Pool::Postgres(pool) => pool.drop_user(username, &self.scrubber).await,
            Pool::Mysql(pool) => pool.drop_user(username, &self.scrubber).await,
        }
    }

    /// Ends every live session of `username` (used before operator revocation statements
    /// too).
    pub async fn terminate_sessions(&self, username: &str) -> Result<(), DriverError> {
        match &*self.pool {
            Pool::Postgres(pool) => pool.terminate_sessions(username, &self.scrubber).await,
            Pool::Mysql(pool) => pool.terminate_sessions(username, &self.scrubber).await,
        }
    }

    /// Closes the pool (connections are dropped; later calls fail).
    pub fn close(&self) {
        match &*self.pool {
            Pool::Postgres(pool) => pool.close(),
            Pool::Mysql(pool) => pool.close(),
        }
    }
}

/// Runs `fut` under `limit`; a timeout becomes `on_timeout(message)`.
async fn bounded<T>(
    limit: Duration,
    on_timeout: fn(String) -> DriverError,
    fut: impl std::future::Future<Output = Result<T, DriverError>>,
) -> Result<T, DriverError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(on_timeout(format!(
            "timed out after {}s",
            limit.as_secs_f32()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_round_trip() {
        for plugin in Plugin::ALL {
            assert_eq!(Plugin::parse(plugin.name()).ok(), Some(plugin));
        }
        let err = Plugin::parse("nope-database-plugin").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some(
                "invalid database version: plugin not found in the catalog: nope-database-plugin"
                    .to_string()
            )
        );
    }

    #[test]
    fn plugin_limits_and_defaults() {
        assert_eq!(Plugin::Postgres.max_username_len(), 63);
        assert_eq!(Plugin::Mysql.max_username_len(), 32);
        assert_eq!(Plugin::MysqlRds.max_username_len(), 16);
        assert!(!Plugin::Postgres.is_mysql());
        assert!(Plugin::MysqlAurora.is_mysql());
        assert_eq!(Plugin::Postgres.default_renew_statements().len(), 1);
        assert!(Plugin::Mysql.default_renew_statements().is_empty());
        assert!(Plugin::Mysql.default_root_rotation_statements()[0].contains("ALTER USER"));
        assert!(Plugin::Postgres.default_static_rotation_statements()[0].contains("ALTER ROLE"));
    }

    #[test]
    fn settings_debug_hides_password() {
        let settings = ConnectionSettings {
            plugin: Plugin::Postgres,
            connection_url: "postgresql://{{username}}:{{password}}@h/db".into(),
            username: "admin".into(),
            password: Zeroizing::new("hunter2-secret".into()),
            disable_escaping: false,
            max_open_connections: 0,
            max_idle_connections: 9,
            max_connection_lifetime: Duration::ZERO,
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"));
        assert_eq!(settings.pool_size(), 4);
        assert_eq!(settings.idle_size(), 4);
        assert_eq!(settings.lifetime(), None);
        let vars = Vars {
            name: "u",
            password: Some("hunter2-secret"),
            expiration: None,
        };
        assert!(!format!("{vars:?}").contains("hunter2"));
    }

    #[test]
    fn kinds() {
        assert_eq!(
            DriverError::InvalidUrl("x".into()).kind(),
            ErrorKind::Invalid
        );
        assert_eq!(
            DriverError::Connect("x".into()).kind(),
            ErrorKind::BadGateway
        );
    }
}
