//! The built `strongroom` binary against real servers: `operator init` and `unseal`
//! (shares on stdin, refused on argv), `status` exit codes, `login` with every method
//! (secrets on stdin; the token file is mode 0600 and later commands use it), the
//! `token create/lookup/renew/revoke` round trip, and the output formats.

use std::path::Path;

use serde_json::Value;

use crate::client_auth::{approle_role, ok, unsealed, userpass_user, CertServer};
use crate::harness::{run_cli, CliOutput, TestServer};

/// Runs the CLI against `s` with `args`, `token` in the environment (when given),
/// `home` as HOME and `stdin` piped in.
fn cli(
    s: &TestServer,
    token: Option<&str>,
    home: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> CliOutput {
    let mut cmd = s.cli(token, home);
    cmd.args(args);
    run_cli(cmd, stdin)
}

fn assert_code(out: &CliOutput, code: i32, what: &str) {
    assert_eq!(
        out.code, code,
        "{what}: exit {}\nstdout:\n{}\nstderr:\n{}",
        out.code, out.stdout, out.stderr
    );
}

/// Asserts that the key/value table on `out`'s stdout has the row `key  value` (any
/// column width).
fn assert_row(out: &CliOutput, key: &str, value: &str) {
    let found = out.stdout.lines().any(|l| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.starts_with("  ") && rest.trim() == value)
    });
    assert!(found, "no row {key} = {value} in:\n{}", out.stdout);
}

fn token_file(home: &Path) -> String {
    std::fs::read_to_string(home.join(".strongroom-token")).unwrap()
}

#[cfg(unix)]
fn assert_mode_0600(home: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(home.join(".strongroom-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "token file mode {:o}", mode & 0o777);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_init_unseal_from_stdin_and_status_exit_codes() {
    let s = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let home = home.path();

    let out = cli(&s, None, home, &["status"], None);
    assert_code(&out, 2, "status before init");
    assert_row(&out, "Initialized", "false");

    let out = cli(
        &s,
        None,
        home,
        &[
            "operator",
            "init",
            "-key-shares=3",
            "-key-threshold",
            "2",
            "-format",
            "json",
        ],
        None,
    );
    assert_code(&out, 0, "init");
    let init: Value = serde_json::from_str(&out.stdout).unwrap();
    let keys: Vec<String> = init["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 3);
    let root = init["root_token"].as_str().unwrap().to_string();
    assert!(out.stderr.contains("WARNING"), "{}", out.stderr);

    // A share on the command line is refused (usage error) and never echoed.
    let out = cli(&s, None, home, &["operator", "unseal", &keys[0]], None);
    assert_code(&out, 2, "unseal with an argv share");
    assert!(
        !out.stdout.contains(&keys[0]) && !out.stderr.contains(&keys[0]),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("never takes the unseal key"),
        "{}",
        out.stderr
    );
    assert!(s.client().seal_status().await.unwrap().sealed);

    // Shares on stdin: progress, then unsealed.
    let out = cli(
        &s,
        None,
        home,
        &["operator", "unseal"],
        Some(&format!("{}\n", keys[0])),
    );
    assert_code(&out, 0, "first share");
    assert!(
        out.stdout.contains("Unseal Progress: 1/2"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&keys[0]));
    let out = cli(&s, None, home, &["status", "-format=json"], None);
    assert_code(&out, 2, "status while sealed");
    let status: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (status["sealed"].as_bool(), status["progress"].as_u64()),
        (Some(true), Some(1))
    );
    let out = cli(
        &s,
        None,
        home,
        &["operator", "unseal", "-format", "yaml"],
        Some(&keys[2]),
    );
    assert_code(&out, 0, "second share");
    assert!(out.stdout.contains("sealed: false"), "{}", out.stdout);

    let out = cli(&s, None, home, &["status"], None);
    assert_code(&out, 0, "status when unsealed");
    assert_row(&out, "Sealed", "false");
    let out = cli(&s, None, home, &["status", "-format", "env"], None);
    assert_code(&out, 0, "status env");
    assert!(out.stdout.contains("sealed='false'\n"), "{}", out.stdout);
    let status = s.client_with(&root).lookup_self().await.unwrap();
    assert_eq!(status.policies, ["root"]);

    // Nothing listening: exit 1, with the transport error (no retries asked for).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut cmd = s.cli(None, home);
    cmd.env("STRONGROOM_ADDR", format!("http://{closed}"))
        .env("STRONGROOM_MAX_RETRIES", "0")
        .arg("status");
    let out = run_cli(cmd, None);
    assert_code(&out, 1, "status of an unreachable server");
    assert!(
        out.stderr.starts_with("Error: transport error"),
        "{}",
        out.stderr
    );
    // A malformed retry count is a configuration error.
    let mut cmd = s.cli(None, home);
    cmd.env("VAULT_MAX_RETRIES", "lots").arg("status");
    let out = run_cli(cmd, None);
    assert_code(&out, 1, "bad VAULT_MAX_RETRIES");
    assert!(out.stderr.contains("VAULT_MAX_RETRIES"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_methods_store_a_working_token_file() {
    let (s, root) = unsealed().await;
    userpass_user(&s, &root, "userpass", "alice", "pa55 word").await;
    let (role_id, secret_id) = approle_role(&s, &root).await;
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path();

    // userpass: the password on stdin; the token stored, not printed.
    let out = cli(
        &s,
        None,
        home,
        &["login", "-method=userpass", "username=alice"],
        Some("pa55 word\n"),
    );
    assert_code(&out, 0, "userpass login");
    let token = token_file(home);
    assert!(!token.is_empty() && !token.contains('\n'));
    #[cfg(unix)]
    assert_mode_0600(home);
    assert!(!out.stdout.contains(&token), "{}", out.stdout);
    assert!(
        out.stdout.contains(".strongroom-token (mode 0600)"),
        "{}",
        out.stdout
    );
    assert_row(&out, "token_meta_username", "alice");
    let me = s.client_with(&token).lookup_self().await.unwrap();
    assert_eq!(me.display_name, "userpass-alice");
    // A later command without a token in the environment uses the file.
    let out = cli(
        &s,
        None,
        home,
        &["token", "lookup", "-format", "json"],
        None,
    );
    assert_code(&out, 0, "lookup with the stored token");
    let lookup: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(lookup["data"]["display_name"], "userpass-alice");
    assert!(!out.stdout.contains(&token));

    // A password on argv: usage error naming the field, never its value; nothing stored.
    let out = cli(
        &s,
        None,
        home,
        &[
            "login",
            "-method",
            "userpass",
            "username=alice",
            "password=pa55word",
        ],
        None,
    );
    assert_code(&out, 2, "password on argv");
    assert!(out.stderr.contains("`password`"), "{}", out.stderr);
    assert!(!out.stderr.contains("pa55word") && !out.stdout.contains("pa55word"));
    assert_eq!(token_file(home), token);
    // A wrong password: exit 1, the server's message, the old token kept.
    let out = cli(
        &s,
        None,
        home,
        &["login", "-method=userpass", "username=alice"],
        Some("nope\n"),
    );
    assert_code(&out, 1, "wrong password");
    assert!(
        out.stderr.contains("400: invalid username or password"),
        "{}",
        out.stderr
    );
    assert_eq!(token_file(home), token);
    // Missing username, unknown method: usage errors.
    let out = cli(&s, None, home, &["login", "-method=userpass"], Some("x\n"));
    assert_code(&out, 2, "no username");
    let out = cli(&s, None, home, &["login", "-method=ldap"], None);
    assert_code(&out, 2, "unknown method");

    // approle: the secret id on stdin replaces the stored token.
    let out = cli(
        &s,
        None,
        home,
        &["login", "-method", "approle", &format!("role_id={role_id}")],
        Some(&secret_id),
    );
    assert_code(&out, 0, "approle login");
    let approle_token = token_file(home);
    assert_ne!(approle_token, token);
    #[cfg(unix)]
    assert_mode_0600(home);
    assert!(!out.stdout.contains(&secret_id) && !out.stdout.contains(&approle_token));
    let out = cli(&s, None, home, &["token", "lookup"], None);
    assert_code(&out, 0, "lookup with the approle token");
    assert_row(&out, "path", "auth/approle/login");
    let out = cli(
        &s,
        None,
        home,
        &[
            "login",
            "-method",
            "approle",
            &format!("role_id={role_id}"),
            "secret_id=abc",
        ],
        None,
    );
    assert_code(&out, 2, "secret id on argv");
    assert!(out.stderr.contains("`secret_id`"), "{}", out.stderr);

    // token: read from stdin (also with `-`), checked, stored; an argv token refused.
    let out = cli(&s, None, home, &["login"], Some(&format!("{root}\n")));
    assert_code(&out, 0, "token login");
    assert_eq!(token_file(home), root);
    assert!(!out.stdout.contains(&root), "{}", out.stdout);
    let out = cli(
        &s,
        None,
        home,
        &["login", "-"],
        Some("s.NotARealToken000000000000\n"),
    );
    assert_code(&out, 1, "bad token login");
    assert!(out.stderr.contains("403"), "{}", out.stderr);
    assert_eq!(token_file(home), root);
    let out = cli(&s, None, home, &["login", &root], None);
    assert_code(&out, 2, "token on argv");
    assert!(!out.stderr.contains(&root) && !out.stdout.contains(&root));

    // -no-store prints the token and leaves the file alone; json carries auth.client_token.
    let out = cli(
        &s,
        None,
        home,
        &["login", "-method=userpass", "-no-store", "username=alice"],
        Some("pa55 word"),
    );
    assert_code(&out, 0, "no-store login");
    assert_eq!(token_file(home), root);
    let printed = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("token ").map(|t| t.trim().to_string()))
        .unwrap();
    assert_eq!(
        s.client_with(&printed)
            .lookup_self()
            .await
            .unwrap()
            .display_name,
        "userpass-alice"
    );
    let out = cli(
        &s,
        None,
        home,
        &[
            "login",
            "-method=userpass",
            "-no-store",
            "-format=json",
            "username=alice",
        ],
        Some("pa55 word"),
    );
    assert_code(&out, 0, "json login");
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let jt = json["auth"]["client_token"].as_str().unwrap();
    assert_eq!(
        s.client_with(jt).lookup_self().await.unwrap().display_name,
        "userpass-alice"
    );
    assert_eq!(json["auth"]["metadata"]["username"], "alice");

    // A token in the environment wins over the file: login says so.
    let out = cli(
        &s,
        Some(&root),
        home,
        &["login", "-method=userpass", "username=alice"],
        Some("pa55 word"),
    );
    assert_code(&out, 0, "login with STRONGROOM_TOKEN set");
    assert!(
        out.stderr.contains("STRONGROOM_TOKEN is set"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&root));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_login_with_client_certificate_flags_and_environment() {
    let cs = CertServer::start().await;
    let (cert, key) = cs.cert_files("web-cli");
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path();
    let ca = cs.server_ca_file();
    let (ca, cert, key) = (
        ca.to_str().unwrap(),
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
    );

    let out = cli(
        &cs.server,
        None,
        home,
        &[
            "login",
            "-method=cert",
            "-ca-cert",
            ca,
            "-client-cert",
            cert,
            "-client-key",
            key,
            "name=web",
        ],
        None,
    );
    assert_code(&out, 0, "cert login with flags");
    let token = token_file(home);
    let me = cs
        .client()
        .build()
        .unwrap()
        .with_token(token.as_str())
        .lookup_self()
        .await
        .unwrap();
    assert_eq!(me.path, "auth/cert/login");
    assert!(
        out.stdout.contains("token_meta_common_name"),
        "{}",
        out.stdout
    );

    let mut cmd = cs.server.cli(None, home);
    cmd.env("STRONGROOM_CACERT", ca)
        .env("STRONGROOM_CLIENT_CERT", cert)
        .env("STRONGROOM_CLIENT_KEY", key)
        .args(["login", "-method", "cert", "-no-store", "-format", "yaml"]);
    let out = run_cli(cmd, None);
    assert_code(&out, 0, "cert login from the environment");
    assert!(
        out.stdout.contains("common_name: web-cli"),
        "{}",
        out.stdout
    );
    assert_eq!(token_file(home), token, "-no-store left the file alone");

    // Without a client certificate: a usage error before anything is sent.
    let out = cli(
        &cs.server,
        None,
        home,
        &["login", "-method=cert", "-ca-cert", ca],
        None,
    );
    assert_code(&out, 2, "cert login without a certificate");
    assert!(out.stderr.contains("--client-cert"), "{}", out.stderr);
    let out = cli(
        &cs.server,
        None,
        home,
        &["login", "-method=cert", "-client-cert", cert],
        None,
    );
    assert_code(&out, 2, "certificate without key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_create_lookup_renew_revoke_round_trip() {
    let (s, root) = unsealed().await;
    ok(
        &s,
        "POST",
        "sys/policies/acl/web",
        serde_json::json!({"policy": "path \"auth/token/create\" { capabilities = [\"update\"] }"}),
        &root,
    )
    .await;
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path();
    let run = |args: &[&str], stdin: Option<&str>| cli(&s, Some(&root), home, args, stdin);

    // create: prints the token (its purpose), in a table and as JSON.
    let out = run(
        &[
            "token",
            "create",
            "-policy=web",
            "-ttl",
            "1h",
            "-explicit-max-ttl=2h",
            "-use-limit",
            "40",
            "-display-name",
            "ci",
            "-metadata",
            "team=blue",
            "-renewable=true",
            "-format",
            "json",
        ],
        None,
    );
    assert_code(&out, 0, "create");
    let created: Value = serde_json::from_str(&out.stdout).unwrap();
    let token = created["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let accessor = created["auth"]["accessor"].as_str().unwrap().to_string();
    assert_eq!(created["auth"]["lease_duration"], 3600);
    assert_eq!(
        created["auth"]["policies"],
        serde_json::json!(["default", "web"])
    );
    let out = run(&["token", "create", "-orphan", "-period", "10m"], None);
    assert_code(&out, 0, "create orphan table");
    assert_row(&out, "token_duration", "10m");
    let orphan = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("token ").map(|t| t.trim().to_string()))
        .unwrap();
    assert!(
        s.client_with(&root)
            .lookup_token(&orphan)
            .await
            .unwrap()
            .orphan
    );

    // lookup: `-` reads the token from stdin; by accessor; never shows the token.
    let out = run(&["token", "lookup", "-"], Some(&token));
    assert_code(&out, 0, "lookup -");
    assert_row(&out, "display_name", "token-ci");
    assert_row(&out, "meta", "map[team:blue]");
    assert!(!out.stdout.contains(&token));
    let out = run(
        &["token", "lookup", "-accessor", &accessor, "-format", "yaml"],
        None,
    );
    assert_code(&out, 0, "lookup -accessor yaml");
    assert!(
        out.stdout.contains(&format!("accessor: {accessor}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("num_uses: 40"), "{}", out.stdout);
    let out = run(&["token", "lookup", "-format=env"], None);
    assert_code(&out, 0, "lookup self env");
    assert!(
        out.stdout.contains("policies='[\"root\"]'\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&root));
    let out = run(&["token", "lookup", &token], None);
    assert_code(&out, 2, "token on argv");
    assert!(!out.stderr.contains(&token) && !out.stdout.contains(&token));

    // renew: another token (stdin), by accessor, self (the created token's own).
    let out = run(&["token", "renew", "-increment", "30m", "-"], Some(&token));
    assert_code(&out, 0, "renew -");
    assert_row(&out, "token_duration", "30m");
    assert!(!out.stdout.contains(&token));
    let out = run(
        &[
            "token",
            "renew",
            "-accessor",
            &accessor,
            "-increment=600",
            "-format",
            "json",
        ],
        None,
    );
    assert_code(&out, 0, "renew -accessor");
    let renewed: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(renewed["auth"]["lease_duration"], 600);
    assert!(renewed["auth"].get("client_token").is_none());
    let out = cli(
        &s,
        Some(&token),
        home,
        &["token", "renew", "-increment", "20m"],
        None,
    );
    assert_code(&out, 0, "renew self");
    assert_row(&out, "token_duration", "20m");
    let out = run(&["token", "renew", "-increment", "soon"], None);
    assert_code(&out, 2, "bad duration");

    // A child of the created token, then revoke: the token (stdin) takes its child along.
    let out = cli(
        &s,
        Some(&token),
        home,
        &["token", "create", "-format", "json"],
        None,
    );
    assert_code(&out, 0, "child create");
    let child: Value = serde_json::from_str(&out.stdout).unwrap();
    let child = child["auth"]["client_token"].as_str().unwrap().to_string();
    let out = run(&["token", "revoke", "-"], Some(&token));
    assert_code(&out, 0, "revoke -");
    assert!(
        out.stdout
            .starts_with("Success! Revoked the token and its children"),
        "{}",
        out.stdout
    );
    let out = run(&["token", "lookup", "-"], Some(&token));
    assert_code(&out, 1, "lookup of a revoked token");
    assert!(out.stderr.contains("403"), "{}", out.stderr);
    let out = run(&["token", "lookup", "-"], Some(&child));
    assert_code(&out, 1, "lookup of the revoked child");

    // revoke -mode orphan keeps the children; -accessor; -self.
    let parent = s
        .client_with(&root)
        .create_token(&Default::default())
        .await
        .unwrap();
    let kid = s
        .client_with(&parent.client_token)
        .create_token(&Default::default())
        .await
        .unwrap();
    let out = run(
        &["token", "revoke", "-mode=orphan", "-"],
        Some(&parent.client_token),
    );
    assert_code(&out, 0, "revoke orphan mode");
    assert!(
        s.client_with(&root)
            .lookup_token(&kid.client_token)
            .await
            .unwrap()
            .orphan
    );
    let out = run(&["token", "revoke", "-mode=orphan", "-self"], None);
    assert_code(&out, 2, "orphan mode with -self");
    let out = run(&["token", "revoke", "-accessor", &kid.accessor], None);
    assert_code(&out, 0, "revoke -accessor");
    assert!(s
        .client_with(&root)
        .lookup_token(&kid.client_token)
        .await
        .is_err());
    let out = run(&["token", "revoke"], None);
    assert_code(&out, 2, "revoke without a target");
    let out = cli(&s, Some(&orphan), home, &["token", "revoke", "-self"], None);
    assert_code(&out, 0, "revoke -self");
    assert!(s.client_with(&orphan).lookup_self().await.is_err());
}
