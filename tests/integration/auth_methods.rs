//! Behaviours 13 and 25–27: auth method mounts, userpass, lockout, AppRole.

use serde_json::{json, Value};

use crate::harness::{client_token, TestServer};

async fn login_userpass(
    s: &TestServer,
    mount: &str,
    user: &str,
    password: &str,
) -> crate::harness::Answer {
    s.call(
        "POST",
        &format!("/v1/auth/{mount}/login/{user}"),
        Some(json!({ "password": password })),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_13_auth_mounts() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.enable_auth(&root, "userpass", "userpass").await;

    let a = s.call("GET", "/v1/sys/auth", None, Some(&root)).await;
    assert_eq!(a.status, 200);
    let up = &a.body["data"]["userpass/"];
    assert_eq!(up["type"], "userpass");
    assert_eq!(up["config"]["token_type"], "default-service");
    assert_eq!(up["options"], json!({}));
    assert!(up["accessor"]
        .as_str()
        .unwrap()
        .starts_with("auth_userpass_"));
    assert_eq!(a.body["data"]["token/"]["type"], "token");
    assert_eq!(a.body["data"]["token/"]["options"], Value::Null);
    assert_eq!(a.body["userpass/"], *up, "duplicated at the top level");
    // Auth methods are not secrets engines.
    let a = s.call("GET", "/v1/sys/mounts", None, Some(&root)).await;
    assert!(a.body["data"].get("auth/userpass/").is_none());
    assert!(a.body["data"].get("auth/token/").is_none());

    // Errors.
    for (body, status, msg) in [
        (
            json!({"type": "nosuch"}),
            400,
            "plugin not found in the catalog: nosuch",
        ),
        (
            json!({"type": "userpass"}),
            400,
            "path is already in use at auth/userpass/",
        ),
    ] {
        let a = s
            .call("POST", "/v1/sys/auth/userpass", Some(body), Some(&root))
            .await;
        assert_eq!(a.status, status);
        assert_eq!(a.errors(), vec![msg]);
    }
    let a = s
        .call("DELETE", "/v1/sys/auth/token", None, Some(&root))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["token credential backend cannot be disabled"]
    );

    // Tune.
    let a = s
        .call(
            "POST",
            "/v1/sys/auth/userpass/tune",
            Some(json!({"default_lease_ttl": "30m", "max_lease_ttl": 7200})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call("GET", "/v1/sys/auth/userpass/tune", None, Some(&root))
        .await;
    assert_eq!(a.body["data"]["default_lease_ttl"], 1800);
    assert_eq!(a.body["data"]["max_lease_ttl"], 7200);
    assert_eq!(a.body["data"]["token_type"], "default-service");

    // A token from the method stops working when the method is disabled.
    let a = s
        .call(
            "POST",
            "/v1/auth/userpass/users/alice",
            Some(json!({"password": "pw1"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let login = login_userpass(&s, "userpass", "alice", "pw1").await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    let token = login.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        login.body["auth"]["lease_duration"], 1800,
        "the mount's tuned default"
    );
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(a.status, 200);
    let a = s
        .call("DELETE", "/v1/sys/auth/userpass", None, Some(&root))
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(a.status, 403);
    let a = s.call("GET", "/v1/sys/auth", None, Some(&root)).await;
    assert!(a.body["data"].get("userpass/").is_none());

    // sys/auth/* needs sudo.
    let plain = client_token(
        &s.create_token(&root, json!({"policies": ["default"]}))
            .await,
    );
    let a = s
        .call(
            "POST",
            "/v1/sys/auth/x",
            Some(json!({"type": "userpass"})),
            Some(&plain),
        )
        .await;
    assert_eq!(a.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_25_userpass() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.enable_auth(&root, "userpass", "userpass").await;
    let a = s
        .call(
            "POST",
            "/v1/auth/userpass/users/Alice",
            Some(json!({"password": "correct horse", "token_policies": "app,ops", "token_ttl": "1h", "token_max_ttl": "2h"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let a = s
        .call("GET", "/v1/auth/userpass/users/alice", None, Some(&root))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body["data"],
        json!({"token_bound_cidrs":[],"token_explicit_max_ttl":0,"token_max_ttl":7200,
               "token_no_default_policy":false,"token_num_uses":0,"token_period":0,
               "token_policies":["app","ops"],"token_strictly_bind_ip":false,"token_ttl":3600,
               "token_type":"default"})
    );
    assert!(!String::from_utf8_lossy(&a.raw).contains("correct horse"));
    let a = s
        .call("LIST", "/v1/auth/userpass/users", None, Some(&root))
        .await;
    assert_eq!(a.body["data"]["keys"], json!(["alice"]));

    // Login (case-insensitive name) → an orphan service token.
    let login = login_userpass(&s, "userpass", "ALICE", "correct horse").await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    let auth = &login.body["auth"];
    assert_eq!(auth["policies"], json!(["app", "default", "ops"]));
    assert_eq!(auth["metadata"], json!({"username": "alice"}));
    assert_eq!(auth["lease_duration"], 3600);
    assert_eq!(auth["orphan"], true);
    assert_eq!(auth["renewable"], true);
    assert_eq!(login.body["mount_type"], "userpass");
    let token = auth["client_token"].as_str().unwrap();
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(token))
        .await;
    assert_eq!(a.body["data"]["display_name"], "userpass-alice");
    assert_eq!(a.body["data"]["path"], "auth/userpass/login/alice");
    // Renewal stops at the user's max TTL.
    let a = s
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(json!({"increment": "10h"})),
            Some(token),
        )
        .await;
    let ttl = a.body["auth"]["lease_duration"].as_u64().unwrap();
    assert!((7190..=7200).contains(&ttl), "{ttl}");

    // Wrong password and unknown user: one answer.
    for (user, pw) in [("alice", "wrong"), ("nobody", "whatever")] {
        let a = login_userpass(&s, "userpass", user, pw).await;
        assert_eq!(a.status, 400);
        assert_eq!(a.errors(), vec!["invalid username or password"]);
    }
    // A login ignores any token it is sent with.
    let a = s
        .call(
            "POST",
            "/v1/auth/userpass/login/alice",
            Some(json!({"password": "correct horse"})),
            Some("hvs.bogusbogusbogusbogus123"),
        )
        .await;
    assert_eq!(a.status, 200);

    // Password change; old password stops working.
    let a = s
        .call(
            "POST",
            "/v1/auth/userpass/users/alice/password",
            Some(json!({"password": "battery staple"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(
        login_userpass(&s, "userpass", "alice", "correct horse")
            .await
            .status,
        400
    );
    assert_eq!(
        login_userpass(&s, "userpass", "alice", "battery staple")
            .await
            .status,
        200
    );

    // Management needs the ACL; login does not.
    let a = s
        .call("GET", "/v1/auth/userpass/users/alice", None, Some(token))
        .await;
    assert_eq!(a.status, 403);
    let a = s
        .call("DELETE", "/v1/auth/userpass/users/alice", None, Some(&root))
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(
        login_userpass(&s, "userpass", "alice", "battery staple")
            .await
            .status,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_26_lockout() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.enable_auth(&root, "userpass", "userpass").await;
    let a = s
        .call(
            "POST",
            "/v1/auth/userpass/users/bob",
            Some(json!({"password": "right"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    // Case and whitespace variants share one counter.
    for user in ["bob", "BOB", "Bob", "bOb", "bob"] {
        let a = login_userpass(&s, "userpass", user, "wrong").await;
        assert_eq!(a.status, 400, "{user}");
        assert_eq!(a.errors(), vec!["invalid username or password"]);
    }
    let a = login_userpass(&s, "userpass", "bob", "right").await;
    assert_eq!(a.status, 403, "locked, even with the right password");
    assert_eq!(a.errors(), vec!["permission denied"]);

    let a = s
        .call("GET", "/v1/sys/locked-users", None, Some(&root))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["total"], 1);
    let entry = &a.body["data"]["by_namespace"][0]["mount_accessors"][0];
    assert_eq!(entry["alias_identifiers"], json!(["bob"]));
    let accessor = entry["mount_accessor"].as_str().unwrap().to_string();

    let a = s
        .call(
            "POST",
            &format!("/v1/sys/locked-users/{accessor}/unlock/bob"),
            None,
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(
        login_userpass(&s, "userpass", "bob", "right").await.status,
        200
    );
    let a = s
        .call("GET", "/v1/sys/locked-users", None, Some(&root))
        .await;
    assert_eq!(a.body["data"]["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_27_approle() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.enable_auth(&root, "approle", "approle").await;
    let a = s
        .call(
            "POST",
            "/v1/auth/approle/role/web",
            Some(
                json!({"token_policies": ["app"], "token_ttl": "20m", "token_max_ttl": "1h",
                        "secret_id_num_uses": 2, "secret_id_ttl": "10m"}),
            ),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let a = s
        .call(
            "GET",
            "/v1/auth/approle/role/web/role-id",
            None,
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200);
    let role_id = a.body["data"]["role_id"].as_str().unwrap().to_string();
    assert_eq!(role_id.len(), 36);
    let a = s
        .call(
            "POST",
            "/v1/auth/approle/role/web/secret-id",
            Some(json!({"metadata": "{\"env\":\"prod\"}"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let secret_id = a.body["data"]["secret_id"].as_str().unwrap().to_string();
    assert_eq!(a.body["data"]["secret_id_num_uses"], 2);
    assert_eq!(a.body["data"]["secret_id_ttl"], 600);
    let secret_accessor = a.body["data"]["secret_id_accessor"]
        .as_str()
        .unwrap()
        .to_string();

    let login = |sid: String| {
        let role_id = role_id.clone();
        let s = &s;
        async move {
            s.call(
                "POST",
                "/v1/auth/approle/login",
                Some(json!({"role_id": role_id, "secret_id": sid})),
                None,
            )
            .await
        }
    };
    let a = login(secret_id.clone()).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        a.body["auth"]["metadata"],
        json!({"role_name": "web", "env": "prod"})
    );
    assert_eq!(a.body["auth"]["policies"], json!(["app", "default"]));
    assert_eq!(a.body["auth"]["lease_duration"], 1200);
    let a = s
        .call(
            "LIST",
            "/v1/auth/approle/role/web/secret-id",
            None,
            Some(&root),
        )
        .await;
    assert_eq!(a.body["data"]["keys"], json!([secret_accessor]));
    let a = s
        .call(
            "POST",
            "/v1/auth/approle/role/web/secret-id/lookup",
            Some(json!({"secret_id": secret_id})),
            Some(&root),
        )
        .await;
    assert_eq!(a.body["data"]["secret_id_num_uses"], 1);
    assert_eq!(login(secret_id.clone()).await.status, 200);
    let a = login(secret_id.clone()).await;
    assert_eq!(a.status, 400, "used up");
    assert_eq!(a.errors(), vec!["invalid role or secret ID"]);
    let a = login("00000000-0000-4000-8000-000000000000".to_string()).await;
    assert_eq!(a.errors(), vec!["invalid role or secret ID"]);
    let a = s
        .call(
            "POST",
            "/v1/auth/approle/login",
            Some(json!({"role_id": role_id})),
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["missing secret_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_rate_limit_per_client() {
    let s = TestServer::start_with(|c| {
        c.limits.login = Some(strongroom_server::limits::RateLimit {
            per_second: 0.01,
            burst: 3,
        });
    })
    .await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.enable_auth(&root, "userpass", "userpass").await;
    for _ in 0..3 {
        let a = login_userpass(&s, "userpass", "carol", "x").await;
        assert_eq!(a.status, 400);
    }
    let a = login_userpass(&s, "userpass", "carol", "x").await;
    assert_eq!(a.status, 429);
    assert_eq!(a.errors(), vec!["rate limit quota exceeded"]);
    let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    // Only logins are limited.
    let a = s.call("GET", "/v1/sys/auth", None, Some(&root)).await;
    assert_eq!(a.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_request_quota() {
    let s = TestServer::start_with(|c| {
        c.limits.global = Some(strongroom_server::limits::RateLimit {
            per_second: 0.01,
            burst: 40,
        });
    })
    .await;
    let mut limited = None;
    for _ in 0..60 {
        let a = s.call("GET", "/v1/sys/health", None, None).await;
        if a.status == 429 {
            limited = Some(a);
            break;
        }
    }
    let a = limited.expect("the quota ran out");
    assert_eq!(a.errors(), vec!["rate limit quota exceeded"]);
    assert!(a.header("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_methods_cannot_create_root_tokens() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.enable_auth(&root, "userpass", "userpass").await;
    let a = s
        .call(
            "POST",
            "/v1/auth/userpass/users/mallory",
            Some(json!({"password": "pw", "token_policies": ["root"]})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    let a = login_userpass(&s, "userpass", "mallory", "pw").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["auth methods cannot create root tokens"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxies_name_the_client() {
    let s = TestServer::start_with(|c| {
        c.limits.login = Some(strongroom_server::limits::RateLimit {
            per_second: 0.01,
            burst: 2,
        });
        c.listener.forwarded_for_trusted =
            vec![strongroom_server::credential::token_fields::Cidr::parse("127.0.0.1/32").unwrap()];
    })
    .await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.enable_auth(&root, "userpass", "userpass").await;
    let login_from = |client: &'static str| {
        let s = &s;
        async move {
            s.send(
                s.http()
                    .post(format!("{}/v1/auth/userpass/login/dave", s.url()))
                    .header("X-Forwarded-For", client)
                    .json(&json!({"password": "x"})),
            )
            .await
        }
    };
    // Each forwarded client has its own bucket; the last entry is the one that counts.
    assert_eq!(login_from("10.0.0.1").await.status, 400);
    assert_eq!(login_from("192.0.2.7, 10.0.0.1").await.status, 400);
    assert_eq!(login_from("10.0.0.1").await.status, 429);
    assert_eq!(login_from("10.0.0.2").await.status, 400);
    let a = login_from("not-an-address").await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["invalid X-Forwarded-For header: the last entry is not an IP address"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let s = TestServer::start_with(|c| {
        c.limits.login = Some(strongroom_server::limits::RateLimit {
            per_second: 0.01,
            burst: 2,
        });
    })
    .await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.enable_auth(&root, "userpass", "userpass").await;
    let mut statuses = Vec::new();
    for client in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        let a = s
            .send(
                s.http()
                    .post(format!("{}/v1/auth/userpass/login/erin", s.url()))
                    .header("X-Forwarded-For", client)
                    .json(&json!({"password": "x"})),
            )
            .await;
        statuses.push(a.status);
    }
    assert_eq!(statuses, vec![400, 400, 429], "one bucket: the TCP peer's");
}
