//! `strongroom-client` transit calls against a real server: key lifecycle (create, read,
//! list, rotate, config, delete), encrypt/decrypt round trips (single, batch, binary,
//! derived with context), rotate + rewrap, data keys, HMAC, sign/verify (Ed25519 and
//! ECDSA P-256), hash and random.

use strongroom_client::api::{
    CreateKeyOptions, DataKeyKind, MountOptions, SignOptions, TransitKeyConfig, TransitKeyType,
};
use strongroom_client::{Client, ClientError, DecryptItem, EncryptItem};

use crate::harness::TestServer;

fn api_error<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String) {
    match result {
        Err(ClientError::Api { status, errors }) => (status, errors.join("; ")),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A server with transit mounted at `transit/`, and a root client.
async fn transit_server() -> (TestServer, Client) {
    let s = TestServer::start().await;
    let init = s.init_and_unseal(1, 1).await;
    let c = s.client_with(&init.root_token);
    c.enable_mount("transit", "transit", &MountOptions::default())
        .await
        .unwrap();
    (s, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_key_lifecycle() {
    let (_s, c) = transit_server().await;
    assert!(c.transit_list_keys("transit").await.unwrap().is_empty());
    let key = c
        .transit_create_key(
            "transit",
            "orders",
            TransitKeyType::Aes256Gcm96,
            &CreateKeyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(key.name, "orders");
    assert_eq!(key.key_type, TransitKeyType::Aes256Gcm96);
    assert_eq!((key.latest_version, key.min_decryption_version), (1, 1));
    assert!(key.supports_encryption && !key.supports_signing);
    assert!(!key.deletion_allowed);
    assert!(key.public_key(1).is_none());
    for t in [
        TransitKeyType::ChaCha20Poly1305,
        TransitKeyType::Aes128Gcm96,
    ] {
        let k = c
            .transit_create_key("transit", t.as_str(), t, &CreateKeyOptions::default())
            .await
            .unwrap();
        assert_eq!(k.key_type, t);
    }
    assert_eq!(
        c.transit_list_keys("transit").await.unwrap(),
        ["aes128-gcm96", "chacha20-poly1305", "orders"]
    );
    assert_eq!(c.transit_read_key("transit", "orders").await.unwrap(), key);
    let (status, _) = api_error(c.transit_read_key("transit", "missing").await);
    assert_eq!(status, 404);

    let rotated = c.transit_rotate_key("transit", "orders").await.unwrap();
    assert_eq!(rotated.latest_version, 2);
    assert_eq!(rotated.keys.len(), 2);

    // Deletion is refused until allowed.
    let (status, msg) = api_error(c.transit_delete_key("transit", "orders").await);
    assert_eq!(status, 400);
    assert!(msg.contains("deletion is not allowed"), "{msg}");
    let configured = c
        .transit_update_key_config(
            "transit",
            "orders",
            &TransitKeyConfig {
                deletion_allowed: Some(true),
                min_decryption_version: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(configured.deletion_allowed);
    assert_eq!(configured.min_decryption_version, 2);
    assert_eq!(configured.keys.len(), 1);
    let (status, _) = api_error(
        c.transit_update_key_config(
            "transit",
            "orders",
            &TransitKeyConfig {
                min_decryption_version: Some(9),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(status, 400);
    c.transit_delete_key("transit", "orders").await.unwrap();
    assert_eq!(
        c.transit_list_keys("transit").await.unwrap(),
        ["aes128-gcm96", "chacha20-poly1305"]
    );
    // Unknown type names are refused at the edge.
    assert!("rsa-9999".parse::<TransitKeyType>().is_err());
    assert_eq!(
        "ed25519".parse::<TransitKeyType>().unwrap(),
        TransitKeyType::Ed25519
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_encrypt_decrypt_rotate_rewrap_and_batches() {
    let (_s, c) = transit_server().await;
    // Upsert: encrypting with a missing key creates it.
    let plaintext: Vec<u8> = (0u8..=255).collect();
    let ct1 = c
        .transit_encrypt("transit", "app", &plaintext, None)
        .await
        .unwrap();
    assert!(ct1.starts_with("vault:v1:"), "{ct1}");
    assert_eq!(
        *c.transit_decrypt("transit", "app", &ct1, None)
            .await
            .unwrap(),
        plaintext
    );
    let empty = c
        .transit_encrypt("transit", "app", b"", None)
        .await
        .unwrap();
    assert!(c
        .transit_decrypt("transit", "app", &empty, None)
        .await
        .unwrap()
        .is_empty());

    // Rotate, then rewrap v1 → v2 without seeing the plaintext.
    c.transit_rotate_key("transit", "app").await.unwrap();
    let ct2 = c
        .transit_encrypt("transit", "app", b"new", None)
        .await
        .unwrap();
    assert!(ct2.starts_with("vault:v2:"));
    let rewrapped = c
        .transit_rewrap("transit", "app", &ct1, None)
        .await
        .unwrap();
    assert!(rewrapped.starts_with("vault:v2:"), "{rewrapped}");
    assert_eq!(
        *c.transit_decrypt("transit", "app", &rewrapped, None)
            .await
            .unwrap(),
        plaintext
    );
    // After raising the minimum, the old ciphertext no longer decrypts.
    c.transit_update_key_config(
        "transit",
        "app",
        &TransitKeyConfig {
            min_decryption_version: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (status, msg) = api_error(c.transit_decrypt("transit", "app", &ct1, None).await);
    assert_eq!(status, 400);
    assert!(msg.contains("too old"), "{msg}");
    let (status, _) = api_error(c.transit_decrypt("transit", "app", "garbage", None).await);
    assert_eq!(status, 400);

    // Batches: per-item results in order, a bad item does not fail the others.
    let encrypted = c
        .transit_encrypt_batch(
            "transit",
            "app",
            &[
                EncryptItem {
                    plaintext: b"one",
                    context: None,
                },
                EncryptItem {
                    plaintext: b"two",
                    context: None,
                },
            ],
        )
        .await
        .unwrap();
    let cts: Vec<String> = encrypted.into_iter().map(Result::unwrap).collect();
    let decrypted = c
        .transit_decrypt_batch(
            "transit",
            "app",
            &[
                DecryptItem {
                    ciphertext: &cts[1],
                    context: None,
                },
                DecryptItem {
                    ciphertext: "vault:v2:!!!",
                    context: None,
                },
                DecryptItem {
                    ciphertext: &cts[0],
                    context: None,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(decrypted.len(), 3);
    assert_eq!(decrypted[0].as_ref().unwrap().as_slice(), b"two");
    assert!(decrypted[1].is_err(), "{:?}", decrypted[1].as_ref().err());
    assert_eq!(decrypted[2].as_ref().unwrap().as_slice(), b"one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_derived_keys_need_their_context() {
    let (_s, c) = transit_server().await;
    let key = c
        .transit_create_key(
            "transit",
            "tenants",
            TransitKeyType::Aes256Gcm96,
            &CreateKeyOptions {
                derived: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(key.derived);
    let ct = c
        .transit_encrypt("transit", "tenants", b"tenant data", Some(b"tenant-1"))
        .await
        .unwrap();
    assert_eq!(
        c.transit_decrypt("transit", "tenants", &ct, Some(b"tenant-1"))
            .await
            .unwrap()
            .as_slice(),
        b"tenant data"
    );
    let (status, _) = api_error(
        c.transit_decrypt("transit", "tenants", &ct, Some(b"tenant-2"))
            .await,
    );
    assert_eq!(status, 400);
    let (status, _) = api_error(c.transit_encrypt("transit", "tenants", b"x", None).await);
    assert_eq!(status, 400);
    // Rewrap keeps the context.
    c.transit_rotate_key("transit", "tenants").await.unwrap();
    let re = c
        .transit_rewrap("transit", "tenants", &ct, Some(b"tenant-1"))
        .await
        .unwrap();
    assert!(re.starts_with("vault:v2:"));
    assert_eq!(
        c.transit_decrypt("transit", "tenants", &re, Some(b"tenant-1"))
            .await
            .unwrap()
            .as_slice(),
        b"tenant data"
    );
    // Convergent: same plaintext and context, same ciphertext.
    c.transit_create_key(
        "transit",
        "conv",
        TransitKeyType::Aes256Gcm96,
        &CreateKeyOptions {
            derived: true,
            convergent_encryption: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let a = c
        .transit_encrypt("transit", "conv", b"same", Some(b"ctx"))
        .await
        .unwrap();
    let b = c
        .transit_encrypt("transit", "conv", b"same", Some(b"ctx"))
        .await
        .unwrap();
    assert_eq!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_datakeys_hmac_sign_verify_hash_random() {
    let (_s, c) = transit_server().await;
    c.transit_create_key(
        "transit",
        "dk",
        TransitKeyType::Aes256Gcm96,
        &CreateKeyOptions::default(),
    )
    .await
    .unwrap();
    // Data keys: the wrapped form decrypts to the plaintext form.
    let dk = c
        .transit_datakey("transit", "dk", DataKeyKind::Plaintext, None, None)
        .await
        .unwrap();
    let plain = dk.plaintext.as_ref().unwrap();
    assert_eq!(plain.len(), 32);
    assert!(!format!("{dk:?}").contains(&format!("{:?}", plain.as_slice())));
    assert_eq!(
        *c.transit_decrypt("transit", "dk", &dk.ciphertext, None)
            .await
            .unwrap(),
        **plain
    );
    let wrapped = c
        .transit_datakey("transit", "dk", DataKeyKind::Wrapped, Some(512), None)
        .await
        .unwrap();
    assert!(wrapped.plaintext.is_none());
    assert_eq!(wrapped.key_version, 1);
    assert_eq!(
        c.transit_decrypt("transit", "dk", &wrapped.ciphertext, None)
            .await
            .unwrap()
            .len(),
        64
    );
    let (status, _) = api_error(
        c.transit_datakey("transit", "dk", DataKeyKind::Wrapped, Some(100), None)
            .await,
    );
    assert_eq!(status, 400);

    // HMAC with the default and another algorithm; a changed input does not verify.
    let mac = c
        .transit_hmac("transit", "dk", b"message", None)
        .await
        .unwrap();
    assert!(mac.starts_with("vault:v1:"));
    assert!(c
        .transit_verify_hmac("transit", "dk", b"message", &mac, None)
        .await
        .unwrap());
    assert!(!c
        .transit_verify_hmac("transit", "dk", b"messagE", &mac, None)
        .await
        .unwrap());
    let mac512 = c
        .transit_hmac("transit", "dk", b"message", Some("sha2-512"))
        .await
        .unwrap();
    assert_ne!(mac, mac512);
    assert!(c
        .transit_verify_hmac("transit", "dk", b"message", &mac512, Some("sha2-512"))
        .await
        .unwrap());
    let hk = c
        .transit_create_key(
            "transit",
            "hk",
            TransitKeyType::Hmac,
            &CreateKeyOptions {
                key_size: Some(64),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(hk.key_type, TransitKeyType::Hmac);
    let hmac_only = c.transit_hmac("transit", "hk", b"m", None).await.unwrap();
    assert!(c
        .transit_verify_hmac("transit", "hk", b"m", &hmac_only, None)
        .await
        .unwrap());

    // Signatures with both asymmetric types; options must match on verify.
    for t in [TransitKeyType::Ed25519, TransitKeyType::EcdsaP256] {
        let name = format!("sig-{}", t.as_str());
        let key = c
            .transit_create_key("transit", &name, t, &CreateKeyOptions::default())
            .await
            .unwrap();
        assert!(key.supports_signing);
        assert!(key.public_key(1).is_some(), "{t}");
        let opts = SignOptions::default();
        let sig = c
            .transit_sign("transit", &name, b"release-1.2.3", None, &opts)
            .await
            .unwrap();
        assert!(sig.starts_with("vault:v1:"), "{sig}");
        assert!(c
            .transit_verify("transit", &name, b"release-1.2.3", &sig, None, &opts)
            .await
            .unwrap());
        assert!(!c
            .transit_verify("transit", &name, b"release-1.2.4", &sig, None, &opts)
            .await
            .unwrap());
        let (status, _) = api_error(c.transit_encrypt("transit", &name, b"x", None).await);
        assert_eq!(status, 400);
    }
    let jws = SignOptions {
        marshaling_algorithm: Some("jws".into()),
        hash_algorithm: Some("sha2-384".into()),
        ..Default::default()
    };
    let sig = c
        .transit_sign("transit", "sig-ecdsa-p256", b"m", None, &jws)
        .await
        .unwrap();
    assert!(c
        .transit_verify("transit", "sig-ecdsa-p256", b"m", &sig, None, &jws)
        .await
        .unwrap());
    let (status, msg) = api_error(
        c.transit_sign("transit", "dk", b"m", None, &SignOptions::default())
            .await,
    );
    assert_eq!(status, 400);
    assert!(msg.contains("signing"), "{msg}");

    // Hash and random need no key.
    assert_eq!(
        c.transit_hash("transit", b"hello", None).await.unwrap(),
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(
        c.transit_hash("transit", b"hello", Some("sha2-512"))
            .await
            .unwrap()
            .len(),
        128
    );
    let r1 = c.transit_random("transit", 16).await.unwrap();
    let r2 = c.transit_random("transit", 16).await.unwrap();
    assert_eq!((r1.len(), r2.len()), (16, 16));
    assert_ne!(*r1, *r2);
    let (status, _) = api_error(c.transit_random("transit", 0).await);
    assert_eq!(status, 400);
}
