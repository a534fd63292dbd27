//! The client's `LeaseKeeper` against a real server (and the real PostgreSQL for
//! database leases): it renews a short lease at about 2/3 of its TTL (the lease's
//! expire time moves), says "no longer renewable" when the role's max TTL caps it and
//! then "expired", renews short renewable tokens (and reports a token's explicit max
//! TTL), reports a lease revoked behind its back, retries connection errors (through a
//! proxy taken down and up) while time remains, and revokes what it holds.

use std::time::{Duration, Instant};

use serde_json::json;
use strongroom_client::api::AuthInfo;
use strongroom_client::{KeeperEvent, KeeperEvents, Kept, LeaseKeeper, StopReason};

use crate::harness::TestServer;
use crate::pg::{pg_admin, pg_role, pg_role_exists, pg_server};
use crate::proxy::TcpProxy;

/// The next event, within `limit`.
async fn next(events: &mut KeeperEvents, limit: Duration) -> KeeperEvent {
    tokio::time::timeout(limit, events.recv())
        .await
        .unwrap_or_else(|_| panic!("no keeper event within {limit:?}"))
        .expect("keeper still running")
}

/// `expire_time` of a lease, per `sys/leases/lookup`.
async fn lease_expire_time(s: &TestServer, root: &str, lease: &str) -> String {
    let a = s
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(json!({"lease_id": lease})),
            Some(root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body["data"]["expire_time"]
        .as_str()
        .expect("expire_time")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_keeper_renews_a_database_lease_at_two_thirds_until_its_max_ttl() {
    let Some((s, root, cfg)) = pg_server().await else {
        return;
    };
    let client = s.client_with(&root);
    let admin = pg_admin(&cfg).await;
    client
        .database_write_role("database", "short", &pg_role(6, 13))
        .await
        .unwrap();
    let creds = client.database_creds("database", "short").await.unwrap();
    assert_eq!(creds.lease_duration, 6);
    let before = lease_expire_time(&s, &root, &creds.lease_id).await;

    let (keeper, mut events) = LeaseKeeper::new(client.clone());
    let started = Instant::now();
    let kept = keeper.keep_credentials(&creds).unwrap();
    assert_eq!(kept, Kept::Lease(creds.lease_id.clone()));

    // First renewal at ~2/3 of 6 s (jitter: 3.6–4 s), for the full 6 s.
    match next(&mut events, Duration::from_secs(6)).await {
        KeeperEvent::Renewed { kept: k, ttl } => {
            assert_eq!(k, kept);
            assert_eq!(ttl, Duration::from_secs(6));
        }
        other => panic!("{other:?}"),
    }
    let at = started.elapsed();
    assert!(
        at >= Duration::from_millis(3500) && at <= Duration::from_millis(5000),
        "renewed after {at:?}"
    );
    let after = lease_expire_time(&s, &root, &creds.lease_id).await;
    assert!(after > before, "expire time moved: {before} -> {after}");

    // The role's max TTL (13 s) caps a later renewal: "no longer renewable", then
    // "expired" once the time is up; the account is then dropped by the server.
    let (reason, remaining) = loop {
        match next(&mut events, Duration::from_secs(8)).await {
            KeeperEvent::Renewed { ttl, .. } => assert_eq!(ttl, Duration::from_secs(6)),
            KeeperEvent::RenewalImpossible {
                reason, remaining, ..
            } => break (reason, remaining),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(reason, StopReason::MaxTtlReached);
    assert!(remaining < Duration::from_secs(6), "{remaining:?}");
    assert!(started.elapsed() < Duration::from_secs(14));
    match next(&mut events, Duration::from_secs(8)).await {
        KeeperEvent::Expired { kept: k } => assert_eq!(k, kept),
        other => panic!("{other:?}"),
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(11),
        "expired after {elapsed:?}"
    );
    // The server revokes the expired lease (its expiration pass may take a moment).
    let deadline = Instant::now() + Duration::from_secs(10);
    while pg_role_exists(&admin, &creds.username).await {
        assert!(Instant::now() < deadline, "the expired account is dropped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    keeper.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_keeper_reports_a_revoked_lease_and_revokes_what_it_holds() {
    let Some((s, root, cfg)) = pg_server().await else {
        return;
    };
    let client = s.client_with(&root);
    let admin = pg_admin(&cfg).await;
    client
        .database_write_role("database", "app", &pg_role(3, 60))
        .await
        .unwrap();
    let (keeper, mut events) = LeaseKeeper::new(client.clone());

    // Revoked behind the keeper's back: its next renewal is refused (4xx).
    let gone = client.database_creds("database", "app").await.unwrap();
    keeper.keep_credentials(&gone).unwrap();
    client.revoke_lease(&gone.lease_id).await.unwrap();
    match next(&mut events, Duration::from_secs(5)).await {
        KeeperEvent::RenewalImpossible {
            kept,
            reason: StopReason::Refused { status, errors },
            remaining,
        } => {
            assert_eq!(kept, Kept::Lease(gone.lease_id.clone()));
            assert_eq!(status, 400);
            assert!(!errors.is_empty());
            assert_eq!(remaining, Duration::ZERO);
        }
        other => panic!("{other:?}"),
    }

    // Kept leases (of a longer role, so no renewal interferes), revoked through the
    // keeper: the accounts are gone.
    client
        .database_write_role("database", "long", &pg_role(60, 600))
        .await
        .unwrap();
    let a = client.database_creds("database", "long").await.unwrap();
    let b = client.database_creds("database", "long").await.unwrap();
    keeper.keep_credentials(&a).unwrap();
    let secret = client
        .read_secret("database/creds/long")
        .await
        .unwrap()
        .unwrap();
    keeper.keep_lease(&secret).unwrap();
    keeper.keep_credentials(&b).unwrap();
    assert!(keeper.release(&Kept::Lease(b.lease_id.clone())));
    assert!(keeper.kept().contains(&Kept::Lease(a.lease_id.clone())));
    assert!(!keeper.kept().contains(&Kept::Lease(b.lease_id.clone())));
    let failures = keeper.revoke_all_leases().await;
    assert!(failures.is_empty(), "{failures:?}");
    assert!(!pg_role_exists(&admin, &a.username).await);
    let secret_user = secret.data.as_ref().unwrap()["username"].as_str().unwrap();
    assert!(!pg_role_exists(&admin, secret_user).await);
    // Released, not revoked.
    assert!(pg_role_exists(&admin, &b.username).await);
    client.revoke_lease(&b.lease_id).await.unwrap();
    assert!(keeper.kept().is_empty());
    // Revoked leases produce no further events.
    assert!(
        tokio::time::timeout(Duration::from_secs(3), events.recv())
            .await
            .is_err(),
        "no events after revoke_all_leases"
    );
    drop(keeper);
    assert!(events.recv().await.is_none(), "events end with the keeper");
}

fn auth_of(body: &serde_json::Value) -> AuthInfo {
    serde_json::from_value(body["auth"].clone()).expect("auth block")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_keeper_renews_short_tokens_and_reports_their_max_ttl() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;

    // A 3 s renewable token outlives its TTL while kept.
    let short = auth_of(&s.create_token(&root, json!({"ttl": "3s"})).await);
    assert_eq!(short.lease_duration, 3);
    let (keeper, mut events) = LeaseKeeper::new(s.client_with(&root));
    let kept = keeper.keep_token(&short).unwrap().expect("expiring token");
    assert_eq!(kept, Kept::Token(short.accessor.clone()));
    match next(&mut events, Duration::from_secs(4)).await {
        KeeperEvent::Renewed { kept: k, ttl } => {
            assert_eq!(k, kept);
            assert_eq!(ttl, Duration::from_secs(3));
        }
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let me = s.client_with(&short.client_token).lookup_self().await;
    assert!(me.is_ok(), "the kept token is alive after twice its TTL");

    // The keeper's own client token, looked up.
    let own = auth_of(&s.create_token(&root, json!({"ttl": "3s"})).await);
    let (own_keeper, mut own_events) = LeaseKeeper::new(s.client_with(&own.client_token));
    let own_kept = own_keeper
        .keep_client_token()
        .await
        .unwrap()
        .expect("expiring token");
    assert_eq!(own_kept, Kept::Token(own.accessor.clone()));
    match next(&mut own_events, Duration::from_secs(4)).await {
        KeeperEvent::Renewed { ttl, .. } => assert_eq!(ttl, Duration::from_secs(3)),
        other => panic!("{other:?}"),
    }
    // The root token never expires: nothing to keep.
    let (root_keeper, _root_events) = LeaseKeeper::new(s.client_with(&root));
    assert_eq!(root_keeper.keep_client_token().await.unwrap(), None);

    // A token with an explicit max TTL of 5 s: renewed, then capped.
    let capped = auth_of(
        &s.create_token(&root, json!({"ttl": "3s", "explicit_max_ttl": "5s"}))
            .await,
    );
    let (capped_keeper, mut capped_events) = LeaseKeeper::new(s.client_with(&root));
    capped_keeper.keep_token(&capped).unwrap();
    let reason = loop {
        match next(&mut capped_events, Duration::from_secs(5)).await {
            KeeperEvent::Renewed { .. } => {}
            KeeperEvent::RenewalImpossible { reason, .. } => break reason,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(reason, StopReason::MaxTtlReached);
    assert!(matches!(
        next(&mut capped_events, Duration::from_secs(5)).await,
        KeeperEvent::Expired { .. }
    ));

    // A token that is not renewable is reported at once.
    let fixed = auth_of(
        &s.create_token(&root, json!({"ttl": "30s", "renewable": false}))
            .await,
    );
    keeper.keep_token(&fixed).unwrap();
    loop {
        match next(&mut events, Duration::from_secs(5)).await {
            KeeperEvent::RenewalImpossible {
                kept,
                reason,
                remaining,
            } if kept == Kept::Token(fixed.accessor.clone()) => {
                assert_eq!(reason, StopReason::NotRenewable);
                assert!(remaining > Duration::from_secs(25), "{remaining:?}");
                break;
            }
            _ => {}
        }
    }
    keeper.shutdown().await;
    own_keeper.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_keeper_retries_connection_errors_while_time_remains() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let addr = s.running().local_addr();
    let proxy = TcpProxy::start(addr.ip().to_string(), addr.port()).await;
    let client = strongroom_client::Client::builder()
        .address(proxy.url())
        .token(root.as_str())
        .build()
        .unwrap();

    // A 10 s token; the server is unreachable from 1 s to 7.5 s, so the renewal due at
    // ~6.5 s fails and is retried with backoff until it gets through.
    let auth = auth_of(&s.create_token(&root, json!({"ttl": "10s"})).await);
    let (keeper, mut events) = LeaseKeeper::new(client);
    let started = Instant::now();
    keeper.keep_token(&auth).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.set_down(true);
    tokio::time::sleep(Duration::from_millis(6500)).await;
    proxy.set_down(false);
    match next(&mut events, Duration::from_secs(4)).await {
        KeeperEvent::Renewed { ttl, .. } => assert_eq!(ttl, Duration::from_secs(10)),
        other => panic!("{other:?}"),
    }
    let at = started.elapsed();
    assert!(
        at >= Duration::from_millis(7500),
        "renewed only once reachable: {at:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        s.client_with(&auth.client_token)
            .lookup_self()
            .await
            .is_ok(),
        "the token outlived its first TTL"
    );

    // Unreachable until it expires: "renewal kept failing", then "expired".
    proxy.set_down(true);
    let reason = loop {
        match next(&mut events, Duration::from_secs(12)).await {
            KeeperEvent::RenewalImpossible { reason, .. } => break reason,
            KeeperEvent::Renewed { .. } => {}
            other => panic!("{other:?}"),
        }
    };
    assert!(matches!(reason, StopReason::Failing(_)), "{reason:?}");
    assert!(matches!(
        next(&mut events, Duration::from_secs(8)).await,
        KeeperEvent::Expired { .. }
    ));
    keeper.shutdown().await;
}
