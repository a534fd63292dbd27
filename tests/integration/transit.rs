//! Behaviours 37–38: the transit engine over HTTP — keys, encrypt/decrypt, rotate and
//! rewrap, min_decryption_version, batches, datakeys, HMAC, signatures, upsert and the
//! create-vs-update ACL check.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::harness::{client_token, Answer, TestServer};

struct Transit {
    s: TestServer,
    root: String,
}

impl Transit {
    async fn new() -> Transit {
        let s = TestServer::start().await;
        let root = s.init_and_unseal(1, 1).await.root_token;
        s.mount(&root, "transit", json!({"type": "transit"})).await;
        Transit { s, root }
    }

    async fn call_as(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.s
            .call(method, &format!("/v1/transit/{path}"), body, Some(token))
            .await
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call_as(&self.root, method, path, body).await
    }

    /// POST that must answer 200; returns `data`.
    async fn ok(&self, path: &str, body: Value) -> Value {
        let a = self.call("POST", path, Some(body)).await;
        assert_eq!(a.status, 200, "{path}: {:?}", a.body);
        a.body["data"].clone()
    }

    /// POST that must answer 400; returns the first error.
    async fn bad(&self, path: &str, body: Value) -> String {
        let a = self.call("POST", path, Some(body)).await;
        assert_eq!(a.status, 400, "{path}: {:?}", a.body);
        a.errors()[0].clone()
    }
}

fn b64(s: &[u8]) -> String {
    STANDARD.encode(s)
}

fn payload_len(ciphertext: &str, version: u32) -> usize {
    let prefix = format!("vault:v{version}:");
    assert!(ciphertext.starts_with(&prefix), "{ciphertext}");
    STANDARD.decode(&ciphertext[prefix.len()..]).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_37_keys_encrypt_rotate_rewrap() {
    let t = Transit::new().await;
    let d = t.ok("keys/k1", json!({})).await;
    assert_eq!(d["type"], "aes256-gcm96");
    assert_eq!(d["latest_version"], 1);

    let a = t.call("GET", "keys/k1", None).await;
    assert_eq!(a.status, 200);
    let d = &a.body["data"];
    for (field, value) in [
        ("name", json!("k1")),
        ("deletion_allowed", json!(false)),
        ("derived", json!(false)),
        ("exportable", json!(false)),
        ("min_decryption_version", json!(1)),
        ("min_encryption_version", json!(0)),
        ("supports_encryption", json!(true)),
        ("supports_signing", json!(false)),
        ("soft_deleted", json!(false)),
        ("imported_key", json!(false)),
    ] {
        assert_eq!(d[field], value, "{field}");
    }
    assert!(d["keys"]["1"].is_u64(), "{d}");

    let a = t.call("LIST", "keys", None).await;
    assert_eq!(a.body["data"]["keys"], json!(["k1"]));
    assert_eq!(t.call("GET", "keys/missing", None).await.status, 404);

    // Round trip; 11 bytes of plaintext → 12 + 11 + 16 bytes.
    let d = t
        .ok("encrypt/k1", json!({"plaintext": b64(b"hello world")}))
        .await;
    assert_eq!(d["key_version"], 1);
    let v1 = d["ciphertext"].as_str().unwrap().to_string();
    assert_eq!(payload_len(&v1, 1), 12 + 11 + 16);
    let d = t.ok("decrypt/k1", json!({"ciphertext": v1})).await;
    assert_eq!(d["plaintext"], b64(b"hello world"));

    // Rotate → v2; rewrap upgrades v1 ciphertexts.
    let d = t.ok("keys/k1/rotate", json!({})).await;
    assert_eq!(d["latest_version"], 2);
    let d = t.ok("encrypt/k1", json!({"plaintext": b64(b"x")})).await;
    assert!(d["ciphertext"].as_str().unwrap().starts_with("vault:v2:"));
    let d = t.ok("rewrap/k1", json!({"ciphertext": v1})).await;
    assert_eq!(d["key_version"], 2);
    let v2 = d["ciphertext"].as_str().unwrap().to_string();
    assert!(v2.starts_with("vault:v2:"));
    let d = t.ok("decrypt/k1", json!({"ciphertext": v2})).await;
    assert_eq!(d["plaintext"], b64(b"hello world"));

    // min_decryption_version rejects v1 and hides it from `keys`.
    let d = t
        .ok("keys/k1/config", json!({"min_decryption_version": 2}))
        .await;
    assert_eq!(d["min_decryption_version"], 2);
    assert!(d["keys"].get("1").is_none());
    assert_eq!(
        t.bad("decrypt/k1", json!({"ciphertext": v1})).await,
        "ciphertext or signature version is disallowed by policy (too old)"
    );

    // Tampered and malformed ciphertexts are 400s.
    let mut raw = STANDARD.decode(&v2["vault:v2:".len()..]).unwrap();
    raw[14] ^= 0x01;
    let tampered = format!("vault:v2:{}", b64(&raw));
    assert_eq!(
        t.bad("decrypt/k1", json!({"ciphertext": tampered})).await,
        "cipher: message authentication failed"
    );
    assert_eq!(
        t.bad("decrypt/k1", json!({"ciphertext": "nope"})).await,
        "invalid ciphertext: no prefix"
    );
    assert_eq!(
        t.bad("decrypt/k1", json!({"ciphertext": "vault:v2:AAAA"}))
            .await,
        "invalid ciphertext length"
    );
    assert_eq!(
        t.bad("encrypt/k1", json!({"plaintext": "aGV!bG8="})).await,
        "illegal base64 data at input byte 3"
    );

    // Batch with one bad item: 400, the normal envelope with batch_results, no errors.
    let a = t
        .call(
            "POST",
            "encrypt/k1",
            Some(json!({"batch_input": [
                {"plaintext": b64(b"a"), "reference": "one"},
                {"plaintext": "!!!", "reference": "two"}
            ]})),
        )
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert!(a.body.get("errors").is_none(), "{:?}", a.body);
    let results = a.body["data"]["batch_results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["reference"], "one");
    assert!(results[0]["ciphertext"]
        .as_str()
        .unwrap()
        .starts_with("vault:v2:"));
    assert_eq!(results[1]["reference"], "two");
    assert_eq!(results[1]["error"], "illegal base64 data at input byte 0");
    // ... unless partial_failure_response_code says otherwise.
    let a = t
        .call(
            "POST",
            "encrypt/k1",
            Some(
                json!({"partial_failure_response_code": 207, "batch_input": [
                    {"plaintext": b64(b"a")}, {"plaintext": "!!!"}
                ]}),
            ),
        )
        .await;
    assert_eq!(a.status, 207);
    // A good batch is a 200.
    let d = t
        .ok(
            "encrypt/k1",
            json!({"batch_input": [{"plaintext": b64(b"a")}, {"plaintext": b64(b"b")}]}),
        )
        .await;
    let ct = d["batch_results"][1]["ciphertext"].clone();
    let d = t
        .ok("decrypt/k1", json!({"batch_input": [{"ciphertext": ct}]}))
        .await;
    assert_eq!(d["batch_results"][0]["plaintext"], b64(b"b"));

    // Delete needs deletion_allowed.
    assert_eq!(
        t.call("DELETE", "keys/k1", None).await.errors(),
        vec!["error deleting policy k1: deletion is not allowed for this key"]
    );
    t.ok("keys/k1/config", json!({"deletion_allowed": true}))
        .await;
    assert_eq!(t.call("DELETE", "keys/k1", None).await.status, 204);
    assert_eq!(t.call("GET", "keys/k1", None).await.status, 404);
    assert_eq!(
        t.bad("decrypt/k1", json!({"ciphertext": v2})).await,
        "encryption key not found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_38_datakey_hmac_sign_verify() {
    let t = Transit::new().await;
    t.ok("keys/aes", json!({})).await;

    // Datakeys: plaintext carries the key, wrapped does not; the ciphertext decrypts to it.
    let d = t.ok("datakey/plaintext/aes", json!({"bits": 512})).await;
    let key = STANDARD.decode(d["plaintext"].as_str().unwrap()).unwrap();
    assert_eq!(key.len(), 64);
    let back = t
        .ok("decrypt/aes", json!({"ciphertext": d["ciphertext"]}))
        .await;
    assert_eq!(back["plaintext"], d["plaintext"]);
    let d = t.ok("datakey/wrapped/aes", json!({})).await;
    assert!(d.get("plaintext").is_none());
    assert_eq!(
        payload_len(d["ciphertext"].as_str().unwrap(), 1),
        12 + 32 + 16
    );
    assert_eq!(
        t.bad("datakey/plaintext/aes", json!({"bits": 100})).await,
        "invalid bit length"
    );

    // HMAC + verify.
    let d = t.ok("hmac/aes", json!({"input": b64(b"data")})).await;
    let mac = d["hmac"].as_str().unwrap().to_string();
    assert_eq!(payload_len(&mac, 1), 32);
    let d = t
        .ok("hmac/aes/sha2-512", json!({"input": b64(b"data")}))
        .await;
    assert_eq!(payload_len(d["hmac"].as_str().unwrap(), 1), 64);
    let d = t
        .ok("verify/aes", json!({"input": b64(b"data"), "hmac": mac}))
        .await;
    assert_eq!(d["valid"], true);
    let d = t
        .ok("verify/aes", json!({"input": b64(b"dAta"), "hmac": mac}))
        .await;
    assert_eq!(d["valid"], false);

    // An AES key cannot sign; an ed25519 key cannot encrypt.
    assert_eq!(
        t.bad("sign/aes", json!({"input": b64(b"m")})).await,
        "key type aes256-gcm96 does not support signing"
    );
    t.ok("keys/ed", json!({"type": "ed25519"})).await;
    assert_eq!(
        t.bad("encrypt/ed", json!({"plaintext": b64(b"m")})).await,
        "message encryption not supported for key type ed25519"
    );

    // Sign/verify: ed25519 and ecdsa-p256 (asn1 and jws); tampered input → valid:false, 200.
    let d = t.call("GET", "keys/ed", None).await.body["data"].clone();
    assert_eq!(d["keys"]["1"]["name"], "ed25519");
    let public = STANDARD
        .decode(d["keys"]["1"]["public_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(public.len(), 32);
    t.ok("keys/ec", json!({"type": "ecdsa-p256"})).await;
    let d = t.call("GET", "keys/ec", None).await.body["data"].clone();
    assert_eq!(d["keys"]["1"]["name"], "P-256");
    assert!(d["keys"]["1"]["public_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    for (name, extra) in [
        ("ed", json!({})),
        ("ec", json!({})),
        ("ec", json!({"marshaling_algorithm": "jws"})),
    ] {
        let mut body = json!({"input": b64(b"message")});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let d = t.ok(&format!("sign/{name}"), body.clone()).await;
        assert_eq!(d["key_version"], 1);
        let sig = d["signature"].as_str().unwrap().to_string();
        assert!(sig.starts_with("vault:v1:"), "{sig}");
        if name == "ed" {
            assert_eq!(payload_len(&sig, 1), 64);
        }
        body["signature"] = json!(sig);
        let d = t.ok(&format!("verify/{name}"), body.clone()).await;
        assert_eq!(d["valid"], true, "{name} {extra}");
        body["input"] = json!(b64(b"messagE"));
        let d = t.ok(&format!("verify/{name}"), body).await;
        assert_eq!(d["valid"], false, "{name} {extra}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsert_needs_create_capability() {
    let t = Transit::new().await;
    // Root: encrypt on a missing key creates an aes256-gcm96 key.
    let d = t.ok("encrypt/auto", json!({"plaintext": b64(b"x")})).await;
    assert!(d["ciphertext"].as_str().unwrap().starts_with("vault:v1:"));
    let a = t.call("GET", "keys/auto", None).await;
    assert_eq!(a.body["data"]["type"], "aes256-gcm96");

    // A token with only `update` on transit/encrypt/* encrypts with an existing key but
    // cannot upsert a new one.
    let a =
        t.s.call(
            "PUT",
            "/v1/sys/policies/acl/enc",
            Some(json!({"policy": "path \"transit/encrypt/*\" { capabilities = [\"update\"] }"})),
            Some(&t.root),
        )
        .await;
    assert_eq!(a.status, 204);
    let token = client_token(
        &t.s.create_token(&t.root, json!({"policies": ["enc"]}))
            .await,
    );
    let a = t
        .call_as(
            &token,
            "POST",
            "encrypt/auto",
            Some(json!({"plaintext": b64(b"x")})),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let a = t
        .call_as(
            &token,
            "POST",
            "encrypt/fresh",
            Some(json!({"plaintext": b64(b"x")})),
        )
        .await;
    assert_eq!(a.status, 403, "{:?}", a.body);
    assert_eq!(t.call("GET", "keys/fresh", None).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_and_random_on_transit_and_sys_tools() {
    let t = Transit::new().await;
    let app = client_token(
        &t.s.create_token(&t.root, json!({"policies": ["default"]}))
            .await,
    );
    let hello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    // sys/tools/hash is in the default policy; sys/tools/random is not.
    let a =
        t.s.call(
            "POST",
            "/v1/sys/tools/hash",
            Some(json!({"input": b64(b"hello")})),
            Some(&app),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["data"]["sum"], hello);
    let a =
        t.s.call(
            "POST",
            "/v1/sys/tools/hash/sha2-512",
            Some(json!({"input": b64(b"hello"), "format": "base64"})),
            Some(&app),
        )
        .await;
    assert_eq!(
        STANDARD
            .decode(a.body["data"]["sum"].as_str().unwrap())
            .unwrap()
            .len(),
        64
    );
    let a =
        t.s.call(
            "POST",
            "/v1/sys/tools/random/16",
            Some(json!({})),
            Some(&app),
        )
        .await;
    assert_eq!(a.status, 403);
    let a =
        t.s.call(
            "POST",
            "/v1/sys/tools/random/16",
            Some(json!({"format": "hex"})),
            Some(&t.root),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["data"]["random_bytes"].as_str().unwrap().len(), 32);

    // The transit mount answers the same.
    let a = t
        .call(
            "POST",
            "hash/sha2-256",
            Some(json!({"input": b64(b"hello")})),
        )
        .await;
    assert_eq!(a.body["data"]["sum"], hello);
    let a = t.call("POST", "random/platform/24", Some(json!({}))).await;
    assert_eq!(
        STANDARD
            .decode(a.body["data"]["random_bytes"].as_str().unwrap())
            .unwrap()
            .len(),
        24
    );
    let a = t
        .call("POST", "hash/md5", Some(json!({"input": b64(b"hello")})))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["unsupported algorithm \"md5\""]);
    let a = t.call("POST", "random", Some(json!({"bytes": 0}))).await;
    assert_eq!(a.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_keys_can_disable_upsert() {
    let t = Transit::new().await;
    let a = t.call("GET", "config/keys", None).await;
    assert_eq!(a.body["data"]["disable_upsert"], false);
    let a = t
        .call("POST", "config/keys", Some(json!({"disable_upsert": true})))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["data"]["disable_upsert"], true);
    let a = t
        .call(
            "POST",
            "encrypt/fresh",
            Some(json!({"plaintext": b64(b"x")})),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.errors(), vec!["encryption key not found"]);
    let a = t.call("GET", "keys/fresh", None).await;
    assert_eq!(a.status, 404);
    // Keys created explicitly still encrypt.
    assert_eq!(
        t.call("POST", "keys/made", Some(json!({}))).await.status,
        200
    );
    let a = t
        .call(
            "POST",
            "encrypt/made",
            Some(json!({"plaintext": b64(b"x")})),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}
