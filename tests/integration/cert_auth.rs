//! The `cert` auth method over a real TLS listener that asks for (optional) client
//! certificates: certificates made with rcgen (`client_auth`'s CA and client-certificate
//! helpers), clients are reqwest with a client identity (wire reference §5.4).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use strongroom_client::Client;
use strongroom_server::config::TlsMode;

use crate::client_auth::{client_ca as ca, client_cert, Ca};
use crate::harness::{Answer, TestServer};

/// A client certificate for `cn` issued by `issuer`: certificate + key, PEM, one string.
fn client_identity(cn: &str, issuer: &Ca) -> String {
    let (cert, key) = client_cert(cn, issuer);
    format!("{cert}{key}")
}

/// TLS material in a temp dir: the server's self-signed pair, and (optionally) the
/// client CA bundle the listener verifies client certificates against.
struct Tls {
    dir: tempfile::TempDir,
}

impl Tls {
    fn new() -> Tls {
        let dir = tempfile::tempdir().unwrap();
        strongroom_server::tls::write_self_signed(
            dir.path(),
            &["localhost".into(), "127.0.0.1".into()],
        )
        .unwrap();
        Tls { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server_cert(&self) -> Vec<u8> {
        std::fs::read(self.path("cert.pem")).unwrap()
    }

    async fn start(&self, client_ca: Option<&Path>) -> TestServer {
        let (cert, key) = (self.path("cert.pem"), self.path("key.pem"));
        let client_ca = client_ca.map(Path::to_path_buf);
        TestServer::start_with(move |c| {
            c.listener.tls = TlsMode::Files {
                cert,
                key,
                client_ca,
            }
        })
        .await
    }

    /// An HTTPS client trusting the server, presenting `identity` when given.
    fn http(&self, identity: Option<&str>) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&self.server_cert()).unwrap());
        if let Some(pem) = identity {
            b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        b.build().unwrap()
    }

    /// Initialises and unseals; the root token.
    async fn init(&self, s: &TestServer) -> String {
        let client = Client::builder()
            .address(s.url())
            .ca_pem(self.server_cert())
            .build()
            .unwrap();
        let init = client.init(1, 1).await.unwrap();
        client.unseal(&init.keys[0]).await.unwrap();
        init.root_token
    }
}

async fn send(
    s: &TestServer,
    http: &reqwest::Client,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Answer {
    let mut req = http.request(method, format!("{}{path}", s.url()));
    if let Some(t) = token {
        req = req.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    s.send(req).await
}

async fn login(s: &TestServer, http: &reqwest::Client, body: Value) -> Answer {
    send(
        s,
        http,
        reqwest::Method::POST,
        "/v1/auth/cert/login",
        Some(body),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_login_over_tls_with_optional_client_certificates() {
    let tls = Tls::new();
    let client_ca = ca("Clients CA");
    std::fs::write(tls.path("client-ca.pem"), client_ca.pem()).unwrap();
    let s = tls.start(Some(&tls.path("client-ca.pem"))).await;
    let root = tls.init(&s).await;
    let anon = tls.http(None);
    let post = reqwest::Method::POST;

    let r = send(
        &s,
        &anon,
        post.clone(),
        "/v1/sys/auth/cert",
        Some(json!({"type": "cert"})),
        Some(&root),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let role = json!({
        "certificate": client_ca.pem(), "token_policies": "web", "token_ttl": "1h",
        "allowed_common_names": ["web-*"], "display_name": "frontend"
    });
    let r = send(
        &s,
        &anon,
        post.clone(),
        "/v1/auth/cert/certs/web",
        Some(role),
        Some(&root),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = send(
        &s,
        &anon,
        reqwest::Method::GET,
        "/v1/auth/cert/certs/web",
        None,
        Some(&root),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["certificate"], client_ca.pem());
    assert_eq!(r.body["data"]["allowed_common_names"], json!(["web-*"]));
    assert_eq!(r.body["data"]["token_policies"], json!(["web"]));

    // A client with a certificate from the listener's client CA logs in.
    let web = tls.http(Some(&client_identity("web-client", &client_ca)));
    let r = login(&s, &web, json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let auth = &r.body["auth"];
    assert_eq!(auth["policies"], json!(["default", "web"]));
    assert_eq!(auth["token_policies"], json!(["default", "web"]));
    assert_eq!(auth["lease_duration"], 3600);
    assert_eq!(auth["orphan"], true);
    let meta = &auth["metadata"];
    assert_eq!(meta["cert_name"], "web");
    assert_eq!(meta["common_name"], "web-client");
    for key in ["serial_number", "subject_key_id", "authority_key_id"] {
        assert!(!meta[key].as_str().unwrap().is_empty(), "{key}: {meta}");
    }
    assert!(meta["serial_number"]
        .as_str()
        .unwrap()
        .bytes()
        .all(|b| b.is_ascii_digit()));
    let token = auth["client_token"].as_str().unwrap().to_string();
    let r = send(
        &s,
        &anon,
        reqwest::Method::GET,
        "/v1/auth/token/lookup-self",
        None,
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["display_name"], "cert-frontend");
    assert_eq!(r.body["data"]["path"], "auth/cert/login");
    // `name` pins the role.
    let r = login(&s, &web, json!({"name": "web"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = login(&s, &web, json!({"name": "other"})).await;
    assert_eq!(r.status, 400);

    // Without a certificate: everything else still works; a cert login is a 400.
    let r = send(
        &s,
        &anon,
        reqwest::Method::GET,
        "/v1/sys/health",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = login(&s, &anon, json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.errors(), vec!["no client certificate found"]);

    // A certificate from another CA never reaches the method: the handshake fails.
    let rogue = tls.http(Some(&client_identity("web-client", &ca("Rogue CA"))));
    let sent = rogue
        .post(format!("{}/v1/auth/cert/login", s.url()))
        .json(&json!({}))
        .send()
        .await;
    assert!(sent.is_err(), "{sent:?}");
    // ... and the connection of a client without one keeps working.
    let r = send(
        &s,
        &anon,
        reqwest::Method::GET,
        "/v1/sys/health",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 200);

    // A common name outside allowed_common_names is refused.
    let api = tls.http(Some(&client_identity("api-client", &client_ca)));
    let r = login(&s, &api, json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.errors(),
        vec!["invalid certificate or no client certificate supplied"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_client_ca_certificates_are_not_requested() {
    let tls = Tls::new();
    let client_ca = ca("Clients CA");
    let s = tls.start(None).await;
    let root = tls.init(&s).await;
    let anon = tls.http(None);
    let post = reqwest::Method::POST;
    let r = send(
        &s,
        &anon,
        post.clone(),
        "/v1/sys/auth/cert",
        Some(json!({"type": "cert"})),
        Some(&root),
    )
    .await;
    assert_eq!(r.status, 204);
    let role = json!({"certificate": client_ca.pem()});
    let r = send(
        &s,
        &anon,
        post,
        "/v1/auth/cert/certs/web",
        Some(role),
        Some(&root),
    )
    .await;
    assert_eq!(r.status, 204);
    // The client has a certificate, but the server never asks for it.
    let web = tls.http(Some(&client_identity("web-client", &client_ca)));
    let r = login(&s, &web, json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.errors(), vec!["no client certificate found"]);
}
