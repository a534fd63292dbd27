//! The local PostgreSQL for the database, lease, LeaseKeeper and CLI tests: an admin
//! connection, "does this role exist", the templated connection URL, and a server with
//! `database/` mounted and connection `pg` configured (plus role `app` for lease tests).
//!
//! The cluster comes from `STRONGROOM_TEST_POSTGRES_URL` (see [`postgres_url`]); its
//! admin logs in by trust, so the password sent is never checked. Role names are
//! cluster-wide: tests make them unique with [`unique`].

use serde_json::json;
use strongroom_client::api::{DatabaseConfigRequest, DatabasePassword, DatabaseRole};
use strongroom_client::Client;

use crate::harness::{postgres_url, TestServer};

/// A connection to the test PostgreSQL as its admin.
pub async fn pg_admin(cfg: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.expect("postgres");
    tokio::spawn(conn);
    client
}

/// Whether a role named `name` exists in the cluster.
pub async fn pg_role_exists(admin: &tokio_postgres::Client, name: &str) -> bool {
    admin
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name])
        .await
        .expect("pg_roles")
        .is_some()
}

/// Connects as a (dynamic) user; trust authentication on the test machine accepts any
/// password, so success proves the role exists and may log in.
pub async fn pg_login(
    cfg: &tokio_postgres::Config,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut c = cfg.clone();
    c.user(user).password(password);
    let (client, conn) = c.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// A name suffix unique to this process and call (roles are cluster-wide).
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!("{prefix}{}x{nanos:08x}x{n}", std::process::id())
}

/// Host and port of a PostgreSQL config (127.0.0.1:5432 when it names none).
pub fn pg_addr(cfg: &tokio_postgres::Config) -> (String, u16) {
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_string(),
    };
    (host, cfg.get_ports().first().copied().unwrap_or(5432))
}

/// The admin user of a PostgreSQL config (`postgres` when it names none).
pub fn pg_user(cfg: &tokio_postgres::Config) -> &str {
    cfg.get_user().unwrap_or("postgres")
}

/// The `connection_url` of a `pg` connection to `cfg`'s database at `host:port`
/// (PostgreSQL itself, or a proxy in front of it), with the username/password template.
pub fn pg_connection_url_via(cfg: &tokio_postgres::Config, host: &str, port: u16) -> String {
    let dbname = cfg.get_dbname().unwrap_or("postgres");
    format!("postgresql://{{{{username}}}}:{{{{password}}}}@{host}:{port}/{dbname}?sslmode=disable")
}

/// The `connection_url` of a `pg` connection straight to `cfg`'s PostgreSQL.
pub fn pg_connection_url(cfg: &tokio_postgres::Config) -> String {
    let (host, port) = pg_addr(cfg);
    pg_connection_url_via(cfg, &host, port)
}

/// The connection config for the test PostgreSQL, logging in as `user`.
pub fn pg_config(cfg: &tokio_postgres::Config, user: &str) -> DatabaseConfigRequest {
    DatabaseConfigRequest {
        plugin_name: "postgresql-database-plugin".into(),
        connection_url: pg_connection_url(cfg),
        username: user.into(),
        password: DatabasePassword::new("unused-with-trust"),
        allowed_roles: vec!["*".into()],
        verify_connection: None,
        root_rotation_statements: vec![],
        password_policy: None,
        username_template: None,
    }
}

/// The statement a dynamic role runs: a login role valid until the lease's expiry.
pub const CREATE_LOGIN_ROLE: &str =
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';";

/// A dynamic role on connection `pg` creating a login role valid until its expiry.
pub fn pg_role(default_ttl: u64, max_ttl: u64) -> DatabaseRole {
    DatabaseRole {
        db_name: "pg".into(),
        creation_statements: vec![CREATE_LOGIN_ROLE.into()],
        default_ttl,
        max_ttl,
        ..Default::default()
    }
}

/// An initialised server with `database/` mounted and connection `pg` to `cfg`'s
/// PostgreSQL configured through the client. Returns the server and the root token.
pub async fn pg_database_server(cfg: &tokio_postgres::Config) -> (TestServer, String) {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.mount(&root, "database", json!({"type": "database"}))
        .await;
    s.client_with(&root)
        .database_write_config("database", "pg", &pg_config(cfg, pg_user(cfg)))
        .await
        .expect("write config");
    (s, root)
}

/// [`pg_database_server`] on the local PostgreSQL; `None` when it is not available.
pub async fn pg_server() -> Option<(TestServer, String, tokio_postgres::Config)> {
    let cfg = postgres_url()?;
    let (s, root) = pg_database_server(&cfg).await;
    Some((s, root, cfg))
}

/// [`pg_database_server`] plus a role `app` (1h, max 24h). Returns the server, a root
/// client and the root token.
pub async fn pg_lease_server(cfg: &tokio_postgres::Config) -> (TestServer, Client, String) {
    let (s, root) = pg_database_server(cfg).await;
    let c = s.client_with(&root);
    c.database_write_role("database", "app", &pg_role(3600, 24 * 3600))
        .await
        .expect("write role app");
    (s, c, root)
}

/// Issues one credential of role `app`: (lease id, PostgreSQL user name).
pub async fn pg_creds(c: &Client) -> (String, String) {
    let secret = c
        .read_secret("database/creds/app")
        .await
        .expect("creds")
        .expect("a secret");
    let user = secret.data.expect("data")["username"]
        .as_str()
        .expect("username")
        .to_string();
    (secret.lease_id, user)
}
