//! Behaviour 8: token headers; root token basics.

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_8_token_headers() {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.as_str();

    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, None)
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(a.errors(), vec!["permission denied"]);
    let a = s
        .call(
            "GET",
            "/v1/auth/token/lookup-self",
            None,
            Some("hvs.AAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(a.errors(), vec!["permission denied"]);
    // Unknown path with a bogus token: 403 before routing.
    let a = s.call("GET", "/v1/nomount/x", None, Some("bogus")).await;
    assert_eq!(a.status, 403);

    // Authorization: Bearer works like X-Vault-Token.
    let a = s
        .send(
            s.http()
                .get(format!("{}/v1/auth/token/lookup-self", s.url()))
                .bearer_auth(root),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["id"], root);

    // Unauthenticated endpoints ignore invalid tokens.
    for p in [
        "/v1/sys/seal-status",
        "/v1/sys/health",
        "/v1/sys/init",
        "/v1/sys/leader",
    ] {
        let a = s.call("GET", p, None, Some("bogus")).await;
        assert_eq!(a.status, 200, "{p}");
    }
    // The error body never echoes the presented token.
    let secretish = "hvs.ThisIsNotARealTokenButLooksLikeOne";
    let a = s.call("GET", "/v1/nomount/x", None, Some(secretish)).await;
    assert!(!String::from_utf8_lossy(&a.raw).contains(secretish));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_token_lookup_self_shape() {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let a = s
        .call(
            "GET",
            "/v1/auth/token/lookup-self",
            None,
            Some(&init.root_token),
        )
        .await;
    assert_eq!(a.status, 200);
    let d = &a.body["data"];
    assert_eq!(d["policies"], serde_json::json!(["root"]));
    assert_eq!(d["expire_time"], serde_json::Value::Null);
    assert_eq!(d["ttl"], 0);
    assert_eq!(d["creation_ttl"], 0);
    assert_eq!(d["orphan"], true);
    assert_eq!(d["meta"], serde_json::Value::Null);
    assert_eq!(d["path"], "auth/token/root");
    assert_eq!(d["type"], "service");
    assert_eq!(d["accessor"].as_str().unwrap().len(), 24);
    insta::assert_json_snapshot!("lookup_self_root", a.body, {
        ".request_id" => "[uuid]",
        ".data.id" => "[token]",
        ".data.accessor" => "[accessor]",
        ".data.creation_time" => "[time]",
        ".data.issue_time" => "[time]",
    });
    // The typed client agrees.
    let me = s.client_with(&init.root_token).lookup_self().await.unwrap();
    assert_eq!(me.display_name, "root");
}
