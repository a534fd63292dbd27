//! The built `strongroom` binary against a real server: `policy write` from stdin, read,
//! list, delete and `fmt` of a local file; `secrets` and `auth` enable/list/tune/disable;
//! `lease` lookup/renew/revoke/revoke -prefix on PostgreSQL credentials; `audit`
//! enable/list/disable; `operator status`; completion scripts for bash, zsh and fish;
//! `-format json|yaml`, and exit code 2 for usage errors.

use std::path::Path;

use serde_json::Value;
use strongroom_server::config::{AuditApiConfig, AuditConfig};

use crate::harness::{cli_binary, postgres_url, run_cli, CliOutput, TestServer};
use crate::pg::{pg_admin, pg_creds, pg_lease_server, pg_role_exists};

/// Runs `strongroom ARGS` as `token` (stdin from `input`).
fn sr(s: &TestServer, token: &str, home: &Path, args: &[&str], input: Option<&str>) -> CliOutput {
    let mut cmd = s.cli(Some(token), home);
    cmd.args(args);
    run_cli(cmd, input)
}

/// Like [`sr`], asserting success; returns stdout.
fn ok(s: &TestServer, token: &str, home: &Path, args: &[&str], input: Option<&str>) -> String {
    let out = sr(s, token, home, args, input);
    assert_eq!(out.code, 0, "{args:?}: {out:?}");
    out.stdout
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_policy_write_read_list_fmt_delete() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let text = "path \"secret/data/app/*\" {\n  capabilities = [\"read\"]\n}\n";
    let out = ok(&s, &root, h, &["policy", "write", "app", "-"], Some(text));
    assert!(out.contains("Success! Uploaded policy: app"), "{out}");
    assert_eq!(ok(&s, &root, h, &["policy", "read", "app"], None), text);
    let list = ok(&s, &root, h, &["policy", "list"], None);
    assert_eq!(list, "app\ndefault\nroot\n");
    let list = json_of(&ok(&s, &root, h, &["policy", "list", "-format=json"], None));
    assert_eq!(list, serde_json::json!(["app", "default", "root"]));
    let read = json_of(&ok(
        &s,
        &root,
        h,
        &["-format", "json", "policy", "read", "app"],
        None,
    ));
    assert_eq!(read["policy"], text);
    assert_eq!(read["version"], 1);
    let yaml = ok(
        &s,
        &root,
        h,
        &["policy", "read", "app", "-format=yaml"],
        None,
    );
    assert!(yaml.contains("name: app"), "{yaml}");

    // From a file, and refusals: invalid policy (the server's message), unknown policy.
    let file = h.join("ops.hcl");
    std::fs::write(
        &file,
        "path \"sys/*\" { capabilities = [\"sudo\", \"read\"] }",
    )
    .unwrap();
    ok(
        &s,
        &root,
        h,
        &["policy", "write", "ops", file.to_str().unwrap()],
        None,
    );
    let bad = sr(
        &s,
        &root,
        h,
        &["policy", "write", "bad", "-"],
        Some("path \"x\" {"),
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("Error: 400: failed to parse policy"),
        "{bad:?}"
    );
    let empty = sr(&s, &root, h, &["policy", "write", "bad", "-"], Some("  \n"));
    assert_eq!(empty.code, 2, "{empty:?}");
    let missing = sr(&s, &root, h, &["policy", "read", "nope"], None);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("no policy named"), "{missing:?}");

    // fmt rewrites a local file canonically, refuses invalid HCL and leaves it alone.
    let messy = h.join("messy.hcl");
    std::fs::write(
        &messy,
        "path   \"secret/*\"{capabilities=[\"read\",\n\"list\"]}\npath \"a\" {\n  capabilities=[\"deny\"]\n      }",
    )
    .unwrap();
    let out = ok(
        &s,
        &root,
        h,
        &["policy", "fmt", messy.to_str().unwrap()],
        None,
    );
    assert!(out.contains("Success! Formatted policy"), "{out}");
    let formatted = std::fs::read_to_string(&messy).unwrap();
    assert_eq!(
        formatted,
        "path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n\npath \"a\" {\n  capabilities = [\"deny\"]\n}\n"
    );
    let again = ok(
        &s,
        &root,
        h,
        &["policy", "fmt", messy.to_str().unwrap()],
        None,
    );
    assert!(again.contains("already canonical"), "{again}");
    // The formatted file is a policy the server accepts.
    ok(
        &s,
        &root,
        h,
        &["policy", "write", "fmt", messy.to_str().unwrap()],
        None,
    );
    let broken = h.join("broken.hcl");
    std::fs::write(&broken, "path \"x\" {\n  capabilities = [\"read\"\n").unwrap();
    let out = sr(
        &s,
        &root,
        h,
        &["policy", "fmt", broken.to_str().unwrap()],
        None,
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("invalid HCL at"), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "path \"x\" {\n  capabilities = [\"read\"\n"
    );
    let commented = h.join("commented.hcl");
    std::fs::write(
        &commented,
        "# ops\npath \"a\" { capabilities = [\"read\"] }\n",
    )
    .unwrap();
    let out = sr(
        &s,
        &root,
        h,
        &["policy", "fmt", commented.to_str().unwrap()],
        None,
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("-strip-comments"), "{out:?}");
    ok(
        &s,
        &root,
        h,
        &[
            "policy",
            "fmt",
            "-strip-comments",
            commented.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        std::fs::read_to_string(&commented).unwrap(),
        "path \"a\" {\n  capabilities = [\"read\"]\n}\n"
    );

    let out = ok(&s, &root, h, &["policy", "delete", "app"], None);
    assert!(out.contains("Deleted policy: app"), "{out}");
    assert_eq!(sr(&s, &root, h, &["policy", "read", "app"], None).code, 1);
    let out = sr(&s, &root, h, &["policy", "delete", "root"], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("Error: 400"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_secrets_and_auth_enable_list_tune_disable() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = ok(
        &s,
        &root,
        h,
        &[
            "secrets",
            "enable",
            "-path=kv2",
            "-version=2",
            "-description=app secrets",
            "-default-lease-ttl=1h",
            "-max-lease-ttl",
            "2h",
            "kv",
        ],
        None,
    );
    assert!(
        out.contains("Success! Enabled the kv secrets engine at: kv2/"),
        "{out}"
    );
    ok(&s, &root, h, &["secrets", "enable", "transit"], None);
    let again = sr(&s, &root, h, &["secrets", "enable", "transit"], None);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("path is already in use"), "{again:?}");

    let table = ok(&s, &root, h, &["secrets", "list"], None);
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("Path") && header.ends_with("Description"),
        "{table}"
    );
    assert!(table
        .lines()
        .any(|l| l.starts_with("kv2/") && l.contains("app secrets")));
    assert!(table.lines().any(|l| l.starts_with("transit/")));
    let detailed = ok(&s, &root, h, &["secrets", "list", "-detailed"], None);
    let kv2 = detailed.lines().find(|l| l.starts_with("kv2/")).unwrap();
    assert!(
        kv2.contains("1h") && kv2.contains("2h") && kv2.contains("map[version:2]"),
        "{kv2}"
    );
    let listed = json_of(&ok(
        &s,
        &root,
        h,
        &["secrets", "list", "-format=json"],
        None,
    ));
    assert_eq!(listed["kv2/"]["options"]["version"], "2");
    assert_eq!(listed["kv2/"]["config"]["default_lease_ttl"], 3600);
    let yaml = ok(&s, &root, h, &["secrets", "list", "-format", "yaml"], None);
    assert!(yaml.contains("kv2/:"), "{yaml}");

    let out = ok(
        &s,
        &root,
        h,
        &[
            "secrets",
            "tune",
            "-default-lease-ttl=30m",
            "-description=tuned",
            "kv2/",
        ],
        None,
    );
    assert!(
        out.contains("Success! Tuned the secrets engine at: kv2/"),
        "{out}"
    );
    let tune = s.client_with(&root).read_mount_tune("kv2").await.unwrap();
    assert_eq!(
        (tune.default_lease_ttl, tune.description.as_str()),
        (1800, "tuned")
    );
    assert_eq!(sr(&s, &root, h, &["secrets", "tune", "kv2"], None).code, 2);
    let bad = sr(
        &s,
        &root,
        h,
        &["secrets", "tune", "-max-lease-ttl=soon", "kv2"],
        None,
    );
    assert_eq!(bad.code, 1, "{bad:?}");

    let out = ok(&s, &root, h, &["secrets", "disable", "kv2"], None);
    assert!(out.contains("Success! Disabled"), "{out}");
    let listed = json_of(&ok(
        &s,
        &root,
        h,
        &["secrets", "list", "-format=json"],
        None,
    ));
    assert!(listed.get("kv2/").is_none());

    // Auth methods.
    let out = ok(
        &s,
        &root,
        h,
        &[
            "auth",
            "enable",
            "-path=people",
            "-description=humans",
            "userpass",
        ],
        None,
    );
    assert!(
        out.contains("Success! Enabled userpass auth method at: people/"),
        "{out}"
    );
    let table = ok(&s, &root, h, &["auth", "list"], None);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("people/") && l.contains("userpass")),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("token/")), "{table}");
    let detailed = ok(&s, &root, h, &["auth", "list", "-detailed"], None);
    assert!(detailed.contains("default-service"), "{detailed}");
    let listed = json_of(&ok(&s, &root, h, &["auth", "list", "-format=json"], None));
    assert_eq!(listed["people/"]["description"], "humans");
    ok(&s, &root, h, &["auth", "disable", "auth/people"], None);
    let listed = json_of(&ok(&s, &root, h, &["auth", "list", "-format=json"], None));
    assert!(listed.get("people/").is_none());
    let token = sr(&s, &root, h, &["auth", "disable", "token"], None);
    assert_eq!(token.code, 1);
    assert!(token.stderr.contains("cannot be disabled"), "{token:?}");

    // A non-sudo token is refused with the server's status.
    let weak = s
        .create_token(&root, serde_json::json!({"policies": ["default"]}))
        .await;
    let weak = weak["auth"]["client_token"].as_str().unwrap();
    let denied = sr(&s, weak, h, &["secrets", "enable", "kv"], None);
    assert_eq!(denied.code, 1);
    assert!(denied.stderr.contains("Error: 403"), "{denied:?}");
    assert!(!denied.stderr.contains(weak) && !denied.stdout.contains(weak));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lease_lookup_renew_revoke_and_prefix() {
    let Some(cfg) = postgres_url() else { return };
    let (s, c, root) = pg_lease_server(&cfg).await;
    let admin = pg_admin(&cfg).await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (lease, user) = pg_creds(&c).await;

    let table = ok(&s, &root, h, &["lease", "lookup", &lease], None);
    assert!(
        table.contains("path            database/creds/app"),
        "{table}"
    );
    assert!(table.contains("renewable       true"), "{table}");
    let info = json_of(&ok(
        &s,
        &root,
        h,
        &["lease", "lookup", "-format=json", &lease],
        None,
    ));
    assert_eq!(info["id"], lease.as_str());
    assert!(info["ttl"].as_i64().unwrap() > 3000);

    let out = ok(
        &s,
        &root,
        h,
        &["lease", "renew", "-increment=2h", &lease],
        None,
    );
    assert!(out.contains("lease_duration     2h"), "{out}");
    let renewed = json_of(&ok(
        &s,
        &root,
        h,
        &[
            "lease",
            "renew",
            "-increment",
            "5400",
            "-format",
            "json",
            &lease,
        ],
        None,
    ));
    assert_eq!(renewed["lease_duration"], 5400);
    assert_eq!(renewed["lease_id"], lease.as_str());

    let listed = json_of(&ok(
        &s,
        &root,
        h,
        &["lease", "list", "database/creds/app/", "-format=json"],
        None,
    ));
    assert_eq!(
        listed,
        serde_json::json!([lease.rsplit('/').next().unwrap()])
    );

    let out = ok(&s, &root, h, &["lease", "revoke", "-sync", &lease], None);
    assert!(out.contains("Success! Revoked lease"), "{out}");
    assert!(!pg_role_exists(&admin, &user).await);
    let gone = sr(&s, &root, h, &["lease", "lookup", &lease], None);
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.contains("invalid lease"), "{gone:?}");

    // By prefix: every credential under it, with stderr not a terminal (no spinner noise).
    let (_, u1) = pg_creds(&c).await;
    let (_, u2) = pg_creds(&c).await;
    let out = sr(
        &s,
        &root,
        h,
        &["lease", "revoke", "-prefix", "-sync", "database/creds/app"],
        None,
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("Revoked any leases with prefix"),
        "{out:?}"
    );
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(!pg_role_exists(&admin, &u1).await);
    assert!(!pg_role_exists(&admin, &u2).await);
    let (_, u3) = pg_creds(&c).await;
    let out = ok(
        &s,
        &root,
        h,
        &["lease", "revoke", "-prefix", "-force", "database/"],
        None,
    );
    assert!(out.contains("Force revoked"), "{out}");
    assert!(!pg_role_exists(&admin, &u3).await);

    // Usage errors: -force without -prefix, a bad increment.
    assert_eq!(
        sr(&s, &root, h, &["lease", "revoke", "-force", "x"], None).code,
        2
    );
    assert_eq!(
        sr(
            &s,
            &root,
            h,
            &["lease", "renew", "-increment=later", &lease],
            None
        )
        .code,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_audit_enable_list_disable() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().to_path_buf();
    let s = TestServer::start_with(move |c| {
        c.audit = AuditConfig {
            devices: Vec::new(),
            api: AuditApiConfig {
                allow: true,
                file_directory: Some(allowed),
                allow_socket: false,
            },
        };
    })
    .await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = ok(&s, &root, h, &["audit", "list"], None);
    assert!(out.contains("No audit devices are enabled."), "{out}");
    let log = dir.path().join("cli-audit.log");
    let option = format!("file_path={}", log.display());
    let out = ok(
        &s,
        &root,
        h,
        &["audit", "enable", "-description=main log", "file", &option],
        None,
    );
    assert!(
        out.contains("Success! Enabled the file audit device at: file/"),
        "{out}"
    );
    assert!(log.exists());
    let table = ok(&s, &root, h, &["audit", "list", "-detailed"], None);
    let row = table.lines().find(|l| l.starts_with("file/")).unwrap();
    assert!(row.contains("main log") && row.contains(&option), "{table}");
    let listed = json_of(&ok(&s, &root, h, &["audit", "list", "-format=json"], None));
    assert_eq!(
        listed["file/"]["options"]["file_path"],
        log.to_str().unwrap()
    );
    // Outside the allowed directory: the server refuses.
    let out = sr(
        &s,
        &root,
        h,
        &[
            "audit",
            "enable",
            "-path=other",
            "file",
            "file_path=/tmp/outside.log",
        ],
        None,
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        sr(&s, &root, h, &["audit", "enable", "file", "novalue"], None).code,
        2
    );
    let out = ok(&s, &root, h, &["audit", "disable", "file"], None);
    assert!(out.contains("Success! Disabled audit device"), "{out}");
    let listed = json_of(&ok(&s, &root, h, &["audit", "list", "-format=json"], None));
    assert_eq!(listed, serde_json::json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_operator_status_and_completion_scripts() {
    let s = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let init = s.client().init(1, 1).await.unwrap();
    // Sealed: exit 2, like `strongroom status`.
    let out = sr(&s, &init.root_token, h, &["operator", "status"], None);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("Sealed"), "{out:?}");
    s.unseal_with(&init.keys).await;
    let status = json_of(&ok(
        &s,
        &init.root_token,
        h,
        &["operator", "status", "-format=json"],
        None,
    ));
    assert_eq!(status["sealed"], false);
    let top = json_of(&ok(
        &s,
        &init.root_token,
        h,
        &["status", "-format=json"],
        None,
    ));
    assert_eq!(top["sealed"], status["sealed"]);

    // Completion needs no server or token.
    for shell in ["bash", "zsh", "fish"] {
        let out = std::process::Command::new(cli_binary())
            .args(["completion", shell])
            .env_remove("STRONGROOM_TOKEN")
            .env_remove("VAULT_TOKEN")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.len() > 1000, "{shell}: {script}");
        for word in [
            "operator",
            "policy",
            "secrets",
            "lease",
            "audit",
            "unseal",
            "completion",
        ] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    let bad = std::process::Command::new(cli_binary())
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
