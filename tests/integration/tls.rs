//! The HTTPS listener: rustls with a certificate from the self-signed helper.

use strongroom_client::Client;
use strongroom_server::config::TlsMode;

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_hsts() {
    let dir = tempfile::tempdir().unwrap();
    strongroom_server::tls::write_self_signed(
        dir.path(),
        &["localhost".into(), "127.0.0.1".into()],
    )
    .unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let (c2, k2) = (cert.clone(), key.clone());
    let s = TestServer::start_with(move |c| {
        c.listener.tls = TlsMode::Files {
            cert: c2,
            key: k2,
            client_ca: None,
        }
    })
    .await;
    let url = s.url();
    assert!(url.starts_with("https://"));

    let client = Client::builder()
        .address(url.clone())
        .ca_pem(std::fs::read(&cert).unwrap())
        .build()
        .unwrap();
    let init = client.init(1, 1).await.unwrap();
    client.unseal(&init.keys[0]).await.unwrap();
    let me = client
        .with_token(init.root_token.clone())
        .lookup_self()
        .await
        .unwrap();
    assert_eq!(me.policies, vec!["root"]);

    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let resp = http
        .get(format!("{url}/v1/sys/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000; includeSubDomains")
    );

    // A client that does not trust the certificate is refused, and so is plain HTTP.
    let untrusting = Client::builder().address(url.clone()).build().unwrap();
    assert!(untrusting.seal_status().await.is_err());
    let plain = reqwest::get(format!("http://{}/v1/sys/health", s.running().local_addr())).await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}
