//! Behaviours 1–3: uninitialised server, init, unseal progress.

use base64::Engine;
use serde_json::json;

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_1_uninitialised_server() {
    let s = TestServer::start().await;
    let a = s.call("GET", "/v1/sys/init", None, None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"initialized": false}));

    let a = s.call("GET", "/v1/sys/health", None, None).await;
    assert_eq!(a.status, 501);
    assert_eq!(a.body["initialized"], false);

    let st = s.client().seal_status().await.unwrap();
    assert!(!st.initialized && st.sealed);
    assert_eq!((st.t, st.n, st.progress), (0, 0, 0));

    let a = s
        .call("GET", "/v1/secret/data/x", None, Some("whatever"))
        .await;
    assert_eq!(a.status, 503);
    assert_eq!(a.errors(), vec!["Vault is sealed"]);

    let a = s
        .call("PUT", "/v1/sys/unseal", Some(json!({"key": "aa"})), None)
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["Vault is not initialized"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_2_init() {
    let s = TestServer::start().await;
    // Invalid configurations first: nothing is initialised by them.
    let a = s
        .call(
            "PUT",
            "/v1/sys/init",
            Some(json!({"secret_shares": 5})),
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["invalid seal configuration: threshold must be at least one"]
    );
    let a = s
        .call(
            "PUT",
            "/v1/sys/init",
            Some(json!({"secret_shares": 3, "secret_threshold": 5})),
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["invalid seal configuration: threshold cannot be larger than shares"]
    );
    let a = s.call("DELETE", "/v1/sys/init", None, None).await;
    assert_eq!(a.status, 405);

    // hvac's body, with nulls and an unused field, and numbers as strings.
    let a = s
        .call(
            "PUT",
            "/v1/sys/init",
            Some(
                json!({"secret_shares": "5", "secret_threshold": 3, "pgp_keys": null,
                        "root_token_pgp_key": null, "stored_shares": 1}),
            ),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let keys = a.body["keys"].as_array().unwrap();
    let b64 = a.body["keys_base64"].as_array().unwrap();
    assert_eq!(keys.len(), 5);
    assert_eq!(b64.len(), 5);
    for (h, b) in keys.iter().zip(b64) {
        let hb = hex::decode(h.as_str().unwrap()).unwrap();
        let bb = base64::engine::general_purpose::STANDARD
            .decode(b.as_str().unwrap())
            .unwrap();
        assert_eq!(hb, bb);
        assert_eq!(hb.len(), 33);
    }
    let root = a.body["root_token"].as_str().unwrap();
    assert!(
        root.starts_with("hvs.") && root.len() >= 4 + 22,
        "root token shape: {}",
        root.len()
    );

    let a = s
        .call(
            "PUT",
            "/v1/sys/init",
            Some(json!({"secret_shares": 1, "secret_threshold": 1})),
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["Vault is already initialized"]);

    let st = s.client().seal_status().await.unwrap();
    assert!(st.initialized && st.sealed);
    assert_eq!((st.t, st.n), (3, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_2_single_share_is_the_raw_key() {
    let s = TestServer::start().await;
    let init = s.client().init(1, 1).await.unwrap();
    assert_eq!(hex::decode(&init.keys[0]).unwrap().len(), 32);
    s.unseal_with(&init.keys_base64).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_3_unseal_progress() {
    let s = TestServer::start().await;
    let c = s.client();
    let init = c.init(5, 3).await.unwrap();

    let st = c.unseal(&init.keys[0]).await.unwrap();
    assert_eq!(st.progress, 1);
    assert!(uuid_like(&st.nonce), "nonce {:?}", st.nonce);
    let nonce = st.nonce.clone();

    // The same share again (even in base64) is ignored.
    let st = c.unseal(&init.keys_base64[0]).await.unwrap();
    assert_eq!(st.progress, 1);
    assert_eq!(st.nonce, nonce);

    // reset zeroes progress.
    let st = c.unseal_reset().await.unwrap();
    assert_eq!(st.progress, 0);
    assert_eq!(st.nonce, "");

    // Junk keys.
    let a = s
        .call(
            "PUT",
            "/v1/sys/unseal",
            Some(json!({"key": "not a key!"})),
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["'key' must be a valid hex or base64 string"]
    );
    let a = s.call("PUT", "/v1/sys/unseal", Some(json!({})), None).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["'key' must be specified in request body as JSON, or 'reset' set to true"]
    );
    let a = s
        .call("PUT", "/v1/sys/unseal", Some(json!({"key": "abcd"})), None)
        .await;
    assert_eq!(a.status, 400, "wrong length");

    // Threshold reached.
    c.unseal(&init.keys[1]).await.unwrap();
    c.unseal(&init.keys[2]).await.unwrap();
    let st = c.unseal(&init.keys[4]).await.unwrap();
    assert!(!st.sealed);
    assert_eq!(st.progress, 0);
    assert_eq!(st.nonce, "");
    assert!(st
        .cluster_name
        .as_deref()
        .unwrap()
        .starts_with("vault-cluster-"));
    assert!(uuid_like(st.cluster_id.as_deref().unwrap()));

    // Unsealed + key → 200 with status; reset → 400.
    let st = c.unseal(&init.keys[3]).await.unwrap();
    assert!(!st.sealed);
    let a = s
        .call("PUT", "/v1/sys/unseal", Some(json!({"reset": true})), None)
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["vault is unsealed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_share_is_refused_at_once_without_counting() {
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let ia = a.client().init(3, 2).await.unwrap();
    let ib = b.client().init(3, 2).await.unwrap();

    a.client().unseal(&ia.keys[0]).await.unwrap();
    let r = a
        .call(
            "PUT",
            "/v1/sys/unseal",
            Some(json!({"key": ib.keys[1]})),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.errors()[0].contains("does not belong to this vault"),
        "{:?}",
        r.errors()
    );
    let st = a.client().seal_status().await.unwrap();
    assert_eq!(st.progress, 1, "a foreign share must not count");
    // The operators' good share is still there: one more good share unseals.
    a.client().unseal(&ia.keys[2]).await.unwrap();
    assert!(!a.client().seal_status().await.unwrap().sealed);
    // The error never echoes the key.
    assert!(!String::from_utf8_lossy(&r.raw).contains(&ib.keys[1]));
}

pub fn uuid_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).collect::<Vec<_>>() == vec![8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}
