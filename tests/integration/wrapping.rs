//! Behaviour 39: response wrapping (`X-Vault-Wrap-TTL`, `sys/wrapping/*`) and the
//! privacy of cubbyholes.

use serde_json::{json, Value};

use crate::harness::{client_token, Answer, TestServer};

/// A request with `X-Vault-Wrap-TTL`.
async fn wrapped(
    s: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
    ttl: &str,
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s
        .http()
        .request(method, format!("{}{}", s.url(), path))
        .header("X-Vault-Wrap-TTL", ttl);
    if let Some(t) = token {
        req = req.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    s.send(req).await
}

/// A server with a kv v2 mount at `secret/` holding `secret/app`.
async fn server_with_secret() -> (TestServer, String) {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.mount_kv_v2(&root, "secret").await;
    let a = s
        .call(
            "POST",
            "/v1/secret/data/app",
            Some(json!({"data": {"api_key": "wrapped-value-123", "n": 7}})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    (s, root)
}

fn wrap_token(a: &Answer) -> String {
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body["wrap_info"]["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_39_a_wrapped_read_shows_only_wrap_info_and_unwraps_once() {
    let (s, root) = server_with_secret().await;
    let a = wrapped(&s, "GET", "/v1/secret/data/app", None, Some(&root), "60s").await;
    let token = wrap_token(&a);
    let b = &a.body;
    assert_eq!(b["request_id"], "");
    assert_eq!(b["lease_id"], "");
    assert_eq!(b["lease_duration"], 0);
    assert_eq!(b["data"], Value::Null);
    assert_eq!(b["auth"], Value::Null);
    let info = &b["wrap_info"];
    assert_eq!(info["ttl"], 60);
    assert_eq!(info["creation_path"], "secret/data/app");
    assert_eq!(info["accessor"].as_str().unwrap().len(), 24);
    assert!(info["creation_time"].as_str().unwrap().ends_with('Z'));
    assert!(info.get("wrapped_accessor").is_none(), "{info}");
    assert!(!String::from_utf8_lossy(&a.raw).contains("wrapped-value-123"));

    // Lookup needs no token and does not spend the wrapping token.
    let l = s
        .call(
            "POST",
            "/v1/sys/wrapping/lookup",
            Some(json!({ "token": token })),
            None,
        )
        .await;
    assert_eq!(l.status, 200, "{:?}", l.body);
    assert_eq!(l.body["data"]["creation_path"], "secret/data/app");
    assert_eq!(l.body["data"]["creation_ttl"], 60);
    assert_eq!(
        l.body["data"]["creation_time"], info["creation_time"],
        "{:?}",
        l.body
    );

    // The wrapping token opens nothing else (and that refusal does not spend it).
    let other = s
        .call("GET", "/v1/secret/data/app", None, Some(&token))
        .await;
    assert_eq!(other.status, 403);
    let other = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(other.status, 403);

    // Unwrap with the wrapping token as the presented token and an empty body.
    let u = s
        .call("POST", "/v1/sys/wrapping/unwrap", None, Some(&token))
        .await;
    assert_eq!(u.status, 200, "{:?}", u.body);
    assert_eq!(u.body["data"]["data"]["api_key"], "wrapped-value-123");
    assert_eq!(u.body["data"]["data"]["n"], 7);
    assert_eq!(u.body["data"]["metadata"]["version"], 1);
    assert_eq!(u.body["request_id"].as_str().unwrap().len(), 36);
    assert_eq!(u.body["wrap_info"], Value::Null);

    // Single use: a second unwrap, either way, is refused.
    let again = s
        .call("POST", "/v1/sys/wrapping/unwrap", None, Some(&token))
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.errors(),
        vec!["wrapping token is not valid or does not exist"]
    );
    let again = s
        .call(
            "POST",
            "/v1/sys/wrapping/unwrap",
            Some(json!({ "token": token })),
            Some(&root),
        )
        .await;
    assert_eq!(again.status, 400);
    let gone = s
        .call(
            "POST",
            "/v1/sys/wrapping/lookup",
            Some(json!({ "token": token })),
            None,
        )
        .await;
    assert_eq!(gone.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_39_unwrap_with_body_token_rewrap_and_wrap_endpoint() {
    let (s, root) = server_with_secret().await;
    let a = wrapped(&s, "GET", "/v1/secret/data/app", None, Some(&root), "300").await;
    let first = wrap_token(&a);

    // Rewrap: a new token, same creation path and TTL; the old one is spent.
    let r = s
        .call(
            "POST",
            "/v1/sys/wrapping/rewrap",
            Some(json!({ "token": first })),
            Some(&root),
        )
        .await;
    let second = wrap_token(&r);
    assert_ne!(first, second);
    assert_eq!(r.body["wrap_info"]["creation_path"], "secret/data/app");
    assert_eq!(r.body["wrap_info"]["ttl"], 300);
    let old = s
        .call(
            "POST",
            "/v1/sys/wrapping/unwrap",
            Some(json!({ "token": first })),
            Some(&root),
        )
        .await;
    assert_eq!(old.status, 400);

    // Unwrap with the wrapping token in the body, as any token holder with access.
    let app = s
        .create_token(&root, json!({"policies": ["default"]}))
        .await;
    let app = client_token(&app);
    let u = s
        .call(
            "POST",
            "/v1/sys/wrapping/unwrap",
            Some(json!({ "token": second })),
            Some(&app),
        )
        .await;
    assert_eq!(u.status, 200, "{:?}", u.body);
    assert_eq!(u.body["data"]["data"]["api_key"], "wrapped-value-123");

    // sys/wrapping/wrap needs the header, and wraps the body.
    let no_header = s
        .call(
            "POST",
            "/v1/sys/wrapping/wrap",
            Some(json!({"a": "b"})),
            Some(&app),
        )
        .await;
    assert_eq!(no_header.status, 400);
    assert_eq!(
        no_header.errors(),
        vec!["endpoint requires response wrapping to be used"]
    );
    let w = wrapped(
        &s,
        "POST",
        "/v1/sys/wrapping/wrap",
        Some(json!({"handoff": "s3cr3t-handoff", "nested": {"k": [1, "two"]}})),
        Some(&app),
        "1m",
    )
    .await;
    let t = wrap_token(&w);
    assert_eq!(w.body["wrap_info"]["creation_path"], "sys/wrapping/wrap");
    assert_eq!(w.body["wrap_info"]["ttl"], 60);
    let u = s
        .call("POST", "/v1/sys/wrapping/unwrap", None, Some(&t))
        .await;
    assert_eq!(u.status, 200, "{:?}", u.body);
    assert_eq!(
        u.body["data"],
        json!({"handoff": "s3cr3t-handoff", "nested": {"k": [1, "two"]}})
    );

    // No token anywhere: 403 with Vault's message.
    let none = s.call("POST", "/v1/sys/wrapping/unwrap", None, None).await;
    assert_eq!(none.status, 403);
    assert_eq!(
        none.errors(),
        vec!["error validating wrapping token: empty token in request body"]
    );
    // A regular token is not a wrapping token.
    let plain = s
        .call("POST", "/v1/sys/wrapping/unwrap", None, Some(&app))
        .await;
    assert_eq!(plain.status, 400);
    // A TTL of 0 means no wrapping; a bad TTL is refused.
    let zero = wrapped(&s, "GET", "/v1/secret/data/app", None, Some(&root), "0").await;
    assert_eq!(zero.status, 200);
    assert_eq!(zero.body["wrap_info"], Value::Null);
    assert_eq!(zero.body["data"]["data"]["api_key"], "wrapped-value-123");
    let bad = wrapped(&s, "GET", "/v1/secret/data/app", None, Some(&root), "soon").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_39_wrapped_login_carries_the_token_accessor() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.enable_auth(&root, "userpass", "userpass").await;
    let a = s
        .call(
            "POST",
            "/v1/auth/userpass/users/alice",
            Some(json!({"password": "correct horse", "token_ttl": "1h"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let w = wrapped(
        &s,
        "POST",
        "/v1/auth/userpass/login/alice",
        Some(json!({"password": "correct horse"})),
        None,
        "2m",
    )
    .await;
    let t = wrap_token(&w);
    assert_eq!(w.body["auth"], Value::Null);
    let wrapped_accessor = w.body["wrap_info"]["wrapped_accessor"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        w.body["wrap_info"]["creation_path"],
        "auth/userpass/login/alice"
    );
    let u = s
        .call("POST", "/v1/sys/wrapping/unwrap", None, Some(&t))
        .await;
    assert_eq!(u.status, 200, "{:?}", u.body);
    assert_eq!(u.body["auth"]["accessor"], wrapped_accessor.as_str());
    assert_eq!(u.body["auth"]["lease_duration"], 3600);
    let user_token = client_token(&u.body);
    let me = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&user_token))
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["data"]["meta"]["username"], "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_39_concurrent_unwraps_hand_out_the_response_once() {
    let (s, root) = server_with_secret().await;
    let a = wrapped(&s, "GET", "/v1/secret/data/app", None, Some(&root), "60").await;
    let token = wrap_token(&a);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let http = s.http().clone();
        let url = format!("{}/v1/sys/wrapping/unwrap", s.url());
        let token = token.clone();
        let root = root.clone();
        tasks.push(tokio::spawn(async move {
            let req = if i % 2 == 0 {
                http.post(url).header("X-Vault-Token", token)
            } else {
                http.post(url)
                    .header("X-Vault-Token", root)
                    .json(&json!({ "token": token }))
            };
            req.send().await.unwrap().status().as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            400 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 1, "exactly one unwrap succeeds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_39_wrapping_tokens_expire_and_policies_bound_the_ttl() {
    let (s, root) = server_with_secret().await;
    let a = wrapped(&s, "GET", "/v1/secret/data/app", None, Some(&root), "1s").await;
    let token = wrap_token(&a);
    assert_eq!(a.body["wrap_info"]["ttl"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let u = s
        .call("POST", "/v1/sys/wrapping/unwrap", None, Some(&token))
        .await;
    assert_eq!(u.status, 400, "{:?}", u.body);

    // A policy that demands wrapping between 1m and 10m.
    let p = s
        .call(
            "POST",
            "/v1/sys/policies/acl/wrapped-only",
            Some(json!({"policy": "path \"secret/data/app\" {\n  capabilities = [\"read\"]\n  min_wrapping_ttl = \"1m\"\n  max_wrapping_ttl = \"10m\"\n}\n"})),
            Some(&root),
        )
        .await;
    assert_eq!(p.status, 204, "{:?}", p.body);
    let t = s
        .create_token(&root, json!({"policies": ["wrapped-only"]}))
        .await;
    let t = client_token(&t);
    let plain = s.call("GET", "/v1/secret/data/app", None, Some(&t)).await;
    assert_eq!(plain.status, 403);
    let too_long = wrapped(&s, "GET", "/v1/secret/data/app", None, Some(&t), "1h").await;
    assert_eq!(too_long.status, 403);
    let ok = wrapped(&s, "GET", "/v1/secret/data/app", None, Some(&t), "5m").await;
    let w = wrap_token(&ok);
    let u = s
        .call("POST", "/v1/sys/wrapping/unwrap", None, Some(&w))
        .await;
    assert_eq!(u.status, 200);
    assert_eq!(u.body["data"]["data"]["api_key"], "wrapped-value-123");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_39_cubbyholes_are_private() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let a = client_token(
        &s.create_token(&root, json!({"policies": ["default"]}))
            .await,
    );
    let b = client_token(
        &s.create_token(&root, json!({"policies": ["default"]}))
            .await,
    );
    let w = s
        .call(
            "POST",
            "/v1/cubbyhole/note",
            Some(json!({"v": "only-a"})),
            Some(&a),
        )
        .await;
    assert_eq!(w.status, 204);
    let r = s.call("GET", "/v1/cubbyhole/note", None, Some(&a)).await;
    assert_eq!(r.body["data"]["v"], "only-a");
    let r = s.call("GET", "/v1/cubbyhole/note", None, Some(&b)).await;
    assert_eq!(r.status, 404);
}
