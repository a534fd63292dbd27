//! The engine against real databases: PostgreSQL from `STRONGROOM_TEST_POSTGRES_URL`
//! (e.g. `postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable`), MySQL/MariaDB
//! from `STRONGROOM_TEST_MYSQL_URL` (`mysql://root@127.0.0.1:3306/`). Without the variable
//! a test says it was skipped and passes, except under `CI=true`, where it fails.
//!
//! Every user and role a test makes has a random suffix and is dropped at the end; the
//! admin user whose password `rotate-root` changes is always one the test created (never
//! the server's real superuser).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::driver::live_tests::{env_url, suffix};
use super::testing::Mount;
use super::{renew, revoke, rotate_due_static_roles};
use crate::core::request::Operation::{Delete, Read, Update};
use crate::engines::{EngineError, EngineResponse};

const PG_VAR: &str = "STRONGROOM_TEST_POSTGRES_URL";
const MY_VAR: &str = "STRONGROOM_TEST_MYSQL_URL";

/// `scheme://user@rest` → `scheme://{{username}}:{{password}}@rest`.
fn templated(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    format!("{scheme}://{{{{username}}}}:{{{{password}}}}@{rest}")
}

async fn issue(m: &Mount, role: &str) -> EngineResponse {
    m.call(Read, &format!("creds/{role}"), json!({}))
        .await
        .unwrap_or_else(|e| panic!("creds/{role}: {e}"))
}

fn credential(r: &EngineResponse) -> (String, String) {
    let data = r.data.as_ref().unwrap();
    (
        data["username"].as_str().unwrap().to_string(),
        data["password"].as_str().unwrap().to_string(),
    )
}

// --- PostgreSQL ---

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

async fn pg_valid_until(admin: &tokio_postgres::Client, name: &str) -> i64 {
    admin
        .query_one(
            "SELECT extract(epoch FROM rolvaliduntil)::bigint FROM pg_roles WHERE rolname = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

/// The stored password hash (the test server trusts 127.0.0.1, so logging in proves
/// nothing about the password: its hash changing does).
async fn pg_password_hash(admin: &tokio_postgres::Client, name: &str) -> Option<String> {
    admin
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn pg_dynamic_credentials_issue_renew_revoke() {
    let Some(url) = env_url(PG_VAR, "pg_dynamic_credentials_issue_renew_revoke") else {
        return;
    };
    let admin = pg_admin(&url).await;
    let m = Mount::new().await;
    m.call(
        Update,
        "config/pg",
        json!({"plugin_name": "postgresql-database-plugin", "connection_url": url,
               "allowed_roles": ["ro", "custom"]}),
    )
    .await
    .unwrap();
    m.call(
        Update,
        "roles/ro",
        json!({"db_name": "pg", "default_ttl": "1h", "max_ttl": "2h",
               "creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE postgres TO \"{{name}}\";"}),
    )
    .await
    .unwrap();

    let r = issue(&m, "ro").await;
    let (username, password) = credential(&r);
    assert!(username.starts_with("v-token-ro-"), "{username}");
    assert_eq!(password.len(), 20);
    let secret = r.secret.unwrap();
    assert_eq!(
        secret.internal,
        json!({"db_name": "pg", "role": "ro", "username": username})
    );
    assert_eq!((secret.default_ttl, secret.max_ttl), (3600, 7200));
    assert!(secret.renewable);
    assert!(secret.target.ends_with("/pg"));
    assert!(pg_role_exists(&admin, &username).await);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!((pg_valid_until(&admin, &username).await - (now + 3600)).abs() <= 5);

    // Renew moves VALID UNTIL.
    let later = OffsetDateTime::now_utc() + Duration::from_secs(7000);
    renew(&m.ctx, &m.conns, &secret.internal, later)
        .await
        .unwrap();
    assert!((pg_valid_until(&admin, &username).await - later.unix_timestamp()).abs() <= 1);

    // Revoke drops the role (twice is fine).
    revoke(&m.ctx, &m.conns, &secret.internal).await.unwrap();
    assert!(!pg_role_exists(&admin, &username).await);
    revoke(&m.ctx, &m.conns, &secret.internal).await.unwrap();

    // A role with its own revocation statements.
    m.call(
        Update,
        "roles/custom",
        json!({"db_name": "pg", "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';"],
               "revocation_statements": ["DROP ROLE IF EXISTS \"{{name}}\";"]}),
    )
    .await
    .unwrap();
    let r = issue(&m, "custom").await;
    let (username, _) = credential(&r);
    assert!(pg_role_exists(&admin, &username).await);
    revoke(&m.ctx, &m.conns, &r.secret.unwrap().internal)
        .await
        .unwrap();
    assert!(!pg_role_exists(&admin, &username).await);

    // A failing creation statement: 500 with the statement's error, no password in it.
    m.call(
        Update,
        "roles/custom",
        json!({"creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}'; SELECT * FROM no_such_table_x;"],
               "rollback_statements": ["DROP ROLE IF EXISTS \"{{name}}\";"]}),
    )
    .await
    .unwrap();
    match m.error(Read, "creds/custom", json!({})).await {
        EngineError::External(msg) => {
            assert!(
                msg.starts_with("1 error occurred:\n\t* failed to execute query: "),
                "{msg}"
            );
            assert!(msg.contains("no_such_table_x"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    m.call(Delete, "config/pg", json!({})).await.unwrap();
}

#[tokio::test]
async fn pg_static_role_rotation_and_rotate_root() {
    let Some(url) = env_url(PG_VAR, "pg_static_role_rotation_and_rotate_root") else {
        return;
    };
    let admin = pg_admin(&url).await;
    let sfx = suffix();
    let static_user = format!("sr_static_{sfx}");
    let root_user = format!("sr_admin_{sfx}");
    admin
        .batch_execute(&format!(
            "CREATE ROLE {static_user} WITH LOGIN PASSWORD 'Init-Static-Pw-1';
             CREATE ROLE {root_user} WITH LOGIN CREATEROLE PASSWORD 'Init-Admin-Pw-1';"
        ))
        .await
        .unwrap();
    let m = Mount::new().await;
    m.call(
        Update,
        "config/super",
        json!({"plugin_name": "postgresql-database-plugin", "connection_url": url, "allowed_roles": "*"}),
    )
    .await
    .unwrap();

    // Creating the static role rotates the password at once.
    let before = pg_password_hash(&admin, &static_user).await;
    m.call(
        Update,
        "static-roles/st",
        json!({"db_name": "super", "username": static_user, "rotation_period": "1h"}),
    )
    .await
    .unwrap();
    let first = pg_password_hash(&admin, &static_user).await;
    assert_ne!(before, first);
    let creds = m.data(Read, "static-creds/st", json!({})).await;
    assert_eq!(creds["username"], json!(static_user));
    assert_eq!(creds["rotation_period"], json!(3600));
    assert!(
        (3590..=3600).contains(&creds["ttl"].as_u64().unwrap()),
        "{creds}"
    );
    assert_eq!(creds["password"].as_str().unwrap().len(), 20);
    assert!(creds["last_vault_rotation"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let resp = m.call(Read, "static-creds/st", json!({})).await.unwrap();
    assert!(resp.secret.is_none());
    let role = m.data(Read, "static-roles/st", json!({})).await;
    assert_eq!(
        role,
        json!({"credential_type": "password", "db_name": "super",
               "last_vault_rotation": creds["last_vault_rotation"], "rotation_period": 3600,
               "rotation_statements": [], "username": static_user})
    );

    // rotate-role changes it again.
    m.call(Update, "rotate-role/st", json!({})).await.unwrap();
    let second = pg_password_hash(&admin, &static_user).await;
    assert_ne!(first, second);
    let creds2 = m.data(Read, "static-creds/st", json!({})).await;
    assert_ne!(creds["password"], creds2["password"]);

    // The background pass: nothing due now; due after the period.
    let now = OffsetDateTime::now_utc();
    let report = rotate_due_static_roles(&m.ctx, &m.conns, now)
        .await
        .unwrap();
    assert_eq!((report.rotated, report.failed), (0, 0));
    let next = report.next_due.unwrap();
    assert!(next > now + Duration::from_secs(3500));
    let report = rotate_due_static_roles(&m.ctx, &m.conns, now + Duration::from_secs(3700))
        .await
        .unwrap();
    assert_eq!(report.rotated, 1);
    assert_ne!(pg_password_hash(&admin, &static_user).await, second);

    // The username is fixed; deleting the role leaves the user alone.
    let e = m
        .error(
            Update,
            "static-roles/st",
            json!({"username": "someone_else"}),
        )
        .await;
    assert!(matches!(e, EngineError::Invalid(_)), "{e:?}");
    m.call(Delete, "static-roles/st", json!({})).await.unwrap();
    assert!(pg_role_exists(&admin, &static_user).await);

    // rotate-root changes the (dedicated) admin's password; credentials keep coming.
    m.call(
        Update,
        "config/adm",
        json!({"plugin_name": "postgresql-database-plugin", "connection_url": templated(&url),
               "username": root_user, "password": "Init-Admin-Pw-1", "allowed_roles": "*"}),
    )
    .await
    .unwrap();
    let before = pg_password_hash(&admin, &root_user).await;
    m.call(Update, "rotate-root/adm", json!({})).await.unwrap();
    let after = pg_password_hash(&admin, &root_user).await;
    assert_ne!(before, after);
    let read = m.data(Read, "config/adm", json!({})).await;
    assert!(!read.to_string().contains("Init-Admin-Pw-1"));
    m.call(
        Update,
        "roles/dyn",
        json!({"db_name": "adm", "creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';"}),
    )
    .await
    .unwrap();
    let (dyn_user, _) = credential(&issue(&m, "dyn").await);
    assert!(pg_role_exists(&admin, &dyn_user).await);

    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS \"{dyn_user}\"; DROP ROLE IF EXISTS {static_user}; DROP ROLE IF EXISTS {root_user};"
        ))
        .await
        .unwrap();
}

// --- MySQL / MariaDB ---

fn my_host_port(url: &str) -> (String, u16) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap();
    match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap()),
        None => (hostport.to_string(), 3306),
    }
}

async fn my_login(
    url: &str,
    user: &str,
    password: &str,
) -> Result<mysql_async::Conn, mysql_async::Error> {
    let (host, port) = my_host_port(url);
    mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port)
            .user(Some(user.to_string()))
            .pass(Some(password.to_string()))
            .prefer_socket(false),
    )
    .await
}

async fn my_admin(url: &str) -> mysql_async::Conn {
    mysql_async::Conn::new(mysql_async::Opts::from_url(url).unwrap())
        .await
        .unwrap()
}

async fn my_user_exists(admin: &mut mysql_async::Conn, name: &str) -> bool {
    let count: Option<u64> = admin
        .exec_first("SELECT COUNT(*) FROM mysql.user WHERE User = ?", (name,))
        .await
        .unwrap();
    count.unwrap_or(0) > 0
}

async fn can_login(url: &str, user: &str, password: &str) -> bool {
    match my_login(url, user, password).await {
        Ok(conn) => {
            drop(conn.disconnect().await);
            true
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn my_dynamic_credentials_issue_revoke() {
    let Some(url) = env_url(MY_VAR, "my_dynamic_credentials_issue_revoke") else {
        return;
    };
    let mut admin = my_admin(&url).await;
    let m = Mount::new().await;
    m.call(
        Update,
        "config/my",
        json!({"plugin_name": "mysql-database-plugin", "connection_url": url, "allowed_roles": "ro"}),
    )
    .await
    .unwrap();
    m.call(
        Update,
        "roles/ro",
        json!({"db_name": "my", "default_ttl": 600,
               "creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON mysql.user TO '{{name}}'@'%';"}),
    )
    .await
    .unwrap();
    let r = issue(&m, "ro").await;
    let (username, password) = credential(&r);
    assert!(username.starts_with("v-token-ro-"), "{username}");
    assert!(username.len() <= 32);
    assert!(my_user_exists(&mut admin, &username).await);
    assert!(can_login(&url, &username, &password).await);
    assert!(!can_login(&url, &username, "Not-The-Password-1").await);
    let internal: Value = r.secret.unwrap().internal;
    // MySQL has no renew statements: renew is a no-op.
    renew(
        &m.ctx,
        &m.conns,
        &internal,
        OffsetDateTime::now_utc() + Duration::from_secs(60),
    )
    .await
    .unwrap();
    revoke(&m.ctx, &m.conns, &internal).await.unwrap();
    assert!(!my_user_exists(&mut admin, &username).await);
    m.call(Delete, "config/my", json!({})).await.unwrap();
}

#[tokio::test]
async fn my_static_role_rotation_and_rotate_root() {
    let Some(url) = env_url(MY_VAR, "my_static_role_rotation_and_rotate_root") else {
        return;
    };
    let mut admin = my_admin(&url).await;
    let sfx = suffix();
    let static_user = format!("sr_st_{sfx}");
    let root_user = format!("sr_adm_{sfx}");
    admin
        .query_drop(format!(
            "CREATE USER '{static_user}'@'%' IDENTIFIED BY 'Init-Static-Pw-1';
             CREATE USER '{root_user}'@'%' IDENTIFIED BY 'Init-Admin-Pw-1';
             GRANT ALL PRIVILEGES ON *.* TO '{root_user}'@'%' WITH GRANT OPTION;"
        ))
        .await
        .unwrap();
    let m = Mount::new().await;
    m.call(
        Update,
        "config/adm",
        json!({"plugin_name": "mysql-database-plugin", "connection_url": templated(&url),
               "username": root_user, "password": "Init-Admin-Pw-1", "allowed_roles": "*"}),
    )
    .await
    .unwrap();

    // Static role: created → rotated; the old password fails, the new one works.
    assert!(can_login(&url, &static_user, "Init-Static-Pw-1").await);
    m.call(
        Update,
        "static-roles/st",
        json!({"db_name": "adm", "username": static_user, "rotation_schedule": "0 3 * * *",
               "rotation_window": "2h"}),
    )
    .await
    .unwrap();
    assert!(!can_login(&url, &static_user, "Init-Static-Pw-1").await);
    let creds = m.data(Read, "static-creds/st", json!({})).await;
    assert_eq!(creds["rotation_schedule"], json!("0 3 * * *"));
    assert_eq!(creds["rotation_window"], json!(7200));
    assert!(creds["ttl"].as_u64().unwrap() <= 86_400);
    let first = creds["password"].as_str().unwrap().to_string();
    assert!(can_login(&url, &static_user, &first).await);
    m.call(Update, "rotate-role/st", json!({})).await.unwrap();
    let second = m.data(Read, "static-creds/st", json!({})).await["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    assert!(!can_login(&url, &static_user, &first).await);
    assert!(can_login(&url, &static_user, &second).await);

    // rotate-root: the admin's old password stops working; credentials keep coming.
    m.call(Update, "rotate-root/adm", json!({})).await.unwrap();
    assert!(!can_login(&url, &root_user, "Init-Admin-Pw-1").await);
    m.call(
        Update,
        "roles/dyn",
        json!({"db_name": "adm", "creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';"}),
    )
    .await
    .unwrap();
    let r = issue(&m, "dyn").await;
    let (dyn_user, dyn_password) = credential(&r);
    assert!(can_login(&url, &dyn_user, &dyn_password).await);
    revoke(&m.ctx, &m.conns, &r.secret.unwrap().internal)
        .await
        .unwrap();
    assert!(!my_user_exists(&mut admin, &dyn_user).await);
    // A static rotation still works through the rebuilt pool.
    m.call(Update, "rotate-role/st", json!({})).await.unwrap();
    let third = m.data(Read, "static-creds/st", json!({})).await["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(can_login(&url, &static_user, &third).await);

    m.call(Delete, "static-roles/st", json!({})).await.unwrap();
    assert!(my_user_exists(&mut admin, &static_user).await);
    admin
        .query_drop(format!(
            "DROP USER IF EXISTS '{static_user}'@'%'; DROP USER IF EXISTS '{root_user}'@'%';"
        ))
        .await
        .unwrap();
}
