//! Behaviours 14–17 and the policy half of 19: policy CRUD, ACL precedence, create vs
//! update, capabilities-self, and what a non-root token may hand to its children.

use serde_json::{json, Value};

use crate::harness::{client_token, TestServer};

async fn put_policy(s: &TestServer, root: &str, name: &str, text: &str) {
    let a = s
        .call(
            "PUT",
            &format!("/v1/sys/policies/acl/{name}"),
            Some(json!({ "policy": text })),
            Some(root),
        )
        .await;
    assert_eq!(a.status, 204, "{name}: {:?}", a.body);
}

async fn token_with(s: &TestServer, root: &str, policies: &[&str]) -> String {
    client_token(&s.create_token(root, json!({ "policies": policies })).await)
}

async fn mount_kv1(s: &TestServer, root: &str, path: &str) {
    s.mount(root, path, json!({"type": "kv"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_14_policy_crud() {
    let mut s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let root = init.root_token.clone();
    let hcl = "path \"secret/data/app/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n";
    put_policy(&s, &root, "App", hcl).await;
    let json_text = r#"{"path":{"secret/data/j":{"capabilities":["read"]}}}"#;
    put_policy(&s, &root, "j", json_text).await;

    // Names are lower-cased; text reads back verbatim.
    let a = s
        .call("GET", "/v1/sys/policies/acl/app", None, Some(&root))
        .await;
    assert_eq!(a.status, 200);
    let d = &a.body["data"];
    assert_eq!(d["name"], "app");
    assert_eq!(d["policy"], hcl);
    assert_eq!(d["version"], 1);
    assert_eq!(d["cas_required"], false);
    assert!(d["modified"].as_str().unwrap().ends_with('Z'));
    let a = s
        .call("GET", "/v1/sys/policies/acl/j", None, Some(&root))
        .await;
    assert_eq!(a.body["data"]["policy"], json_text);

    // Legacy shapes.
    let a = s.call("GET", "/v1/sys/policy/app", None, Some(&root)).await;
    assert_eq!(a.body["rules"], hcl);
    assert_eq!(a.body["data"]["rules"], hcl);
    let a = s.call("GET", "/v1/sys/policy", None, Some(&root)).await;
    assert_eq!(a.body["keys"], json!(["app", "default", "j", "root"]));
    assert_eq!(a.body["policies"], a.body["keys"]);
    let a = s
        .call("LIST", "/v1/sys/policies/acl", None, Some(&root))
        .await;
    assert_eq!(
        a.body["data"]["keys"],
        json!(["app", "default", "j", "root"])
    );
    // The legacy write takes `policy` as the CLI and hvac send it.
    let a = s
        .call(
            "PUT",
            "/v1/sys/policy/legacy",
            Some(json!({"policy": "path \"a/*\" { capabilities = [\"read\"] }"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);

    // root is virtual; default is the built-in text.
    let a = s
        .call("GET", "/v1/sys/policies/acl/root", None, Some(&root))
        .await;
    assert_eq!(a.body["data"]["policy"], "");
    assert_eq!(a.body["data"]["version"], 0);
    assert!(a.body["data"].get("modified").is_none());
    let a = s
        .call("GET", "/v1/sys/policies/acl/default", None, Some(&root))
        .await;
    assert!(a.body["data"]["policy"]
        .as_str()
        .unwrap()
        .contains("auth/token/lookup-self"));

    // Bad policies: 400 naming the problem; nothing stored.
    for (text, msg) in [
        (
            r#"path "x" { capabilities = ["bogus"] }"#,
            "failed to parse policy: path \"x\": invalid capability \"bogus\"",
        ),
        ("path \"x\" {", "failed to parse policy"),
        (
            r#"{"path":{"x":{"capabilities":"read"}}}"#,
            "failed to parse policy",
        ),
    ] {
        let a = s
            .call(
                "PUT",
                "/v1/sys/policies/acl/bad",
                Some(json!({ "policy": text })),
                Some(&root),
            )
            .await;
        assert_eq!(a.status, 400, "{text}");
        assert!(a.errors()[0].starts_with(msg), "{text}: {:?}", a.errors());
    }
    let a = s
        .call("GET", "/v1/sys/policies/acl/bad", None, Some(&root))
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"errors": []}));

    // Built-ins cannot be deleted; others can, and writes bump the version.
    let a = s
        .call("DELETE", "/v1/sys/policies/acl/root", None, Some(&root))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["cannot delete \"root\" policy"]);
    let a = s
        .call("DELETE", "/v1/sys/policies/acl/default", None, Some(&root))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["cannot delete default policy"]);
    put_policy(&s, &root, "app", hcl).await;
    let a = s
        .call("GET", "/v1/sys/policies/acl/app", None, Some(&root))
        .await;
    assert_eq!(a.body["data"]["version"], 2);
    let a = s
        .call("DELETE", "/v1/sys/policies/acl/app", None, Some(&root))
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call("GET", "/v1/sys/policies/acl/app", None, Some(&root))
        .await;
    assert_eq!(a.status, 404);

    // Policies survive a restart.
    s.restart().await;
    s.unseal_with(&init.keys).await;
    let a = s
        .call("GET", "/v1/sys/policies/acl/j", None, Some(&root))
        .await;
    assert_eq!(a.body["data"]["policy"], json_text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_15_acl_precedence() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    mount_kv1(&s, &root, "kv").await;
    for key in [
        "p/exact",
        "p/other",
        "u/a",
        "zz/plus",
        "zz/yy/plus",
        "d/secret",
        "lst/x",
    ] {
        let a = s
            .call(
                "PUT",
                &format!("/v1/kv/{key}"),
                Some(json!({"v": key})),
                Some(&root),
            )
            .await;
        assert_eq!(a.status, 204);
    }
    put_policy(
        &s,
        &root,
        "a",
        r#"path "kv/p/*" { capabilities = ["read"] }
path "kv/u/*" { capabilities = ["read"] }
path "kv/+/plus" { capabilities = ["read"] }
path "kv/d/*" { capabilities = ["read"] }
path "kv/lst/" { capabilities = ["list"] }"#,
    )
    .await;
    put_policy(
        &s,
        &root,
        "b",
        r#"path "kv/p/exact" { capabilities = ["update"] }
path "kv/u/*" { capabilities = ["update"] }
path "kv/d/secret" { capabilities = ["deny", "read"] }"#,
    )
    .await;
    let t = token_with(&s, &root, &["a", "b"]).await;
    let get = |p: &'static str| {
        let t = t.clone();
        let s = &s;
        async move {
            s.call("GET", &format!("/v1/kv/{p}"), None, Some(&t))
                .await
                .status
        }
    };
    // Exact beats the glob from another policy: no union across patterns.
    assert_eq!(get("p/exact").await, 403);
    assert_eq!(get("p/other").await, 200);
    // The same pattern in two policies is unioned.
    assert_eq!(get("u/a").await, 200);
    let a = s
        .call("PUT", "/v1/kv/u/a", Some(json!({"v": "2"})), Some(&t))
        .await;
    assert_eq!(a.status, 204);
    // `+` is exactly one segment.
    assert_eq!(get("zz/plus").await, 200);
    assert_eq!(get("zz/yy/plus").await, 403);
    // deny wins.
    assert_eq!(get("d/secret").await, 403);
    // LIST is checked against the path with a trailing slash.
    let a = s.call("LIST", "/v1/kv/lst", None, Some(&t)).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"]["keys"], json!(["x"]));
    let a = s
        .call(
            "POST",
            "/v1/sys/capabilities-self",
            Some(json!({"paths": ["kv/p/exact"]})),
            Some(&t),
        )
        .await;
    assert_eq!(a.body["capabilities"], json!(["update"]));

    // Editing a policy takes effect at once (the compiled ACL cache is invalidated).
    put_policy(
        &s,
        &root,
        "b",
        r#"path "kv/zzz" { capabilities = ["read"] }"#,
    )
    .await;
    assert_eq!(get("p/exact").await, 200);
    assert_eq!(get("d/secret").await, 200);
    // A deleted policy grants nothing any more.
    let a = s
        .call("DELETE", "/v1/sys/policies/acl/a", None, Some(&root))
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(get("p/other").await, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_16_create_vs_update() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    mount_kv1(&s, &root, "kv").await;
    for key in ["u/exists", "c/exists"] {
        let a = s
            .call(
                "PUT",
                &format!("/v1/kv/{key}"),
                Some(json!({"v": 1})),
                Some(&root),
            )
            .await;
        assert_eq!(a.status, 204);
    }
    put_policy(
        &s,
        &root,
        "cu",
        r#"path "kv/u/*" { capabilities = ["update", "read"] }
path "kv/c/*" { capabilities = ["create"] }
path "secret/data/v2u/*" { capabilities = ["update"] }"#,
    )
    .await;
    let t = token_with(&s, &root, &["cu"]).await;
    let put = |p: &'static str| {
        let t = t.clone();
        let s = &s;
        async move {
            s.call(
                "PUT",
                &format!("/v1/kv/{p}"),
                Some(json!({"v": 2})),
                Some(&t),
            )
            .await
            .status
        }
    };
    assert_eq!(put("u/new").await, 403);
    assert_eq!(put("u/exists").await, 204);
    assert_eq!(put("c/new2").await, 204);
    assert_eq!(put("c/exists").await, 403);

    // kv v2: the key exists once its metadata does.
    let a = s
        .call(
            "POST",
            "/v1/sys/mounts/secret",
            Some(json!({"type": "kv", "options": {"version": "2"}})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call(
            "POST",
            "/v1/secret/data/v2u/k",
            Some(json!({"data": {"a": 1}})),
            Some(&t),
        )
        .await;
    assert_eq!(a.status, 403, "a new v2 key needs create");
    let a = s
        .call(
            "POST",
            "/v1/secret/data/v2u/k",
            Some(json!({"data": {"a": 1}})),
            Some(&root),
        )
        .await;
    assert_eq!(a.status, 200);
    let a = s
        .call(
            "POST",
            "/v1/secret/data/v2u/k",
            Some(json!({"data": {"a": 2}})),
            Some(&t),
        )
        .await;
    assert_eq!(a.status, 200, "an existing v2 key takes update");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_17_capabilities_self() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    put_policy(&s, &root, "app", r#"path "secret/data/app/*" { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
path "secret/data/app/admin" { capabilities = ["deny"] }
path "sys/seal" { capabilities = ["sudo", "update"] }"#).await;
    let t = token_with(&s, &root, &["app"]).await;
    let a = s
        .call(
            "POST",
            "/v1/sys/capabilities-self",
            Some(json!({"paths": ["secret/data/app/one", "secret/data/app/admin", "nope", "sys/seal"]})),
            Some(&t),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let d = &a.body["data"];
    assert_eq!(
        d["secret/data/app/one"],
        json!(["create", "delete", "list", "patch", "read", "update"])
    );
    assert_eq!(d["secret/data/app/admin"], json!(["deny"]));
    assert_eq!(d["nope"], json!(["deny"]));
    assert_eq!(d["sys/seal"], json!(["sudo", "update"]));
    assert!(d.get("capabilities").is_none());
    assert_eq!(
        a.body["sys/seal"], d["sys/seal"],
        "duplicated at the top level"
    );

    let a = s
        .call(
            "POST",
            "/v1/sys/capabilities-self",
            Some(json!({"path": "secret/data/app/one"})),
            Some(&root),
        )
        .await;
    assert_eq!(a.body["data"]["capabilities"], json!(["root"]));

    // The same answer about another token, by token and by accessor.
    let lookup = s
        .call("GET", "/v1/auth/token/lookup-self", None, Some(&t))
        .await;
    let accessor = lookup.body["data"]["accessor"]
        .as_str()
        .unwrap()
        .to_string();
    let a = s
        .call(
            "POST",
            "/v1/sys/capabilities",
            Some(json!({"token": t, "paths": ["sys/seal"]})),
            Some(&root),
        )
        .await;
    assert_eq!(a.body["data"]["capabilities"], json!(["sudo", "update"]));
    let a = s
        .call(
            "POST",
            "/v1/sys/capabilities-accessor",
            Some(json!({"accessor": accessor, "paths": ["nope"]})),
            Some(&root),
        )
        .await;
    assert_eq!(a.body["data"]["capabilities"], json!(["deny"]));

    // With sudo from its policy, the token can seal.
    let a = s.call("PUT", "/v1/sys/seal", None, Some(&t)).await;
    assert_eq!(a.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_19_non_root_children() {
    let s = TestServer::start().await;
    let root = s.init_and_unseal(1, 1).await.root_token;
    put_policy(
        &s,
        &root,
        "creator",
        r#"path "auth/token/create" { capabilities = ["update"] }
path "auth/token/create-orphan" { capabilities = ["update"] }"#,
    )
    .await;
    put_policy(
        &s,
        &root,
        "app",
        r#"path "secret/*" { capabilities = ["read"] }"#,
    )
    .await;
    let parent = token_with(&s, &root, &["creator", "app"]).await;
    let create = |body: Value| {
        let parent = parent.clone();
        let s = &s;
        async move {
            s.call("POST", "/v1/auth/token/create", Some(body), Some(&parent))
                .await
        }
    };
    let a = create(json!({"policies": ["admin"]})).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["child policies must be subset of parent"]);
    let a = create(json!({"no_parent": true})).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["root or sudo privileges required to create orphan token"]
    );
    let a = create(json!({"period": "15m"})).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.errors(),
        vec!["root or sudo privileges required to create periodic token"]
    );
    // A subset is fine; no policies = the parent's.
    let a = create(json!({"policies": ["app"]})).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["auth"]["policies"], json!(["app", "default"]));
    let a = create(json!({})).await;
    assert_eq!(
        a.body["auth"]["policies"],
        json!(["app", "creator", "default"])
    );
    // create-orphan works with update on that path alone.
    let a = s
        .call(
            "POST",
            "/v1/auth/token/create-orphan",
            Some(json!({"policies": ["app"]})),
            Some(&parent),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["auth"]["orphan"], true);
}
