//! Unit tests of kv v2 through its engine interface (HTTP-level tests live in `tests/`).

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::*;
use crate::engines::{EngineRequest, MountContext};

async fn ctx() -> MountContext {
    MountContext::for_test("logical/kv2test/", "secret/", "kv_00000000").await
}

async fn call(
    c: &MountContext,
    op: Operation,
    path: &str,
    data: Value,
) -> Result<EngineResponse, EngineError> {
    let data = data.as_object().cloned().unwrap_or_default();
    handle(&EngineRequest {
        operation: op,
        path,
        data: &data,
        ctx: c,
        display_name: "token",
    })
    .await
}

#[tokio::test]
async fn concurrent_cas_writes_have_one_winner() {
    let c = ctx().await;
    call(&c, Operation::Update, "data/k", json!({"data": {"v": 0}}))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            call(
                &c,
                Operation::Update,
                "data/k",
                json!({"data": {"v": i}, "options": {"cas": 1}}),
            )
            .await
            .is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    let meta = call(&c, Operation::Read, "metadata/k", json!({}))
        .await
        .unwrap();
    assert_eq!(meta.data.unwrap()["current_version"], 2);
}

#[tokio::test]
async fn delete_version_after_reads_as_deleted() {
    let c = ctx().await;
    call(
        &c,
        Operation::Update,
        "metadata/t",
        json!({"delete_version_after": "1s"}),
    )
    .await
    .unwrap();
    call(&c, Operation::Update, "data/t", json!({"data": {"a": 1}}))
        .await
        .unwrap();
    let r = call(&c, Operation::Read, "data/t", json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, ResponseStatus::Ok);
    assert_ne!(r.data.unwrap()["metadata"]["deletion_time"], "");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = call(&c, Operation::Read, "data/t", json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, ResponseStatus::NotFoundWithData);
}

#[tokio::test]
async fn upgrade_converts_v1_entries_once() {
    let c = ctx().await;
    c.view
        .put("app/db", br#"{"user":"u","n":5}"#)
        .await
        .unwrap();
    c.view.put("top", br#"{"a":"b"}"#).await.unwrap();
    upgrade_from_v1(&c.view).await.unwrap();
    upgrade_from_v1(&c.view).await.unwrap();
    let r = call(&c, Operation::Read, "data/app/db", json!({}))
        .await
        .unwrap();
    assert_eq!(r.data.unwrap()["data"], json!({"user": "u", "n": 5}));
    let m = call(&c, Operation::Read, "metadata/top", json!({}))
        .await
        .unwrap();
    assert_eq!(m.data.unwrap()["current_version"], 1);
    assert!(c.view.get("app/db").await.unwrap().is_none());
    let l = call(&c, Operation::List, "metadata/", json!({}))
        .await
        .unwrap();
    assert_eq!(l.data.unwrap()["keys"], json!(["app/", "top"]));
}

#[tokio::test]
async fn merge_patch_rfc7386() {
    let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
    data::merge_patch(&mut target, &json!({"a": "z", "c": {"f": null}}));
    assert_eq!(target, json!({"a": "z", "c": {"d": "e"}}));
    let mut t = json!({"a": [1, 2]});
    data::merge_patch(&mut t, &json!({"a": [3]}));
    assert_eq!(t, json!({"a": [3]}));
}

#[tokio::test]
async fn wrong_verbs_and_bad_versions() {
    let c = ctx().await;
    assert!(matches!(
        call(&c, Operation::List, "data/x", json!({})).await,
        Err(EngineError::UnsupportedOperation)
    ));
    assert!(matches!(
        call(&c, Operation::Read, "destroy/x", json!({})).await,
        Err(EngineError::UnsupportedOperation)
    ));
    assert!(matches!(
        call(
            &c,
            Operation::Update,
            "destroy/x",
            json!({"versions": ["x"]})
        )
        .await,
        Err(EngineError::Invalid(_))
    ));
    assert!(matches!(
        call(&c, Operation::Update, "data/", json!({"data": {}})).await,
        Err(EngineError::Invalid(_))
    ));
}
