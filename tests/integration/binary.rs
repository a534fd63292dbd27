//! The `strongroom-server` binary itself: `--dev`, SIGTERM, config refusal, TLS helper.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Builds (if needed) and locates the server binary of this workspace.
fn server_binary() -> PathBuf {
    crate::harness::workspace_binary("strongroom-server", "strongroom-server")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_serves_and_sigterm_exits_cleanly() {
    let bin = server_binary();
    let port = free_port();
    let mut child = Command::new(&bin)
        .args([
            "--dev",
            "--dev-listen-address",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(t) = line.trim().strip_prefix("Root Token: ") {
                let _ = tx.send(t.to_string());
            }
        }
    });
    let root = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("dev banner with root token");

    let client = strongroom_client::Client::builder()
        .address(format!("http://127.0.0.1:{port}"))
        .token(root)
        .build()
        .unwrap();
    let st = client.seal_status().await.unwrap();
    assert!(st.initialized && !st.sealed && st.t == 1);
    assert_eq!(client.lookup_self().await.unwrap().policies, vec!["root"]);

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "SIGTERM must exit 0");
}

#[test]
fn refuses_to_start_without_tls_and_says_how_to_fix_it() {
    let bin = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strongroom.toml");
    std::fs::write(
        &config,
        format!(
            "[listener]\naddress = \"127.0.0.1:0\"\n[storage]\nbackend = \"sqlite\"\npath = \"{}\"\n",
            dir.path().join("db").display()
        ),
    )
    .unwrap();
    let out = Command::new(&bin)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tls_cert_file")
            && err.contains("tls-selfsigned")
            && err.contains("tls_disable"),
        "{err}"
    );

    // The helper it points to works, and the server then starts with TLS.
    let tls_dir = dir.path().join("tls");
    let out = Command::new(&bin)
        .args(["tls-selfsigned", "--out"])
        .arg(&tls_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tls_dir.join("cert.pem").exists() && tls_dir.join("key.pem").exists());
}
