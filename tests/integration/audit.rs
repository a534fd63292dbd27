//! Behaviour 40 (audit half) and Strongroom's audit guarantees: a request and a response
//! line per call, nothing secret in clear, `sys/audit-hash` reproduces the file's hashes,
//! fail closed, API creation confined to a directory, the hash chain verified by the real
//! `strongroom audit verify` (intact, edited line, deleted line), restart and reopen
//! (log rotation) continue the chain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use strongroom_server::audit::{AuditPath, DeviceSpec};
use strongroom_server::config::{AuditApiConfig, AuditConfig, Config, DeclaredAuditDevice};

use crate::harness::{client_token, Answer, TestServer};

fn declared(path: &str, file: &Path) -> DeclaredAuditDevice {
    let options = BTreeMap::from([("file_path".to_string(), file.to_str().unwrap().to_string())]);
    DeclaredAuditDevice {
        path: AuditPath::parse(path).unwrap(),
        spec: DeviceSpec::parse("file", &options).unwrap(),
        description: "test audit log".into(),
        local: false,
    }
}

fn with_audit(
    devices: Vec<DeclaredAuditDevice>,
    api_dir: Option<PathBuf>,
) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.audit = AuditConfig {
            devices,
            api: AuditApiConfig {
                allow: api_dir.is_some(),
                file_directory: api_dir,
                allow_socket: false,
            },
        };
        // Logins in this file must not hit the per-IP login rate limit.
        c.limits.login = None;
    }
}

fn lines(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn request_id(a: &Answer) -> String {
    a.header("x-request-id").expect("x-request-id").to_string()
}

/// `strongroom audit verify FILE --salt-from URL --device DEV` as `token`.
fn verify(file: &Path, url: &str, device: &str, token: &str) -> (i32, String) {
    let out = Command::new(crate::harness::cli_binary())
        .args(["audit", "verify"])
        .arg(file)
        .args(["--salt-from", url, "--device", device])
        .env("STRONGROOM_TOKEN", token)
        .env_remove("VAULT_TOKEN")
        .output()
        .expect("run strongroom");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_lines_hide_every_secret_and_pair_up() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let s = TestServer::start_with(with_audit(vec![declared("file", &log)], None)).await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.clone();
    let mut ids = Vec::new();
    let mut secrets = vec![root.clone()];

    let a = s.mount_kv_v2(&root, "secret").await;
    ids.push(request_id(&a));
    let kv_value = "kv-secret-value-Zq81";
    let a = s
        .call(
            "POST",
            "/v1/secret/data/app",
            Some(json!({"data": {"password": kv_value, "num": 5}})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    ids.push(request_id(&a));
    secrets.push(kv_value.to_string());
    let a = s
        .call("GET", "/v1/secret/data/app", None, Some(&root))
        .await;
    assert_eq!(a.body["data"]["data"]["password"], kv_value);
    ids.push(request_id(&a));

    let created = s
        .create_token(&root, json!({"policies": ["default"]}))
        .await;
    let child = client_token(&created);
    secrets.push(child.clone());
    secrets.push(created["auth"]["accessor"].as_str().unwrap().to_string());
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&child))
        .await;
    assert_eq!(a.status, 200);
    ids.push(request_id(&a));

    s.enable_auth(&root, "userpass", "userpass").await;
    let password = "alice-Pa55word-77";
    secrets.push(password.to_string());
    let a = s
        .call(
            "POST",
            "/v1/auth/userpass/users/alice",
            Some(json!({"password": password, "policies": "default"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    ids.push(request_id(&a));
    let a = s
        .call(
            "POST",
            "/v1/auth/userpass/login/alice",
            Some(json!({"password": password})),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    ids.push(request_id(&a));
    secrets.push(client_token(&a.body));
    secrets.push(a.body["auth"]["accessor"].as_str().unwrap().to_string());
    // A wrapped read and its unwrap: neither the wrapping token nor the unwrapped secret
    // is in clear (the unwrap is audited before it spends the token).
    let a = s
        .send(
            s.http()
                .get(format!("{}/v1/secret/data/app", s.url()))
                .header("X-Vault-Token", &root)
                .header("X-Vault-Wrap-TTL", "5m"),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    ids.push(request_id(&a));
    let wrapping_token = a.body["wrap_info"]["token"].as_str().unwrap().to_string();
    secrets.push(wrapping_token.clone());
    secrets.push(
        a.body["wrap_info"]["accessor"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let a = s
        .call(
            "POST",
            "/v1/sys/wrapping/unwrap",
            None,
            Some(&wrapping_token),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["data"]["data"]["password"], kv_value);
    ids.push(request_id(&a));

    // Transit: the plaintext and the ciphertext are hashed like any string.
    s.mount(&root, "transit", json!({"type": "transit"})).await;
    let plaintext = "dHJhbnNpdC1wbGFpbnRleHQtOTk="; // base64 of a secret
    secrets.push(plaintext.to_string());
    let a = s
        .call(
            "POST",
            "/v1/transit/encrypt/k",
            Some(json!({ "plaintext": plaintext })),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    ids.push(request_id(&a));
    secrets.push(a.body["data"]["ciphertext"].as_str().unwrap().to_string());

    // A denied request is audited too (request + response with an error).
    let a = s
        .call("GET", "/v1/sys/mounts", None, Some("not-a-token"))
        .await;
    assert_eq!(a.status, 403);
    ids.push(request_id(&a));
    secrets.push("not-a-token".to_string());

    // The hash of the kv value, as the device computes it.
    let a = s
        .call(
            "POST",
            "/v1/sys/audit-hash/file",
            Some(json!({"input": kv_value})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let kv_hash = a.body["data"]["hash"].as_str().unwrap().to_string();
    assert_eq!(
        a.body["hash"],
        kv_hash.as_str(),
        "duplicated at the top level"
    );
    assert!(kv_hash.starts_with("hmac-sha256:") && kv_hash.len() == 12 + 64);

    let text = std::fs::read_to_string(&log).unwrap();
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret is in clear in the audit log"
        );
    }
    assert!(
        text.contains(&kv_hash),
        "sys/audit-hash reproduces the file's hash"
    );
    let entries = lines(&log);
    for id in &ids {
        let of = |t: &str| {
            entries
                .iter()
                .filter(|e| e["request"]["id"] == id.as_str() && e["type"] == t)
                .count()
        };
        assert_eq!((of("request"), of("response")), (1, 1), "request {id}");
    }
    let write = entries
        .iter()
        .find(|e| {
            e["type"] == "response"
                && e["request"]["path"] == "secret/data/app"
                && e["request"]["operation"] == "update"
        })
        .unwrap();
    assert_eq!(
        write["request"]["data"]["data"]["num"], 5,
        "numbers stay clear"
    );
    assert_eq!(
        write["request"]["data"]["data"]["password"],
        kv_hash.as_str()
    );
    assert_eq!(write["request"]["mount_point"], "secret/");
    assert_eq!(write["request"]["mount_type"], "kv");
    assert!(write["auth"]["client_token"]
        .as_str()
        .unwrap()
        .starts_with("hmac-sha256:"));
    assert_eq!(write["auth"]["policies"], json!(["root"]));
    let denied = entries
        .iter()
        .find(|e| e["type"] == "response" && e["request"]["id"] == ids.last().unwrap().as_str())
        .unwrap();
    assert_eq!(denied["error"], "permission denied");
    let login = entries
        .iter()
        .find(|e| e["type"] == "response" && e["request"]["path"] == "auth/userpass/login/alice")
        .unwrap();
    assert!(login["response"]["auth"]["client_token"]
        .as_str()
        .unwrap()
        .starts_with("hmac-sha256:"));
    assert!(login["request"]["data"]["password"]
        .as_str()
        .unwrap()
        .starts_with("hmac-sha256:"));

    // sys/audit lists the device (sudo), duplicated at the top level.
    let a = s.call("GET", "/v1/sys/audit", None, Some(&root)).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["file/"]["type"], "file");
    assert_eq!(a.body["data"]["file/"]["path"], "file/");
    assert_eq!(a.body["file/"], a.body["data"]["file/"]);
    let a = s.call("GET", "/v1/sys/audit", None, Some(&child)).await;
    assert_eq!(a.status, 403);
    // Declared devices are not the API's to disable; API creation is off by default.
    let a = s
        .call("DELETE", "/v1/sys/audit/file", None, Some(&root))
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    let a = s
        .call(
            "PUT",
            "/v1/sys/audit/other",
            Some(json!({"type": "file", "options": {"file_path": "discard"}})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["cannot enable audit device via API; use declarative, config-based audit device management instead"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_verifies_and_detects_edits_deletions_and_survives_restart_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut s = TestServer::start_with(with_audit(vec![declared("file", &log)], None)).await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.clone();
    for i in 0..5 {
        let a = s
            .call(
                "POST",
                "/v1/sys/policies/acl/p",
                Some(json!({"policy": format!("# {i}\n")})),
                Some(&root),
            )
            .await;
        assert_eq!(a.status, 204);
    }
    // Restart: the device continues the chain from the file's last line.
    s.restart().await;
    s.unseal_with(&init.keys[..1]).await;
    let a = s
        .call("GET", "/v1/sys/policies/acl/p", None, Some(&root))
        .await;
    assert_eq!(a.status, 200);

    let url = s.url();
    let (code, out) = verify(&log, &url, "file", &root);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("INTACT"), "{out}");
    assert!(!out.contains(&root));

    let text = std::fs::read_to_string(&log).unwrap();
    let original: Vec<&str> = text.lines().collect();
    assert!(original.len() >= 12);

    // An edited line: its own link no longer matches.
    let mut edited = original.clone();
    let changed = edited[3].replacen("\"type\":\"", "\"type\":\"x", 1);
    edited[3] = &changed;
    let copy = dir.path().join("edited.log");
    std::fs::write(&copy, edited.join("\n") + "\n").unwrap();
    let (code, out) = verify(&copy, &url, "file", &root);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at line 4"), "{out}");

    // A deleted line: the next line's prev no longer matches.
    let mut deleted = original.clone();
    deleted.remove(5);
    std::fs::write(&copy, deleted.join("\n") + "\n").unwrap();
    let (code, out) = verify(&copy, &url, "file", &root);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at line 6"), "{out}");

    // A truncated tail: the links are fine, but the server's head is missing.
    std::fs::write(&copy, original[..6].join("\n") + "\n").unwrap();
    let (code, out) = verify(&copy, &url, "file", &root);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT FOUND"), "{out}");

    // Offline, with the key from sys/audit-chain.
    let a = s
        .call("GET", "/v1/sys/audit-chain/file", None, Some(&root))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["algorithm"], "hmac-sha256");
    let key = a.body["data"]["key"].as_str().unwrap().to_string();
    let out = {
        use std::io::Write as _;
        let mut child = Command::new(crate::harness::cli_binary())
            .args(["audit", "verify", "--key-stdin"])
            .arg(&log)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{key}").unwrap();
        child.wait_with_output().unwrap()
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new(crate::harness::cli_binary())
        .args(["audit", "verify"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "usage error without a key source"
    );

    // Rotation: rename, reopen (what SIGHUP does), and the new file continues the chain.
    let rotated = dir.path().join("audit.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    assert_eq!(s.running().core().reopen_audit_devices().await, 0);
    let a = s
        .call("GET", "/v1/sys/policies/acl/p", None, Some(&root))
        .await;
    assert_eq!(a.status, 200);
    assert!(log.exists());
    let (code, out) = verify(&log, &url, "file", &root);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rotated"), "{out}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    let new = std::fs::read_to_string(&log).unwrap();
    let last_old: Value = serde_json::from_str(old.lines().last().unwrap()).unwrap();
    let first_new: Value = serde_json::from_str(new.lines().next().unwrap()).unwrap();
    assert_eq!(first_new["prev_hmac"], last_old["entry_hmac"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_audit_device_fails_closed() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let s = TestServer::start_with(with_audit(vec![declared("full", full)], None)).await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.clone();
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/kv",
            Some(json!({"type": "kv"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 500, "{:?}", a.body);
    assert!(a.errors()[0].contains("audit"), "{:?}", a.body);
    // Nothing ran: the mount does not exist (checked below with a working device).
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(json!({})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 500);
    assert!(a.body.get("auth").is_none(), "no token leaves unaudited");
    drop(s);

    // One failing device among two: requests proceed (the failure is logged).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ok.log");
    let s = TestServer::start_with(with_audit(
        vec![declared("full", full), declared("ok", &log)],
        None,
    ))
    .await;
    let init = s.init_and_unseal(1, 1).await;
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(json!({})),
            Some(&init.root_token),
        )
        .await;
    assert_eq!(a.status, 200);
    let token = client_token(&a.body);
    assert!(!std::fs::read_to_string(&log).unwrap().contains(&token));
    assert_eq!(lines(&log).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_enabling_is_confined_to_the_allowed_directory() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().join("audit");
    std::fs::create_dir(&allowed).unwrap();
    let s = TestServer::start_with(with_audit(Vec::new(), Some(allowed.clone()))).await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.clone();
    let enable = |path: &str, options: Value| {
        let body = json!({"type": "file", "description": "api", "options": options});
        let path = format!("/v1/sys/audit/{path}");
        let s = &s;
        let root = root.clone();
        async move { s.call("PUT", &path, Some(body), Some(&root)).await }
    };
    let outside = dir.path().join("outside.log");
    for options in [
        json!({"file_path": outside.to_str().unwrap()}),
        json!({"file_path": format!("{}/../escape.log", allowed.display())}),
        json!({"file_path": "relative.log"}),
        json!({"file_path": allowed.join("x.log").to_str().unwrap(), "mode": "0755"}),
        json!({"file_path": allowed.to_str().unwrap()}),
    ] {
        let a = enable("bad", options.clone()).await;
        assert_eq!(a.status, 400, "{options}: {:?}", a.body);
    }
    assert!(!outside.exists());
    let socket = s
        .call(
            "PUT",
            "/v1/sys/audit/sock",
            Some(json!({"type": "socket", "options": {"address": "127.0.0.1:1"}})),
            Some(&root),
        )
        .await;
    assert_eq!(socket.status, 400);

    let log = allowed.join("api.log");
    let a = enable("api", json!({"file_path": log.to_str().unwrap()})).await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    // The probe entry, then this request's response... and everything after.
    let probe = lines(&log);
    assert_eq!(probe[0]["request"]["path"], "sys/audit/test");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let a = enable("api", json!({"file_path": "discard"})).await;
    assert_eq!(a.status, 400, "path in use");
    let a = s.call("GET", "/v1/sys/audit", None, Some(&root)).await;
    assert_eq!(
        a.body["data"]["api/"]["options"]["file_path"],
        log.to_str().unwrap()
    );

    // Persisted: back after a seal/unseal.
    let a = s.call("PUT", "/v1/sys/seal", None, Some(&root)).await;
    assert_eq!(a.status, 204);
    s.unseal_with(&init.keys[..1]).await;
    let a = s.call("GET", "/v1/sys/audit", None, Some(&root)).await;
    assert_eq!(a.body["data"]["api/"]["type"], "file");
    let before = lines(&log).len();
    let a = s
        .call("DELETE", "/v1/sys/audit/api", None, Some(&root))
        .await;
    assert_eq!(a.status, 204);
    let a = s.call("GET", "/v1/sys/audit", None, Some(&root)).await;
    assert!(a.body["data"].get("api/").is_none());
    let after = lines(&log).len();
    assert!(after > before, "the disabling request was audited");
    let a = s.call("GET", "/v1/sys/audit", None, Some(&root)).await;
    assert_eq!(a.status, 200);
    assert_eq!(lines(&log).len(), after, "nothing written once disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_cannot_open_refuses_requests_until_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-dir");
    let log = missing.join("audit.log");
    let s = TestServer::start_with(with_audit(vec![declared("file", &log)], None)).await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    // The file cannot be created: every request is refused, nothing is returned.
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&root))
        .await;
    assert_eq!(a.status, 500, "{:?}", a.body);
    assert_eq!(
        a.errors(),
        vec!["internal error: the audit log is unavailable"]
    );
    assert!(!String::from_utf8_lossy(&a.raw).contains(&root));
    // Once the directory exists the next write opens the file: requests flow again.
    std::fs::create_dir(&missing).unwrap();
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&root))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let entries = lines(&log);
    assert_eq!(entries.len(), 2, "one request and one response line");
}
