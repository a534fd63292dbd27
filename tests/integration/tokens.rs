//! Behaviours 18–23: token create, lookup, renew, revoke, use limits and expiry.

use serde_json::{json, Value};

use crate::harness::{client_token, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_18_create_by_root() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;

    let body = s
        .create_token(&root, json!({"policies": ["app"], "meta": {"team": "x"}}))
        .await;
    assert_eq!(body["data"], Value::Null);
    let auth = &body["auth"];
    assert!(auth["client_token"].as_str().unwrap().starts_with("hvs."));
    assert_eq!(auth["client_token"].as_str().unwrap().len(), 28);
    assert_eq!(auth["accessor"].as_str().unwrap().len(), 24);
    assert_eq!(auth["policies"], json!(["app", "default"]));
    assert_eq!(auth["token_policies"], json!(["app", "default"]));
    assert_eq!(auth["metadata"], json!({"team": "x"}));
    assert_eq!(auth["lease_duration"], 2_764_800);
    assert_eq!(auth["renewable"], true);
    assert_eq!(auth["orphan"], false);
    assert_eq!(auth["entity_id"], "");
    assert_eq!(auth["token_type"], "service");
    assert_eq!(auth["num_uses"], 0);

    // ttl above the max: capped with Vault's warning.
    let body = s.create_token(&root, json!({"ttl": "9999h"})).await;
    assert_eq!(body["auth"]["lease_duration"], 2_764_800);
    assert_eq!(
        body["warnings"],
        json!([
            "TTL of \"9999h\" exceeded the effective max_ttl of \"768h\"; TTL value is capped accordingly"
        ])
    );

    // A root child never expires.
    let body = s.create_token(&root, json!({"policies": ["root"]})).await;
    assert_eq!(body["auth"]["lease_duration"], 0);
    assert_eq!(body["auth"]["renewable"], false);
    assert_eq!(body["auth"]["policies"], json!(["root"]));

    // The CLI's body shape.
    let body = s
        .create_token(
            &root,
            json!({"policies":["p3"],"ttl":"1h0m0s","explicit_max_ttl":"0s","period":"0s",
               "display_name":"","num_uses":0,"renewable":true,"type":"service","entity_alias":""}),
        )
        .await;
    assert_eq!(body["auth"]["lease_duration"], 3600);

    // Bad input: 400 naming the problem, nothing created.
    for (bad, msg) in [
        (json!({"ttl": "forever"}), "invalid ttl"),
        (json!({"num_uses": -1}), "num_uses"),
        (json!({"type": "batch"}), "batch tokens are not supported"),
        (json!({"meta": {"a": 1}}), "meta"),
    ] {
        let a = s
            .call(
                "POST",
                "/v1/auth/token/create",
                Some(bad.clone()),
                Some(&root),
            )
            .await;
        assert_eq!(a.status, 400, "{bad}");
        assert!(a.errors()[0].contains(msg), "{bad}: {:?}", a.errors());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_19_child_tokens() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    // A token with only `default` cannot create tokens at all (the 400s for a parent
    // that may create are in policies.rs).
    let parent = client_token(
        &s.create_token(&root, json!({"policies": ["default"]}))
            .await,
    );
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(json!({})),
            Some(&parent),
        )
        .await;
    assert_eq!(a.status, 403);

    // A child dies with its parent; an orphan does not.
    let mid = client_token(
        &s.create_token(&root, json!({"policies": ["root"], "ttl": "1h"}))
            .await,
    );
    let child = client_token(&s.create_token(&mid, json!({"policies": ["default"]})).await);
    let orphan = s
        .call(
            "POST",
            "/v1/auth/token/create-orphan",
            Some(json!({"policies": ["default"]})),
            Some(&mid),
        )
        .await;
    assert_eq!(orphan.status, 200);
    assert_eq!(orphan.body["auth"]["orphan"], true);
    let orphan = client_token(&orphan.body);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&child))
        .await;
    assert_eq!(a.body["data"]["orphan"], false);
    assert_eq!(a.body["data"]["path"], "auth/token/create");

    let a = s
        .call(
            "POST",
            "/v1/auth/token/revoke",
            Some(json!({"token": mid})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    for (t, alive) in [(&mid, false), (&child, false), (&orphan, true)] {
        let a = s
            .call("GET", "/v1/auth/token/lookup-self", None, Some(t))
            .await;
        assert_eq!(a.status == 200, alive, "{:?}", a.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_20_lookup_shapes() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let body = s.create_token(
        &root,
        json!({"policies": ["app"], "ttl": "1h", "display_name": "apptest", "meta": {"team": "x"}}),
    )
    .await;
    let token = client_token(&body);
    let accessor = body["auth"]["accessor"].as_str().unwrap().to_string();

    let by_token = s
        .call(
            "POST",
            "/v1/auth/token/lookup",
            Some(json!({"token": token})),
            Some(&root),
        )
        .await;
    assert_eq!(by_token.status, 200);
    let d = &by_token.body["data"];
    assert_eq!(d["id"], token.as_str());
    assert_eq!(d["accessor"], accessor.as_str());
    assert!(d["creation_time"].is_i64());
    assert_eq!(d["creation_ttl"], 3600);
    assert_eq!(d["display_name"], "token-apptest");
    assert_eq!(d["entity_id"], "");
    assert!(d["expire_time"].as_str().unwrap().contains('T'));
    assert!(d["issue_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(d["meta"], json!({"team": "x"}));
    assert_eq!(d["num_uses"], 0);
    assert_eq!(d["orphan"], false);
    assert_eq!(d["path"], "auth/token/create");
    assert_eq!(d["policies"], json!(["app", "default"]));
    assert_eq!(d["renewable"], true);
    let ttl = d["ttl"].as_u64().unwrap();
    assert!((3590..=3600).contains(&ttl), "{ttl}");
    assert_eq!(d["type"], "service");
    assert_eq!(d["explicit_max_ttl"], 0);

    let self_view = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(self_view.body["data"]["accessor"], accessor.as_str());

    let by_accessor = s
        .call(
            "POST",
            "/v1/auth/token/lookup-accessor",
            Some(json!({"accessor": accessor})),
            Some(&root),
        )
        .await;
    assert_eq!(by_accessor.status, 200);
    assert_eq!(by_accessor.body["data"]["id"], "");
    assert_eq!(by_accessor.body["data"]["display_name"], "token-apptest");

    // Empty token: the caller.
    let a = s
        .call(
            "POST",
            "/v1/auth/token/lookup",
            Some(json!({"token": ""})),
            Some(&root),
        )
        .await;
    assert_eq!(a.body["data"]["id"], root.as_str());
    assert_eq!(a.body["data"]["expire_time"], Value::Null);

    let a = s
        .call(
            "POST",
            "/v1/auth/token/lookup",
            Some(json!({"token": "hvs.unknownunknownunknown1"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(a.errors(), vec!["bad token"]);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/lookup-accessor",
            Some(json!({})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["missing accessor"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_21_renew() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let token = client_token(
        &s.create_token(&root, json!({"policies": ["default"], "ttl": "1h"}))
            .await,
    );

    let a = s
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(json!({"increment": "2h"})),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["auth"]["lease_duration"], 7200);
    assert_eq!(a.body["auth"]["client_token"], token.as_str());
    // Shortening is allowed: the increment counts from now.
    let a = s
        .call(
            "POST",
            "/v1/auth/token/renew",
            Some(json!({"token": token, "increment": 60})),
            Some(&root),
        )
        .await;
    assert_eq!(a.body["auth"]["lease_duration"], 60);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&token))
        .await;
    assert!(a.body["data"]["ttl"].as_u64().unwrap() <= 60);
    assert!(a.body["data"]["last_renewal_time"].is_i64());

    // explicit_max_ttl caps, with a warning.
    let capped = client_token(
        &s.create_token(&root, json!({"ttl": "10m", "explicit_max_ttl": "20m"}))
            .await,
    );
    let a = s
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(json!({"increment": "1h"})),
            Some(&capped),
        )
        .await;
    let ttl = a.body["auth"]["lease_duration"].as_u64().unwrap();
    assert!((1190..=1200).contains(&ttl), "{ttl}");
    assert!(a.body["warnings"][0]
        .as_str()
        .unwrap()
        .contains("exceeded the effective max_ttl"));

    // Periodic tokens get their period back, whatever the increment.
    let periodic = s.create_token(&root, json!({"period": "15m"})).await;
    assert_eq!(periodic["auth"]["lease_duration"], 900);
    let periodic = client_token(&periodic);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(json!({"increment": "5s"})),
            Some(&periodic),
        )
        .await;
    assert_eq!(a.body["auth"]["lease_duration"], 900);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&periodic))
        .await;
    assert_eq!(a.body["data"]["period"], 900);

    let fixed = client_token(&s.create_token(&root, json!({"renewable": false})).await);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(json!({})),
            Some(&fixed),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["lease is not renewable"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_22_revoke_family() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;

    // revoke-orphan: the parent goes, the children stay, now orphans.
    let parent = client_token(
        &s.create_token(&root, json!({"policies": ["root"], "ttl": "1h"}))
            .await,
    );
    let child = client_token(
        &s.create_token(&parent, json!({"policies": ["default"]}))
            .await,
    );
    let a = s
        .call(
            "POST",
            "/v1/auth/token/revoke-orphan",
            Some(json!({"token": parent})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&parent))
        .await;
    assert_eq!(a.status, 403);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&child))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["orphan"], true);

    // revoke-self, then the token is gone; its cubbyhole with it.
    let a = s
        .call(
            "POST",
            "/v1/cubbyhole/note",
            Some(json!({"v": "private"})),
            Some(&child),
        )
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call("POST", "/v1/auth/token/revoke-self", None, Some(&child))
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&child))
        .await;
    assert_eq!(a.status, 403);

    // Unknown token: 204. Unknown accessor: 200 with a warning.
    let a = s
        .call(
            "POST",
            "/v1/auth/token/revoke",
            Some(json!({"token": "hvs.nosuchtokennosuchtoken1"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/revoke-accessor",
            Some(json!({"accessor": "nosuchaccessornosuchacce"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body["warnings"],
        json!(["No token found with this accessor"])
    );

    // revoke-accessor of a real one.
    let body = s.create_token(&root, json!({})).await;
    let accessor = body["auth"]["accessor"].as_str().unwrap();
    let a = s
        .call("LIST", "/v1/auth/token/accessors", None, Some(&root))
        .await;
    assert_eq!(a.status, 200);
    assert!(a.body["data"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k == accessor));
    let a = s
        .call(
            "POST",
            "/v1/auth/token/revoke-accessor",
            Some(json!({"accessor": accessor})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call(
            "GET",
            "/v1/auth/token/lookup-self",
            None,
            Some(&client_token(&body)),
        )
        .await;
    assert_eq!(a.status, 403);

    // Sudo paths refuse a non-root token.
    let plain = client_token(
        &s.create_token(&root, json!({"policies": ["default"]}))
            .await,
    );
    let a = s
        .call("LIST", "/v1/auth/token/accessors", None, Some(&plain))
        .await;
    assert_eq!(a.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cubbyhole_dies_with_its_token() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let token = client_token(
        &s.create_token(&root, json!({"policies": ["default"]}))
            .await,
    );
    let a = s
        .call(
            "POST",
            "/v1/cubbyhole/a/b",
            Some(json!({"v": "1"})),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, 204);
    let a = s.call("LIST", "/v1/cubbyhole/", None, Some(&token)).await;
    assert_eq!(a.body["data"]["keys"], json!(["a/"]));
    // The token's cubbyhole is a subtree of the cubbyhole mount's storage.
    let barrier = s.running().core().barrier().clone();
    let mount = s
        .running()
        .core()
        .unsealed()
        .unwrap()
        .mounts
        .resolve("cubbyhole/")
        .unwrap();
    let prefix = mount.entry.data_prefix();
    assert_eq!(barrier.list(&prefix).await.unwrap().len(), 1);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/revoke",
            Some(json!({"token": token})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    assert!(
        barrier.list(&prefix).await.unwrap().is_empty(),
        "the revoked token's cubbyhole is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_23_use_limits_and_expiry() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let body = s
        .create_token(&root, json!({"policies": ["default"], "num_uses": 2}))
        .await;
    assert_eq!(body["auth"]["num_uses"], 2);
    let token = client_token(&body);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["num_uses"], 1);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(a.status, 200, "the last use still works");
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(a.status, 403);

    let short = client_token(&s.create_token(&root, json!({"ttl": "2s"})).await);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&short))
        .await;
    assert_eq!(a.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&short))
        .await;
    assert_eq!(a.status, 403);

    // Concurrent uses never exceed the limit.
    let token = client_token(&s.create_token(&root, json!({"num_uses": 5})).await);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let req = s
            .http()
            .get(format!("{}/v1/auth/token/lookup-self", s.url()))
            .header("X-Vault-Token", token.clone());
        calls.spawn(async move { req.send().await.unwrap().status().as_u16() });
    }
    let mut ok = 0;
    while let Some(status) = calls.join_next().await {
        ok += usize::from(status.unwrap() == 200);
    }
    assert_eq!(ok, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_24_token_roles() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let a = s
        .call("LIST", "/v1/auth/token/roles", None, Some(&root))
        .await;
    assert_eq!(a.status, 404);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/roles/web",
            Some(
                json!({"allowed_policies": ["app"], "orphan": true, "token_period": "1h",
                        "path_suffix": "v1x"}),
            ),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    let a = s
        .call("GET", "/v1/auth/token/roles/web", None, Some(&root))
        .await;
    let d = &a.body["data"];
    assert_eq!(d["name"], "web");
    assert_eq!(d["allowed_policies"], json!(["app"]));
    assert_eq!(d["allowed_policies_glob"], json!([]));
    assert_eq!(d["disallowed_policies"], json!([]));
    assert_eq!(d["orphan"], true);
    assert_eq!(d["renewable"], true);
    assert_eq!(d["path_suffix"], "v1x");
    assert_eq!(d["token_period"], 3600);
    assert_eq!(d["period"], 3600);
    assert_eq!(d["token_type"], "default-service");
    assert_eq!(d["allowed_entity_aliases"], Value::Null);
    let a = s
        .call("LIST", "/v1/auth/token/roles", None, Some(&root))
        .await;
    assert_eq!(a.body["data"]["keys"], json!(["web"]));

    // create/web applies the role: orphan, period, path, allowed policies.
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create/web",
            Some(json!({})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["auth"]["policies"], json!(["app", "default"]));
    assert_eq!(a.body["auth"]["orphan"], true);
    assert_eq!(a.body["auth"]["lease_duration"], 3600);
    let token = client_token(&a.body);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(a.body["data"]["path"], "auth/token/create/web/v1x");
    assert_eq!(a.body["data"]["period"], 3600);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create/web",
            Some(json!({"policies": ["admin"]})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["token policies ([\"admin\" \"default\"]) must be subset of the role's allowed policies ([\"app\" \"default\"]) or glob policies ([])"]
    );
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create/nope",
            Some(json!({})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["unknown role nope"]);
    // role_name in the body of auth/token/create is ignored, with a warning.
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(json!({"role_name": "web"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["auth"]["orphan"], false);
    assert_eq!(
        a.body["warnings"],
        json!(["Endpoint ignored these unrecognized parameters: [role_name]"])
    );
    let a = s
        .call(
            "POST",
            "/v1/auth/token/roles/bad",
            Some(json!({"path_suffix": "-x"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 400);
    let a = s
        .call("DELETE", "/v1/auth/token/roles/web", None, Some(&root))
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call("GET", "/v1/auth/token/roles/web", None, Some(&root))
        .await;
    assert_eq!(a.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_tidied_with_their_cubbyholes() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    let body = s
        .create_token(&root, json!({"policies": ["default"], "ttl": "1s"}))
        .await;
    let token = client_token(&body);
    let accessor = body["auth"]["accessor"].as_str().unwrap().to_string();
    let a = s
        .call(
            "POST",
            "/v1/cubbyhole/k",
            Some(json!({"v": "1"})),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, 204);
    // A second short token renewed before it expires must survive the tidy.
    let renewed = client_token(
        &s.create_token(&root, json!({"policies": ["default"], "ttl": "1s"}))
            .await,
    );
    let a = s
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(json!({"increment": "1h"})),
            Some(&renewed),
        )
        .await;
    assert_eq!(a.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let core = s.running().core().clone();
    assert_eq!(core.tidy_tokens().await.unwrap(), 1);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/lookup-accessor",
            Some(json!({"accessor": accessor})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 400, "the entry is gone");
    let mount = core
        .unsealed()
        .unwrap()
        .mounts
        .resolve("cubbyhole/")
        .unwrap();
    let left = core
        .barrier()
        .list(&mount.entry.data_prefix())
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(core.tidy_tokens().await.unwrap(), 0);
    let a = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&renewed))
        .await;
    assert_eq!(a.status, 200, "the renewed token lives on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_root_makes_root() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    // A sudo-holding, non-root token may create orphans, but not root tokens.
    let a = s
        .call(
            "PUT",
            "/v1/sys/policies/acl/creator",
            Some(json!({"policy": "path \"auth/token/create\" { capabilities = [\"update\", \"sudo\"] }"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    let sudo = client_token(
        &s.create_token(&root, json!({"policies": ["creator"]}))
            .await,
    );
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(json!({"policies": ["root"]})),
            Some(&sudo),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["root tokens may only be created by a root token"]
    );
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create",
            Some(json!({"policies": ["anything"], "no_parent": true})),
            Some(&sudo),
        )
        .await;
    assert_eq!(a.status, 200, "sudo allows orphans and other policies");
    // Nor through a role that allows `root`.
    let a = s
        .call(
            "POST",
            "/v1/auth/token/roles/r",
            Some(json!({"allowed_policies": ["root"]})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create/r",
            Some(json!({"policies": ["root"]})),
            Some(&sudo),
        )
        .await;
    assert_eq!(a.status, 403, "no access to create/r");
    // Unknown policies are accepted with Vault's warning.
    let body = s
        .create_token(&root, json!({"policies": ["nonexist"]}))
        .await;
    assert_eq!(
        body["warnings"],
        json!(["Policy \"nonexist\" does not exist"])
    );
    // A created token cannot be renewed past the system max TTL from issue.
    let t = client_token(&s.create_token(&root, json!({"ttl": "1h"})).await);
    let a = s
        .call(
            "POST",
            "/v1/auth/token/renew-self",
            Some(json!({"increment": "10000h"})),
            Some(&t),
        )
        .await;
    let ttl = a.body["auth"]["lease_duration"].as_u64().unwrap();
    assert!(ttl <= 768 * 3600, "{ttl}");
}
