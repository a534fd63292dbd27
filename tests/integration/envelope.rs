//! Behaviours 6–7 and the HTTP edge: envelope, headers, errors, limits, paths, verbs.

use serde_json::json;

use crate::harness::TestServer;

async fn unsealed() -> (TestServer, String) {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    (s, init.root_token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_6_envelope_and_headers() {
    let (s, root) = unsealed().await;
    let a = s.call("GET", "/v1/sys/key-status", None, Some(&root)).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert!(a.header("x-request-id").is_some());
    let obj = a.body.as_object().unwrap();
    for k in [
        "request_id",
        "lease_id",
        "renewable",
        "lease_duration",
        "data",
        "wrap_info",
        "warnings",
        "auth",
    ] {
        assert!(obj.contains_key(k), "missing {k}");
    }
    assert_eq!(a.body["lease_id"], "");
    assert_eq!(a.body["renewable"], false);
    assert_eq!(a.body["lease_duration"], 0);
    assert!(
        a.body["wrap_info"].is_null() && a.body["warnings"].is_null() && a.body["auth"].is_null()
    );
    assert_eq!(a.body["request_id"], a.header("x-request-id").unwrap());
    // Legacy duplication on sys/key-status.
    assert_eq!(a.body["term"], 1);
    assert_eq!(a.body["data"]["term"], 1);
    insta::assert_json_snapshot!("key_status", a.body, {
        ".request_id" => "[uuid]",
        ".install_time" => "[time]",
        ".data.install_time" => "[time]",
    });

    // Bodyless success → 204, still JSON-labelled.
    let a = s.call("PUT", "/v1/sys/rotate", None, Some(&root)).await;
    assert_eq!(a.status, 204);
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    // Unknown fields → warning (and so 200 instead of 204).
    let a = s
        .call(
            "PUT",
            "/v1/sys/rotate",
            Some(json!({"bogus": 1})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body["warnings"],
        json!(["Endpoint ignored these unrecognized parameters: [bogus]"])
    );
    // Errors carry the headers too.
    let a = s.call("GET", "/v1/nomount/x", None, Some(&root)).await;
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_7_error_format() {
    let (s, root) = unsealed().await;
    let a = s.call("GET", "/v1/nomount/foo", None, Some(&root)).await;
    assert_eq!(a.status, 404);
    assert_eq!(
        a.errors(),
        vec!["no handler for route \"nomount/foo\". route entry not found."]
    );
    let a = s
        .call("GET", "/v1/sys/no-such-endpoint", None, Some(&root))
        .await;
    assert_eq!(a.status, 404);
    let a = s
        .call("DELETE", "/v1/sys/key-status", None, Some(&root))
        .await;
    assert_eq!(a.status, 405);
    assert_eq!(a.body, json!({"errors": []}));

    let a = s
        .send(
            s.http()
                .put(format!("{}/v1/sys/rotate", s.url()))
                .header("X-Vault-Token", &root)
                .body("{not json"),
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(
        a.errors()[0].starts_with("failed to decode JSON input: "),
        "{:?}",
        a.errors()
    );
    let a = s
        .send(
            s.http()
                .put(format!("{}/v1/sys/rotate", s.url()))
                .header("X-Vault-Token", &root)
                .body("[1,2]"),
        )
        .await;
    assert_eq!(a.status, 400);
    insta::assert_json_snapshot!(
        "error_no_handler",
        s.call("GET", "/v1/nomount/foo", None, Some(&root))
            .await
            .body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_size_and_depth() {
    let s = TestServer::start_with(|c| c.listener.max_request_size = 64 * 1024).await;
    let init = s.init_and_unseal(1, 1).await;
    let big = json!({"pad": "x".repeat(100 * 1024)});
    let a = s
        .call("PUT", "/v1/sys/rotate", Some(big), Some(&init.root_token))
        .await;
    assert_eq!(a.status, 413);
    assert_eq!(a.errors(), vec!["http: request body too large"]);

    let deep = format!("{{\"a\":{}{}}}", "[".repeat(500), "]".repeat(500));
    let a = s
        .send(
            s.http()
                .put(format!("{}/v1/sys/rotate", s.url()))
                .header("X-Vault-Token", &init.root_token)
                .body(deep),
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.errors()[0].contains("nesting"), "{:?}", a.errors());
    // Still alive and unchanged.
    assert!(!s.client().seal_status().await.unwrap().sealed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_verbs_and_namespaces() {
    let (s, root) = unsealed().await;
    // Non-clean paths redirect to the cleaned path.
    let a = s.call("GET", "/v1//sys/health", None, None).await;
    assert_eq!(a.status, 307);
    assert_eq!(a.header("location"), Some("/v1/sys/health"));
    // Sent raw: HTTP client libraries normalise dot segments themselves.
    let addr = s.running().local_addr();
    let (status, head) = crate::harness::raw_get(addr, "/v1/secret/%2e%2e/sys/seal-status").await;
    assert_eq!(status, 307);
    assert!(
        head.to_ascii_lowercase()
            .contains("location: /v1/sys/seal-status\r\n"),
        "{head}"
    );
    let (status, _) = crate::harness::raw_get(addr, "/v1/secret/../../etc/passwd").await;
    assert_eq!(status, 307);
    let a = s.call("GET", "/v1/secret/a%00b", None, Some(&root)).await;
    assert_eq!(a.status, 400);
    let a = s.call("GET", "/v2/sys/health", None, None).await;
    assert_eq!(a.status, 404);

    // LIST ≡ GET ?list=true; PUT ≡ POST.
    let a = s.call("LIST", "/v1/nomount/", None, Some(&root)).await;
    assert_eq!(a.status, 404);
    let b = s
        .call("GET", "/v1/nomount?list=true", None, Some(&root))
        .await;
    assert_eq!(b.status, 404);
    assert_eq!(a.errors(), b.errors());
    assert_eq!(
        s.call("POST", "/v1/sys/rotate", None, Some(&root))
            .await
            .status,
        204
    );
    assert_eq!(
        s.call("TRACE", "/v1/sys/health", None, None).await.status,
        405
    );

    // PATCH needs merge-patch.
    let a = s
        .send(
            s.http()
                .patch(format!("{}/v1/sys/rotate", s.url()))
                .header("X-Vault-Token", &root)
                .json(&json!({})),
        )
        .await;
    assert_eq!(a.status, 415);
    assert_eq!(
        a.errors(),
        vec!["PATCH requires Content-Type of application/merge-patch+json, provided application/json"]
    );

    // Form bodies are accepted like JSON.
    let a = s
        .send(
            s.http()
                .put(format!("{}/v1/sys/init", s.url()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("secret_shares=1&secret_threshold=1"),
        )
        .await;
    assert_eq!(a.errors(), vec!["Vault is already initialized"]);

    // Namespaces: root only.
    let ok = s
        .send(
            s.http()
                .get(format!("{}/v1/auth/token/lookup-self", s.url()))
                .header("X-Vault-Token", &root)
                .header("X-Vault-Namespace", "root"),
        )
        .await;
    assert_eq!(ok.status, 200);
    let a = s
        .send(
            s.http()
                .get(format!("{}/v1/auth/token/lookup-self", s.url()))
                .header("X-Vault-Token", &root)
                .header("X-Vault-Namespace", "ns1/"),
        )
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.errors(), vec!["namespace not found"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_style_json_and_wrap_ttl() {
    let s = TestServer::start().await;
    // curl -d '{...}' labels its JSON as a form; it must still be read as JSON.
    let a = s
        .send(
            s.http()
                .put(format!("{}/v1/sys/init", s.url()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(r#"{"secret_shares":1,"secret_threshold":1}"#),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let root = a.body["root_token"].as_str().unwrap().to_string();
    let key = a.body["keys"][0].as_str().unwrap().to_string();
    s.unseal_with(&[key]).await;

    // A wrap TTL wraps the answer: only `wrap_info`, nothing of the token lookup.
    let lookup = format!("{}/v1/auth/token/lookup-self", s.url());
    let a = s
        .send(
            s.http()
                .get(&lookup)
                .header("X-Vault-Token", &root)
                .header("X-Vault-Wrap-TTL", "5m"),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["wrap_info"]["ttl"], 300);
    assert_eq!(a.body["data"], serde_json::Value::Null);
    assert!(!String::from_utf8_lossy(&a.raw).contains(&root));
    let a = s
        .send(
            s.http()
                .get(&lookup)
                .header("X-Vault-Token", &root)
                .header("X-Vault-Wrap-TTL", "bogus"),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["error parsing X-Vault-Wrap-TTL header: time: invalid duration \"bogus\""]
    );
    let a = s
        .send(
            s.http()
                .get(&lookup)
                .header("X-Vault-Token", &root)
                .header("X-Vault-Wrap-TTL", "0"),
        )
        .await;
    assert_eq!(a.status, 200);
}
