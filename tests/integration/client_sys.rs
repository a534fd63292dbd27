//! `strongroom-client` against a real server: every typed call of the system backend
//! (init, seal/unseal, health, leader, key status, rotate, rekey; mounts and auth methods
//! with tuning; ACL policies and capabilities; audit devices) and of `sys/leases`
//! (lookup, list, renew, revoke, revoke-prefix, revoke-force, tidy) on PostgreSQL
//! credentials, with the server's refusals surfacing as `ClientError::Api`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;
use strongroom_client::api::{
    EnableAuditRequest, MountConfigInput, MountOptions, TuneMountRequest,
};
use strongroom_client::{Client, ClientError};
use strongroom_server::config::{AuditApiConfig, AuditConfig};

use crate::harness::{client_token, postgres_url, TestServer};
use crate::pg::{pg_admin, pg_creds, pg_lease_server, pg_role_exists};

/// The status and messages of an API error (panics on anything else).
fn api_error<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String) {
    match result {
        Err(ClientError::Api { status, errors }) => (status, errors.join("; ")),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// An initialised, unsealed server, a client holding its root token, and the token.
async fn root_client() -> (TestServer, Client, String) {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let client = s.client_with(&init.root_token);
    (s, client, init.root_token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_init_seal_unseal_health_rotate_rekey() {
    let s = TestServer::start().await;
    let c = s.client();
    assert!(!c.init_status().await.unwrap().initialized);
    let (code, health) = c.health().await.unwrap();
    assert_eq!((code, health.initialized), (501, false));

    let init = c.init(3, 2).await.unwrap();
    assert_eq!(init.keys.len(), 3);
    assert!(c.init_status().await.unwrap().initialized);
    let status = c.seal_status().await.unwrap();
    assert!(status.sealed);
    assert_eq!((status.t, status.n, status.progress), (2, 3, 0));
    let (code, _) = c.health().await.unwrap();
    assert_eq!(code, 503);

    // One share, then a reset forgets it; two shares unseal.
    assert_eq!(c.unseal(&init.keys[0]).await.unwrap().progress, 1);
    assert_eq!(c.unseal_reset().await.unwrap().progress, 0);
    c.unseal(&init.keys[1]).await.unwrap();
    assert!(!c.unseal(&init.keys[2]).await.unwrap().sealed);
    let (code, health) = c.health().await.unwrap();
    assert_eq!(code, 200);
    assert!(health.initialized && !health.sealed && !health.standby);
    let leader = c.leader().await.unwrap();
    assert!(!leader.ha_enabled);

    // A bad share is a 400 with the server's message.
    let root = c.with_token(&init.root_token);
    root.seal().await.unwrap();
    let (status, _) = api_error(c.unseal("bm90LWEtc2hhcmU=").await);
    assert_eq!(status, 400);
    s.unseal_with(&init.keys[..2]).await;

    // Key status and rotation need a token.
    let (status, _) = api_error(c.key_status().await);
    assert_eq!(status, 403);
    let before = root.key_status().await.unwrap();
    assert_eq!(before.term, 1);
    root.rotate().await.unwrap();
    assert_eq!(root.key_status().await.unwrap().term, 2);

    // Rekey to 1-of-1 without verification, cancel once, then complete.
    let started = root.rekey_init(2, 2, false).await.unwrap();
    assert!(started.started);
    assert_eq!(root.rekey_status().await.unwrap().nonce, started.nonce);
    root.rekey_cancel().await.unwrap();
    assert!(!root.rekey_status().await.unwrap().started);
    let started = root.rekey_init(1, 1, false).await.unwrap();
    assert_eq!((started.t, started.n), (1, 1));
    let progress = root
        .rekey_update(&init.keys[0], &started.nonce)
        .await
        .unwrap();
    assert_eq!(progress["progress"], 1);
    let done = root
        .rekey_update(&init.keys[1], &started.nonce)
        .await
        .unwrap();
    assert_eq!(done["complete"], true);
    let new_key = done["keys"][0].as_str().unwrap().to_string();
    assert!(!root.rekey_verify_status().await.unwrap().started);
    root.seal().await.unwrap();
    let status = c.unseal(&new_key).await.unwrap();
    assert!(!status.sealed);
    assert_eq!((status.t, status.n), (1, 1));

    // Rekey with verification: the new shares are live only after verify.
    let started = root.rekey_init(1, 1, true).await.unwrap();
    let done = root.rekey_update(&new_key, &started.nonce).await.unwrap();
    let verify_nonce = done["verification_nonce"].as_str().unwrap().to_string();
    let newer = done["keys"][0].as_str().unwrap().to_string();
    assert!(root.rekey_verify_status().await.unwrap().started);
    let verified = root.rekey_verify(&newer, &verify_nonce).await.unwrap();
    assert_eq!(verified["complete"], true);
    root.seal().await.unwrap();
    assert!(!c.unseal(&newer).await.unwrap().sealed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mounts_enable_list_read_tune_disable() {
    let (s, c, _) = root_client().await;
    let options = MountOptions {
        description: "app secrets".into(),
        config: MountConfigInput {
            default_lease_ttl: Some("1h".into()),
            max_lease_ttl: Some("7200".into()),
        },
        options: BTreeMap::from([("version".to_string(), "2".to_string())]),
        local: false,
    };
    c.enable_mount("apps/kv", "kv", &options).await.unwrap();
    let mounts = c.list_mounts().await.unwrap();
    let entry = &mounts["apps/kv/"];
    assert_eq!(entry.mount_type, "kv");
    assert_eq!(entry.description, "app secrets");
    assert_eq!(entry.kv_version(), Some(2));
    assert_eq!(
        (entry.config.default_lease_ttl, entry.config.max_lease_ttl),
        (3600, 7200)
    );
    assert!(entry.accessor.starts_with("kv_"));
    assert!(mounts.contains_key("cubbyhole/"));
    assert_eq!(c.read_mount("/apps/kv/").await.unwrap(), *entry);

    // Path in use and unknown type: the server's messages.
    let (status, msg) = api_error(c.enable_mount("apps/kv", "kv", &options).await);
    assert_eq!(status, 400);
    assert!(msg.contains("path is already in use"), "{msg}");
    let (status, _) = api_error(
        c.enable_mount("nosuch", "nosuch", &MountOptions::default())
            .await,
    );
    assert_eq!(status, 400);
    // Paths that would change the request are refused before sending.
    for bad in ["", "/", "a?b", "a#b", "a/../sys"] {
        assert!(
            matches!(
                c.enable_mount(bad, "kv", &MountOptions::default()).await,
                Err(ClientError::Config(_))
            ),
            "{bad:?}"
        );
    }

    let tune = c.read_mount_tune("apps/kv").await.unwrap();
    assert_eq!((tune.default_lease_ttl, tune.max_lease_ttl), (3600, 7200));
    assert_eq!(tune.description, "app secrets");
    c.tune_mount(
        "apps/kv",
        &TuneMountRequest {
            description: Some("tuned".into()),
            default_lease_ttl: Some("30m".into()),
            max_lease_ttl: Some("2h".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let tune = c.read_mount_tune("apps/kv").await.unwrap();
    assert_eq!((tune.default_lease_ttl, tune.max_lease_ttl), (1800, 7200));
    assert_eq!(tune.description, "tuned");
    assert_eq!(
        tune.options.unwrap().get("version").map(String::as_str),
        Some("2")
    );
    let (status, _) = api_error(
        c.tune_mount(
            "apps/kv",
            &TuneMountRequest {
                default_lease_ttl: Some("bogus".into()),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(status, 400);

    // A KV v1 mount upgraded to v2 by tuning its options.
    c.enable_mount("old", "kv", &MountOptions::default())
        .await
        .unwrap();
    assert_eq!(c.read_mount("old").await.unwrap().kv_version(), Some(1));
    c.tune_mount(
        "old",
        &TuneMountRequest {
            options: BTreeMap::from([("version".to_string(), "2".to_string())]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(c.read_mount("old").await.unwrap().kv_version(), Some(2));

    c.disable_mount("apps/kv").await.unwrap();
    assert!(!c.list_mounts().await.unwrap().contains_key("apps/kv/"));
    let (status, msg) = api_error(c.read_mount("apps/kv").await);
    assert_eq!(status, 400, "{msg}");
    // Disabling what is not mounted is not an error.
    c.disable_mount("apps/kv").await.unwrap();

    // Without a token: 403.
    let anonymous = s.client();
    let (status, _) = api_error(anonymous.list_mounts().await);
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_auth_methods_enable_list_tune_disable() {
    let (s, c, root) = root_client().await;
    c.enable_auth(
        "people",
        "userpass",
        &MountOptions {
            description: "humans".into(),
            config: MountConfigInput {
                default_lease_ttl: Some("20m".into()),
                max_lease_ttl: None,
            },
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let methods = c.list_auth().await.unwrap();
    assert_eq!(methods["people/"].mount_type, "userpass");
    assert_eq!(methods["people/"].description, "humans");
    assert!(methods["people/"].accessor.starts_with("auth_userpass_"));
    assert_eq!(methods["token/"].mount_type, "token");
    assert_eq!(
        c.read_auth_tune("people").await.unwrap().default_lease_ttl,
        1200
    );
    c.tune_auth(
        "people",
        &TuneMountRequest {
            default_lease_ttl: Some("40m".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.read_auth_tune("people").await.unwrap().default_lease_ttl,
        2400
    );

    // A token issued through the method dies with it.
    let a = s
        .call(
            "POST",
            "/v1/auth/people/users/alice",
            Some(json!({"password": "pw-alice-1"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let login = s
        .call(
            "POST",
            "/v1/auth/people/login/alice",
            Some(json!({"password": "pw-alice-1"})),
            None,
        )
        .await;
    let alice = client_token(&login.body);
    s.client_with(&alice).lookup_self().await.unwrap();

    c.disable_auth("people").await.unwrap();
    assert!(!c.list_auth().await.unwrap().contains_key("people/"));
    let (status, _) = api_error(s.client_with(&alice).lookup_self().await);
    assert_eq!(status, 403);
    let (status, msg) = api_error(c.disable_auth("token").await);
    assert_eq!(status, 400);
    assert!(msg.contains("cannot be disabled"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_policies_crud_and_capabilities() {
    let (s, c, root) = root_client().await;
    let text = "path \"secret/app/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n";
    c.write_policy("app-read", text, None).await.unwrap();
    let names = c.list_policies().await.unwrap();
    for name in ["app-read", "default", "root"] {
        assert!(names.contains(&name.to_string()), "{names:?}");
    }
    let policy = c.read_policy("app-read").await.unwrap().unwrap();
    assert_eq!(policy.name, "app-read");
    assert_eq!(policy.policy, text);
    assert_eq!(policy.version, 1);
    assert!(policy.modified.is_some());
    assert!(c.read_policy("nope").await.unwrap().is_none());

    // Check-and-set: the current version passes, a stale one and "-1" do not.
    let (status, _) = api_error(c.write_policy("app-read", text, Some(0)).await);
    assert_eq!(status, 400);
    let (status, _) = api_error(c.write_policy("app-read", text, Some(-1)).await);
    assert_eq!(status, 400);
    c.write_policy("app-read", text, Some(1)).await.unwrap();
    assert_eq!(c.read_policy("app-read").await.unwrap().unwrap().version, 2);

    // Invalid policies: the parser's message.
    let (status, msg) = api_error(c.write_policy("bad", "path \"x\" {", None).await);
    assert_eq!(status, 400);
    assert!(msg.contains("failed to parse policy"), "{msg}");
    let (status, msg) = api_error(
        c.write_policy("bad", "path \"x\" { capabilities = [\"bogus\"] }", None)
            .await,
    );
    assert_eq!(status, 400);
    assert!(msg.contains("bogus"), "{msg}");

    // Capabilities of the root token, and of a token holding the policy.
    let paths = ["secret/app/one", "sys/seal"];
    let mine = c.capabilities_self(&paths).await.unwrap();
    assert_eq!(mine["secret/app/one"], ["root"]);
    let token = client_token(
        &s.call(
            "POST",
            "/v1/auth/token/create",
            Some(json!({"policies": ["app-read"]})),
            Some(&root),
        )
        .await
        .body,
    );
    let theirs = c.capabilities_of_token(&token, &paths).await.unwrap();
    assert_eq!(theirs["secret/app/one"], ["list", "read"]);
    assert_eq!(theirs["sys/seal"], ["deny"]);
    let own = s
        .client_with(&token)
        .capabilities_self(&["secret/app/x"])
        .await
        .unwrap();
    assert_eq!(own["secret/app/x"], ["list", "read"]);

    // Delete: gone, and the token's policy then grants nothing.
    c.delete_policy("app-read").await.unwrap();
    assert!(c.read_policy("app-read").await.unwrap().is_none());
    let theirs = c.capabilities_of_token(&token, &paths).await.unwrap();
    assert_eq!(theirs["secret/app/one"], ["deny"]);
    let (status, _) = api_error(c.delete_policy("root").await);
    assert_eq!(status, 400);
    let (status, _) = api_error(c.delete_policy("default").await);
    assert_eq!(status, 400);
    let root = c.read_policy("root").await.unwrap().unwrap();
    assert_eq!((root.policy.as_str(), root.version), ("", 0));
}

/// A server allowing API-created file audit devices inside `dir`.
async fn audit_server(dir: PathBuf) -> (TestServer, Client) {
    let s = TestServer::start_with(move |c| {
        c.audit = AuditConfig {
            devices: Vec::new(),
            api: AuditApiConfig {
                allow: true,
                file_directory: Some(dir),
                allow_socket: false,
            },
        };
    })
    .await;
    let init = s.init_and_unseal(1, 1).await;
    let c = s.client_with(&init.root_token);
    (s, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_audit_devices_enable_list_hash_disable() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, c) = audit_server(dir.path().to_path_buf()).await;
    assert!(c.list_audit().await.unwrap().is_empty());
    let log = dir.path().join("audit.log");
    let device = EnableAuditRequest {
        device_type: "file".into(),
        description: "main log".into(),
        options: BTreeMap::from([("file_path".to_string(), log.to_str().unwrap().to_string())]),
        local: false,
    };
    c.enable_audit("main", &device).await.unwrap();
    let devices = c.list_audit().await.unwrap();
    let main = &devices["main/"];
    assert_eq!(main.device_type, "file");
    assert_eq!(main.description, "main log");
    assert_eq!(main.options["file_path"], log.to_str().unwrap());

    // The hash of a value is what the file shows for it.
    let hash = c.audit_hash("main", "s3cr3t-value").await.unwrap();
    assert!(hash.starts_with("hmac-sha256:"), "{hash}");
    assert_eq!(hash, c.audit_hash("main", "s3cr3t-value").await.unwrap());
    let policy = "path \"s3cr3t-value\" { capabilities = [\"read\"] }";
    c.write_policy("p", policy, None).await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(&c.audit_hash("main", policy).await.unwrap()));
    assert!(!text.contains("s3cr3t-value"));

    // Outside the allowed directory, and a path in use: refused.
    let mut outside = device.clone();
    outside
        .options
        .insert("file_path".into(), "/tmp/elsewhere.log".into());
    let (status, _) = api_error(c.enable_audit("other", &outside).await);
    assert_eq!(status, 400);
    let (status, _) = api_error(c.enable_audit("main", &device).await);
    assert_eq!(status, 400);

    c.disable_audit("main").await.unwrap();
    assert!(c.list_audit().await.unwrap().is_empty());
    let (status, _) = api_error(c.audit_hash("main", "x").await);
    assert!(status == 400 || status == 404, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_leases_lookup_list_renew_revoke_prefix_force_tidy() {
    let Some(cfg) = postgres_url() else { return };
    let (_s, c, _) = pg_lease_server(&cfg).await;
    let admin = pg_admin(&cfg).await;
    let (lease, user) = pg_creds(&c).await;
    assert!(lease.starts_with("database/creds/app/"), "{lease}");
    assert!(pg_role_exists(&admin, &user).await);

    let info = c.lookup_lease(&lease).await.unwrap();
    assert_eq!(info.id, lease);
    assert_eq!(info.path, "database/creds/app");
    assert!(info.renewable);
    assert!(info.ttl > 3500 && info.ttl <= 3600, "{}", info.ttl);
    assert!(info.last_renewal.is_none());
    let (status, msg) = api_error(c.lookup_lease("database/creds/app/nope").await);
    assert_eq!(status, 400);
    assert!(msg.contains("invalid lease"), "{msg}");

    let renewed = c.renew_lease(&lease, Some(7200)).await.unwrap();
    assert_eq!(renewed.lease_id, lease);
    assert_eq!(renewed.lease_duration, 7200);
    assert!(c.lookup_lease(&lease).await.unwrap().last_renewal.is_some());

    // Listing walks the lease tree.
    let top = c.list_leases("").await.unwrap();
    assert!(top.contains(&"database/".to_string()), "{top:?}");
    assert_eq!(
        c.list_leases("database/creds").await.unwrap(),
        vec!["app/".to_string()]
    );
    let leaf = c.list_leases("database/creds/app/").await.unwrap();
    let suffix = lease.rsplit('/').next().unwrap().to_string();
    assert_eq!(leaf, vec![suffix]);
    assert!(c.list_leases("nothing/here").await.unwrap().is_empty());

    // Revoke one: the role is gone; revoking again is fine.
    c.revoke_lease(&lease).await.unwrap();
    assert!(!pg_role_exists(&admin, &user).await);
    c.revoke_lease(&lease).await.unwrap();
    c.revoke_lease_with(&lease, false).await.unwrap();

    // Revoke by prefix (synchronously): every credential under it.
    let (_, u1) = pg_creds(&c).await;
    let (_, u2) = pg_creds(&c).await;
    c.revoke_prefix("database/creds/app", true).await.unwrap();
    assert!(!pg_role_exists(&admin, &u1).await);
    assert!(!pg_role_exists(&admin, &u2).await);
    assert!(c
        .list_leases("database/creds/app")
        .await
        .unwrap()
        .is_empty());

    // Forced: the entries go (and here the engine revokes fine too).
    let (l3, u3) = pg_creds(&c).await;
    c.revoke_force("database/creds").await.unwrap();
    assert!(!pg_role_exists(&admin, &u3).await);
    let (status, _) = api_error(c.lookup_lease(&l3).await);
    assert_eq!(status, 400);

    c.tidy_leases().await.unwrap();

    // A non-sudo token may not list or revoke by prefix.
    let weak = c
        .call_json(
            strongroom_client::Method::POST,
            "auth/token/create",
            Some(&json!({"policies": ["default"]})),
        )
        .await
        .unwrap()
        .unwrap();
    let weak = c.with_token(client_token(&weak));
    let (status, _) = api_error(weak.list_leases("database/").await);
    assert_eq!(status, 403);
    let (status, _) = api_error(weak.revoke_prefix("database/", true).await);
    assert_eq!(status, 403);
}
