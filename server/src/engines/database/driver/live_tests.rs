//! Tests of both drivers against real servers.
//!
//! PostgreSQL from `STRONGROOM_TEST_POSTGRES_URL` (e.g.
//! `postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable`), MySQL/MariaDB from
//! `STRONGROOM_TEST_MYSQL_URL` (`mysql://root@127.0.0.1:3306/` or a Go DSN). Without the
//! variable a test says it was skipped and passes — except under `CI=true`, where it
//! fails. Every role, user and database a test creates has a random suffix and is
//! removed at the end.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::dsn::{mysql_target, MysqlAddr};
use super::scrub::Scrubber;
use super::*;

/// The URL in `var`, or `None` (the test says it was skipped); under `CI=true` a
/// missing URL fails the test. Shared with the engine's live tests.
pub(crate) fn env_url(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{var} must be set under CI=true ({test})"
            );
            println!("SKIPPED {test}: {var} is not set");
            None
        }
    }
}

/// A random suffix for names a test creates in a shared database.
pub(crate) fn suffix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    hex::encode(bytes)
}

fn password() -> String {
    // URL-hostile characters, none that SQL quoting needs.
    format!("Aa1-@:/?#%&=+ x{}", suffix())
}

fn settings(plugin: Plugin, url: &str, username: &str, password: &str) -> ConnectionSettings {
    ConnectionSettings {
        plugin,
        connection_url: url.to_string(),
        username: username.to_string(),
        password: Zeroizing::new(password.to_string()),
        disable_escaping: false,
        max_open_connections: 2,
        max_idle_connections: 0,
        max_connection_lifetime: Duration::from_secs(60),
    }
}

fn vars<'a>(name: &'a str, password: &'a str) -> Vars<'a> {
    Vars {
        name,
        password: Some(password),
        expiration: Some(OffsetDateTime::now_utc() + time::Duration::hours(1)),
    }
}

/// Polls `check` (up to 5 s) until it returns true.
async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------

const PG_VAR: &str = "STRONGROOM_TEST_POSTGRES_URL";

/// The PostgreSQL tests run one at a time: their own DDL (a test's `DROP TABLE`) does
/// not take the driver's advisory lock and would race another test's grants.
static PG_SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn pg_admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

async fn pg_role_exists(admin: &tokio_postgres::Client, name: &str) -> bool {
    admin
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name])
        .await
        .unwrap()
        .is_some()
}

/// Logs in as `user` (trust auth on the test server: the password is not checked).
async fn pg_login(url: &str, user: &str, password: &str) -> tokio_postgres::Client {
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.user(user).password(password);
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn pg_verify_ok_and_unreachable_fails_fast() {
    let Some(url) = env_url(PG_VAR, "pg_verify_ok_and_unreachable_fails_fast") else {
        return;
    };
    let _serial = PG_SERIAL.lock().await;
    let conn = Connection::open(&settings(Plugin::Postgres, &url, "", "")).unwrap();
    conn.verify().await.unwrap();
    conn.verify().await.unwrap(); // reused from the pool

    let bad = Connection::open(&settings(
        Plugin::Postgres,
        "host=127.0.0.1 port=1 user={{username}} password={{password}} dbname=postgres sslmode=disable",
        "postgres",
        "Wrong-Pass-123",
    ))
    .unwrap();
    let started = Instant::now();
    let err = bad.verify().await.unwrap_err();
    assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(1));
    assert!(matches!(err, DriverError::Connect(_)), "{err:?}");
    assert!(!err.to_string().contains("Wrong-Pass"), "{err}");
    bad.close();
    conn.close();
    assert!(conn.verify().await.is_err());
}

#[tokio::test]
async fn pg_create_login_drop_kills_sessions() {
    let Some(url) = env_url(PG_VAR, "pg_create_login_drop_kills_sessions") else {
        return;
    };
    let _serial = PG_SERIAL.lock().await;
    let admin = pg_admin(&url).await;
    let conn = Connection::open(&settings(Plugin::Postgres, &url, "", "")).unwrap();
    let name = generate_username(Plugin::Postgres, "test", "live").unwrap();
    let pw = password();
    conn.execute(
        &[
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';".to_string(),
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";".to_string(),
        ],
        &vars(&name, &pw),
    )
    .await
    .unwrap();
    assert!(pg_role_exists(&admin, &name).await);
    let valid_until: Option<std::time::SystemTime> = admin
        .query_one(
            "SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(valid_until.is_some_and(|t| t > std::time::SystemTime::now()));

    let session = pg_login(&url, &name, &pw).await;
    let who: String = session
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(who, name);

    conn.drop_user(&name).await.unwrap();
    assert!(!pg_role_exists(&admin, &name).await);
    assert!(
        eventually(|| async { session.simple_query("SELECT 1").await.is_err() }).await,
        "the dropped role's session still answers"
    );
    // Absent role: Ok.
    conn.drop_user(&name).await.unwrap();
    conn.terminate_sessions(&name).await.unwrap();
}

#[tokio::test]
async fn pg_failing_statement_rolls_back_and_is_scrubbed() {
    let Some(url) = env_url(PG_VAR, "pg_failing_statement_rolls_back_and_is_scrubbed") else {
        return;
    };
    let _serial = PG_SERIAL.lock().await;
    let admin = pg_admin(&url).await;
    let conn = Connection::open(&settings(Plugin::Postgres, &url, "", "")).unwrap();
    let name = generate_username(Plugin::Postgres, "test", "rollback").unwrap();
    let pw = password();
    let err = conn
        .execute(
            &[
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';".to_string(),
                "SELECT strongroom_no_such_function('{{password}}')".to_string(),
            ],
            &vars(&name, &pw),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::Statement(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("strongroom_no_such_function"), "{message}");
    assert!(!message.contains(&pw), "{message}");
    assert!(!pg_role_exists(&admin, &name).await, "not rolled back");
    // The pooled connection is usable after the rollback.
    conn.verify().await.unwrap();
}

#[tokio::test]
async fn pg_drop_user_reassigns_owned_objects_and_revokes_grants() {
    let Some(url) = env_url(
        PG_VAR,
        "pg_drop_user_reassigns_owned_objects_and_revokes_grants",
    ) else {
        return;
    };
    let _serial = PG_SERIAL.lock().await;
    let admin = pg_admin(&url).await;
    let conn = Connection::open(&settings(Plugin::Postgres, &url, "", "")).unwrap();
    let name = generate_username(Plugin::Postgres, "test", "owner").unwrap();
    let schema = format!("strongroom_s_{}", suffix());
    conn.execute(
        &["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';".to_string()],
        &vars(&name, "Pw-1234567890"),
    )
    .await
    .unwrap();
    // The role owns a table, and holds privileges on a schema, a table, a sequence
    // and a function it does not own.
    admin
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; \
             CREATE TABLE {schema}.owned (id int); ALTER TABLE {schema}.owned OWNER TO \"{name}\"; \
             CREATE TABLE {schema}.granted (id int); CREATE SEQUENCE {schema}.seq; \
             CREATE FUNCTION {schema}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'; \
             GRANT USAGE ON SCHEMA {schema} TO \"{name}\"; \
             GRANT SELECT, INSERT ON {schema}.granted TO \"{name}\"; \
             GRANT USAGE ON SEQUENCE {schema}.seq TO \"{name}\"; \
             GRANT EXECUTE ON FUNCTION {schema}.f() TO \"{name}\";"
        ))
        .await
        .unwrap();
    conn.drop_user(&name).await.unwrap();
    assert!(!pg_role_exists(&admin, &name).await);
    let owner: String = admin
        .query_one(
            "SELECT tableowner::text FROM pg_tables WHERE schemaname = $1 AND tablename = 'owned'",
            &[&schema],
        )
        .await
        .unwrap()
        .get(0);
    let me: String = admin
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, me);
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

#[tokio::test]
async fn pg_concurrent_grants_and_drops_do_not_conflict() {
    let Some(url) = env_url(PG_VAR, "pg_concurrent_grants_and_drops_do_not_conflict") else {
        return;
    };
    let _serial = PG_SERIAL.lock().await;
    let admin = pg_admin(&url).await;
    let schema = format!("strongroom_c_{}", suffix());
    let mut ddl = format!("CREATE SCHEMA {schema};");
    for i in 0..50 {
        ddl.push_str(&format!("CREATE TABLE {schema}.t{i} (id int);"));
    }
    admin.batch_execute(&ddl).await.unwrap();
    let mut conn_settings = settings(Plugin::Postgres, &url, "", "");
    conn_settings.max_open_connections = 4;
    let conn = Connection::open(&conn_settings).unwrap();
    // Unserialised, concurrent GRANT ... ON ALL TABLES fail with "tuple concurrently
    // updated"; the driver's advisory lock makes them wait for each other.
    let tasks = (0..8).map(|i| {
        let conn = conn.clone();
        let schema = schema.clone();
        async move {
            let name = generate_username(Plugin::Postgres, "test", &format!("c{i}")).unwrap();
            conn.execute(
                &[
                    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';".to_string(),
                    format!("GRANT USAGE ON SCHEMA {schema} TO \"{{{{name}}}}\";"),
                    format!("GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO \"{{{{name}}}}\";"),
                ],
                &vars(&name, "Pw-1234567890"),
            )
            .await?;
            conn.drop_user(&name).await
        }
    });
    for result in futures_util::future::join_all(tasks).await {
        result.unwrap();
    }
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// MySQL / MariaDB
// ---------------------------------------------------------------------------------------

const MY_VAR: &str = "STRONGROOM_TEST_MYSQL_URL";

/// Host and port of the test server.
fn my_host_port(url: &str) -> (String, u16) {
    let target = mysql_target(&settings(Plugin::Mysql, url, "", ""), &Scrubber::default()).unwrap();
    match target.addr {
        MysqlAddr::Tcp { host, port } => (host, port),
        MysqlAddr::Socket(_) => panic!("the MySQL test URL must use TCP"),
    }
}

async fn my_admin(url: &str) -> mysql_async::Conn {
    let target = mysql_target(&settings(Plugin::Mysql, url, "", ""), &Scrubber::default()).unwrap();
    let (host, port) = my_host_port(url);
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(port)
        .user(Some(target.user))
        .pass((!target.password.is_empty()).then(|| target.password.to_string()))
        .prefer_socket(false);
    mysql_async::Conn::new(opts).await.unwrap()
}

async fn my_user_exists(admin: &mut mysql_async::Conn, name: &str) -> bool {
    let count: Option<u64> = admin
        .exec_first("SELECT COUNT(*) FROM mysql.user WHERE User = ?", (name,))
        .await
        .unwrap();
    count.unwrap_or(0) > 0
}

#[tokio::test]
async fn my_verify_ok_and_unreachable_fails_fast() {
    let Some(url) = env_url(MY_VAR, "my_verify_ok_and_unreachable_fails_fast") else {
        return;
    };
    let conn = Connection::open(&settings(Plugin::Mysql, &url, "", "")).unwrap();
    conn.verify().await.unwrap();
    conn.verify().await.unwrap();

    let bad = Connection::open(&settings(
        Plugin::Mysql,
        "{{username}}:{{password}}@tcp(127.0.0.1:1)/",
        "root",
        "Wrong-Pass-123",
    ))
    .unwrap();
    let started = Instant::now();
    let err = bad.verify().await.unwrap_err();
    assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(1));
    assert!(matches!(err, DriverError::Connect(_)), "{err:?}");
    assert!(!err.to_string().contains("Wrong-Pass"), "{err}");
    conn.close();
}

#[tokio::test]
async fn my_create_login_drop_kills_sessions() {
    let Some(url) = env_url(MY_VAR, "my_create_login_drop_kills_sessions") else {
        return;
    };
    let (host, port) = my_host_port(&url);
    let mut admin = my_admin(&url).await;
    let conn = Connection::open(&settings(Plugin::Mysql, &url, "", "")).unwrap();
    let name = generate_username(Plugin::Mysql, "test", "live").unwrap();
    let pw = password();
    conn.execute(
        &["CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';".to_string()],
        &vars(&name, &pw),
    )
    .await
    .unwrap();
    assert!(my_user_exists(&mut admin, &name).await);

    // The new user logs in with its password, through both URL forms (the password is
    // full of URL syntax: this checks the placeholders are filled safely) ...
    for form in [
        format!("{{{{username}}}}:{{{{password}}}}@tcp({host}:{port})/"),
        format!("mysql://{{{{username}}}}:{{{{password}}}}@{host}:{port}/"),
    ] {
        let as_user = Connection::open(&settings(Plugin::Mysql, &form, &name, &pw)).unwrap();
        as_user.verify().await.unwrap();
        as_user.close();
    }
    // ... and not with another one; the error names the failure, not the password.
    let wrong = format!("{pw}-wrong");
    let as_user = Connection::open(&settings(
        Plugin::Mysql,
        &format!("{{{{username}}}}:{{{{password}}}}@tcp({host}:{port})/"),
        &name,
        &wrong,
    ))
    .unwrap();
    let err = as_user.verify().await.unwrap_err();
    assert!(matches!(err, DriverError::Connect(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("Error 1045"), "{message}");
    assert!(!message.contains(&wrong), "{message}");

    // An open session of the user is killed by drop_user.
    let mut session = mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(host.clone())
            .tcp_port(port)
            .user(Some(name.clone()))
            .pass(Some(pw.clone()))
            .prefer_socket(false),
    )
    .await
    .unwrap();
    session.query_drop("SELECT 1").await.unwrap();
    conn.drop_user(&name).await.unwrap();
    assert!(!my_user_exists(&mut admin, &name).await);
    assert!(
        session.query_drop("SELECT 1").await.is_err(),
        "the dropped user's session still answers"
    );
    // Absent user: Ok.
    conn.drop_user(&name).await.unwrap();
    conn.terminate_sessions(&name).await.unwrap();
}

#[tokio::test]
async fn my_failing_statement_rolls_back_and_is_scrubbed() {
    let Some(url) = env_url(MY_VAR, "my_failing_statement_rolls_back_and_is_scrubbed") else {
        return;
    };
    let mut admin = my_admin(&url).await;
    let db = format!("strongroom_test_{}", suffix());
    admin
        .query_drop(format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT) ENGINE=InnoDB"
        ))
        .await
        .unwrap();
    let conn = Connection::open(&settings(Plugin::Mysql, &url, "", "")).unwrap();
    let name = generate_username(Plugin::Mysql, "test", "rb").unwrap();
    let pw = password();
    let err = conn
        .execute(
            &[format!(
                "INSERT INTO {db}.t VALUES (1); INSERT INTO {db}.nope VALUES (1)"
            )],
            &vars(&name, &pw),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::Statement(_)), "{err:?}");
    let count: Option<u64> = admin
        .query_first(format!("SELECT COUNT(*) FROM {db}.t"))
        .await
        .unwrap();
    assert_eq!(count, Some(0), "the first insert was not rolled back");

    // A syntax error echoes the statement, password included: it must be scrubbed.
    let err = conn
        .execute(
            &["CREATE USER '{{name}}'@'%' IDENTIFIED BY GARBAGE '{{password}}'".to_string()],
            &vars(&name, &pw),
        )
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Error 1064"), "{message}");
    assert!(message.contains("[redacted]"), "{message}");
    assert!(!message.contains(&pw[..6]), "{message}");
    assert!(!my_user_exists(&mut admin, &name).await);
    admin
        .query_drop(format!("DROP DATABASE {db}"))
        .await
        .unwrap();
    conn.verify().await.unwrap();
}
