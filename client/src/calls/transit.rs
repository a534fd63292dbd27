//! Typed calls of the transit engine (wire reference §8): key management (create, read,
//! list, rotate, configure, delete) and the data operations (encrypt, decrypt, rewrap,
//! data keys, HMAC, sign/verify, hash, random), single and batch.
//!
//! Binary inputs are taken as bytes and base64-encoded here; plaintexts, data keys and
//! random bytes come back decoded in [`Zeroizing`] buffers. The base64 copies this module
//! holds are zeroized too (the JSON the HTTP layer serialises is not).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::sys::segment;
use super::{body_of, data_of};
use crate::api::{
    CreateKeyOptions, DataKeyKind, Envelope, SignOptions, TransitKey, TransitKeyConfig,
    TransitKeyType,
};
use crate::{Client, ClientError};

/// One item of [`Client::transit_encrypt_batch`].
#[derive(Clone, Copy)]
pub struct EncryptItem<'a> {
    /// The plaintext.
    pub plaintext: &'a [u8],
    /// The derivation context (derived keys only).
    pub context: Option<&'a [u8]>,
}

impl std::fmt::Debug for EncryptItem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptItem")
            .field("plaintext", &"<redacted>")
            .field("context", &self.context.map(|_| "<redacted>"))
            .finish()
    }
}

/// One item of [`Client::transit_decrypt_batch`].
#[derive(Debug, Clone, Copy)]
pub struct DecryptItem<'a> {
    /// The ciphertext (`vault:vN:...`).
    pub ciphertext: &'a str,
    /// The derivation context (derived keys only).
    pub context: Option<&'a [u8]>,
}

/// A new data key from [`Client::transit_datakey`].
pub struct DataKey {
    /// The data key encrypted with the named transit key (`vault:vN:...`): store this.
    pub ciphertext: String,
    /// The transit key version that encrypted it.
    pub key_version: u32,
    /// The data key itself ([`DataKeyKind::Plaintext`] only): use it, never store it.
    pub plaintext: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("ciphertext", &self.ciphertext)
            .field("key_version", &self.key_version)
            .field("plaintext", &self.plaintext.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn b64(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(STANDARD.encode(bytes))
}

fn unb64(what: &str, text: &str) -> Result<Zeroizing<Vec<u8>>, ClientError> {
    STANDARD
        .decode(text.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| ClientError::Decode(format!("{what} is not base64: {e}")))
}

/// Takes string field `field` out of `data`, or a decode error.
fn take_str(data: &mut Map<String, Value>, field: &str) -> Result<String, ClientError> {
    match data.remove(field) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(ClientError::Decode(format!("answer without {field}"))),
    }
}

impl Client {
    /// The path `<mount>/<rest>` of a transit endpoint.
    fn transit_path(&self, mount: &str, rest: &str) -> Result<String, ClientError> {
        Ok(format!("{}/{rest}", segment("transit mount", mount)?))
    }

    /// A data operation answering `data` as a map.
    async fn transit_op(
        &self,
        mount: &str,
        rest: &str,
        body: &Value,
    ) -> Result<Map<String, Value>, ClientError> {
        let path = self.transit_path(mount, rest)?;
        let env: Envelope<Map<String, Value>> =
            self.call_some(Method::POST, &path, Some(body)).await?;
        data_of(env, rest)
    }

    /// A key write or read answering the key description.
    async fn transit_key_call(
        &self,
        method: Method,
        mount: &str,
        rest: &str,
        body: Option<&Value>,
    ) -> Result<TransitKey, ClientError> {
        let path = self.transit_path(mount, rest)?;
        let env: Envelope<TransitKey> = self.call_some(method, &path, body).await?;
        data_of(env, rest)
    }

    /// `POST <mount>/keys/<name>`: creates a key of `key_type` and returns its description.
    /// Creating an existing key leaves it unchanged.
    pub async fn transit_create_key(
        &self,
        mount: &str,
        name: &str,
        key_type: TransitKeyType,
        options: &CreateKeyOptions,
    ) -> Result<TransitKey, ClientError> {
        let name = segment("key name", name)?;
        let mut body = body_of(options, "key options")?;
        body["type"] = json!(key_type.as_str());
        let path = self.transit_path(mount, &format!("keys/{name}"))?;
        // Older servers answer 204 without the description: read it then.
        let answer: Option<Envelope<TransitKey>> =
            self.call(Method::POST, &path, Some(&body)).await?;
        match answer.and_then(|env| env.data) {
            Some(key) => Ok(key),
            None => self.transit_read_key(mount, name).await,
        }
    }

    /// `GET <mount>/keys/<name>`: the key's description (404 when there is none).
    pub async fn transit_read_key(
        &self,
        mount: &str,
        name: &str,
    ) -> Result<TransitKey, ClientError> {
        let name = segment("key name", name)?;
        self.transit_key_call(Method::GET, mount, &format!("keys/{name}"), None)
            .await
    }

    /// `LIST <mount>/keys`: the key names (empty when there are none).
    pub async fn transit_list_keys(&self, mount: &str) -> Result<Vec<String>, ClientError> {
        let path = self.transit_path(mount, "keys")?;
        self.list_keys(&path).await
    }

    /// `POST <mount>/keys/<name>/rotate`: adds a new version, used for encryption from now
    /// on; returns the new description.
    pub async fn transit_rotate_key(
        &self,
        mount: &str,
        name: &str,
    ) -> Result<TransitKey, ClientError> {
        let name = segment("key name", name)?;
        self.transit_key_call(
            Method::POST,
            mount,
            &format!("keys/{name}/rotate"),
            Some(&json!({})),
        )
        .await
    }

    /// `POST <mount>/keys/<name>/config`: changes the settings that are `Some` in `config`.
    pub async fn transit_update_key_config(
        &self,
        mount: &str,
        name: &str,
        config: &TransitKeyConfig,
    ) -> Result<TransitKey, ClientError> {
        let name = segment("key name", name)?;
        let body = body_of(config, "key config")?;
        let path = self.transit_path(mount, &format!("keys/{name}/config"))?;
        let answer: Option<Envelope<TransitKey>> =
            self.call(Method::POST, &path, Some(&body)).await?;
        match answer.and_then(|env| env.data) {
            Some(key) => Ok(key),
            None => self.transit_read_key(mount, name).await,
        }
    }

    /// `DELETE <mount>/keys/<name>`: deletes the key and every version (400 unless its
    /// config has `deletion_allowed`). Ciphertexts made with it can no longer be decrypted.
    pub async fn transit_delete_key(&self, mount: &str, name: &str) -> Result<(), ClientError> {
        let name = segment("key name", name)?;
        let path = self.transit_path(mount, &format!("keys/{name}"))?;
        self.call_unit::<()>(Method::DELETE, &path, None).await
    }

    /// `POST <mount>/encrypt/<key>`: encrypts `plaintext` (with `context` for a derived
    /// key) and returns the ciphertext, `vault:v<version>:<base64>`. A missing key is
    /// created (`aes256-gcm96`, derived when a context is given) if the token may.
    pub async fn transit_encrypt(
        &self,
        mount: &str,
        key: &str,
        plaintext: &[u8],
        context: Option<&[u8]>,
    ) -> Result<String, ClientError> {
        let key = segment("key name", key)?;
        let plaintext = b64(plaintext);
        let mut body = json!({ "plaintext": plaintext.as_str() });
        if let Some(context) = context {
            body["context"] = json!(b64(context).as_str());
        }
        let mut data = self
            .transit_op(mount, &format!("encrypt/{key}"), &body)
            .await?;
        take_str(&mut data, "ciphertext")
    }

    /// `POST <mount>/decrypt/<key>`: the plaintext of `ciphertext`.
    pub async fn transit_decrypt(
        &self,
        mount: &str,
        key: &str,
        ciphertext: &str,
        context: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        let key = segment("key name", key)?;
        let mut body = json!({ "ciphertext": ciphertext });
        if let Some(context) = context {
            body["context"] = json!(b64(context).as_str());
        }
        let mut data = self
            .transit_op(mount, &format!("decrypt/{key}"), &body)
            .await?;
        let text = Zeroizing::new(take_str(&mut data, "plaintext")?);
        unb64("plaintext", &text)
    }

    /// `POST <mount>/rewrap/<key>`: re-encrypts `ciphertext` with the key's latest version
    /// without revealing the plaintext; returns the new ciphertext.
    pub async fn transit_rewrap(
        &self,
        mount: &str,
        key: &str,
        ciphertext: &str,
        context: Option<&[u8]>,
    ) -> Result<String, ClientError> {
        let key = segment("key name", key)?;
        let mut body = json!({ "ciphertext": ciphertext });
        if let Some(context) = context {
            body["context"] = json!(b64(context).as_str());
        }
        let mut data = self
            .transit_op(mount, &format!("rewrap/{key}"), &body)
            .await?;
        take_str(&mut data, "ciphertext")
    }

    /// A batch request: `batch_results` in order, each `Ok(item map)` or `Err(message)`.
    /// A batch with failed items is answered 400 with the normal body, so the status alone
    /// does not decide.
    async fn transit_batch(
        &self,
        mount: &str,
        rest: &str,
        items: Vec<Value>,
        expected: usize,
    ) -> Result<Vec<Result<Map<String, Value>, String>>, ClientError> {
        let path = self.transit_path(mount, rest)?;
        let body = json!({ "batch_input": items });
        let raw = self.raw(Method::POST, &path, Some(&body)).await?;
        let results = raw
            .body
            .get("data")
            .and_then(|d| d.get("batch_results"))
            .and_then(Value::as_array)
            .cloned();
        let Some(results) = results else {
            let errors = serde_json::from_value::<crate::api::ErrorBody>(raw.body)
                .map(|b| b.errors)
                .unwrap_or_default();
            return Err(if raw.status.is_success() {
                ClientError::Decode(format!("{rest} answer without batch_results"))
            } else {
                ClientError::Api {
                    status: raw.status.as_u16(),
                    errors,
                }
            });
        };
        if results.len() != expected {
            return Err(ClientError::Decode(format!(
                "{rest}: {} results for {expected} items",
                results.len()
            )));
        }
        Ok(results
            .into_iter()
            .map(|r| match r {
                Value::Object(mut map) => match map.remove("error") {
                    Some(Value::String(e)) if !e.is_empty() => Err(e),
                    _ => Ok(map),
                },
                _ => Err("malformed batch result".to_string()),
            })
            .collect())
    }

    /// `POST <mount>/encrypt/<key>` with `batch_input`: one ciphertext (or the server's
    /// error message) per item, in order.
    pub async fn transit_encrypt_batch(
        &self,
        mount: &str,
        key: &str,
        items: &[EncryptItem<'_>],
    ) -> Result<Vec<Result<String, String>>, ClientError> {
        let key = segment("key name", key)?;
        let input: Vec<Value> = items
            .iter()
            .map(|item| {
                let mut v = json!({ "plaintext": b64(item.plaintext).as_str() });
                if let Some(context) = item.context {
                    v["context"] = json!(b64(context).as_str());
                }
                v
            })
            .collect();
        let results = self
            .transit_batch(mount, &format!("encrypt/{key}"), input, items.len())
            .await?;
        Ok(results
            .into_iter()
            .map(|r| r.and_then(|mut m| take_str(&mut m, "ciphertext").map_err(|e| e.to_string())))
            .collect())
    }

    /// `POST <mount>/decrypt/<key>` with `batch_input`: one plaintext (or the server's
    /// error message) per item, in order.
    pub async fn transit_decrypt_batch(
        &self,
        mount: &str,
        key: &str,
        items: &[DecryptItem<'_>],
    ) -> Result<Vec<Result<Zeroizing<Vec<u8>>, String>>, ClientError> {
        let key = segment("key name", key)?;
        let input: Vec<Value> = items
            .iter()
            .map(|item| {
                let mut v = json!({ "ciphertext": item.ciphertext });
                if let Some(context) = item.context {
                    v["context"] = json!(b64(context).as_str());
                }
                v
            })
            .collect();
        let results = self
            .transit_batch(mount, &format!("decrypt/{key}"), input, items.len())
            .await?;
        Ok(results
            .into_iter()
            .map(|r| {
                r.and_then(|mut m| {
                    let text =
                        Zeroizing::new(take_str(&mut m, "plaintext").map_err(|e| e.to_string())?);
                    unb64("plaintext", &text).map_err(|e| e.to_string())
                })
            })
            .collect())
    }

    /// `POST <mount>/datakey/<kind>/<key>`: a new random data key of `bits` (128, 256 —
    /// the default — or 512) encrypted with the named key, and with
    /// [`DataKeyKind::Plaintext`] the key itself too.
    pub async fn transit_datakey(
        &self,
        mount: &str,
        key: &str,
        kind: DataKeyKind,
        bits: Option<u32>,
        context: Option<&[u8]>,
    ) -> Result<DataKey, ClientError> {
        let key = segment("key name", key)?;
        let mut body = json!({});
        if let Some(bits) = bits {
            body["bits"] = json!(bits);
        }
        if let Some(context) = context {
            body["context"] = json!(b64(context).as_str());
        }
        let mut data = self
            .transit_op(mount, &format!("datakey/{}/{key}", kind.as_str()), &body)
            .await?;
        let plaintext = match data.remove("plaintext") {
            Some(Value::String(s)) => Some(unb64("data key", &Zeroizing::new(s))?),
            _ => None,
        };
        if kind == DataKeyKind::Plaintext && plaintext.is_none() {
            return Err(ClientError::Decode(
                "datakey answer without plaintext".into(),
            ));
        }
        Ok(DataKey {
            ciphertext: take_str(&mut data, "ciphertext")?,
            key_version: data
                .get("key_version")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            plaintext,
        })
    }

    /// `POST <mount>/hmac/<key>[/<algorithm>]`: the HMAC of `input`
    /// (`vault:v<version>:<base64>`); `algorithm` defaults to `sha2-256`.
    pub async fn transit_hmac(
        &self,
        mount: &str,
        key: &str,
        input: &[u8],
        algorithm: Option<&str>,
    ) -> Result<String, ClientError> {
        let key = segment("key name", key)?;
        let rest = match algorithm {
            Some(a) => format!("hmac/{key}/{}", segment("algorithm", a)?),
            None => format!("hmac/{key}"),
        };
        let body = json!({ "input": b64(input).as_str() });
        let mut data = self.transit_op(mount, &rest, &body).await?;
        take_str(&mut data, "hmac")
    }

    /// `POST <mount>/verify/<key>[/<algorithm>]` with `hmac`: whether `hmac` is the HMAC of
    /// `input` (a mismatch is `Ok(false)`, not an error).
    pub async fn transit_verify_hmac(
        &self,
        mount: &str,
        key: &str,
        input: &[u8],
        hmac: &str,
        algorithm: Option<&str>,
    ) -> Result<bool, ClientError> {
        let key = segment("key name", key)?;
        let rest = match algorithm {
            Some(a) => format!("verify/{key}/{}", segment("algorithm", a)?),
            None => format!("verify/{key}"),
        };
        let body = json!({ "input": b64(input).as_str(), "hmac": hmac });
        let data = self.transit_op(mount, &rest, &body).await?;
        data.get("valid")
            .and_then(Value::as_bool)
            .ok_or_else(|| ClientError::Decode("verify answer without valid".into()))
    }

    /// `POST <mount>/sign/<key>`: the signature of `input` (`vault:v<version>:<base64>`)
    /// with an `ed25519` or `ecdsa-p256` key; `context` for a derived key.
    pub async fn transit_sign(
        &self,
        mount: &str,
        key: &str,
        input: &[u8],
        context: Option<&[u8]>,
        options: &SignOptions,
    ) -> Result<String, ClientError> {
        let key = segment("key name", key)?;
        let mut body = body_of(options, "sign options")?;
        body["input"] = json!(b64(input).as_str());
        if let Some(context) = context {
            body["context"] = json!(b64(context).as_str());
        }
        let mut data = self
            .transit_op(mount, &format!("sign/{key}"), &body)
            .await?;
        take_str(&mut data, "signature")
    }

    /// `POST <mount>/verify/<key>` with `signature`: whether `signature` signs `input`
    /// (a bad signature is `Ok(false)`, not an error). `options` must match the signing
    /// ones (hash, marshaling, prehashed).
    pub async fn transit_verify(
        &self,
        mount: &str,
        key: &str,
        input: &[u8],
        signature: &str,
        context: Option<&[u8]>,
        options: &SignOptions,
    ) -> Result<bool, ClientError> {
        let key = segment("key name", key)?;
        let mut body = body_of(
            &SignOptions {
                key_version: None,
                ..options.clone()
            },
            "verify options",
        )?;
        body["input"] = json!(b64(input).as_str());
        body["signature"] = json!(signature);
        if let Some(context) = context {
            body["context"] = json!(b64(context).as_str());
        }
        let data = self
            .transit_op(mount, &format!("verify/{key}"), &body)
            .await?;
        data.get("valid")
            .and_then(Value::as_bool)
            .ok_or_else(|| ClientError::Decode("verify answer without valid".into()))
    }

    /// `POST <mount>/hash[/<algorithm>]`: the hex digest of `input` (`algorithm` defaults
    /// to `sha2-256`; also `sha2-224`, `sha2-384`, `sha2-512`, ...). Needs no key.
    pub async fn transit_hash(
        &self,
        mount: &str,
        input: &[u8],
        algorithm: Option<&str>,
    ) -> Result<String, ClientError> {
        let rest = match algorithm {
            Some(a) => format!("hash/{}", segment("algorithm", a)?),
            None => "hash".to_string(),
        };
        let body = json!({ "input": b64(input).as_str(), "format": "hex" });
        let mut data = self.transit_op(mount, &rest, &body).await?;
        take_str(&mut data, "sum")
    }

    /// `POST <mount>/random/<bytes>`: `bytes` random bytes from the server.
    pub async fn transit_random(
        &self,
        mount: &str,
        bytes: u32,
    ) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        let body = json!({ "format": "base64" });
        let mut data = self
            .transit_op(mount, &format!("random/{bytes}"), &body)
            .await?;
        let text = Zeroizing::new(take_str(&mut data, "random_bytes")?);
        unb64("random_bytes", &text)
    }
}
