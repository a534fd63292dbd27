//! Behaviours 29–32: kv v2 write/read, delete lifecycle, metadata, patch and subkeys.

use serde_json::{json, Value};

use crate::harness::{Answer, TestServer};

struct Kv {
    s: TestServer,
    root: String,
}

impl Kv {
    async fn new() -> Kv {
        let s = TestServer::start().await;
        let root = s.init_and_unseal(1, 1).await.root_token;
        let a = s
            .call(
                "POST",
                "/v1/sys/mounts/secret",
                Some(json!({"type": "kv", "options": {"version": "2"}})),
                Some(&root),
            )
            .await;
        assert_eq!(a.status, 204);
        Kv { s, root }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.s
            .call(
                method,
                &format!("/v1/secret/{path}"),
                body,
                Some(&self.root),
            )
            .await
    }

    async fn patch(&self, path: &str, body: Value) -> Answer {
        let req = self
            .s
            .http()
            .patch(format!("{}/v1/secret/{path}", self.s.url()))
            .header("X-Vault-Token", &self.root)
            .header("Content-Type", "application/merge-patch+json")
            .body(body.to_string());
        self.s.send(req).await
    }
}

const REDACT_TIMES: &str = "[time]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_29_write_and_read() {
    let kv = Kv::new().await;
    let a = kv
        .call(
            "POST",
            "data/app/db",
            Some(json!({"data": {"user": "u1", "n": 5, "nested": {"a": 1}}})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["data"]["version"], 1);
    assert_eq!(a.body["data"]["deletion_time"], "");
    assert_eq!(a.body["data"]["destroyed"], false);
    assert!(a.body["data"]["custom_metadata"].is_null());
    insta::assert_json_snapshot!("kv2_write", a.body, {
        ".request_id" => "[uuid]", ".data.created_time" => REDACT_TIMES,
    });

    let a = kv.call("GET", "data/app/db", None).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body["data"]["data"],
        json!({"user": "u1", "n": 5, "nested": {"a": 1}})
    );
    assert_eq!(a.body["data"]["metadata"]["version"], 1);
    insta::assert_json_snapshot!("kv2_read", a.body, {
        ".request_id" => "[uuid]", ".data.metadata.created_time" => REDACT_TIMES,
    });

    // cas.
    let a = kv
        .call(
            "POST",
            "data/app/db",
            Some(json!({"data": {"x": 1}, "options": {"cas": 0}})),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["check-and-set parameter did not match the current version"]
    );
    let a = kv
        .call(
            "POST",
            "data/app/db",
            Some(json!({"data": {"user": "u2"}, "options": {"cas": 1}})),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["version"], 2);
    let a = kv.call("GET", "data/app/db?version=1", None).await;
    assert_eq!(a.body["data"]["data"]["user"], "u1");
    let a = kv.call("GET", "data/app/db?version=9", None).await;
    assert_eq!(a.status, 404);
    let a = kv.call("GET", "data/app/db?version=abc", None).await;
    assert_eq!(a.status, 400);

    // cas_required.
    assert_eq!(
        kv.call("POST", "config", Some(json!({"cas_required": true})))
            .await
            .status,
        204
    );
    let a = kv
        .call("POST", "data/app/db", Some(json!({"data": {"x": 1}})))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["check-and-set parameter required for this call"]
    );
    kv.call("POST", "config", Some(json!({"cas_required": false})))
        .await;

    // Missing data wrapper; v1-style path on a v2 mount.
    let a = kv
        .call("POST", "data/app/db", Some(json!({"user": "x"})))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["no data provided"]);
    let a = kv.call("GET", "app/db", None).await;
    assert_eq!(a.status, 404);
    assert!(a.body["warnings"][0]
        .as_str()
        .unwrap_or_default()
        .starts_with("Invalid path for a versioned K/V"));

    // Absent key.
    assert_eq!(
        kv.call("GET", "data/nothing", None).await.body,
        json!({"errors": []})
    );

    // Config read shape.
    let a = kv.call("GET", "config", None).await;
    assert_eq!(a.body["data"]["max_versions"], 0);
    assert_eq!(a.body["data"]["delete_version_after"], "0s");

    // A 1 MiB secret round-trips.
    let big = "y".repeat(1024 * 1024);
    assert_eq!(
        kv.call("POST", "data/big", Some(json!({"data": {"blob": big}})))
            .await
            .status,
        200
    );
    let a = kv.call("GET", "data/big", None).await;
    assert_eq!(
        a.body["data"]["data"]["blob"].as_str().map(str::len),
        Some(1024 * 1024)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_30_delete_lifecycle() {
    let kv = Kv::new().await;
    kv.call("POST", "data/x", Some(json!({"data": {"v": 1}})))
        .await;
    kv.call("POST", "data/x", Some(json!({"data": {"v": 2}})))
        .await;
    assert_eq!(kv.call("DELETE", "data/x", None).await.status, 204);
    let a = kv.call("GET", "data/x", None).await;
    assert_eq!(a.status, 404);
    assert!(a.body["data"]["data"].is_null());
    assert_ne!(a.body["data"]["metadata"]["deletion_time"], "");
    assert!(
        a.body["request_id"].is_string(),
        "404 with the full envelope"
    );
    insta::assert_json_snapshot!("kv2_read_deleted", a.body, {
        ".request_id" => "[uuid]", ".data.metadata.created_time" => REDACT_TIMES,
        ".data.metadata.deletion_time" => REDACT_TIMES,
    });

    assert_eq!(
        kv.call("POST", "undelete/x", Some(json!({"versions": ["2"]})))
            .await
            .status,
        204
    );
    assert_eq!(
        kv.call("GET", "data/x", None).await.body["data"]["data"]["v"],
        2
    );

    let a = kv
        .call("POST", "delete/x", Some(json!({"versions": []})))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["No version number provided"]);
    assert_eq!(
        kv.call("POST", "delete/x", Some(json!({"versions": [1]})))
            .await
            .status,
        204
    );
    assert_eq!(kv.call("GET", "data/x?version=1", None).await.status, 404);

    assert_eq!(
        kv.call("PUT", "destroy/x", Some(json!({"versions": [2]})))
            .await
            .status,
        204
    );
    let a = kv.call("GET", "data/x", None).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["data"]["metadata"]["destroyed"], true);

    assert_eq!(kv.call("DELETE", "metadata/x", None).await.status, 204);
    let a = kv.call("GET", "data/x", None).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"errors": []}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_31_metadata() {
    let kv = Kv::new().await;
    for i in 1..=4 {
        kv.call("POST", "data/app/m", Some(json!({"data": {"i": i}})))
            .await;
    }
    let a = kv.call("GET", "metadata/app/m", None).await;
    assert_eq!(a.status, 200);
    let d = &a.body["data"];
    assert_eq!(d["current_version"], 4);
    assert_eq!(d["oldest_version"], 1);
    assert_eq!(d["max_versions"], 0);
    assert!(d["versions"]["1"].is_object() && d["versions"]["4"].is_object());

    // max_versions pruning.
    let a = kv
        .call(
            "POST",
            "metadata/app/m",
            Some(json!({"max_versions": 2, "custom_metadata": {"owner": "jdoe"}})),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    kv.call("POST", "data/app/m", Some(json!({"data": {"i": 5}})))
        .await;
    let a = kv.call("GET", "metadata/app/m", None).await;
    assert_eq!(a.body["data"]["oldest_version"], 4);
    assert_eq!(
        a.body["data"]["versions"].as_object().map(|v| v.len()),
        Some(2)
    );
    assert_eq!(a.body["data"]["custom_metadata"], json!({"owner": "jdoe"}));
    insta::assert_json_snapshot!("kv2_metadata", a.body, {
        ".request_id" => "[uuid]", ".data.created_time" => REDACT_TIMES, ".data.updated_time" => REDACT_TIMES,
        ".data.versions.*.created_time" => REDACT_TIMES,
    });
    // custom_metadata is visible in data reads.
    let a = kv.call("GET", "data/app/m", None).await;
    assert_eq!(
        a.body["data"]["metadata"]["custom_metadata"],
        json!({"owner": "jdoe"})
    );

    // PATCH metadata merges.
    let a = kv
        .patch("metadata/app/m", json!({"custom_metadata": {"team": "t1"}}))
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let a = kv.call("GET", "metadata/app/m", None).await;
    assert_eq!(
        a.body["data"]["custom_metadata"],
        json!({"owner": "jdoe", "team": "t1"})
    );
    assert_eq!(a.body["data"]["max_versions"], 2);

    // LIST with folders.
    kv.call("POST", "data/top", Some(json!({"data": {"a": 1}})))
        .await;
    let a = kv.call("LIST", "metadata/", None).await;
    assert_eq!(a.body["data"]["keys"], json!(["app/", "top"]));
    let b = kv.call("GET", "metadata?list=true", None).await;
    assert_eq!(a.body["data"], b.body["data"]);
    assert_eq!(
        kv.call("LIST", "metadata/app/", None).await.body["data"]["keys"],
        json!(["m"])
    );
    assert_eq!(kv.call("LIST", "metadata/none/", None).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_32_patch_and_subkeys() {
    let kv = Kv::new().await;
    kv.call(
        "POST",
        "data/p",
        Some(json!({"data": {"user": "u", "pw": "p", "nested": {"a": 1, "b": {"c": 2}}}})),
    )
    .await;
    let a = kv
        .patch("data/p", json!({"data": {"pw": null, "extra": "x"}}))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["data"]["version"], 2);
    let a = kv.call("GET", "data/p", None).await;
    assert_eq!(
        a.body["data"]["data"],
        json!({"user": "u", "extra": "x", "nested": {"a": 1, "b": {"c": 2}}})
    );
    let a = kv.patch("data/missing", json!({"data": {"a": 1}})).await;
    assert_eq!(a.status, 404);
    // Without merge-patch: 415.
    let a =
        kv.s.send(
            kv.s.http()
                .patch(format!("{}/v1/secret/data/p", kv.s.url()))
                .header("X-Vault-Token", &kv.root)
                .json(&json!({"data": {"a": 1}})),
        )
        .await;
    assert_eq!(a.status, 415);

    let a = kv.call("GET", "subkeys/p", None).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body["data"]["subkeys"],
        json!({"user": null, "extra": null, "nested": {"a": null, "b": {"c": null}}})
    );
    let a = kv.call("GET", "subkeys/p?depth=1", None).await;
    assert_eq!(
        a.body["data"]["subkeys"],
        json!({"user": null, "extra": null, "nested": null})
    );
}
