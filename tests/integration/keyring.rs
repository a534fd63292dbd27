//! Keyring rotation and rekey (legacy `sys/rekey/*` and OpenBao's `sys/rotate/root/*`).

use serde_json::json;

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_adds_terms_and_needs_sudo() {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let c = s.client_with(&init.root_token);
    assert_eq!(c.key_status().await.unwrap().term, 1);
    c.rotate().await.unwrap();
    assert_eq!(
        s.call(
            "POST",
            "/v1/sys/rotate/keyring",
            None,
            Some(&init.root_token)
        )
        .await
        .status,
        204
    );
    assert_eq!(c.key_status().await.unwrap().term, 3);
    assert_eq!(
        s.call("PUT", "/v1/sys/rotate", None, None).await.status,
        403
    );
    assert_eq!(
        s.call("GET", "/v1/sys/key-status", None, None).await.status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_rekey_with_verification_then_restart() {
    let mut s = TestServer::start().await;
    let init = s.init_and_unseal(3, 2).await;
    let c = s.client();

    let a = s.call("GET", "/v1/sys/rekey/init", None, None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["started"], false);
    assert_eq!(a.body["required"], 2);

    let st = c.rekey_init(5, 3, true).await.unwrap();
    assert!(st.started);
    assert_eq!((st.t, st.n, st.required), (3, 5, 2));
    let a = s
        .call(
            "PUT",
            "/v1/sys/rekey/init",
            Some(json!({"secret_shares": 2, "secret_threshold": 2})),
            None,
        )
        .await;
    assert_eq!(a.status, 400, "a second rekey must not start");

    // Wrong nonce.
    let a = s
        .call(
            "PUT",
            "/v1/sys/rekey/update",
            Some(json!({"key": init.keys[0], "nonce": "nope"})),
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.errors()[0].starts_with("incorrect nonce supplied"));

    let p = c.rekey_update(&init.keys[0], &st.nonce).await.unwrap();
    assert_eq!(p["progress"], 1);
    let done = c.rekey_update(&init.keys[2], &st.nonce).await.unwrap();
    assert_eq!(done["complete"], true);
    assert_eq!(done["verification_required"], true);
    let new_keys: Vec<String> = serde_json::from_value(done["keys"].clone()).unwrap();
    assert_eq!(new_keys.len(), 5);
    let vnonce = done["verification_nonce"].as_str().unwrap().to_string();

    // Not in effect before verification.
    let st = c.seal_status().await.unwrap();
    assert_eq!((st.t, st.n), (2, 3));
    // An old share is not a new share.
    let a = s
        .call(
            "PUT",
            "/v1/sys/rekey/verify",
            Some(json!({"key": init.keys[1], "nonce": vnonce})),
            None,
        )
        .await;
    assert_eq!(a.status, 400);

    let v = c.rekey_verify(&new_keys[0], &vnonce).await.unwrap();
    assert_eq!(v["progress"], 1);
    c.rekey_verify(&new_keys[3], &vnonce).await.unwrap();
    let v = c.rekey_verify(&new_keys[4], &vnonce).await.unwrap();
    assert_eq!(v, json!({"nonce": vnonce, "complete": true}));
    let st = c.seal_status().await.unwrap();
    assert_eq!((st.t, st.n), (3, 5));

    // After a restart the old shares are refused and the new ones unseal.
    s.restart().await;
    let a = s
        .call(
            "PUT",
            "/v1/sys/unseal",
            Some(json!({"key": init.keys[0]})),
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    s.unseal_with(&new_keys[1..4]).await;
    let me = s.client_with(&init.root_token).lookup_self().await.unwrap();
    assert_eq!(me.policies, vec!["root"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_rekey_without_verification_and_cancel() {
    let mut s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let c = s.client();

    let st = c.rekey_init(2, 2, false).await.unwrap();
    assert_eq!(
        s.call("DELETE", "/v1/sys/rekey/init", None, None)
            .await
            .status,
        204
    );
    let a = s
        .call(
            "PUT",
            "/v1/sys/rekey/update",
            Some(json!({"key": init.keys[0], "nonce": st.nonce})),
            None,
        )
        .await;
    assert_eq!(a.status, 400, "cancelled");

    let st = c.rekey_init(2, 2, false).await.unwrap();
    let done = c.rekey_update(&init.keys[0], &st.nonce).await.unwrap();
    assert_eq!(done["complete"], true);
    assert_eq!(done["verification_required"], false);
    let new_keys: Vec<String> = serde_json::from_value(done["keys"].clone()).unwrap();
    assert_eq!(hex::decode(&new_keys[0]).unwrap().len(), 33);

    s.restart().await;
    s.unseal_with(&new_keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_rotate_root() {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.as_str();
    let body = json!({"secret_shares": 3, "secret_threshold": 2});
    assert_eq!(
        s.call("POST", "/v1/sys/rotate/root/init", Some(body.clone()), None)
            .await
            .status,
        403
    );
    let a = s
        .call("POST", "/v1/sys/rotate/root/init", Some(body), Some(root))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let nonce = a.body["data"]["nonce"].as_str().unwrap().to_string();
    let a = s
        .call(
            "POST",
            "/v1/sys/rotate/root/update",
            Some(json!({"key": init.keys[0], "nonce": nonce})),
            Some(root),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["complete"], true);
    assert_eq!(a.body["data"]["keys"].as_array().unwrap().len(), 3);
    let st = s.client().seal_status().await.unwrap();
    assert_eq!((st.t, st.n), (2, 3));
}
