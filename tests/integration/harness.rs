//! Test harness: real servers on port 0, real storage, real HTTP.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};
use strongroom_client::api::InitResponse;
use strongroom_client::Client;
use strongroom_server::config::{Config, StorageConfig, TlsMode};
use strongroom_server::server::{self, RunningServer};

/// One HTTP answer with its headers.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn errors(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors list in {}", self.body))
            .iter()
            .map(|e| e.as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// Builds (if needed) the binary `bin` of workspace package `package` and returns its
/// path in the target directory (`CARGO_TARGET_DIR` honoured).
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().expect("workspace root").to_path_buf();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .current_dir(&workspace)
        .status()
        .expect("cargo build runs");
    assert!(status.success(), "building {bin} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("debug").join(bin)
}

/// Where the local PostgreSQL is, or `None` (skipped) outside CI.
pub fn postgres_url() -> Option<tokio_postgres::Config> {
    env_url("STRONGROOM_TEST_POSTGRES_URL").map(|url| url.parse().expect("postgres url"))
}

/// Where the local MariaDB is, or `None` (skipped) outside CI.
pub fn mysql_url() -> Option<mysql_async::Opts> {
    env_url("STRONGROOM_TEST_MYSQL_URL")
        .map(|url| mysql_async::Opts::from_url(&url).expect("mysql url"))
}

/// The URL in environment variable `name`; `None` (the test is skipped, and says so)
/// when it is unset, except under `CI=true`, where a missing database fails the test.
pub fn env_url(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{name} must be set under CI=true"
            );
            eprintln!("skipped: {name} is not set");
            None
        }
    }
}

/// The `strongroom` CLI of this workspace, built (if needed) once per test process:
/// `cargo build` costs seconds per call on a busy machine, so later calls reuse the path.
pub fn cli_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| workspace_binary("strongroom-cli", "strongroom"))
}

/// What a finished CLI run printed and returned.
#[derive(Debug)]
pub struct CliOutput {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion, feeding `stdin` (when given) and collecting its output.
pub fn run_cli(mut cmd: std::process::Command, stdin: Option<&str>) -> CliOutput {
    use std::io::Write;
    use std::process::Stdio;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run strongroom");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for strongroom");
    CliOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running Strongroom on a SQLite file in a temp dir.
pub struct TestServer {
    running: Option<RunningServer>,
    config: Config,
    pub db_path: PathBuf,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// The `auth.client_token` of a token or login response.
pub fn client_token(body: &Value) -> String {
    body["auth"]["client_token"]
        .as_str()
        .expect("auth.client_token")
        .to_string()
}

impl TestServer {
    /// Plain HTTP on 127.0.0.1:0.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// With a config tweak.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_path = dir.path().join("strongroom.db");
        let mut config = Config::dev("127.0.0.1:0".parse().expect("addr"));
        config.storage = StorageConfig::Sqlite {
            path: db_path.clone(),
        };
        config.listener.tls = TlsMode::Disabled;
        tweak(&mut config);
        let running = server::start(&config).await.expect("server starts");
        // Pin the port so restarts keep the same address.
        config.listener.address = running.local_addr();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        TestServer {
            running: Some(running),
            config,
            db_path,
            _dir: dir,
            http,
        }
    }

    pub fn running(&self) -> &RunningServer {
        self.running.as_ref().expect("server running")
    }

    pub fn url(&self) -> String {
        self.running().url()
    }

    /// The `strongroom` CLI pointed at this server: `STRONGROOM_ADDR` set, `VAULT_*` and
    /// `STRONGROOM_*` cleared, `STRONGROOM_TOKEN` = `token` when given, and `HOME` = `home`
    /// (where `login` saves its token file).
    pub fn cli(&self, token: Option<&str>, home: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(cli_binary());
        for name in [
            "VAULT_ADDR",
            "VAULT_TOKEN",
            "VAULT_CACERT",
            "VAULT_CLIENT_CERT",
            "VAULT_CLIENT_KEY",
            "VAULT_MAX_RETRIES",
            "STRONGROOM_TOKEN",
            "STRONGROOM_CACERT",
            "STRONGROOM_CLIENT_CERT",
            "STRONGROOM_CLIENT_KEY",
            "STRONGROOM_MAX_RETRIES",
        ] {
            cmd.env_remove(name);
        }
        cmd.env("STRONGROOM_ADDR", self.url()).env("HOME", home);
        if let Some(token) = token {
            cmd.env("STRONGROOM_TOKEN", token);
        }
        cmd
    }

    /// A client without a token.
    pub fn client(&self) -> Client {
        Client::builder()
            .address(self.url())
            .build()
            .expect("client")
    }

    /// A client with `token`.
    pub fn client_with(&self, token: &str) -> Client {
        self.client().with_token(token)
    }

    /// Stops the server (drain + seal) and starts it again on the same storage.
    pub async fn restart(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        // The port was just released; retry briefly in case the OS holds it.
        let mut last = None;
        for _ in 0..50 {
            match server::start(&self.config).await {
                Ok(r) => {
                    self.running = Some(r);
                    return;
                }
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("restart failed: {last:?}");
    }

    /// Any request; `token` goes in `X-Vault-Token`.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{}", self.url(), path));
        if let Some(t) = token {
            req = req.header("X-Vault-Token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    /// `POST sys/mounts/<path>` with `body` (the engine's type and options), as `token`;
    /// must answer 204. Returns the answer (for its request id).
    pub async fn mount(&self, token: &str, path: &str, body: Value) -> Answer {
        let a = self
            .call(
                "POST",
                &format!("/v1/sys/mounts/{path}"),
                Some(body),
                Some(token),
            )
            .await;
        assert_eq!(a.status, 204, "mount {path}: {:?}", a.body);
        a
    }

    /// Enables the auth method `kind` at `auth/<path>` as `token`; the answer must be 204.
    pub async fn enable_auth(&self, token: &str, path: &str, kind: &str) -> Answer {
        let a = self
            .call(
                "POST",
                &format!("/v1/sys/auth/{path}"),
                Some(serde_json::json!({ "type": kind })),
                Some(token),
            )
            .await;
        assert_eq!(a.status, 204, "enable auth {path}: {:?}", a.body);
        a
    }

    /// [`mount`](Self::mount)s a KV version 2 engine at `path`, as `token`.
    pub async fn mount_kv_v2(&self, token: &str, path: &str) -> Answer {
        self.mount(
            token,
            path,
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await
    }

    /// `POST auth/token/create` with `body`, as `token`; must answer 200. Returns the
    /// whole response body.
    pub async fn create_token(&self, token: &str, body: Value) -> Value {
        let a = self
            .call("POST", "/v1/auth/token/create", Some(body), Some(token))
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        a.body
    }

    /// Sends a prepared request.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let raw = resp.bytes().await.expect("body").to_vec();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or(Value::Null)
        };
        Answer {
            status,
            headers,
            body,
            raw,
        }
    }

    /// The raw reqwest client (no redirects followed).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Initialises with `shares`/`threshold` and unseals with the first `threshold` shares.
    pub async fn init_and_unseal(&self, shares: u32, threshold: u32) -> InitResponse {
        let client = self.client();
        let init = client.init(shares, threshold).await.expect("init");
        self.unseal_with(&init.keys[..threshold as usize]).await;
        init
    }

    /// Submits shares until unsealed.
    pub async fn unseal_with(&self, keys: &[String]) {
        let client = self.client();
        for k in keys {
            client.unseal(k).await.expect("unseal");
        }
        assert!(
            !client.seal_status().await.expect("status").sealed,
            "still sealed"
        );
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Dropping the RunningServer aborts nothing by itself; the runtime ends with the test.
        let _ = self.running.take();
    }
}

/// Sends `GET <target>` over a raw TCP connection (no client-side path normalisation)
/// and returns the status code and the response head.
pub async fn raw_get(addr: std::net::SocketAddr, target: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}
