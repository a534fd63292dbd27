//! `strongroom run` (the built binary) against a real server: the child is a small
//! `sh` script that records its pid and a SHA-256 of the values it was given. Proves
//! injection (the values are in the child's environment and nowhere on argv or in
//! `strongroom run`'s output), one read and one lease for two references to the same
//! database path, restart on a rotated KV value, `--on-change exit` and `signal:`,
//! signal forwarding with the child's exit code passed on, revocation of the database
//! lease when the child exits (the PostgreSQL role is gone), replacement of a lease
//! that can no longer be renewed, `--dry-run`, usage errors (2) and startup failures (1).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{run_cli, CliOutput, TestServer};
use crate::pg::{pg_admin, pg_role, pg_role_exists, pg_server};

/// Records `<pid> <sha256 of API_KEY> <DB_USER> <length of DB_PASS>` in the file `$1`,
/// notes SIGUSR1 as `usr1 <pid>`, then runs until `$1.release` exists and exits 7.
const CHILD: &str = r#"out="$1"
h=$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)
echo "$$ $h ${DB_USER:--} ${#DB_PASS}" >> "$out"
trap 'echo "usr1 $$" >> "$out"' USR1
while [ ! -e "$out.release" ]; do sleep 0.1; done
exit 7"#;

fn sha256_hex(value: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", "printf %s \"$V\" | sha256sum | cut -d' ' -f1"])
        .env("V", value)
        .output()
        .expect("sha256sum");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// One line of the child's record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    pid: u32,
    hash: String,
    db_user: String,
    pass_len: usize,
}

/// The first record the child wrote (it has started), within 20 s.
async fn first_record(out: &Path) -> Record {
    wait_for("child started", Duration::from_secs(20), || {
        records(out).into_iter().next()
    })
    .await
}

fn records(out: &Path) -> Vec<Record> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("usr1"))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            Record {
                pid: f[0].parse().unwrap(),
                hash: f[1].to_string(),
                db_user: f[2].to_string(),
                pass_len: f[3].parse().unwrap(),
            }
        })
        .collect()
}

async fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `strongroom run ARGS -- sh -c CHILD sh OUT`, started in the background.
fn start_run(s: &TestServer, token: &str, home: &Path, args: &[&str], out: &Path) -> Child {
    let mut cmd = s.cli(Some(token), home);
    cmd.arg("run")
        .args(args)
        .args(["--", "sh", "-c", CHILD, "sh"])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("start strongroom run")
}

/// Waits for `strongroom run` to exit (killing it after `limit`) and collects its output.
async fn finish(mut child: Child, limit: Duration) -> CliOutput {
    use std::io::Read;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("strongroom run did not exit within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    CliOutput {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

fn term(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn cmdline(pid: u32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .into_owned()
}

fn environ(pid: u32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default())
        .into_owned()
}

/// A server with KV v2 at `secret/` holding `secret/app` = `{api_key}`.
async fn kv_server(api_key: &str) -> (TestServer, String) {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.mount_kv_v2(&root, "secret").await;
    put_api_key(&s, &root, api_key).await;
    (s, root)
}

async fn put_api_key(s: &TestServer, root: &str, api_key: &str) {
    let a = s
        .call(
            "POST",
            "/v1/secret/data/app",
            Some(json!({"data": {"api_key": api_key, "unused": "x"}})),
            Some(root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}

fn out_file(dir: &Path) -> PathBuf {
    dir.join("child.out")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_run_injects_kv_restarts_on_change_and_forwards_sigterm() {
    let first = "first-api-key-0f9a8b7c";
    let second = "second-api-key-1e2d3c4b";
    let (s, root) = kv_server(first).await;
    let dir = tempfile::tempdir().unwrap();
    let out = out_file(dir.path());
    let run = start_run(
        &s,
        &root,
        dir.path(),
        &[
            "--env",
            "API_KEY=secret/app#api_key",
            "--poll-interval",
            "300ms",
            "--grace-period",
            "2s",
        ],
        &out,
    );
    let run_pid = run.id();
    let one = first_record(&out).await;
    assert_eq!(one.hash, sha256_hex(first));
    assert_eq!(one.db_user, "-");
    // The value is in the child's environment, and on no argv.
    assert!(environ(one.pid).contains(&format!("API_KEY={first}")));
    // The token that fetched it is not passed on (no --pass-token).
    assert!(
        !environ(one.pid).contains("STRONGROOM_TOKEN="),
        "the child inherited the token"
    );
    assert!(!cmdline(one.pid).contains(first));
    assert!(!cmdline(run_pid).contains(first));

    // A rotated value: the child is stopped and started again with the new value.
    put_api_key(&s, &root, second).await;
    let two = wait_for("child restarted", Duration::from_secs(20), || {
        records(&out).get(1).cloned()
    })
    .await;
    assert_eq!(two.hash, sha256_hex(second));
    assert_ne!(two.pid, one.pid);
    assert!(!alive(one.pid), "the old child is gone");
    assert!(environ(two.pid).contains(&format!("API_KEY={second}")));
    // An unrelated write with the same value changes nothing.
    put_api_key(&s, &root, second).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(records(&out).len(), 2);

    // SIGTERM to strongroom run reaches the child; its status (128+15) is passed on.
    term(run_pid);
    let result = finish(run, Duration::from_secs(20)).await;
    assert_eq!(result.code, 143, "{result:?}");
    assert!(!alive(two.pid));
    for text in [&result.stdout, &result.stderr] {
        assert!(!text.contains(first) && !text.contains(second), "{text}");
    }
    assert!(
        result.stderr.contains("strongroom run: "),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("secret/app changed"),
        "{}",
        result.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_run_on_change_exit_and_signal_policies() {
    let (s, root) = kv_server("v1-api-key").await;

    // --on-change exit: the child is stopped and the run exits 1.
    let dir = tempfile::tempdir().unwrap();
    let out = out_file(dir.path());
    let run = start_run(
        &s,
        &root,
        dir.path(),
        &[
            "--env=API_KEY=secret/app#api_key",
            "--poll-interval=300ms",
            "--on-change=exit",
        ],
        &out,
    );
    let one = first_record(&out).await;
    put_api_key(&s, &root, "v2-api-key").await;
    let result = finish(run, Duration::from_secs(20)).await;
    assert_eq!(result.code, 1, "{result:?}");
    assert!(
        result.stderr.contains("--on-change exit"),
        "{}",
        result.stderr
    );
    assert!(!alive(one.pid));
    assert_eq!(records(&out).len(), 1, "not restarted");

    // --on-change signal:SIGUSR1: the same child gets the signal, once per change.
    let dir = tempfile::tempdir().unwrap();
    let out = out_file(dir.path());
    let run = start_run(
        &s,
        &root,
        dir.path(),
        &[
            "-env",
            "API_KEY=secret/app#api_key",
            "-poll-interval",
            "300ms",
            "-on-change",
            "signal:SIGUSR1",
        ],
        &out,
    );
    let one = first_record(&out).await;
    assert_eq!(one.hash, sha256_hex("v2-api-key"));
    put_api_key(&s, &root, "v3-api-key").await;
    let line = format!("usr1 {}", one.pid);
    wait_for("SIGUSR1 delivered", Duration::from_secs(20), || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains(&line)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("usr1").count(), 1, "{text}");
    assert_eq!(records(&out).len(), 1, "not restarted");
    // The child exits on its own: its code is passed on.
    std::fs::write(out.with_extension("out.release"), "").unwrap();
    let result = finish(run, Duration::from_secs(20)).await;
    assert_eq!(result.code, 7, "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_run_dry_run_usage_errors_and_startup_failures() {
    let (s, root) = kv_server("dry-api-key-value").await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();

    // --dry-run: names, paths and fields; never values; nothing started.
    let env_file = home.join("refs.env");
    std::fs::write(
        &env_file,
        "# database\nDB_USER=database/creds/app#username\n\nDB_PASS=database/creds/app#password\n",
    )
    .unwrap();
    let mut cmd = s.cli(Some(&root), home);
    cmd.args(["run", "--dry-run", "--env", "API_KEY=secret/app#api_key"])
        .arg("--env-file")
        .arg(&env_file)
        .args(["--", "sh", "-c", "touch started"]);
    let r = run_cli(cmd, None);
    assert_eq!(r.code, 0, "{r:?}");
    for expected in [
        "API_KEY",
        "secret/app",
        "api_key",
        "DB_USER",
        "DB_PASS",
        "database/creds/app",
    ] {
        assert!(r.stdout.contains(expected), "{expected}: {}", r.stdout);
    }
    assert!(!r.stdout.contains("dry-api-key-value"));
    assert!(!home.join("started").exists());
    let mut cmd = s.cli(Some(&root), home);
    cmd.args([
        "run",
        "--dry-run",
        "--format",
        "json",
        "--env",
        "API_KEY=secret/app#api_key",
        "--",
        "env",
    ]);
    let r = run_cli(cmd, None);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["variables"],
        json!([{"name": "API_KEY", "path": "secret/app", "field": "api_key"}])
    );

    // Usage errors: exit 2, nothing started.
    let bad_file = home.join("bad.env");
    std::fs::write(&bad_file, "A=secret/app#api_key\nB=secret/app\n").unwrap();
    let usage: Vec<Vec<String>> = vec![
        vec!["--env".into(), "API_KEY=secret/app".into()],
        vec!["--env".into(), "9X=secret/app#api_key".into()],
        vec![
            "--env".into(),
            "A=secret/app#api_key".into(),
            "--env".into(),
            "A=secret/app#unused".into(),
        ],
        vec!["--env-file".into(), bad_file.display().to_string()],
        vec![
            "--env-file".into(),
            home.join("missing.env").display().to_string(),
        ],
        vec![
            "--on-change".into(),
            "reload".into(),
            "--env".into(),
            "A=secret/app#api_key".into(),
        ],
        vec![],
    ];
    for args in usage {
        let mut cmd = s.cli(Some(&root), home);
        cmd.arg("run")
            .args(&args)
            .args(["--", "sh", "-c", "touch started"]);
        let r = run_cli(cmd, None);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(!r.stderr.is_empty());
        assert!(!home.join("started").exists(), "{args:?}");
    }
    let mut cmd = s.cli(Some(&root), home);
    cmd.args(["run", "--env-file"])
        .arg(&bad_file)
        .args(["--", "true"]);
    let r = run_cli(cmd, None);
    assert!(r.stderr.contains("bad.env:2"), "{}", r.stderr);

    // Startup failures: exit 1 with the server's message, nothing started.
    let failures = [
        (
            root.clone(),
            "A=secret/nothing#api_key",
            "no secret at secret/nothing",
        ),
        (root.clone(), "A=secret/app#nope", "has no field \"nope\""),
    ];
    for (token, reference, message) in failures {
        let mut cmd = s.cli(Some(&token), home);
        cmd.args(["run", "--env", reference, "--", "sh", "-c", "touch started"]);
        let r = run_cli(cmd, None);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains(message), "{}", r.stderr);
        assert!(!home.join("started").exists());
    }
    let nobody = crate::harness::client_token(
        &s.create_token(
            &root,
            json!({"policies": ["default"], "no_default_policy": false}),
        )
        .await,
    );
    let mut cmd = s.cli(Some(&nobody), home);
    cmd.args([
        "run",
        "--env",
        "A=secret/app#api_key",
        "--",
        "sh",
        "-c",
        "touch started",
    ]);
    let r = run_cli(cmd, None);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("403"), "{}", r.stderr);
    // The server's own words (the KV preflight is refused).
    assert!(r.stderr.contains("secret/app"), "{}", r.stderr);
    assert!(!home.join("started").exists());
}

/// Lease ids under `database/creds/<role>/`.
async fn leases_of(s: &TestServer, root: &str, role: &str) -> Vec<String> {
    let a = s
        .call(
            "LIST",
            &format!("/v1/sys/leases/lookup/database/creds/{role}/"),
            None,
            Some(root),
        )
        .await;
    match a.status {
        200 => a.body["data"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect(),
        404 => Vec::new(),
        other => panic!("{other}: {:?}", a.body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_run_database_refs_share_one_lease_revoked_when_the_child_exits() {
    let Some((s, root, cfg)) = pg_server().await else {
        return;
    };
    let admin = pg_admin(&cfg).await;
    s.mount_kv_v2(&root, "secret").await;
    put_api_key(&s, &root, "db-test-api-key-77").await;
    s.client_with(&root)
        .database_write_role("database", "app", &pg_role(3600, 7200))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = out_file(dir.path());
    let env_file = dir.path().join("app.env");
    std::fs::write(&env_file, "# the API key\nAPI_KEY=secret/app#api_key\n").unwrap();
    let env_file = env_file.display().to_string();
    let run = start_run(
        &s,
        &root,
        dir.path(),
        &[
            "--env",
            "DB_USER=database/creds/app#username",
            "--env",
            "DB_PASS=database/creds/app#password",
            "--env-file",
            &env_file,
        ],
        &out,
    );
    let run_pid = run.id();
    let rec = first_record(&out).await;
    assert_eq!(rec.hash, sha256_hex("db-test-api-key-77"));
    assert_eq!(rec.pass_len, 20);
    assert!(rec.db_user.starts_with("v-root-app-"), "{}", rec.db_user);
    // One read, one lease, one real account, with both values from it.
    assert_eq!(leases_of(&s, &root, "app").await.len(), 1);
    assert!(pg_role_exists(&admin, &rec.db_user).await);
    let env = environ(rec.pid);
    let password = env
        .split('\0')
        .find_map(|kv| kv.strip_prefix("DB_PASS="))
        .expect("DB_PASS in the child's environment")
        .to_string();
    assert_eq!(password.len(), 20);
    for pid in [rec.pid, run_pid] {
        let argv = cmdline(pid);
        assert!(
            !argv.contains(&password) && !argv.contains("db-test-api-key-77"),
            "{argv}"
        );
    }

    // The child exits on its own: the lease is revoked (the role is dropped) and the
    // exit code is the child's.
    std::fs::write(out.with_extension("out.release"), "").unwrap();
    let result = finish(run, Duration::from_secs(30)).await;
    assert_eq!(result.code, 7, "{result:?}");
    assert!(
        !pg_role_exists(&admin, &rec.db_user).await,
        "the role is gone"
    );
    assert!(leases_of(&s, &root, "app").await.is_empty());
    for text in [&result.stdout, &result.stderr] {
        assert!(
            !text.contains(&password) && !text.contains("db-test-api-key-77"),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_run_replaces_a_lease_that_can_no_longer_be_renewed() {
    let Some((s, root, cfg)) = pg_server().await else {
        return;
    };
    let admin = pg_admin(&cfg).await;
    // Renewed once at ~2 s, capped at ~4 s (max 5 s): new credentials, restart.
    s.client_with(&root)
        .database_write_role("database", "app", &pg_role(3, 5))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = out_file(dir.path());
    let run = start_run(
        &s,
        &root,
        dir.path(),
        &[
            "--env",
            "DB_USER=database/creds/app#username",
            "--env",
            "DB_PASS=database/creds/app#password",
            "--grace-period",
            "1s",
        ],
        &out,
    );
    let run_pid = run.id();
    let one = first_record(&out).await;
    let two = wait_for(
        "child restarted with new credentials",
        Duration::from_secs(20),
        || records(&out).get(1).cloned(),
    )
    .await;
    assert_ne!(two.db_user, one.db_user);
    assert_ne!(two.pid, one.pid);
    assert!(!alive(one.pid));
    // The old lease was revoked once the old child was gone.
    assert!(!pg_role_exists(&admin, &one.db_user).await);
    term(run_pid);
    let result = finish(run, Duration::from_secs(30)).await;
    assert_eq!(result.code, 143, "{result:?}");
    assert!(
        result.stderr.contains("can no longer be renewed"),
        "{}",
        result.stderr
    );
    for rec in records(&out) {
        assert!(
            !pg_role_exists(&admin, &rec.db_user).await,
            "{}",
            rec.db_user
        );
    }
    assert!(leases_of(&s, &root, "app").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_run_renews_its_own_token_while_the_child_runs() {
    let (s, root) = kv_server("token-test-key").await;
    crate::harness::cli_binary(); // built before the short-lived token is created
                                  // A 3 s token: without renewal it would be gone long before the child exits.
    let token = crate::harness::client_token(&s.create_token(&root, json!({"ttl": "3s"})).await);
    let dir = tempfile::tempdir().unwrap();
    let out = out_file(dir.path());
    let run = start_run(
        &s,
        &token,
        dir.path(),
        &["--env", "API_KEY=secret/app#api_key"],
        &out,
    );
    first_record(&out).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let me = s.client_with(&token).lookup_self().await;
    assert!(me.is_ok(), "the token is alive after twice its TTL: {me:?}");
    std::fs::write(out.with_extension("out.release"), "").unwrap();
    let result = finish(run, Duration::from_secs(20)).await;
    assert_eq!(result.code, 7, "{result:?}");
    assert!(!result.stderr.contains(&token));
}
