//! `strongroom-client`'s KV calls against a real server: every typed call of
//! `client/src/calls/kv.rs` on KV v1 and v2 mounts — reads, writes, check-and-set
//! conflicts, merge patches, versions, soft delete / undelete / destroy, metadata,
//! mount config, lists, 404s as `None`/empty and 403s as errors.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use strongroom_client::api::{KvConfig, KvMetadataUpdate};
use strongroom_client::{Client, ClientError};

use crate::harness::{client_token, TestServer};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

async fn setup() -> (TestServer, Client, String) {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    s.mount(&root, "kv", json!({"type": "kv"})).await;
    s.mount_kv_v2(&root, "secret").await;
    let client = s.client_with(&root);
    (s, client, root)
}

fn api_status(err: &ClientError) -> u16 {
    err.status()
        .unwrap_or_else(|| panic!("not an API error: {err}"))
}

fn api_messages(err: ClientError) -> String {
    match err {
        ClientError::Api { errors, .. } => errors.join("; "),
        other => panic!("not an API error: {other}"),
    }
}

#[tokio::test]
async fn client_kv_v1_read_write_list_delete() {
    let (_s, c, _root) = setup().await;
    assert_eq!(
        c.mount_info("kv/app/db").await.unwrap().kv_version(),
        Some(1)
    );
    assert!(c.kv1_read("kv", "app/db").await.unwrap().is_none());
    let data = obj(json!({"user": "u1", "port": 5432, "nested": {"a": [1, true]}}));
    c.kv1_write("kv", "app/db", &data).await.unwrap();
    c.kv1_write("kv/", "/app/web", &obj(json!({"k": "v"})))
        .await
        .unwrap();
    c.kv1_write("kv", "top", &obj(json!({"t": "1"})))
        .await
        .unwrap();
    let secret = c.kv1_read("kv", "app/db").await.unwrap().unwrap();
    assert_eq!(secret.data.unwrap(), data, "numbers and nesting round-trip");
    assert_eq!(secret.lease_id, "");

    assert_eq!(c.kv1_list("kv", "").await.unwrap(), ["app/", "top"]);
    assert_eq!(c.kv1_list("kv", "app").await.unwrap(), ["db", "web"]);
    assert_eq!(c.kv1_list("kv", "app/").await.unwrap(), ["db", "web"]);
    assert!(c.kv1_list("kv", "nothing").await.unwrap().is_empty());
    assert_eq!(c.list("kv/app").await.unwrap(), ["db", "web"]);
    assert!(c.list("kv/nothing/").await.unwrap().is_empty());

    let err = c.kv1_write("kv", "empty", &Map::new()).await.unwrap_err();
    assert_eq!(api_status(&err), 400);
    assert!(api_messages(err).contains("missing data fields"));

    // Key names with URL-special characters round-trip.
    let odd = "odd/we ird#1?x=%41";
    c.kv1_write("kv", odd, &data).await.unwrap();
    assert_eq!(c.kv1_list("kv", "odd").await.unwrap(), ["we ird#1?x=%41"]);
    assert_eq!(
        c.kv1_read("kv", odd).await.unwrap().unwrap().data.unwrap(),
        data
    );
    c.kv1_delete("kv", odd).await.unwrap();
    assert!(c.kv1_read("kv", odd).await.unwrap().is_none());

    c.kv1_delete("kv", "app/db").await.unwrap();
    assert!(c.kv1_read("kv", "app/db").await.unwrap().is_none());
    c.kv1_delete("kv", "app/db").await.unwrap();
    assert_eq!(c.kv1_list("kv", "app").await.unwrap(), ["web"]);
}

#[tokio::test]
async fn client_kv_v2_versions_cas_and_patch() {
    let (_s, c, _root) = setup().await;
    assert_eq!(
        c.mount_info("secret/app").await.unwrap().kv_version(),
        Some(2)
    );
    assert!(c.kv2_read("secret", "app", None).await.unwrap().is_none());

    let v1 = c
        .kv2_write("secret", "app", &obj(json!({"a": "1", "n": 5})), Some(0))
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    assert!(!v1.created_time.is_empty());
    assert_eq!((v1.deletion_time.as_str(), v1.destroyed), ("", false));

    // cas=0 on an existing key, and a stale cas, are conflicts.
    for cas in [0, 5] {
        let err = c
            .kv2_write("secret", "app", &obj(json!({"a": "x"})), Some(cas))
            .await
            .unwrap_err();
        assert_eq!(api_status(&err), 400);
        assert!(api_messages(err).contains("check-and-set parameter did not match"));
    }
    let v2 = c
        .kv2_write("secret", "app", &obj(json!({"a": "2", "b": "x"})), Some(1))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);

    let latest = c.kv2_read("secret", "app", None).await.unwrap().unwrap();
    let latest = latest.data.unwrap();
    assert_eq!(latest.metadata.version, 2);
    assert_eq!(latest.data.unwrap(), obj(json!({"a": "2", "b": "x"})));
    let first = c.kv2_read("secret", "app", Some(1)).await.unwrap().unwrap();
    assert_eq!(
        first.data.unwrap().data.unwrap(),
        obj(json!({"a": "1", "n": 5}))
    );
    assert!(c
        .kv2_read("secret", "app", Some(99))
        .await
        .unwrap()
        .is_none());

    // Merge patch: change b, remove a, add c.
    let v3 = c
        .kv2_patch(
            "secret",
            "app",
            &obj(json!({"a": null, "b": "y", "c": {"deep": 1}})),
            None,
        )
        .await
        .unwrap();
    assert_eq!(v3.version, 3);
    let read = c.kv2_read("secret", "app", None).await.unwrap().unwrap();
    assert_eq!(
        read.data.unwrap().data.unwrap(),
        obj(json!({"b": "y", "c": {"deep": 1}}))
    );
    let err = c
        .kv2_patch("secret", "app", &obj(json!({"b": "z"})), Some(1))
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 400);
    let v4 = c
        .kv2_patch("secret", "app", &obj(json!({"b": "z"})), Some(3))
        .await
        .unwrap();
    assert_eq!(v4.version, 4);
    let err = c
        .kv2_patch("secret", "missing", &obj(json!({"b": "z"})), None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 404, "patch of a missing key");

    let odd = "odd/a b#c?d%e";
    c.kv2_write("secret", odd, &obj(json!({"k": "v"})), None)
        .await
        .unwrap();
    assert_eq!(c.kv2_list("secret", "odd/").await.unwrap(), ["a b#c?d%e"]);
    let read = c.kv2_read("secret", odd, Some(1)).await.unwrap().unwrap();
    assert_eq!(read.data.unwrap().data.unwrap()["k"], "v");
    assert_eq!(
        c.kv2_read_metadata("secret", odd)
            .await
            .unwrap()
            .unwrap()
            .current_version,
        1
    );

    // The v2-aware generic read used by `strongroom run`.
    let secret = c.read_secret("secret/app").await.unwrap().unwrap();
    assert_eq!(secret.data.unwrap()["b"], "z");
}

#[tokio::test]
async fn client_kv_v2_delete_undelete_destroy() {
    let (_s, c, _root) = setup().await;
    for i in 1..=3 {
        c.kv2_write("secret", "k", &obj(json!({ "i": i })), None)
            .await
            .unwrap();
    }
    c.kv2_delete("secret", "k").await.unwrap();
    let gone = c.kv2_read("secret", "k", None).await.unwrap().unwrap();
    let gone = gone.data.unwrap();
    assert!(gone.data.is_none(), "a deleted version has no data");
    assert_eq!(gone.metadata.version, 3);
    assert!(!gone.metadata.deletion_time.is_empty());
    assert!(c.read_secret("secret/k").await.unwrap().is_none());

    c.kv2_undelete("secret", "k", &[3, 42]).await.unwrap();
    let back = c.kv2_read("secret", "k", None).await.unwrap().unwrap();
    assert_eq!(back.data.unwrap().data.unwrap()["i"], 3);

    c.kv2_delete_versions("secret", "k", &[1, 2]).await.unwrap();
    let v1 = c.kv2_read("secret", "k", Some(1)).await.unwrap().unwrap();
    assert!(v1.data.unwrap().data.is_none());
    c.kv2_destroy("secret", "k", &[2]).await.unwrap();
    let v2 = c.kv2_read("secret", "k", Some(2)).await.unwrap().unwrap();
    let v2 = v2.data.unwrap();
    assert!(v2.data.is_none());
    assert!(v2.metadata.destroyed);

    let meta = c.kv2_read_metadata("secret", "k").await.unwrap().unwrap();
    assert_eq!(meta.current_version, 3);
    assert_eq!(meta.oldest_version, 1);
    assert!(meta.versions["2"].destroyed);
    assert!(!meta.versions["1"].deletion_time.is_empty());
    assert_eq!(meta.versions["3"].deletion_time, "");

    let err = c.kv2_delete_versions("secret", "k", &[]).await.unwrap_err();
    assert_eq!(api_status(&err), 400, "no versions given");

    c.kv2_delete_metadata("secret", "k").await.unwrap();
    assert!(c.kv2_read_metadata("secret", "k").await.unwrap().is_none());
    assert!(c.kv2_read("secret", "k", None).await.unwrap().is_none());
    c.kv2_delete_metadata("secret", "k").await.unwrap();
}

#[tokio::test]
async fn client_kv_v2_metadata_config_and_lists() {
    let (_s, c, _root) = setup().await;
    assert!(c
        .kv2_read_metadata("secret", "cfg")
        .await
        .unwrap()
        .is_none());
    let update = KvMetadataUpdate {
        max_versions: Some(2),
        cas_required: Some(true),
        delete_version_after: Some("1h".into()),
        custom_metadata: Some(BTreeMap::from([("owner".to_string(), "jdoe".to_string())])),
    };
    c.kv2_write_metadata("secret", "cfg", &update)
        .await
        .unwrap();
    let meta = c.kv2_read_metadata("secret", "cfg").await.unwrap().unwrap();
    assert_eq!(meta.max_versions, 2);
    assert!(meta.cas_required);
    assert_eq!(meta.delete_version_after, "1h0m0s");
    assert_eq!(meta.custom_metadata.as_ref().unwrap()["owner"], "jdoe");
    assert_eq!(meta.current_version, 0);

    let err = c
        .kv2_write("secret", "cfg", &obj(json!({"x": "1"})), None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 400);
    assert!(api_messages(err).contains("check-and-set parameter required"));
    let v = c
        .kv2_write("secret", "cfg", &obj(json!({"x": "1"})), Some(0))
        .await
        .unwrap();
    assert_eq!(v.custom_metadata.unwrap()["owner"], "jdoe");
    for cas in 1..=2 {
        c.kv2_write("secret", "cfg", &obj(json!({ "x": cas })), Some(cas))
            .await
            .unwrap();
    }
    let meta = c.kv2_read_metadata("secret", "cfg").await.unwrap().unwrap();
    assert_eq!(meta.versions.len(), 2, "max_versions prunes");
    assert_eq!(meta.oldest_version, 2);

    // A partial update leaves the other settings alone.
    let only_max = KvMetadataUpdate {
        max_versions: Some(4),
        ..Default::default()
    };
    c.kv2_write_metadata("secret", "cfg", &only_max)
        .await
        .unwrap();
    let meta = c.kv2_read_metadata("secret", "cfg").await.unwrap().unwrap();
    assert_eq!(meta.max_versions, 4);
    assert!(meta.cas_required);

    let config = c.kv2_read_config("secret").await.unwrap();
    assert_eq!(
        config,
        KvConfig {
            cas_required: false,
            delete_version_after: "0s".into(),
            max_versions: 0
        }
    );
    let new = KvConfig {
        cas_required: false,
        delete_version_after: "2h0m0s".into(),
        max_versions: 7,
    };
    c.kv2_write_config("secret", &new).await.unwrap();
    assert_eq!(c.kv2_read_config("secret/").await.unwrap(), new);

    c.kv2_write("secret", "app/db", &obj(json!({"a": "1"})), None)
        .await
        .unwrap();
    c.kv2_write("secret", "app/deep/x", &obj(json!({"a": "1"})), None)
        .await
        .unwrap();
    assert_eq!(c.kv2_list("secret", "").await.unwrap(), ["app/", "cfg"]);
    assert_eq!(c.kv2_list("secret", "app").await.unwrap(), ["db", "deep/"]);
    assert!(c.kv2_list("secret", "nothing/").await.unwrap().is_empty());
    assert_eq!(c.list("secret/metadata/app/deep").await.unwrap(), ["x"]);
}

#[tokio::test]
async fn client_kv_refusals_are_errors_not_empty_answers() {
    let (s, root_client, root) = setup().await;
    root_client
        .kv1_write("kv", "x", &obj(json!({"a": "1"})))
        .await
        .unwrap();
    let token = client_token(
        &s.create_token(&root, json!({"policies": ["default"]}))
            .await,
    );
    let c = s.client_with(&token);
    let err = c.kv1_read("kv", "x").await.unwrap_err();
    assert_eq!(api_status(&err), 403);
    let err = c.kv2_read("secret", "x", None).await.unwrap_err();
    assert_eq!(api_status(&err), 403);
    let err = c.kv2_list("secret", "").await.unwrap_err();
    assert_eq!(api_status(&err), 403, "a denied list is not an empty list");
    let err = c.list("kv/").await.unwrap_err();
    assert_eq!(api_status(&err), 403);
    let err = c
        .kv2_write("secret", "x", &obj(json!({"a": "1"})), None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 403);
    let err = c.kv2_read_config("secret").await.unwrap_err();
    assert_eq!(api_status(&err), 403);
}
