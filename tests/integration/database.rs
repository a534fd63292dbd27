//! The database engine and the lease manager against the real local PostgreSQL and
//! MariaDB (behaviours 33–36): dynamic credentials that log in, revocation that drops the
//! user and ends its sessions, expiry, renew, revoke-prefix, token cascade, static
//! rotation, a database that is down during revocation, and leases that survive a restart.
//!
//! The databases come from `STRONGROOM_TEST_POSTGRES_URL` (e.g.
//! `postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable`) and
//! `STRONGROOM_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306/test`). Without them
//! a test says it was skipped, except under `CI=true`, where it fails.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{client_token, mysql_url, postgres_url, TestServer};
use crate::pg::{
    pg_addr, pg_admin, pg_connection_url_via, pg_login, pg_role_exists, pg_user, CREATE_LOGIN_ROLE,
};
use crate::proxy::TcpProxy;

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not within {limit:?}");
}

/// A name suffix unique to this run and call (roles are cluster-wide in PostgreSQL).
fn suffix() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:08x}{n}")
}

/// A server with a `database/` mount whose `pg` connection reaches PostgreSQL at
/// `host:port` (directly, or through a [`TcpProxy`]).
async fn pg_server(cfg: &tokio_postgres::Config, host: &str, port: u16) -> (TestServer, String) {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    pg_mount(&s, &init.root_token, cfg, host, port).await;
    (s, init.root_token)
}

/// Mounts `database/` with a `pg` connection to PostgreSQL at `host:port`.
async fn pg_mount(s: &TestServer, root: &str, cfg: &tokio_postgres::Config, host: &str, port: u16) {
    let t = Some(root);
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/database",
            Some(json!({"type": "database"})),
            t,
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let a = s
        .call(
            "POST",
            "/v1/database/config/pg",
            Some(json!({
                "plugin_name": "postgresql-database-plugin",
                "connection_url": pg_connection_url_via(cfg, host, port),
                "username": pg_user(cfg),
                "password": "unused-with-trust",
                "allowed_roles": "*",
            })),
            t,
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
}

async fn pg_role(s: &TestServer, root: &str, name: &str, default_ttl: &str, max_ttl: &str) {
    let a = s
        .call(
            "POST",
            &format!("/v1/database/roles/{name}"),
            Some(json!({
                "db_name": "pg",
                "creation_statements": [
                    CREATE_LOGIN_ROLE,
                    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";"
                ],
                "default_ttl": default_ttl,
                "max_ttl": max_ttl,
            })),
            Some(root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
}

/// `(lease_id, username, password, lease_duration)` of `GET database/creds/<role>`.
async fn creds(s: &TestServer, token: &str, role: &str) -> (String, String, String, u64) {
    let a = s
        .call(
            "GET",
            &format!("/v1/database/creds/{role}"),
            None,
            Some(token),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let b = &a.body;
    (
        b["lease_id"].as_str().unwrap().to_string(),
        b["data"]["username"].as_str().unwrap().to_string(),
        b["data"]["password"].as_str().unwrap().to_string(),
        b["lease_duration"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_creds_log_in_and_revoke_ends_sessions() {
    let Some(cfg) = postgres_url() else { return };
    let (host, port) = pg_addr(&cfg);
    let (s, root) = pg_server(&cfg, &host, port).await;
    let admin = pg_admin(&cfg).await;
    let role = format!("ro{}", suffix());
    pg_role(&s, &root, &role, "1h", "24h").await;

    // Behaviour 34: lease id shape, renewable, lease_duration = role default_ttl, 20-char
    // password, a real account.
    let (lease, user, password, ttl) = creds(&s, &root, &role).await;
    assert!(
        lease.starts_with(&format!("database/creds/{role}/")),
        "{lease}"
    );
    assert_eq!(lease.rsplit('/').next().unwrap().len(), 24);
    assert_eq!(ttl, 3600);
    assert_eq!(password.len(), 20);
    // The display name of the root token that asked is `root`.
    assert!(
        user.starts_with(&format!("v-root-{}", &role[..8])),
        "{user}"
    );
    assert!(pg_role_exists(&admin, &user).await);
    let session = pg_login(&cfg, &user, &password)
        .await
        .expect("creds log in");
    session
        .simple_query("SELECT 1")
        .await
        .expect("query as the new user");

    // Lookup shape (behaviour 35).
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(json!({"lease_id": lease})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let d = &a.body["data"];
    assert_eq!(d["id"], json!(lease));
    assert_eq!(d["path"], json!(format!("database/creds/{role}")));
    assert_eq!(d["renewable"], json!(true));
    assert!(d["ttl"].as_u64().unwrap() > 3500);
    assert!(d["issue_time"].as_str().unwrap().ends_with('Z'));
    assert!(d["expire_time"].as_str().is_some());
    assert_eq!(d["last_renewal"], Value::Null);
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(json!({"lease_id": "database/creds/nope/x"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["invalid lease".to_string()]);

    // LIST shows folders then ids.
    let a = s
        .call(
            "LIST",
            "/v1/sys/leases/lookup/database/creds/",
            None,
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert!(a.body["data"]["keys"]
        .as_array()
        .unwrap()
        .contains(&json!(format!("{role}/"))));
    let a = s
        .call(
            "LIST",
            &format!("/v1/sys/leases/lookup/database/creds/{role}/"),
            None,
            Some(&root),
        )
        .await;
    assert_eq!(
        a.body["data"]["keys"],
        json!([lease.rsplit('/').next().unwrap()])
    );

    // Revoke: the user is dropped and its open session is terminated.
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/revoke",
            Some(json!({"lease_id": lease})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    assert!(!pg_role_exists(&admin, &user).await, "role dropped");
    assert!(
        session.simple_query("SELECT 1").await.is_err(),
        "the revoked user's session was terminated"
    );
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(json!({"lease_id": lease})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 400);
    // Revoking again (or anything unknown) is fine.
    let a = s
        .call(
            "PUT",
            &format!("/v1/sys/leases/revoke/{lease}"),
            None,
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lease_expiry_renew_and_revoke_prefix() {
    let Some(cfg) = postgres_url() else { return };
    let (host, port) = pg_addr(&cfg);
    let (s, root) = pg_server(&cfg, &host, port).await;
    let admin = pg_admin(&cfg).await;

    // Expiry revokes by itself.
    let short = format!("short{}", suffix());
    pg_role(&s, &root, &short, "2s", "1h").await;
    let (_, user, _, ttl) = creds(&s, &root, &short).await;
    assert_eq!(ttl, 2);
    assert!(pg_role_exists(&admin, &user).await);
    wait_until("expired user dropped", Duration::from_secs(15), || async {
        !pg_role_exists(&admin, &user).await
    })
    .await;

    // Renew moves the expiry (and VALID UNTIL); beyond the max it is capped with a warning.
    let renewable = format!("renew{}", suffix());
    pg_role(&s, &root, &renewable, "1h", "2h").await;
    let (lease, user, _, _) = creds(&s, &root, &renewable).await;
    let before: Option<std::time::SystemTime> = admin
        .query_one(
            "SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1",
            &[&user],
        )
        .await
        .unwrap()
        .get(0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/renew",
            Some(json!({"lease_id": lease, "increment": "90m"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["lease_id"], json!(lease));
    assert_eq!(a.body["renewable"], json!(true));
    assert_eq!(a.body["lease_duration"], json!(5400));
    let after: Option<std::time::SystemTime> = admin
        .query_one(
            "SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1",
            &[&user],
        )
        .await
        .unwrap()
        .get(0);
    assert!(after > before, "VALID UNTIL moved on renew");
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/renew",
            Some(json!({"lease_id": lease, "increment": "10h"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let granted = a.body["lease_duration"].as_u64().unwrap();
    assert!((7190..7200).contains(&granted), "{granted}");
    let warning = a.body["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("exceeded the effective max_ttl"),
        "{warning}"
    );
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(json!({"lease_id": lease})),
            Some(&root),
        )
        .await;
    assert!(a.body["data"]["last_renewal"].is_string());
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/renew",
            Some(json!({"lease_id": "database/creds/x/y"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 400);

    // revoke-prefix revokes every lease under the role (and needs sudo).
    let (_, u1, _, _) = creds(&s, &root, &renewable).await;
    let (_, u2, _, _) = creds(&s, &root, &renewable).await;
    let limited = s
        .create_token(&root, json!({"policies": ["default"]}))
        .await;
    let limited = client_token(&limited);
    let a = s
        .call(
            "PUT",
            &format!("/v1/sys/leases/revoke-prefix/database/creds/{renewable}"),
            None,
            Some(&limited),
        )
        .await;
    assert_eq!(a.status, 403);
    let a = s
        .call(
            "PUT",
            &format!("/v1/sys/leases/revoke-prefix/database/creds/{renewable}"),
            None,
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    for u in [&user, &u1, &u2] {
        assert!(
            !pg_role_exists(&admin, u).await,
            "{u} dropped by revoke-prefix"
        );
    }
    let a = s
        .call(
            "LIST",
            &format!("/v1/sys/leases/lookup/database/creds/{renewable}/"),
            None,
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_token_revokes_its_leases() {
    let Some(cfg) = postgres_url() else { return };
    let (host, port) = pg_addr(&cfg);
    let (s, root) = pg_server(&cfg, &host, port).await;
    let admin = pg_admin(&cfg).await;
    let role = format!("tok{}", suffix());
    pg_role(&s, &root, &role, "1h", "2h").await;
    let a = s
        .call(
            "PUT",
            "/v1/sys/policies/acl/dbcreds",
            Some(json!({"policy": "path \"database/creds/*\" { capabilities = [\"read\"] }\npath \"auth/token/create\" { capabilities = [\"update\"] }"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let parent = client_token(
        &s.create_token(&root, json!({"policies": ["dbcreds"]}))
            .await,
    );
    let child = client_token(
        &s.create_token(&parent, json!({"policies": ["dbcreds"]}))
            .await,
    );
    let (_, by_parent, _, _) = creds(&s, &parent, &role).await;
    let (_, by_child, _, _) = creds(&s, &child, &role).await;
    assert!(pg_role_exists(&admin, &by_parent).await);
    assert!(pg_role_exists(&admin, &by_child).await);

    let a = s
        .call(
            "POST",
            "/v1/auth/token/revoke",
            Some(json!({"token": parent})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    wait_until(
        "the token's leases revoked",
        Duration::from_secs(10),
        || async {
            !pg_role_exists(&admin, &by_parent).await && !pg_role_exists(&admin, &by_child).await
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_survive_a_restart_and_still_expire_on_time() {
    let Some(cfg) = postgres_url() else { return };
    let (host, port) = pg_addr(&cfg);
    let mut s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.clone();
    // Same set-up as pg_server, on a server we can restart.
    pg_mount(&s, &root, &cfg, &host, port).await;
    let admin = pg_admin(&cfg).await;
    let role = format!("rs{}", suffix());
    pg_role(&s, &root, &role, "6s", "1h").await;
    let (lease, user, _, _) = creds(&s, &root, &role).await;
    let issued = Instant::now();

    s.restart().await;
    s.unseal_with(&init.keys).await;
    // The connection config survived the restart: credentials are still issued.
    let (_, other, _, _) = creds(&s, &root, &role).await;
    assert!(pg_role_exists(&admin, &other).await);
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(json!({"lease_id": lease})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "the lease survived: {:?}", a.body);
    wait_until(
        "the lease expired after the restart",
        Duration::from_secs(20),
        || async { !pg_role_exists(&admin, &user).await },
    )
    .await;
    assert!(
        issued.elapsed() >= Duration::from_secs(5),
        "not before its expiry"
    );
    assert!(issued.elapsed() < Duration::from_secs(15), "on time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_during_revocation_keeps_the_lease_until_it_returns() {
    let Some(cfg) = postgres_url() else { return };
    let (host, port) = pg_addr(&cfg);
    let proxy = TcpProxy::start(host, port).await;
    let (s, root) = pg_server(&cfg, "127.0.0.1", proxy.port()).await;
    let admin = pg_admin(&cfg).await;
    let role = format!("down{}", suffix());
    pg_role(&s, &root, &role, "2s", "1h").await;
    let (lease, user, _, _) = creds(&s, &root, &role).await;

    proxy.set_down(true);
    // Past the expiry, revocation fails: the lease is kept and says why.
    wait_until(
        "a failed revocation is recorded",
        Duration::from_secs(15),
        || async {
            let a = s
                .call(
                    "PUT",
                    "/v1/sys/leases/lookup",
                    Some(json!({"lease_id": lease})),
                    Some(&root),
                )
                .await;
            assert_eq!(a.status, 200, "the lease must be kept: {:?}", a.body);
            a.body["data"]["revocation_failures"].as_u64().unwrap_or(0) >= 1
        },
    )
    .await;
    assert!(
        pg_role_exists(&admin, &user).await,
        "not revoked while down"
    );
    // The server keeps serving meanwhile.
    let a = s.call("GET", "/v1/sys/health", None, None).await;
    assert_eq!(a.status, 200);

    proxy.set_down(false);
    wait_until(
        "revoked once the database is back",
        Duration::from_secs(30),
        || async { !pg_role_exists(&admin, &user).await },
    )
    .await;
    let a = s
        .call(
            "GET",
            "/v1/sys/leases/count?type=irrevocable",
            None,
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["data"]["lease_count"], 0);
    let counters = &a.body["data"]["revocations_since_unseal"];
    assert!(
        counters["failed_attempts"].as_u64().unwrap() >= 1,
        "{counters}"
    );
    wait_until("the lease is gone", Duration::from_secs(5), || async {
        s.call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(json!({"lease_id": lease})),
            Some(&root),
        )
        .await
        .status
            == 400
    })
    .await;
}

async fn mysql_admin(opts: &mysql_async::Opts) -> mysql_async::Conn {
    mysql_async::Conn::new(opts.clone()).await.expect("mysql")
}

async fn mysql_login(opts: &mysql_async::Opts, user: &str, password: &str) -> bool {
    let builder = mysql_async::OptsBuilder::from_opts(opts.clone())
        .user(Some(user))
        .pass(Some(password))
        .db_name(None::<String>);
    match mysql_async::Conn::new(builder).await {
        Ok(conn) => {
            let _ = conn.disconnect().await;
            true
        }
        Err(_) => false,
    }
}

async fn mysql_user_exists(conn: &mut mysql_async::Conn, user: &str) -> bool {
    use mysql_async::prelude::Queryable;
    let n: Option<u64> = conn
        .exec_first("SELECT COUNT(*) FROM mysql.user WHERE User = ?", (user,))
        .await
        .expect("mysql.user");
    n.unwrap_or(0) > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_creds_static_rotation_and_root_rotation() {
    use mysql_async::prelude::Queryable;
    let Some(opts) = mysql_url() else { return };
    let host = opts.ip_or_hostname().to_string();
    let port = opts.tcp_port();
    let mut admin = mysql_admin(&opts).await;
    let tag = suffix();
    // A dedicated admin for Strongroom (its password gets rotated), and a static user.
    let sr_admin = format!("sradm{tag}");
    let static_user = format!("srstat{tag}");
    admin
        .query_drop(format!(
            "CREATE USER '{sr_admin}'@'%' IDENTIFIED BY 'first-admin-pw'; \
             GRANT ALL PRIVILEGES ON *.* TO '{sr_admin}'@'%' WITH GRANT OPTION; \
             CREATE USER '{static_user}'@'%' IDENTIFIED BY 'initial-static-pw';"
        ))
        .await
        .unwrap();

    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.clone();
    let t = Some(root.as_str());
    s.call(
        "POST",
        "/v1/sys/mounts/database",
        Some(json!({"type": "database"})),
        t,
    )
    .await;
    // Wrong credentials with the default verify_connection → 400, nothing stored.
    let a = s
        .call(
            "POST",
            "/v1/database/config/my",
            Some(json!({
                "plugin_name": "mysql-database-plugin",
                "connection_url": format!("{{{{username}}}}:{{{{password}}}}@tcp({host}:{port})/"),
                "username": sr_admin,
                "password": "not-the-password",
            })),
            t,
        )
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert!(
        !a.raw.windows(16).any(|w| w == b"not-the-password"),
        "no password echoed"
    );
    let a = s
        .call(
            "POST",
            "/v1/database/config/my",
            Some(json!({
                "plugin_name": "mysql-database-plugin",
                "connection_url": format!("{{{{username}}}}:{{{{password}}}}@tcp({host}:{port})/"),
                "username": sr_admin,
                "password": "first-admin-pw",
                "allowed_roles": ["app", "static-app"],
            })),
            t,
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let a = s.call("GET", "/v1/database/config/my", None, t).await;
    assert_eq!(a.status, 200);
    assert!(a.body["data"].get("password").is_none());
    assert_eq!(
        a.body["data"]["connection_details"]["username"],
        json!(sr_admin)
    );

    let a = s
        .call(
            "POST",
            "/v1/database/roles/app",
            Some(json!({
                "db_name": "my",
                "creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';GRANT SELECT ON *.* TO '{{name}}'@'%';",
                "default_ttl": 3600,
            })),
            t,
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let (lease, user, password, _) = creds(&s, &root, "app").await;
    assert!(
        user.len() <= 32 && user.starts_with("v-root-app-"),
        "{user}"
    );
    assert!(mysql_login(&opts, &user, &password).await, "creds log in");
    assert!(!mysql_login(&opts, &user, "wrong-password").await);
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/revoke",
            Some(json!({"lease_id": lease})),
            t,
        )
        .await;
    assert_eq!(a.status, 204);
    assert!(!mysql_user_exists(&mut admin, &user).await, "user dropped");
    assert!(!mysql_login(&opts, &user, &password).await);

    // A role not in allowed_roles → 500; an unknown role → 400.
    let a = s
        .call(
            "POST",
            "/v1/database/roles/other",
            Some(json!({"db_name": "my", "creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'"})),
            t,
        )
        .await;
    assert_eq!(a.status, 204);
    let a = s.call("GET", "/v1/database/creds/other", None, t).await;
    assert_eq!(a.status, 500, "{:?}", a.body);
    let a = s.call("GET", "/v1/database/creds/nonexist", None, t).await;
    assert_eq!(a.status, 400, "{:?}", a.body);

    // Static role: rotated on creation (the initial password stops working), then on
    // demand; old passwords fail, the current one works.
    let a = s
        .call(
            "POST",
            "/v1/database/static-roles/static-app",
            Some(json!({"db_name": "my", "username": static_user, "rotation_period": "1h"})),
            t,
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    assert!(!mysql_login(&opts, &static_user, "initial-static-pw").await);
    let a = s
        .call("GET", "/v1/database/static-creds/static-app", None, t)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["lease_id"], json!(""));
    let first = a.body["data"]["password"].as_str().unwrap().to_string();
    assert_eq!(a.body["data"]["rotation_period"], json!(3600));
    assert!(a.body["data"]["ttl"].as_u64().unwrap() > 3500);
    assert!(a.body["data"]["last_vault_rotation"].is_string());
    assert!(mysql_login(&opts, &static_user, &first).await);
    let a = s
        .call("POST", "/v1/database/rotate-role/static-app", None, t)
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let a = s
        .call("GET", "/v1/database/static-creds/static-app", None, t)
        .await;
    let second = a.body["data"]["password"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert!(
        !mysql_login(&opts, &static_user, &first).await,
        "old password fails"
    );
    assert!(
        mysql_login(&opts, &static_user, &second).await,
        "new password works"
    );
    let a = s
        .call(
            "POST",
            "/v1/database/static-roles/too-fast",
            Some(json!({"db_name": "my", "username": static_user, "rotation_period": 2})),
            t,
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.errors()[0].contains("rotation_period must be 5 seconds or more"));

    // Scheduled rotation: a 5 s period rotates by itself.
    let a = s
        .call(
            "POST",
            "/v1/database/static-roles/static-app",
            Some(json!({"db_name": "my", "username": static_user, "rotation_period": 5})),
            t,
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let a = s
        .call("GET", "/v1/database/static-creds/static-app", None, t)
        .await;
    let before = a.body["data"]["password"].as_str().unwrap().to_string();
    wait_until(
        "the schedule rotated the password",
        Duration::from_secs(20),
        || async {
            let a = s
                .call("GET", "/v1/database/static-creds/static-app", None, t)
                .await;
            a.body["data"]["password"].as_str() != Some(before.as_str())
        },
    )
    .await;
    let a = s
        .call("GET", "/v1/database/static-creds/static-app", None, t)
        .await;
    let current = a.body["data"]["password"].as_str().unwrap().to_string();
    assert!(mysql_login(&opts, &static_user, &current).await);

    // rotate-root: the admin password Strongroom was given stops working, creds are still
    // issued.
    let a = s.call("POST", "/v1/database/rotate-root/my", None, t).await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    assert!(!mysql_login(&opts, &sr_admin, "first-admin-pw").await);
    let (lease, user, password, _) = creds(&s, &root, "app").await;
    assert!(mysql_login(&opts, &user, &password).await);
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/revoke",
            Some(json!({"lease_id": lease})),
            t,
        )
        .await;
    assert_eq!(a.status, 204);

    // Deleting the static role leaves the user; clean up.
    let a = s
        .call("DELETE", "/v1/database/static-roles/static-app", None, t)
        .await;
    assert_eq!(a.status, 204);
    assert!(mysql_user_exists(&mut admin, &static_user).await);
    admin
        .query_drop(format!(
            "DROP USER IF EXISTS '{static_user}'@'%'; DROP USER IF EXISTS '{sr_admin}'@'%';"
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_does_not_hold_up_another() {
    let Some(cfg) = postgres_url() else { return };
    let (host, port) = pg_addr(&cfg);
    let (s, root) = pg_server(&cfg, &host, port).await;
    let admin = pg_admin(&cfg).await;
    // A "database" that accepts connections and never answers.
    let hole = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = hole.accept().await {
            held.push(conn);
        }
    });
    let a = s
        .call(
            "POST",
            "/v1/database/config/hole",
            Some(json!({
                "plugin_name": "postgresql-database-plugin",
                "connection_url": format!("postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{hole_port}/postgres?sslmode=disable"),
                "username": "postgres",
                "password": "x",
                "allowed_roles": "*",
                "verify_connection": false,
            })),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let stuck_role = format!("hole{}", suffix());
    let a = s
        .call(
            "POST",
            &format!("/v1/database/roles/{stuck_role}"),
            Some(json!({"db_name": "hole", "creation_statements": "CREATE ROLE \"{{name}}\""})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    let good_role = format!("ok{}", suffix());
    pg_role(&s, &root, &good_role, "1h", "2h").await;

    // Several requests stuck on the silent database at once...
    let stuck: Vec<_> = (0..4)
        .map(|_| {
            let req = s
                .http()
                .get(format!("{}/v1/database/creds/{stuck_role}", s.url()))
                .header("X-Vault-Token", &root);
            tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...while the other connection serves at once.
    let start = Instant::now();
    let (lease, user, _, _) = creds(&s, &root, &good_role).await;
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "the reachable database waited {:?}",
        start.elapsed()
    );
    assert!(pg_role_exists(&admin, &user).await);
    // The stuck ones fail by themselves (driver timeouts), with a 5xx, not a hang.
    for task in stuck {
        let status = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("bounded by the driver's timeouts")
            .unwrap()
            .unwrap();
        assert!(status >= 500, "{status}");
    }
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/revoke",
            Some(json!({"lease_id": lease})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_never_leaves_a_credential_without_a_lease() {
    use tokio::io::AsyncWriteExt;
    let Some(cfg) = postgres_url() else { return };
    let (host, port) = pg_addr(&cfg);
    let (s, root) = pg_server(&cfg, &host, port).await;
    let admin = pg_admin(&cfg).await;
    let role = format!("hu{}", suffix());
    pg_role(&s, &root, &role, "1h", "2h").await;
    let addr = s.running().local_addr();
    // Each request is sent and its connection closed a few milliseconds later, while the
    // credential is being created.
    for i in 0..60u64 {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /v1/database/creds/{role} HTTP/1.1\r\nHost: x\r\nX-Vault-Token: {root}\r\n\r\n"
        );
        conn.write_all(request.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1 + i % 12)).await;
        drop(conn);
    }
    let pattern = format!("v-root-{}%", &role[..8]);
    let roles = || async {
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_roles WHERE rolname LIKE $1",
                &[&pattern],
            )
            .await
            .unwrap()
            .get(0);
        n
    };
    let leases = || async {
        let a = s
            .call(
                "LIST",
                &format!("/v1/sys/leases/lookup/database/creds/{role}/"),
                None,
                Some(&root),
            )
            .await;
        a.body["data"]["keys"].as_array().map_or(0, Vec::len) as i64
    };
    // Let the requests that were cut off finish on the server.
    let mut last = (-1, -2);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = (roles().await, leases().await);
        if now == last {
            break;
        }
        last = now;
    }
    let (r, l) = (roles().await, leases().await);
    assert!(r > 0, "some credentials were created");
    assert_eq!(r, l, "every database user has its lease");
    let a = s
        .call(
            "PUT",
            &format!("/v1/sys/leases/revoke-prefix/database/creds/{role}"),
            None,
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(roles().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_prefix_on_an_auth_path_revokes_the_tokens_created_there() {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.as_str();
    s.enable_auth(root, "userpass", "userpass").await;
    s.call(
        "POST",
        "/v1/auth/userpass/users/alice",
        Some(json!({"password": "pw-alice-1", "token_policies": "default"})),
        Some(root),
    )
    .await;
    let login = s
        .call(
            "POST",
            "/v1/auth/userpass/login/alice",
            Some(json!({"password": "pw-alice-1"})),
            None,
        )
        .await;
    assert_eq!(login.status, 200);
    let alice = client_token(&login.body);
    let other = client_token(&s.create_token(root, json!({"policies": ["default"]})).await);
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/revoke-prefix/auth/userpass/",
            None,
            Some(root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&alice))
        .await;
    assert_eq!(a.status, 403, "the userpass token is gone");
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&other))
        .await;
    assert_eq!(a.status, 200, "tokens created elsewhere stay");
}
