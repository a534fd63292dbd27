//! Behaviours 10–12: mount lifecycle, tune / TTL defaults, the CLI preflight.

use serde_json::json;

use crate::harness::TestServer;

async fn unsealed() -> (TestServer, String) {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    (s, init.root_token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_10_mount_lifecycle() {
    let (s, root) = unsealed().await;
    let t = Some(root.as_str());
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/kv2",
            Some(json!({"type": "kv", "options": {"version": "2"}})),
            t,
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let a = s
        .call("POST", "/v1/sys/mounts/kv2", Some(json!({"type": "kv"})), t)
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["path is already in use at kv2/"]);
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/kv2/nested",
            Some(json!({"type": "kv"})),
            t,
        )
        .await;
    assert_eq!(a.status, 400, "overlapping mount");
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/other",
            Some(json!({"type": "nosuch"})),
            t,
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["plugin not found in the catalog: nosuch"]);
    let a = s
        .call("POST", "/v1/sys/mounts/other", Some(json!({})), t)
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["backend type must be specified as a string"]
    );
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/sys/x",
            Some(json!({"type": "kv"})),
            t,
        )
        .await;
    assert_eq!(a.status, 400);

    let a = s.call("GET", "/v1/sys/mounts", None, t).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["kv2/"]["options"]["version"], "2");
    assert_eq!(
        a.body["kv2/"]["options"]["version"], "2",
        "duplicated at top level"
    );
    assert_eq!(a.body["data"]["kv2/"]["type"], "kv");
    assert!(a.body["data"]["cubbyhole/"].is_object());
    assert!(a.body["data"]["sys/"].is_object());
    insta::assert_json_snapshot!("mount_entry", a.body["data"]["kv2/"], {
        ".accessor" => "[accessor]",
        ".uuid" => "[uuid]",
        ".running_plugin_version" => "[version]",
    });
    let a = s.call("GET", "/v1/sys/mounts/kv2", None, t).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["type"], "kv");
    let a = s.call("GET", "/v1/sys/mounts/nonexist", None, t).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["No secret engine mount at nonexist/"]);

    assert_eq!(
        s.call("DELETE", "/v1/sys/mounts/kv2", None, t).await.status,
        204
    );
    assert_eq!(
        s.call("DELETE", "/v1/sys/mounts/kv2", None, t).await.status,
        204,
        "idempotent"
    );
    let a = s.call("DELETE", "/v1/sys/mounts/cubbyhole", None, t).await;
    assert_eq!(a.status, 400, "built-in mounts stay");
    // Mount management needs a token.
    assert_eq!(
        s.call("GET", "/v1/sys/mounts", None, None).await.status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_11_tune_and_ttl_defaults() {
    let (s, root) = unsealed().await;
    let t = Some(root.as_str());
    // The CLI's exact body.
    let body = json!({"type":"kv","description":"","config":{"options":null,"default_lease_ttl":"0s",
        "max_lease_ttl":"0s","force_no_cache":false},"local":false,"seal_wrap":false,
        "external_entropy_access":false,"options":{"version":"1"}});
    assert_eq!(
        s.call("POST", "/v1/sys/mounts/x", Some(body), t)
            .await
            .status,
        204
    );
    let a = s.call("GET", "/v1/sys/mounts/x/tune", None, t).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["default_lease_ttl"], 2_764_800);
    assert_eq!(a.body["data"]["max_lease_ttl"], 2_764_800);
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/x/tune",
            Some(json!({"default_lease_ttl": "30m", "max_lease_ttl": 7200})),
            t,
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let a = s.call("GET", "/v1/sys/mounts/x/tune", None, t).await;
    assert_eq!(a.body["data"]["default_lease_ttl"], 1800);
    assert_eq!(a.body["data"]["max_lease_ttl"], 7200);
    assert_eq!(a.body["default_lease_ttl"], 1800, "copied to the top level");
    insta::assert_json_snapshot!("mount_tune", a.body, { ".request_id" => "[uuid]" });
    // sys/mounts shows the configured (not effective) values.
    let a = s.call("GET", "/v1/sys/mounts/x", None, t).await;
    assert_eq!(a.body["data"]["config"]["default_lease_ttl"], 1800);
    // New reads in that mount obey the tuned default.
    assert_eq!(
        s.call("PUT", "/v1/x/k", Some(json!({"a": 1})), t)
            .await
            .status,
        204
    );
    let a = s.call("GET", "/v1/x/k", None, t).await;
    assert_eq!(a.body["lease_duration"], 1800);
    // Invalid tunes.
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/x/tune",
            Some(json!({"default_lease_ttl": "bogus"})),
            t,
        )
        .await;
    assert_eq!(a.status, 400);
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/x/tune",
            Some(json!({"default_lease_ttl": "3h"})),
            t,
        )
        .await;
    assert_eq!(a.status, 400, "default above max");
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/nonexist/tune",
            Some(json!({"description": "d"})),
            t,
        )
        .await;
    assert_eq!(a.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_12_cli_preflight() {
    let (s, root) = unsealed().await;
    let t = Some(root.as_str());
    s.call("POST", "/v1/sys/mounts/kv1", Some(json!({"type": "kv"})), t)
        .await;
    s.call(
        "POST",
        "/v1/sys/mounts/kv2",
        Some(json!({"type": "kv-v2"})),
        t,
    )
    .await;
    let a = s
        .call("GET", "/v1/sys/internal/ui/mounts/kv2/app/x", None, t)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["data"]["path"], "kv2/");
    assert_eq!(a.body["data"]["options"]["version"], "2");
    insta::assert_json_snapshot!("ui_mounts", a.body, {
        ".request_id" => "[uuid]",
        ".data.accessor" => "[accessor]",
        ".data.uuid" => "[uuid]",
        ".data.running_plugin_version" => "[version]",
    });
    let a = s
        .call("GET", "/v1/sys/internal/ui/mounts/kv1", None, t)
        .await;
    assert_eq!(a.body["data"]["path"], "kv1/");
    assert_eq!(a.body["data"]["options"], serde_json::Value::Null);
    let a = s
        .call("GET", "/v1/sys/internal/ui/mounts/nothing/x", None, t)
        .await;
    assert_eq!(a.status, 403);
    assert!(a.errors()[0].starts_with("preflight capability check returned 403"));
    let a = s
        .call("GET", "/v1/sys/internal/ui/mounts/kv2", None, None)
        .await;
    assert_eq!(a.status, 403);
    let a = s.call("GET", "/v1/sys/internal/ui/mounts", None, t).await;
    assert!(a.body["data"]["secret"]["kv2/"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounts_survive_restart_and_disable_deletes_data() {
    let mut s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.clone();
    let t = Some(root.as_str());
    s.call(
        "POST",
        "/v1/sys/mounts/team/kv",
        Some(json!({"type": "kv", "description": "team"})),
        t,
    )
    .await;
    s.call("PUT", "/v1/team/kv/a", Some(json!({"v": "one"})), t)
        .await;
    s.restart().await;
    s.unseal_with(&init.keys).await;
    let a = s.call("GET", "/v1/team/kv/a", None, t).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["v"], "one");
    assert_eq!(a.body["mount_type"], "kv");

    // Disable, re-enable at the same path: the old data is gone.
    assert_eq!(
        s.call("DELETE", "/v1/sys/mounts/team/kv", None, t)
            .await
            .status,
        204
    );
    let a = s.call("GET", "/v1/team/kv/a", None, t).await;
    assert_eq!(a.status, 404);
    assert!(a.errors()[0].starts_with("no handler for route"));
    s.call(
        "POST",
        "/v1/sys/mounts/team/kv",
        Some(json!({"type": "kv"})),
        t,
    )
    .await;
    assert_eq!(s.call("GET", "/v1/team/kv/a", None, t).await.status, 404);
}
