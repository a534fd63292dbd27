//! Behaviour 4 (seal) and restart: sealed on start, everything intact after unseal.

use serde_json::json;

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_4_seal() {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(3, 2).await;
    let root = init.root_token.as_str();

    let a = s.call("PUT", "/v1/sys/seal", None, None).await;
    assert_eq!(a.status, 403);
    assert_eq!(a.errors(), vec!["permission denied"]);
    let a = s.call("PUT", "/v1/sys/seal", None, Some("hvs.bogus")).await;
    assert_eq!(a.status, 403);
    let a = s.call("GET", "/v1/sys/seal", None, Some(root)).await;
    assert_eq!(a.status, 405);
    assert_eq!(a.body, json!({"errors": []}));

    let a = s.call("PUT", "/v1/sys/seal", None, Some(root)).await;
    assert_eq!(a.status, 204);
    assert!(a.raw.is_empty());

    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(root))
        .await;
    assert_eq!(a.status, 503);
    assert_eq!(a.errors(), vec!["Vault is sealed"]);
    let a = s.call("GET", "/v1/sys/leader", None, None).await;
    assert_eq!(a.status, 503);
    let a = s.call("GET", "/v1/sys/seal-status", None, None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["sealed"], true);
    let a = s.call("GET", "/v1/sys/health", None, None).await;
    assert_eq!(a.status, 503);
    assert_eq!(a.body["sealed"], true);

    // Unseal again with a different pair of shares: the same root token works.
    s.unseal_with(&init.keys[1..3]).await;
    let me = s.client_with(root).lookup_self().await.unwrap();
    assert_eq!(me.policies, vec!["root"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_comes_back_sealed_with_everything_intact() {
    let mut s = TestServer::start().await;
    let init = s.init_and_unseal(5, 3).await;
    let root = init.root_token.clone();
    let c = s.client_with(&root);
    c.rotate().await.unwrap();
    c.rotate().await.unwrap();
    let before = c.key_status().await.unwrap();
    assert_eq!(before.term, 3);
    let me_before = c.lookup_self().await.unwrap();

    s.restart().await;
    let st = s.client().seal_status().await.unwrap();
    assert!(st.initialized && st.sealed, "restart must come back sealed");
    assert_eq!((st.t, st.n), (3, 5));
    // Any threshold of shares works.
    s.unseal_with(&[
        init.keys[4].clone(),
        init.keys[0].clone(),
        init.keys[2].clone(),
    ])
    .await;
    let c = s.client_with(&root);
    let after = c.key_status().await.unwrap();
    assert_eq!(after.term, 3);
    assert_eq!(after.install_time, before.install_time);
    let me_after = c.lookup_self().await.unwrap();
    assert_eq!(me_after.accessor, me_before.accessor);
    assert_eq!(me_after.creation_time, me_before.creation_time);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_readable_on_disk() {
    let mut s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    s.restart().await;
    let bytes = std::fs::read(&s.db_path).unwrap();
    let wal = std::fs::read(s.db_path.with_extension("db-wal")).unwrap_or_default();
    for hay in [&bytes, &wal] {
        let text = String::from_utf8_lossy(hay);
        assert!(!text.contains(&init.root_token), "root token on disk");
        assert!(
            !text.contains("vault-cluster-"),
            "cluster name on disk in clear"
        );
        assert!(
            !text.contains("auth/token/root"),
            "token entry on disk in clear"
        );
    }
}
