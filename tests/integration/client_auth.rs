//! `strongroom-client` against real servers: every login (token, userpass, approle,
//! and cert over a TLS listener with a client certificate, also taken from the
//! environment), every token-store and capabilities call, and the transport's retries:
//! a server that comes up during the backoff, and a fault-injecting HTTP proxy in front
//! of a real server that answers 429/5xx (or 4xx) for the first requests and counts
//! what reaches it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::{json, Value};
use strongroom_client::api::TokenCreateRequest;
use strongroom_client::{Client, ClientError, Method};
use strongroom_server::config::TlsMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::TestServer;

// ---------------------------------------------------------------------------------
// Setup helpers (shared with `cli_auth`)

/// A started, initialised and unsealed server and its root token.
pub(crate) async fn unsealed() -> (TestServer, String) {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    (s, root)
}

/// `POST <path>` (or any method) as `token`; asserts a 2xx and returns the body.
pub(crate) async fn ok(
    s: &TestServer,
    method: &str,
    path: &str,
    body: Value,
    token: &str,
) -> Value {
    let body = (!body.is_null()).then_some(body);
    let a = s
        .call(method, &format!("/v1/{path}"), body, Some(token))
        .await;
    assert!(
        (200..300).contains(&a.status),
        "{method} {path}: {} {:?}",
        a.status,
        a.body
    );
    a.body
}

/// Enables userpass at `mount` and creates `user` with `password` and policy `web`.
pub(crate) async fn userpass_user(
    s: &TestServer,
    root: &str,
    mount: &str,
    user: &str,
    password: &str,
) {
    ok(
        s,
        "POST",
        &format!("sys/auth/{mount}"),
        json!({"type": "userpass"}),
        root,
    )
    .await;
    ok(
        s,
        "POST",
        &format!("auth/{mount}/users/{user}"),
        json!({"password": password, "token_policies": "web", "token_ttl": "1h"}),
        root,
    )
    .await;
}

/// Enables approle and creates role `web`; returns its role id and a new secret id.
pub(crate) async fn approle_role(s: &TestServer, root: &str) -> (String, String) {
    ok(
        s,
        "POST",
        "sys/auth/approle",
        json!({"type": "approle"}),
        root,
    )
    .await;
    ok(
        s,
        "POST",
        "auth/approle/role/web",
        json!({"token_policies": ["web"], "token_ttl": "20m"}),
        root,
    )
    .await;
    let role_id = ok(s, "GET", "auth/approle/role/web/role-id", Value::Null, root).await["data"]
        ["role_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret_id = ok(
        s,
        "POST",
        "auth/approle/role/web/secret-id",
        json!({}),
        root,
    )
    .await["data"]["secret_id"]
        .as_str()
        .unwrap()
        .to_string();
    (role_id, secret_id)
}

pub(crate) type Ca = CertifiedIssuer<'static, KeyPair>;

/// A CA for client certificates.
pub(crate) fn client_ca(cn: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
}

/// A client certificate for `cn` signed by `issuer`: (certificate PEM, key PEM).
pub(crate) fn client_cert(cn: &str, issuer: &Ca) -> (String, String) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::ExplicitNoCa;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A TLS server asking for client certificates from `ca`, initialised and unsealed,
/// with the cert method enabled and role `web` trusting `ca` for `web-*` names.
pub(crate) struct CertServer {
    pub server: TestServer,
    pub root: String,
    pub ca: Ca,
    pub dir: tempfile::TempDir,
}

impl CertServer {
    pub(crate) async fn start() -> CertServer {
        let dir = tempfile::tempdir().unwrap();
        strongroom_server::tls::write_self_signed(
            dir.path(),
            &["localhost".into(), "127.0.0.1".into()],
        )
        .unwrap();
        let ca = client_ca("Clients CA");
        std::fs::write(dir.path().join("client-ca.pem"), ca.pem()).unwrap();
        let (cert, key, client_ca) = (
            dir.path().join("cert.pem"),
            dir.path().join("key.pem"),
            Some(dir.path().join("client-ca.pem")),
        );
        let server = TestServer::start_with(move |c| {
            c.listener.tls = TlsMode::Files {
                cert,
                key,
                client_ca,
            }
        })
        .await;
        let mut cs = CertServer {
            server,
            root: String::new(),
            ca,
            dir,
        };
        let client = cs.client().build().unwrap();
        let init = client.init(1, 1).await.unwrap();
        client.unseal(&init.keys[0]).await.unwrap();
        let root = init.root_token;
        let admin = client.with_token(root.as_str());
        admin
            .call_json(
                Method::POST,
                "sys/auth/cert",
                Some(&json!({"type": "cert"})),
            )
            .await
            .unwrap();
        let role = json!({
            "certificate": cs.ca.pem(), "token_policies": "web", "token_ttl": "1h",
            "allowed_common_names": ["web-*"]
        });
        admin
            .call_json(Method::POST, "auth/cert/certs/web", Some(&role))
            .await
            .unwrap();
        cs.root = root;
        cs
    }

    /// The server's certificate file (the CA clients trust).
    pub(crate) fn server_ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// A builder trusting the server.
    pub(crate) fn client(&self) -> strongroom_client::ClientBuilder {
        Client::builder()
            .address(self.server.url())
            .ca_pem(std::fs::read(self.server_ca_file()).unwrap())
    }

    /// Writes a client certificate for `cn` and its key to files; their paths.
    pub(crate) fn cert_files(&self, cn: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = client_cert(cn, &self.ca);
        let (cp, kp) = (
            self.dir.path().join(format!("{cn}.crt")),
            self.dir.path().join(format!("{cn}.key")),
        );
        std::fs::write(&cp, cert).unwrap();
        std::fs::write(&kp, key).unwrap();
        (cp, kp)
    }
}

fn api_status(err: &ClientError) -> u16 {
    match err {
        ClientError::Api { status, .. } => *status,
        other => panic!("not an API error: {other:?}"),
    }
}

fn api_errors(err: &ClientError) -> Vec<String> {
    match err {
        ClientError::Api { errors, .. } => errors.clone(),
        other => panic!("not an API error: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------
// Logins

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_userpass_and_approle_logins() {
    let (s, root) = unsealed().await;
    let anon = s.client();

    // token: checked with lookup-self, properties returned as an auth block.
    let auth = anon.login_token(&root).await.unwrap();
    assert_eq!(auth.client_token, root);
    assert_eq!(auth.policies, ["root"]);
    assert_eq!(auth.lease_duration, 0);
    assert!(!auth.accessor.is_empty());
    let err = anon
        .login_token("s.NoSuchTokenAtAll00000000")
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 403);
    assert!(matches!(
        anon.login_token("  ").await,
        Err(ClientError::InvalidArgument(_))
    ));

    // userpass, at the default mount and elsewhere.
    userpass_user(&s, &root, "userpass", "alice", "correct horse").await;
    userpass_user(&s, &root, "team/up", "bob", "battery staple").await;
    let auth = anon
        .login_userpass(None, "alice", "correct horse")
        .await
        .unwrap();
    assert_eq!(auth.policies, ["default", "web"]);
    assert_eq!(auth.lease_duration, 3600);
    assert!(auth.orphan);
    assert_eq!(auth.metadata.as_ref().unwrap()["username"], "alice");
    let alice = anon.with_auth(&auth);
    let me = alice.lookup_self().await.unwrap();
    assert_eq!(me.display_name, "userpass-alice");
    assert_eq!(me.accessor, auth.accessor);
    let auth = anon
        .login_userpass(Some("/team/up/"), "bob", "battery staple")
        .await
        .unwrap();
    assert_eq!(auth.metadata.as_ref().unwrap()["username"], "bob");
    // A logged-in client's own token is not sent with a login (logins ignore it anyway).
    alice
        .login_userpass(None, "alice", "correct horse")
        .await
        .unwrap();
    let err = anon
        .login_userpass(None, "alice", "wrong")
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 400);
    assert_eq!(api_errors(&err), ["invalid username or password"]);
    assert!(!err.to_string().contains("wrong"));
    for (mount, user) in [(Some("../sys"), "alice"), (None, ".."), (None, "")] {
        let err = anon.login_userpass(mount, user, "pw").await.unwrap_err();
        assert!(matches!(err, ClientError::InvalidArgument(_)), "{err}");
    }

    // approle.
    let (role_id, secret_id) = approle_role(&s, &root).await;
    let auth = anon
        .login_approle(None, &role_id, Some(&secret_id))
        .await
        .unwrap();
    assert_eq!(auth.policies, ["default", "web"]);
    assert_eq!(auth.lease_duration, 1200);
    assert_eq!(auth.metadata.as_ref().unwrap()["role_name"], "web");
    assert_eq!(
        s.client_with(&auth.client_token)
            .lookup_self()
            .await
            .unwrap()
            .path,
        "auth/approle/login"
    );
    let err = anon
        .login_approle(None, &role_id, Some("not-the-secret"))
        .await
        .unwrap_err();
    assert_eq!(api_errors(&err), ["invalid role or secret ID"]);
    let err = anon
        .login_approle(Some("approle"), &role_id, None)
        .await
        .unwrap_err();
    assert_eq!(api_errors(&err), ["missing secret_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_login_with_a_client_identity_from_the_builder_and_the_environment() {
    let cs = CertServer::start().await;
    let (cert_file, key_file) = cs.cert_files("web-client");
    let cert = std::fs::read(&cert_file).unwrap();
    let key = std::fs::read(&key_file).unwrap();

    let client = cs
        .client()
        .client_identity_pem(&cert, &key)
        .build()
        .unwrap();
    assert!(client.has_client_identity());
    for name in [None, Some("web")] {
        let auth = client.login_cert(None, name).await.unwrap();
        assert_eq!(auth.policies, ["default", "web"]);
        assert_eq!(auth.lease_duration, 3600);
        let meta = auth.metadata.as_ref().unwrap();
        assert_eq!(meta["cert_name"], "web");
        assert_eq!(meta["common_name"], "web-client");
        let me = client.with_auth(&auth).lookup_self().await.unwrap();
        assert_eq!(me.path, "auth/cert/login");
    }
    let err = client
        .login_cert(Some("cert"), Some("nosuchrole"))
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 400);

    // A server certificate the client does not trust fails the handshake: a transport
    // error, not retried (it would fail the same way again).
    let untrusting = Client::builder()
        .address(cs.server.url())
        .max_retries(3)
        .build()
        .unwrap();
    let started = Instant::now();
    match untrusting.seal_status().await.unwrap_err() {
        ClientError::Transport(t) => assert_eq!(t.attempts(), 1, "{t}"),
        other => panic!("not a transport error: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(500));

    // Without a client certificate the server has nothing to check.
    let bare = cs.client().build().unwrap();
    assert!(!bare.has_client_identity());
    let err = bare.login_cert(None, None).await.unwrap_err();
    assert_eq!(api_errors(&err), ["no client certificate found"]);

    // A certificate the role does not admit (CN outside web-*).
    let (other_cert, other_key) = client_cert("db-client", &cs.ca);
    let other = cs
        .client()
        .client_identity_pem(other_cert.as_bytes(), other_key.as_bytes())
        .build()
        .unwrap();
    assert_eq!(
        api_status(&other.login_cert(None, None).await.unwrap_err()),
        400
    );

    // The same identity, address and CA from environment variables: STRONGROOM_* first,
    // VAULT_* as the fallback.
    let env_of = |pairs: Vec<(&'static str, String)>| {
        let map: BTreeMap<&'static str, String> = pairs.into_iter().collect();
        move |name: &str| map.get(name).cloned()
    };
    let path = |p: &PathBuf| p.display().to_string();
    let bogus = cs.dir.path().join("missing.pem");
    for env in [
        env_of(vec![
            ("STRONGROOM_ADDR", cs.server.url()),
            ("STRONGROOM_CACERT", path(&cs.server_ca_file())),
            ("STRONGROOM_CLIENT_CERT", path(&cert_file)),
            ("STRONGROOM_CLIENT_KEY", path(&key_file)),
            // Never read: the STRONGROOM_ pair wins.
            ("VAULT_CLIENT_CERT", path(&bogus)),
            ("VAULT_CLIENT_KEY", path(&bogus)),
        ]),
        env_of(vec![
            ("VAULT_ADDR", cs.server.url()),
            ("VAULT_CACERT", path(&cs.server_ca_file())),
            ("VAULT_CLIENT_CERT", path(&cert_file)),
            ("VAULT_CLIENT_KEY", path(&key_file)),
        ]),
    ] {
        let client = Client::builder().from_lookup(env).unwrap().build().unwrap();
        assert!(client.has_client_identity());
        let auth = client.login_cert(None, None).await.unwrap();
        assert_eq!(auth.metadata.as_ref().unwrap()["common_name"], "web-client");
    }
}

// ---------------------------------------------------------------------------------
// Token store

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_store_calls() {
    let (s, root) = unsealed().await;
    let admin = s.client_with(&root);
    ok(
        &s,
        "POST",
        "sys/policies/acl/web",
        json!({"policy": "path \"secret/*\" { capabilities = [\"read\", \"list\"] }\n\
                          path \"auth/token/create\" { capabilities = [\"update\"] }"}),
        &root,
    )
    .await;

    // create, with every field, then look it up three ways.
    let request = TokenCreateRequest {
        policies: vec!["web".into()],
        meta: BTreeMap::from([("team".into(), "blue".into())]),
        ttl: Some(3600),
        explicit_max_ttl: Some(7200),
        renewable: Some(true),
        num_uses: Some(50),
        display_name: Some("ci".into()),
        ..Default::default()
    };
    let child = admin.create_token(&request).await.unwrap();
    assert_eq!(child.policies, ["default", "web"]);
    assert_eq!(child.lease_duration, 3600);
    assert_eq!(child.num_uses, 50);
    assert!(child.renewable && !child.orphan);
    assert_eq!(child.metadata.as_ref().unwrap()["team"], "blue");
    let by_token = admin.lookup_token(&child.client_token).await.unwrap();
    assert_eq!(by_token.id, child.client_token);
    assert_eq!(by_token.display_name, "token-ci");
    assert_eq!(by_token.explicit_max_ttl, 7200);
    assert_eq!(by_token.path, "auth/token/create");
    let by_accessor = admin.lookup_accessor(&child.accessor).await.unwrap();
    assert_eq!(by_accessor.id, "");
    assert_eq!(by_accessor.display_name, "token-ci");
    let me = admin.with_auth(&child).lookup_self().await.unwrap();
    assert_eq!(me.accessor, child.accessor);
    assert_eq!(
        api_status(
            &admin
                .lookup_token("s.NoSuchToken000000000000")
                .await
                .unwrap_err()
        ),
        403
    );
    assert!(matches!(
        admin.lookup_token("").await,
        Err(ClientError::InvalidArgument(_))
    ));

    // renew: another token, by accessor, and self.
    let renewed = admin
        .renew_token(&child.client_token, Some(600))
        .await
        .unwrap();
    assert_eq!(renewed.lease_duration, 600);
    assert_eq!(renewed.accessor, child.accessor);
    let renewed = admin
        .renew_accessor(&child.accessor, Some(900))
        .await
        .unwrap();
    assert_eq!(renewed.lease_duration, 900);
    assert_eq!(renewed.client_token, "");
    let renewed = admin
        .with_auth(&child)
        .renew_self(Some(1200))
        .await
        .unwrap();
    assert_eq!(renewed.lease_duration, 1200);
    assert!(admin.lookup_token(&child.client_token).await.unwrap().ttl <= 1200);

    // orphan, role and periodic tokens; non-renewable and use-limited ones.
    let orphan = admin
        .create_token(&TokenCreateRequest {
            orphan: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(orphan.orphan);
    assert_eq!(
        admin.lookup_token(&orphan.client_token).await.unwrap().path,
        "auth/token/create-orphan"
    );
    ok(
        &s,
        "POST",
        "auth/token/roles/web-role",
        json!({"allowed_policies": ["web"], "orphan": true}),
        &root,
    )
    .await;
    let from_role = admin
        .create_token(&TokenCreateRequest {
            role: Some("web-role".into()),
            policies: vec!["web".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(from_role.orphan);
    assert_eq!(
        admin
            .lookup_token(&from_role.client_token)
            .await
            .unwrap()
            .path,
        "auth/token/create/web-role"
    );
    let err = admin
        .create_token(&TokenCreateRequest {
            role: Some("nope".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 400);
    let err = admin
        .create_token(&TokenCreateRequest {
            role: Some("web-role".into()),
            orphan: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidArgument(_)));
    let periodic = admin
        .create_token(&TokenCreateRequest {
            period: Some(900),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(periodic.lease_duration, 900);
    assert_eq!(
        admin
            .lookup_token(&periodic.client_token)
            .await
            .unwrap()
            .period,
        Some(900)
    );
    let fixed = admin
        .create_token(&TokenCreateRequest {
            renewable: Some(false),
            no_default_policy: Some(true),
            policies: vec!["web".into()],
            num_uses: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!fixed.renewable);
    assert_eq!(fixed.policies, ["web"]);
    assert_eq!(
        api_status(
            &admin
                .renew_token(&fixed.client_token, None)
                .await
                .unwrap_err()
        ),
        400
    );
    let no_parent = admin
        .create_token(&TokenCreateRequest {
            no_parent: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(no_parent.orphan);
    // A non-root token may not create periodic tokens (root/sudo only).
    let err = admin
        .with_auth(&child)
        .create_token(&TokenCreateRequest {
            period: Some(60),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 400);

    // capabilities: self, of a token, of an accessor.
    let caps = admin
        .with_auth(&child)
        .capabilities_self(&["secret/app", "/sys/mounts"])
        .await
        .unwrap();
    assert_eq!(caps["secret/app"], ["list", "read"]);
    assert_eq!(caps["sys/mounts"], ["deny"]);
    let caps = admin
        .capabilities_of_token(&child.client_token, &["secret/x"])
        .await
        .unwrap();
    assert_eq!(caps["secret/x"], ["list", "read"]);
    let caps = admin
        .capabilities_of_accessor(&child.accessor, &["secret/x", "cubbyhole/x"])
        .await
        .unwrap();
    assert_eq!(caps.len(), 2);
    assert_eq!(caps["secret/x"], ["list", "read"]);
    assert_eq!(
        admin.capabilities_self(&["anything"]).await.unwrap()["anything"],
        ["root"]
    );
    assert!(matches!(
        admin.capabilities_self(&[]).await,
        Err(ClientError::InvalidArgument(_))
    ));

    // accessors (sudo).
    let accessors = admin.list_accessors().await.unwrap();
    for a in [&child.accessor, &orphan.accessor, &periodic.accessor] {
        assert!(accessors.contains(a), "{a} in {accessors:?}");
    }

    // revoke-orphan: the parent goes, its child stays as an orphan.
    let parent = admin
        .create_token(&TokenCreateRequest::default())
        .await
        .unwrap();
    let grandchild = admin
        .with_auth(&parent)
        .create_token(&TokenCreateRequest::default())
        .await
        .unwrap();
    assert!(
        !admin
            .lookup_token(&grandchild.client_token)
            .await
            .unwrap()
            .orphan
    );
    admin.revoke_orphan(&parent.client_token).await.unwrap();
    assert_eq!(
        api_status(&admin.lookup_token(&parent.client_token).await.unwrap_err()),
        403
    );
    assert!(
        admin
            .lookup_token(&grandchild.client_token)
            .await
            .unwrap()
            .orphan
    );

    // revoke: by token (with its children), by accessor, self.
    let kid = admin
        .with_auth(&child)
        .create_token(&TokenCreateRequest::default())
        .await
        .unwrap();
    admin.revoke_token(&child.client_token).await.unwrap();
    for gone in [&child.client_token, &kid.client_token] {
        assert_eq!(
            api_status(&admin.lookup_token(gone).await.unwrap_err()),
            403
        );
    }
    admin.revoke_token(&child.client_token).await.unwrap(); // already gone: fine
    admin.revoke_accessor(&orphan.accessor).await.unwrap();
    assert_eq!(
        api_status(&admin.lookup_token(&orphan.client_token).await.unwrap_err()),
        403
    );
    admin
        .revoke_accessor("NoSuchAccessor0000000000")
        .await
        .unwrap();
    let own = admin.with_auth(&periodic);
    own.lookup_self().await.unwrap();
    own.revoke_self().await.unwrap();
    assert_eq!(api_status(&own.lookup_self().await.unwrap_err()), 403);
}

// ---------------------------------------------------------------------------------
// Retries

/// A port nothing listens on (bound, then released).
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn fast(builder: strongroom_client::ClientBuilder, retries: u32) -> Client {
    builder
        .max_retries(retries)
        .retry_backoff(Duration::from_millis(100), Duration::from_millis(400))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_retried_until_the_server_comes_up() {
    // Nothing listens: every attempt fails, and the error says how many there were.
    let closed = format!("http://{}", free_port());
    for retries in [0, 2] {
        let client = fast(Client::builder().address(closed.as_str()), retries);
        let err = client.seal_status().await.unwrap_err();
        match &err {
            ClientError::Transport(t) => {
                assert_eq!(t.attempts(), retries + 1);
                assert!(t.is_connect(), "{err}");
            }
            other => panic!("not a transport error: {other:?}"),
        }
        assert!(err.is_transport());
    }

    // A server that starts on that port while the client is backing off is reached,
    // through a typed call and through raw() (which retries connection errors too).
    for use_raw in [false, true] {
        let addr = free_port();
        let client = Client::builder()
            .address(format!("http://{addr}"))
            .max_retries(8)
            .retry_backoff(Duration::from_millis(200), Duration::from_millis(800))
            .build()
            .unwrap();
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            TestServer::start_with(move |c| c.listener.address = addr).await
        });
        let started = Instant::now();
        if use_raw {
            let raw = client
                .raw(Method::GET, "sys/seal-status", None)
                .await
                .unwrap();
            assert_eq!(raw.status, 200);
            assert_eq!(raw.body["initialized"], false);
        } else {
            let status = client.seal_status().await.unwrap();
            assert!(!status.initialized);
        }
        assert!(
            started.elapsed() >= Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
        let _server = late.await.unwrap();
    }
}

/// One injected answer of the [`FaultProxy`].
#[derive(Debug, Clone)]
struct Fault {
    status: u16,
    retry_after: Option<&'static str>,
    /// Forward the request and keep the server's body, changing only the status
    /// (so status-driven endpoints still get a real body); otherwise answer
    /// `{"errors":["injected"]}` without forwarding.
    forward: bool,
}

impl Fault {
    fn canned(status: u16) -> Fault {
        Fault {
            status,
            retry_after: None,
            forward: false,
        }
    }

    /// A canned 429 with `Retry-After: retry_after`.
    fn too_many(retry_after: &'static str) -> Fault {
        Fault {
            retry_after: Some(retry_after),
            ..Fault::canned(429)
        }
    }
}

/// A small HTTP/1.1 proxy in front of a real server: the n-th request it receives gets
/// `faults[n]` when there is one, otherwise the upstream's answer. Every answer closes
/// the connection. Counts the requests it received.
struct FaultProxy {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    async fn start(upstream: String, faults: Vec<Fault>) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let faults = Arc::new(faults);
        let http = reqwest::Client::new();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (counter, faults, http, upstream) = (
                    counter.clone(),
                    faults.clone(),
                    http.clone(),
                    upstream.clone(),
                );
                tokio::spawn(async move {
                    let _ = serve_one(stream, &counter, &faults, &http, &upstream).await;
                });
            }
        });
        FaultProxy {
            addr,
            requests,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn reset(&self) {
        self.requests.store(0, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_one(
    mut stream: tokio::net::TcpStream,
    counter: &AtomicUsize,
    faults: &[Fault],
    http: &reqwest::Client,
    upstream: &str,
) -> std::io::Result<()> {
    // Read the head, then Content-Length bytes of body.
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split_whitespace();
    let method = request_line.next().unwrap_or("GET").to_string();
    let target = request_line.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    for line in lines.filter(|l| !l.is_empty()) {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let index = counter.fetch_add(1, Ordering::SeqCst);
    let fault = faults.get(index).cloned();

    let (mut status, mut answer) = (502u16, b"{\"errors\":[\"injected\"]}".to_vec());
    if fault.as_ref().is_none_or(|f| f.forward) {
        let mut req = http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{upstream}{target}"),
        );
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("x-vault-token") || k.eq_ignore_ascii_case("content-type") {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let resp = req.body(body).send().await.unwrap();
        status = resp.status().as_u16();
        answer = resp.bytes().await.unwrap().to_vec();
    }
    let mut extra = String::new();
    if let Some(f) = &fault {
        status = f.status;
        if !f.forward {
            answer = b"{\"errors\":[\"injected\"]}".to_vec();
        }
        if let Some(seconds) = f.retry_after {
            extra = format!("Retry-After: {seconds}\r\n");
        }
    }
    let response = format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n{extra}\r\n",
        answer.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.write_all(&answer).await?;
    stream.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_and_failing_answers_are_retried_on_typed_calls_only() {
    let (s, root) = unsealed().await;
    let through = |proxy: &FaultProxy, retries: u32| {
        fast(
            Client::builder().address(proxy.url()).token(root.as_str()),
            retries,
        )
    };

    // 503, 502 then the real answer: a typed call succeeds on its third attempt.
    let proxy = FaultProxy::start(s.url(), vec![Fault::canned(503), Fault::canned(502)]).await;
    let me = through(&proxy, 2).lookup_self().await.unwrap();
    assert_eq!(me.policies, ["root"]);
    assert_eq!(proxy.count(), 3);

    // 500 every time: the retries run out and the last answer is the error, with its
    // status and messages.
    let proxy = FaultProxy::start(s.url(), vec![Fault::canned(500); 10]).await;
    let err = through(&proxy, 2).lookup_self().await.unwrap_err();
    assert_eq!(api_status(&err), 500);
    assert_eq!(api_errors(&err), ["injected"]);
    assert_eq!(proxy.count(), 3);
    proxy.reset();
    let err = through(&proxy, 0).lookup_self().await.unwrap_err();
    assert_eq!(api_status(&err), 500);
    assert_eq!(proxy.count(), 1, "max_retries(0) disables retrying");
    proxy.reset();
    // call_json retries like typed calls.
    let err = through(&proxy, 1)
        .call_json(Method::GET, "auth/token/lookup-self", None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 500);
    assert_eq!(proxy.count(), 2);
    proxy.reset();
    // raw() returns the status on the first answer.
    let raw = through(&proxy, 2)
        .raw(Method::GET, "auth/token/lookup-self", None)
        .await
        .unwrap();
    assert_eq!(raw.status, 500);
    assert_eq!(proxy.count(), 1);

    // 429 with Retry-After: 1 waits that second, then succeeds.
    let proxy = FaultProxy::start(s.url(), vec![Fault::too_many("1")]).await;
    let started = Instant::now();
    through(&proxy, 2).lookup_self().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.count(), 2);

    // A Retry-After beyond the bound is not waited for: the 429 comes back at once.
    let proxy = FaultProxy::start(s.url(), vec![Fault::too_many("3600")]).await;
    let started = Instant::now();
    let err = through(&proxy, 2).lookup_self().await.unwrap_err();
    assert_eq!(api_status(&err), 429);
    assert_eq!(proxy.count(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));

    // 4xx (other than 429) and 501 are answers: never retried.
    for status in [400, 403, 404, 405, 412, 501] {
        let proxy = FaultProxy::start(s.url(), vec![Fault::canned(status); 5]).await;
        let err = through(&proxy, 3).lookup_self().await.unwrap_err();
        assert_eq!(api_status(&err), status);
        assert_eq!(proxy.count(), 1, "{status} was retried");
    }
    // A real 4xx from the server, through the proxy: not retried either.
    let proxy = FaultProxy::start(s.url(), vec![]).await;
    let err = through(&proxy, 3)
        .login_userpass(None, "nobody", "pw")
        .await
        .unwrap_err();
    assert!((400..500).contains(&api_status(&err)), "{err}");
    assert_eq!(proxy.count(), 1);

    // Status-driven endpoints see their status on the first answer: health's 429
    // (standby) and 503 (sealed), seal-status's 503.
    for status in [429, 503, 501] {
        let proxy = FaultProxy::start(
            s.url(),
            vec![
                Fault {
                    status,
                    retry_after: Some("1"),
                    forward: true
                };
                3
            ],
        )
        .await;
        let (code, health) = through(&proxy, 3).health().await.unwrap();
        assert_eq!(code, status);
        assert!(health.initialized);
        assert_eq!(proxy.count(), 1, "health {status} was retried");
    }
    let proxy = FaultProxy::start(s.url(), vec![Fault::canned(503); 3]).await;
    let err = through(&proxy, 3).seal_status().await.unwrap_err();
    assert_eq!(api_status(&err), 503);
    assert_eq!(proxy.count(), 1);
}
