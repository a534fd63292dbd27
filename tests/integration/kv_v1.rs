//! Behaviour 28 (kv v1) and cubbyhole.

use serde_json::json;

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_28_kv_v1() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let t = Some(root.as_str());
    s.call("POST", "/v1/sys/mounts/kv", Some(json!({"type": "kv"})), t)
        .await;

    let secret = json!({"n": 5, "f": 2.5, "nested": {"list": [1, "two", null]}, "s": "v"});
    let a = s
        .call("PUT", "/v1/kv/app/db", Some(secret.clone()), t)
        .await;
    assert_eq!(a.status, 204);
    let a = s.call("GET", "/v1/kv/app/db", None, t).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"], secret, "stored as-is");
    assert_eq!(a.body["lease_id"], "");
    assert_eq!(a.body["renewable"], false);
    assert_eq!(a.body["lease_duration"], 2_764_800);
    insta::assert_json_snapshot!("kv_v1_read", a.body, { ".request_id" => "[uuid]" });

    s.call(
        "POST",
        "/v1/kv/app/ttl",
        Some(json!({"ttl": "30m", "v": 1})),
        t,
    )
    .await;
    let a = s.call("GET", "/v1/kv/app/ttl", None, t).await;
    assert_eq!(a.body["lease_duration"], 1800);
    assert_eq!(a.body["data"]["ttl"], "30m");

    s.call("PUT", "/v1/kv/top", Some(json!({"v": 1})), t).await;
    let a = s.call("LIST", "/v1/kv/", None, t).await;
    assert_eq!(a.body["data"]["keys"], json!(["app/", "top"]));
    let b = s.call("GET", "/v1/kv?list=true", None, t).await;
    assert_eq!(a.body["data"], b.body["data"]);
    let a = s.call("LIST", "/v1/kv/empty/", None, t).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"errors": []}));

    let a = s.call("PUT", "/v1/kv/app/db", Some(json!({})), t).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["missing data fields"]);
    assert_eq!(s.call("DELETE", "/v1/kv/app/db", None, t).await.status, 204);
    assert_eq!(s.call("DELETE", "/v1/kv/app/db", None, t).await.status, 204);
    let a = s.call("GET", "/v1/kv/app/db", None, t).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"errors": []}));

    // Key names: UTF-8 fine; empty and dot-dot segments refused.
    assert_eq!(
        s.call("PUT", "/v1/kv/ünï%20cöde", Some(json!({"a": 1})), t)
            .await
            .status,
        204
    );
    let (status, _) = crate::harness::raw_get(s.running().local_addr(), "/v1/kv/a//b").await;
    assert_eq!(status, 307);

    // A 1 MiB secret round-trips.
    let big = "x".repeat(1024 * 1024);
    assert_eq!(
        s.call("PUT", "/v1/kv/big", Some(json!({"blob": big})), t)
            .await
            .status,
        204
    );
    let a = s.call("GET", "/v1/kv/big", None, t).await;
    assert_eq!(
        a.body["data"]["blob"].as_str().map(str::len),
        Some(1024 * 1024)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cubbyhole_is_private_to_the_token() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let t = Some(root.as_str());
    assert_eq!(
        s.call("PUT", "/v1/cubbyhole/mine", Some(json!({"pin": "1234"})), t)
            .await
            .status,
        204
    );
    let a = s.call("GET", "/v1/cubbyhole/mine", None, t).await;
    assert_eq!(a.body["data"]["pin"], "1234");
    assert_eq!(a.body["lease_duration"], 0);
    assert_eq!(
        s.call("LIST", "/v1/cubbyhole/", None, t).await.body["data"]["keys"],
        json!(["mine"])
    );
    // Only the root token exists until token creation lands; a token that does not
    // resolve is refused before it can name any cubbyhole.
    assert_eq!(
        s.call("GET", "/v1/cubbyhole/mine", None, Some("hvs.other"))
            .await
            .status,
        403
    );
}
