//! Database drivers: talking to PostgreSQL and MySQL/MariaDB.
//!
//! SKELETON: the signatures below are the contract between the engine (`engines/database`)
//! and the drivers; the driver work fills in the bodies (and may add private submodules
//! `postgres.rs`, `mysql.rs`, `template.rs`, `dsn.rs`).

#![allow(dead_code, unused_variables, clippy::unused_async)]

use std::time::Duration;

use time::OffsetDateTime;
use zeroize::Zeroizing;

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

impl Plugin {
    /// Parses `plugin_name`.
    pub fn parse(name: &str) -> Result<Plugin, DriverError> {
        unimplemented!()
    }

    /// Vault's name.
    pub fn name(self) -> &'static str {
        unimplemented!()
    }

    /// Longest username the database accepts (63 for PostgreSQL, 32 MySQL, 16 legacy).
    pub fn max_username_len(self) -> usize {
        unimplemented!()
    }

    /// Whether this is one of the MySQL flavours.
    pub fn is_mysql(self) -> bool {
        !matches!(self, Plugin::Postgres)
    }

    /// Default `renew_statements` when a role has none (PostgreSQL: move `VALID UNTIL`;
    /// MySQL: none).
    pub fn default_renew_statements(self) -> &'static [&'static str] {
        unimplemented!()
    }

    /// Default `root_rotation_statements` (`ALTER ROLE "{{username}}" WITH PASSWORD
    /// '{{password}}'`, MySQL `ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}'`).
    pub fn default_root_rotation_statements(self) -> &'static [&'static str] {
        unimplemented!()
    }

    /// Default static-role `rotation_statements` (same shape as the root rotation).
    pub fn default_static_rotation_statements(self) -> &'static [&'static str] {
        unimplemented!()
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

/// A pool of connections to one database. Cloning is cheap (shared pool). No I/O
/// happens until a method needs a connection; every connect and statement is bounded by
/// a timeout, so an unreachable database fails its own requests and nothing else.
#[derive(Clone)]
pub struct Connection {
    plugin: Plugin,
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
        unimplemented!()
    }

    /// The plugin.
    pub fn plugin(&self) -> Plugin {
        self.plugin
    }

    /// Connects and pings (`verify_connection`).
    pub async fn verify(&self) -> Result<(), DriverError> {
        unimplemented!()
    }

    /// Renders each template with `vars`, splits it on `;` into statements, and runs them
    /// all in one transaction (rolled back on the first failure).
    pub async fn execute(&self, templates: &[String], vars: &Vars<'_>) -> Result<(), DriverError> {
        unimplemented!()
    }

    /// The default revocation of a dynamic user: PostgreSQL terminates the role's live
    /// sessions, revokes its privileges, reassigns and drops what it owns, and drops the
    /// role; MySQL kills its sessions, revokes everything and drops the user. Absent user:
    /// `Ok`.
    pub async fn drop_user(&self, username: &str) -> Result<(), DriverError> {
        unimplemented!()
    }

    /// Ends every live session of `username` (used before operator revocation statements
    /// too).
    pub async fn terminate_sessions(&self, username: &str) -> Result<(), DriverError> {
        unimplemented!()
    }

    /// Closes the pool (connections are dropped).
    pub fn close(&self) {}
}

/// A username for a dynamic credential, from Vault's default template:
/// `v-<display name, ≤8>-<role, ≤8>-<20 random [A-Za-z0-9]>-<unix seconds>` for PostgreSQL
/// (≤10/≤10 for MySQL), truncated to the plugin's limit.
pub fn generate_username(plugin: Plugin, display_name: &str, role: &str) -> String {
    unimplemented!()
}

/// Whether `username` is acceptable for a static role or admin user: 1..=max length,
/// letters, digits and `_ . - @ $`, no quotes or whitespace.
pub fn validate_username(plugin: Plugin, username: &str) -> Result<(), DriverError> {
    unimplemented!()
}
