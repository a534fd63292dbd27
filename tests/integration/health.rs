//! Behaviour 5: health codes, overrides, HEAD.

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_5_health_codes() {
    let s = TestServer::start().await;
    assert_eq!(
        s.call("GET", "/v1/sys/health", None, None).await.status,
        501
    );
    assert_eq!(
        s.call("GET", "/v1/sys/health?uninitcode=299", None, None)
            .await
            .status,
        299
    );
    let init = s.client().init(1, 1).await.unwrap();
    assert_eq!(
        s.call("GET", "/v1/sys/health", None, None).await.status,
        503
    );
    assert_eq!(
        s.call("GET", "/v1/sys/health?sealedcode=298", None, None)
            .await
            .status,
        298
    );
    s.unseal_with(&init.keys).await;

    let a = s
        .call(
            "GET",
            "/v1/sys/health",
            None,
            Some("bogus-token-is-ignored"),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["performance_standby"], false);
    assert_eq!(a.body["standby"], false);
    assert_eq!(a.body["sealed"], false);
    assert!(a.body["cluster_id"].is_string());
    assert!(a.body["server_time_utc"].as_i64().unwrap() > 1_700_000_000);

    assert_eq!(
        s.call("GET", "/v1/sys/health?activecode=202", None, None)
            .await
            .status,
        202
    );
    // hvac's full parameter set; unknown ones ignored.
    let q = "/v1/sys/health?standbyok=true&activecode=200&standbycode=429&drsecondarycode=472\
             &performancestandbycode=473&sealedcode=503&uninitcode=501&whatever=1";
    assert_eq!(s.call("GET", q, None, None).await.status, 200);
    let a = s
        .call("GET", "/v1/sys/health?activecode=abc", None, None)
        .await;
    assert_eq!(a.status, 400);

    let a = s.call("HEAD", "/v1/sys/health", None, None).await;
    assert_eq!(a.status, 200);
    assert!(a.raw.is_empty());
    let a = s
        .call("HEAD", "/v1/sys/health?activecode=204", None, None)
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(
        s.call("POST", "/v1/sys/health", None, None).await.status,
        405
    );

    let a = s.call("GET", "/v1/sys/leader", None, None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["ha_enabled"], false);
}
