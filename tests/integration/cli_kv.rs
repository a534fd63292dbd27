//! The built `strongroom` binary's KV and generic commands against a real server:
//! `kv put/get/patch/list/delete/undelete/destroy/metadata` on KV v1 and v2, values from
//! stdin, `-field`, `-format json|yaml|env`, `kv export` → `kv import` round trips
//! (nested paths, v2 → v2, v2 → v1 → v2, single secrets, env lines, refusing to
//! overwrite, `--dry-run`, mode 0600 files), generic `read/write/list/delete`, and the
//! exit codes: 1 for 404 and 403, 2 for usage errors. No command echoes a secret value
//! where it does not exist to show it.

use serde_json::{json, Map, Value};

use crate::harness::{client_token, run_cli, CliOutput, TestServer};
use crate::pg::{pg_connection_url, pg_user, CREATE_LOGIN_ROLE};

struct Cli {
    s: TestServer,
    root: String,
    home: tempfile::TempDir,
}

impl Cli {
    async fn start() -> Cli {
        let s = TestServer::start().await;
        let root = s.init_and_unseal(1, 1).await.root_token;
        s.mount_kv_v2(&root, "secret").await;
        s.mount(&root, "kv", json!({"type": "kv"})).await;
        Cli {
            s,
            root,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// [`TestServer::cli`] as `token` with this `HOME`, run with `args` and `stdin`.
    fn run_as(&self, token: Option<&str>, args: &[&str], stdin: Option<&str>) -> CliOutput {
        let mut cmd = self.s.cli(token, self.home.path());
        cmd.args(args);
        run_cli(cmd, stdin)
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> CliOutput {
        self.run_as(Some(&self.root), args, stdin)
    }

    /// Runs and expects exit code 0; returns stdout.
    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
        out.stdout
    }

    /// Runs and expects exit code `code`; returns stderr.
    fn fails(&self, code: i32, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert_eq!(out.code, code, "{args:?}: {}{}", out.stdout, out.stderr);
        out.stderr
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args, None);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    async fn kv2(&self, mount: &str, path: &str) -> Option<Map<String, Value>> {
        self.s
            .client_with(&self.root)
            .kv2_read(mount, path, None)
            .await
            .unwrap()
            .and_then(|e| e.data)
            .and_then(|s| s.data)
    }

    async fn kv1(&self, mount: &str, path: &str) -> Option<Map<String, Value>> {
        self.s
            .client_with(&self.root)
            .kv1_read(mount, path)
            .await
            .unwrap()
            .and_then(|s| s.data)
    }
}

/// The value of the table row `key`.
fn row(table: &str, key: &str) -> Option<String> {
    table.lines().find_map(|line| {
        let (k, v) = line.split_once(char::is_whitespace)?;
        (k == key).then(|| v.trim().to_string())
    })
}

const SECRET: &str = "s3cr3t value 'quoted'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_kv_v2_round_trip() {
    let c = Cli::start().await;
    let out = c.ok(
        &["kv", "put", "secret/app/db", "user=alice", "pw=-"],
        Some(&format!("{SECRET}\n")),
    );
    assert!(
        out.contains("== Secret Path ==\nsecret/data/app/db\n"),
        "{out}"
    );
    assert!(out.contains("version            1\n"), "{out}");
    assert!(!out.contains(SECRET), "put does not echo values: {out}");

    let out = c.ok(&["kv", "get", "secret/app/db"], None);
    assert!(out.contains("== Metadata =="), "{out}");
    assert!(
        out.contains("== Data ==\nKey     Value\n---     -----\npw      "),
        "{out}"
    );
    assert!(out.contains(&format!("pw      {SECRET}\n")), "{out}");
    assert!(out.contains("user    alice\n"), "{out}");
    // -field prints the raw value only, without a newline on a pipe.
    assert_eq!(
        c.ok(&["kv", "get", "-field=pw", "secret/app/db"], None),
        SECRET
    );
    assert_eq!(
        c.ok(
            &["kv", "get", "-mount=secret", "-field", "user", "app/db"],
            None
        ),
        "alice"
    );
    let err = c.fails(1, &["kv", "get", "-field=nope", "secret/app/db"], None);
    assert!(err.contains("\"nope\" not present"), "{err}");
    assert!(!err.contains(SECRET));

    let v = c.json(&["kv", "get", "-format=json", "secret/app/db"]);
    assert_eq!(v["data"]["data"]["pw"], SECRET);
    assert_eq!(v["data"]["metadata"]["version"], 1);
    assert!(v["request_id"].is_string());
    let yaml = c.ok(&["kv", "get", "--format", "yaml", "secret/app/db"], None);
    assert!(yaml.contains("user: alice"), "{yaml}");
    let env = c.ok(&["kv", "get", "-format=env", "secret/app/db"], None);
    assert_eq!(env, "pw='s3cr3t value '\\''quoted'\\'''\nuser='alice'\n");

    // A JSON object on stdin keeps its types; patch merges.
    c.ok(
        &["kv", "patch", "secret/app/db", "-"],
        Some(r#"{"port": 5432, "user": null}"#),
    );
    let data = c.kv2("secret", "app/db").await.unwrap();
    assert_eq!(Value::Object(data), json!({"pw": SECRET, "port": 5432}));
    let out = c.ok(
        &["kv", "patch", "-cas=2", "secret/app/db", "user=bob"],
        None,
    );
    assert!(out.contains("version            3\n"), "{out}");
    let err = c.fails(1, &["kv", "put", "-cas=0", "secret/app/db", "x=1"], None);
    assert!(
        err.contains("check-and-set parameter did not match"),
        "{err}"
    );
    let err = c.fails(1, &["kv", "patch", "secret/app/none", "x=1"], None);
    assert!(err.contains("no secret to patch"), "{err}");

    c.ok(&["kv", "put", "secret/app/web", "k=v"], None);
    c.ok(&["kv", "put", "secret/top", "k=v"], None);
    assert_eq!(
        c.ok(&["kv", "list", "secret/"], None),
        "Keys\n----\napp/\ntop\n"
    );
    assert_eq!(
        c.json(&["kv", "list", "-format=json", "secret/app"]),
        json!(["db", "web"])
    );
    let err = c.fails(1, &["kv", "list", "secret/nothing"], None);
    assert!(
        err.contains("no value found at secret/metadata/nothing"),
        "{err}"
    );

    // Versions: delete the latest, undelete it, destroy an old one.
    let out = c.ok(&["kv", "delete", "secret/app/db"], None);
    assert!(out.contains("Success! Data deleted (if it existed) at: secret/data/app/db"));
    let out = c.run(&["kv", "get", "secret/app/db"], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("deletion_time"),
        "metadata still shown: {}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("version 3 of secret/data/app/db is deleted"),
        "{}",
        out.stderr
    );
    c.ok(&["kv", "undelete", "-versions=3", "secret/app/db"], None);
    assert_eq!(
        c.ok(&["kv", "get", "-field=user", "secret/app/db"], None),
        "bob"
    );
    c.ok(&["kv", "destroy", "-versions=1", "secret/app/db"], None);
    let err = c.fails(
        1,
        &["kv", "get", "-version=1", "-field=pw", "secret/app/db"],
        None,
    );
    assert!(
        err.contains("version 1 of secret/data/app/db is destroyed"),
        "{err}"
    );
    assert_eq!(
        c.ok(
            &["kv", "get", "-version=2", "-field=port", "secret/app/db"],
            None
        ),
        "5432"
    );
    c.ok(&["kv", "delete", "-versions=2", "secret/app/db"], None);
    c.fails(1, &["kv", "get", "-version=2", "secret/app/db"], None);

    // Metadata.
    c.ok(
        &[
            "kv",
            "metadata",
            "put",
            "-max-versions=5",
            "-cas-required",
            "-delete-version-after=30d",
            "-custom-metadata",
            "owner=me",
            "-custom-metadata=team=t1",
            "secret/app/db",
        ],
        None,
    );
    let out = c.ok(&["kv", "metadata", "get", "secret/app/db"], None);
    assert!(
        out.contains("== Metadata Path ==\nsecret/metadata/app/db\n"),
        "{out}"
    );
    assert!(
        out.contains("custom_metadata         map[owner:me team:t1]\n"),
        "{out}"
    );
    assert!(out.contains("max_versions            5\n"), "{out}");
    assert!(out.contains("delete_version_after    720h0m0s\n"), "{out}");
    assert!(
        out.contains("== Version 1 ==") && out.contains("== Version 3 =="),
        "{out}"
    );
    let meta = c.json(&["kv", "metadata", "get", "-format=json", "secret/app/db"]);
    assert_eq!(meta["cas_required"], true);
    assert_eq!(meta["versions"]["1"]["destroyed"], true);
    let err = c.fails(1, &["kv", "put", "secret/app/db", "x=1"], None);
    assert!(err.contains("check-and-set parameter required"), "{err}");
    c.ok(&["kv", "put", "-cas=3", "secret/app/db", "x=1"], None);
    c.ok(
        &[
            "kv",
            "metadata",
            "put",
            "-cas-required=false",
            "secret/app/db",
        ],
        None,
    );
    c.ok(&["kv", "put", "secret/app/db", "x=2"], None);
    let out = c.ok(&["kv", "metadata", "delete", "secret/app/db"], None);
    assert!(out.contains("secret/metadata/app/db"), "{out}");
    let err = c.fails(1, &["kv", "get", "secret/app/db"], None);
    assert!(
        err.contains("no value found at secret/data/app/db"),
        "{err}"
    );
    c.fails(1, &["kv", "metadata", "get", "secret/app/db"], None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_kv_v1_round_trip() {
    let c = Cli::start().await;
    let out = c.ok(
        &["kv", "put", "kv/app/db", "-"],
        Some(r#"{"n": 5, "s": "x"}"#),
    );
    assert_eq!(out, "Success! Data written to: kv/app/db\n");
    let out = c.ok(&["kv", "get", "kv/app/db"], None);
    assert_eq!(
        out,
        "Key                 Value\n\
         ---                 -----\n\
         refresh_interval    768h\n\
         n                   5\n\
         s                   x\n"
    );
    assert_eq!(c.ok(&["kv", "get", "-field=n", "kv/app/db"], None), "5");
    let v = c.json(&["kv", "get", "-format=json", "-mount=kv", "app/db"]);
    assert_eq!(v["data"], json!({"n": 5, "s": "x"}));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cert.pem");
    std::fs::write(&file, "-----BEGIN-----\nabc\n").unwrap();
    c.ok(
        &[
            "kv",
            "put",
            "kv/app/cert",
            &format!("pem=@{}", file.display()),
        ],
        None,
    );
    assert_eq!(
        c.kv1("kv", "app/cert").await.unwrap()["pem"],
        "-----BEGIN-----\nabc\n"
    );
    c.ok(
        &["kv", "put", "kv/app/multi", "key=-"],
        Some("line1\nline2\n"),
    );
    assert_eq!(
        c.kv1("kv", "app/multi").await.unwrap()["key"],
        "line1\nline2"
    );
    assert_eq!(
        c.ok(&["kv", "list", "kv/app"], None),
        "Keys\n----\ncert\ndb\nmulti\n"
    );

    for (args, what) in [
        (&["kv", "patch", "kv/app/db", "a=1"][..], "kv patch"),
        (
            &["kv", "undelete", "-versions=1", "kv/app/db"],
            "kv undelete",
        ),
        (&["kv", "destroy", "-versions=1", "kv/app/db"], "kv destroy"),
        (&["kv", "metadata", "get", "kv/app/db"], "kv metadata get"),
        (&["kv", "put", "-cas=1", "kv/app/db", "a=1"], "-cas"),
        (&["kv", "get", "-version=1", "kv/app/db"], "-version"),
    ] {
        let err = c.fails(1, args, None);
        assert!(
            err.contains(&format!("{what} is only supported on KV version 2")),
            "{args:?}: {err}"
        );
    }
    let out = c.ok(&["kv", "delete", "kv/app/db"], None);
    assert_eq!(out, "Success! Data deleted (if it existed) at: kv/app/db\n");
    let err = c.fails(1, &["kv", "get", "kv/app/db"], None);
    assert!(err.contains("no value found at kv/app/db"), "{err}");
    // Not a KV mount.
    let err = c.fails(1, &["kv", "get", "sys/mounts"], None);
    assert!(!err.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_kv_export_import_round_trips() {
    let c = Cli::start().await;
    c.ok(
        &["kv", "put", "secret/app/db", "user=u", "pw=-"],
        Some(SECRET),
    );
    c.ok(
        &["kv", "put", "secret/app/web/deep/x", "-"],
        Some(r#"{"n": 1, "obj": {"a": [1, 2]}}"#),
    );
    c.ok(&["kv", "put", "secret/top", "k=v"], None);
    c.ok(&["kv", "put", "secret/odd/a b#c?d", "k=v"], None);
    c.ok(&["kv", "put", "secret/gone", "k=v"], None);
    c.ok(&["kv", "delete", "secret/gone"], None);
    for mount in ["copy", "back", "again"] {
        c.s.mount_kv_v2(&c.root, mount).await;
    }
    c.s.mount(&c.root, "old", json!({"type": "kv"})).await;

    // Export the whole mount to a 0600 file; deleted keys are skipped with a warning.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.json");
    let file_arg = file.display().to_string();
    let out = c.run(&["kv", "export", "secret/", "--output", &file_arg], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "", "nothing on stdout with --output");
    assert!(out.stderr.contains("skipped secret/gone"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Exported 4 secret(s)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(SECRET));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let expected = json!({
        "app/db": {"user": "u", "pw": SECRET},
        "app/web/deep/x": {"n": 1, "obj": {"a": [1, 2]}},
        "odd/a b#c?d": {"k": "v"},
        "top": {"k": "v"}
    });
    assert_eq!(exported, expected);
    // Stdout gives the same document.
    let stdout: Value = serde_json::from_str(&c.ok(&["kv", "export", "secret"], None)).unwrap();
    assert_eq!(stdout, expected);

    // Dry run: names, no values, nothing written.
    let out = c.ok(&["kv", "import", "--dry-run", "copy/", &file_arg], None);
    assert!(
        out.contains("would write copy/app/db (fields: pw, user)\n"),
        "{out}"
    );
    assert!(
        out.contains("4 secret(s) to copy/, 0 already exist"),
        "{out}"
    );
    assert!(!out.contains(SECRET));
    assert!(c.kv2("copy", "app/db").await.is_none());

    // v2 → v2.
    let out = c.ok(&["kv", "import", "copy/", &file_arg], None);
    assert!(out.contains("Imported 4 secret(s) into copy/"), "{out}");
    let again: Value = serde_json::from_str(&c.ok(&["kv", "export", "copy/"], None)).unwrap();
    assert_eq!(again, expected);

    // Refuses to overwrite (listing every existing secret), writes nothing.
    c.ok(&["kv", "put", "copy/app/db", "user=changed"], None);
    let err = c.fails(
        1,
        &["kv", "import", "copy", "-"],
        Some(&exported.to_string()),
    );
    assert!(
        err.contains("refusing to overwrite 4 existing secret(s)"),
        "{err}"
    );
    assert!(
        err.contains("copy/app/db") && err.contains("copy/top"),
        "{err}"
    );
    assert!(!err.contains(SECRET));
    assert_eq!(c.kv2("copy", "app/db").await.unwrap()["user"], "changed");
    let out = c.ok(&["kv", "import", "--dry-run", "copy/", &file_arg], None);
    assert!(out.contains("[exists: refused without --force]"), "{out}");
    // --force overwrites, also keys that require check-and-set.
    c.ok(
        &["kv", "metadata", "put", "-cas-required", "copy/top"],
        None,
    );
    c.ok(&["kv", "import", "--force", "copy/", &file_arg], None);
    assert_eq!(c.kv2("copy", "app/db").await.unwrap()["user"], "u");

    // v2 → v1 → v2, through stdin.
    c.ok(&["kv", "import", "old/", "-"], Some(&exported.to_string()));
    assert_eq!(c.kv1("old", "app/db").await.unwrap()["pw"], SECRET);
    let from_v1 = c.ok(&["kv", "export", "-format=json", "old/"], None);
    assert_eq!(serde_json::from_str::<Value>(&from_v1).unwrap(), expected);
    c.ok(&["kv", "import", "back/"], Some(&from_v1));
    let back: Value = serde_json::from_str(&c.ok(&["kv", "export", "back/"], None)).unwrap();
    assert_eq!(back, expected);

    // A folder, and a single secret, imported under another path.
    let app = c.ok(&["kv", "export", "secret/app"], None);
    assert_eq!(
        serde_json::from_str::<Value>(&app).unwrap(),
        json!({"db": {"user": "u", "pw": SECRET}, "web/deep/x": {"n": 1, "obj": {"a": [1, 2]}}})
    );
    c.ok(&["kv", "import", "again/nested/app"], Some(&app));
    assert_eq!(
        c.kv2("again", "nested/app/web/deep/x").await.unwrap()["n"],
        1
    );
    let one = c.ok(&["kv", "export", "secret/app/db"], None);
    assert_eq!(
        serde_json::from_str::<Value>(&one).unwrap(),
        json!({"": {"user": "u", "pw": SECRET}})
    );
    c.ok(&["kv", "import", "again/single/db"], Some(&one));
    assert_eq!(c.kv2("again", "single/db").await.unwrap()["pw"], SECRET);
    let err = c.fails(1, &["kv", "import", "again/"], Some(&one));
    assert!(err.contains("is a folder or a mount"), "{err}");

    // YAML both ways.
    let yaml = c.ok(&["kv", "export", "-format=yaml", "secret/app/web"], None);
    c.ok(&["kv", "import", "-format=yaml", "again/yaml"], Some(&yaml));
    assert_eq!(
        c.kv2("again", "yaml/deep/x").await.unwrap()["obj"],
        json!({"a": [1, 2]})
    );

    // env: names from path + field; import makes one secret of all the variables.
    let env = c.ok(&["kv", "export", "-format=env", "secret/app"], None);
    assert!(env.contains("DB_USER='u'\n"), "{env}");
    assert!(env.contains("WEB_DEEP_X_N='1'\n"), "{env}");
    let env_file = dir.path().join("app.env");
    c.ok(
        &[
            "kv",
            "export",
            "-format",
            "env",
            "-output",
            &env_file.display().to_string(),
            "secret/app",
        ],
        None,
    );
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), env);
    c.ok(
        &["kv", "import", "again/env", &env_file.display().to_string()],
        None,
    );
    let fields = c.kv2("again", "env").await.unwrap();
    assert_eq!(fields["DB_PW"], SECRET);
    assert_eq!(fields["WEB_DEEP_X_N"], "1");
    assert_eq!(fields["WEB_DEEP_X_OBJ"], r#"{"a":[1,2]}"#);
    // Collisions are refused without printing values.
    c.ok(&["kv", "put", "secret/clash/a", "b_c=SECRET1"], None);
    c.ok(&["kv", "put", "secret/clash/a_b", "c=SECRET2"], None);
    let err = c.fails(1, &["kv", "export", "-format=env", "secret/clash"], None);
    assert!(err.contains("A_B_C"), "{err}");
    assert!(
        !err.contains("SECRET1") && !err.contains("SECRET2"),
        "{err}"
    );

    // Nothing there; bad input.
    let err = c.fails(1, &["kv", "export", "secret/nothing"], None);
    assert!(err.contains("nothing to export"), "{err}");
    let err = c.fails(
        1,
        &["kv", "import", "again/x"],
        Some(r#"{"../up": {"a": "SECRET9"}}"#),
    );
    assert!(
        err.contains("not a clean relative path") && !err.contains("SECRET9"),
        "{err}"
    );
    let err = c.fails(
        1,
        &["kv", "import", "again/x"],
        Some("{\"a\": {\"b\": \"SECRET9\""),
    );
    assert!(
        err.contains("not valid JSON") && !err.contains("SECRET9"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_generic_read_write_list_delete() {
    let c = Cli::start().await;
    let out = c.ok(&["write", "kv/app/x", "a=1", "b=-"], Some("stdin-value\n"));
    assert_eq!(out, "Success! Data written to: kv/app/x\n");
    let out = c.ok(&["read", "kv/app/x"], None);
    assert_eq!(
        out,
        "Key                 Value\n\
         ---                 -----\n\
         refresh_interval    768h\n\
         a                   1\n\
         b                   stdin-value\n"
    );
    assert_eq!(c.ok(&["read", "-field=b", "kv/app/x"], None), "stdin-value");
    let v = c.json(&["read", "-format=json", "/kv/app/x"]);
    assert_eq!(v["data"], json!({"a": "1", "b": "stdin-value"}));
    assert_eq!(
        c.ok(&["read", "-format=env", "kv/app/x"], None),
        "a='1'\nb='stdin-value'\n"
    );
    c.ok(
        &["write", "secret/data/raw", "-"],
        Some(r#"{"data": {"k": "v"}}"#),
    );
    let out = c.ok(&["read", "secret/data/raw"], None);
    assert!(out.contains("data        map[k:v]\n"), "{out}");
    assert!(out.contains("metadata    map["), "{out}");

    assert_eq!(c.ok(&["list", "kv/"], None), "Keys\n----\napp/\n");
    assert_eq!(
        c.json(&["list", "-format=json", "secret/metadata"]),
        json!(["raw"])
    );
    let err = c.fails(1, &["list", "kv/nothing"], None);
    assert!(err.contains("no value found at kv/nothing/"), "{err}");

    // A write that answers with data (a token) shows it, as it exists to.
    let out = c.ok(
        &["write", "auth/token/create", "policies=default", "ttl=1h"],
        None,
    );
    assert_eq!(row(&out, "token_duration").as_deref(), Some("1h"), "{out}");
    assert_eq!(
        row(&out, "token_policies").as_deref(),
        Some("[default]"),
        "{out}"
    );
    assert!(row(&out, "token").is_some_and(|t| !t.is_empty()), "{out}");
    let token = c.ok(
        &[
            "write",
            "-field=token",
            "auth/token/create",
            "policies=default",
        ],
        None,
    );
    assert!(!token.is_empty() && !token.contains('\n'));
    let out = c.ok(&["write", "-f", "sys/rotate"], None);
    assert!(!out.is_empty());

    let out = c.ok(&["delete", "kv/app/x"], None);
    assert_eq!(out, "Success! Data deleted (if it existed) at: kv/app/x\n");
    let err = c.fails(1, &["read", "kv/app/x"], None);
    assert!(err.contains("no value found at kv/app/x"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_kv_exit_codes_and_no_echo() {
    let c = Cli::start().await;
    c.ok(&["kv", "put", "secret/x", "k=v"], None);
    // 404 → 1.
    c.fails(1, &["kv", "get", "secret/missing"], None);
    c.fails(1, &["read", "secret/data/missing"], None);
    // 403 → 1, for a token without access and for no token at all.
    let token = client_token(
        &c.s.create_token(&c.root, json!({"policies": ["default"]}))
            .await,
    );
    for args in [
        &["kv", "get", "secret/x"][..],
        &["kv", "list", "secret/"],
        &["read", "secret/data/x"],
        &["list", "secret/metadata"],
        &["write", "kv/x", "a=1"],
        &["delete", "kv/x"],
        &["kv", "export", "secret/"],
    ] {
        let out = c.run_as(Some(&token), args, None);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("403"), "{args:?}: {}", out.stderr);
    }
    let mut no_token = c.s.cli(None, c.home.path());
    no_token.args(["kv", "get", "secret/x"]);
    let out = run_cli(no_token, None);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("Hint: no token was found"),
        "{}",
        out.stderr
    );
    // Usage errors → 2, never echoing a value.
    for args in [
        &["kv", "put", "secret/x"][..],
        &["kv", "put", "secret/x", "VALUE-NOT-SHOWN"],
        &["kv", "put", "secret/x", "a=1", "a=VALUE-NOT-SHOWN"],
        &["kv", "put", "secret/x", "=VALUE-NOT-SHOWN"],
        &["kv", "undelete", "secret/x"],
        &["kv", "get", "-version=x", "secret/x"],
        &["kv", "bogus"],
        &["kv", "get", "secret/"],
        &[
            "kv",
            "metadata",
            "put",
            "-custom-metadata",
            "VALUE-NOT-SHOWN",
            "secret/x",
        ],
        &["write", "kv/x"],
        &["read"],
    ] {
        let out = c.run(args, None);
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            !out.stderr.contains("VALUE-NOT-SHOWN"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // A cas conflict names the path, not the value.
    let err = c.fails(
        1,
        &["kv", "put", "-cas=0", "secret/x", "k=VALUE-NOT-SHOWN"],
        None,
    );
    assert!(!err.contains("VALUE-NOT-SHOWN"), "{err}");
}

/// `read` of a leased secret shows the lease rows first, like `bao read`; the database
/// engine is set up through the CLI's generic `write` (the password from stdin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_generic_read_shows_the_lease_of_database_creds() {
    let Some(cfg) = crate::harness::postgres_url() else {
        return;
    };
    let c = Cli::start().await;
    c.s.mount(&c.root, "database", json!({"type": "database"}))
        .await;
    let user = pg_user(&cfg);
    let url = format!("connection_url={}", pg_connection_url(&cfg));
    c.ok(
        &[
            "write",
            "database/config/pg",
            "plugin_name=postgresql-database-plugin",
            &url,
            &format!("username={user}"),
            "password=-",
            "allowed_roles=*",
        ],
        Some("unused-with-trust\n"),
    );
    c.ok(
        &[
            "write",
            "database/roles/cli-ro",
            "db_name=pg",
            &format!("creation_statements={CREATE_LOGIN_ROLE}"),
            "default_ttl=1h",
            "max_ttl=2h",
        ],
        None,
    );
    let out = c.ok(&["read", "database/creds/cli-ro"], None);
    let keys: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        keys,
        [
            "lease_id",
            "lease_duration",
            "lease_renewable",
            "password",
            "username"
        ],
        "{out}"
    );
    assert_eq!(row(&out, "lease_duration").as_deref(), Some("1h"), "{out}");
    assert_eq!(
        row(&out, "lease_renewable").as_deref(),
        Some("true"),
        "{out}"
    );
    let lease_id = row(&out, "lease_id").unwrap();
    assert!(lease_id.starts_with("database/creds/cli-ro/"), "{out}");

    let v = c.json(&["read", "-format=json", "database/creds/cli-ro"]);
    assert_eq!(v["lease_duration"], 3600);
    assert!(v["data"]["username"].is_string());
    let client = c.s.client_with(&c.root);
    for id in [lease_id.as_str(), v["lease_id"].as_str().unwrap()] {
        client.revoke_lease(id).await.unwrap();
    }
}
