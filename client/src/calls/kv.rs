//! Typed calls of the KV engine (v1 and v2), the mount preflight that tells them
//! apart (`sys/internal/ui/mounts/:path`, as the `bao` CLI does) and the generic
//! [`Client::list`] every engine's folders answer.
//!
//! KV calls take the mount (`secret`, `secret/`) and the secret's path inside it
//! (`app/db`) separately, so they never have to guess where the mount ends. "Nothing
//! here" is `Ok(None)` (or an empty list) for reads and lists; every other refusal is a
//! [`ClientError::Api`] with the server's status and messages (a failed check-and-set is
//! a 400, a patch of a missing key a 404).

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{data_of, keys_of, list_method};
use crate::api::{
    Envelope, ErrorBody, KvConfig, KvMetadata, KvMetadataUpdate, KvV2Secret, KvVersionMetadata,
    MountEntry,
};
use crate::{Client, ClientError};

/// A secret as read from any engine: the envelope with its `data` fields. For KV v2
/// reads through [`Client::read_secret`], `data` holds the secret's own fields (the
/// version metadata is left out).
pub type Secret = Envelope<Map<String, Value>>;

impl Client {
    /// `GET sys/internal/ui/mounts/<path>`: the mount serving `path`, with its `path`
    /// (trailing slash included) and type. 403 when the token can see nothing there.
    pub async fn mount_info(&self, path: &str) -> Result<MountEntry, ClientError> {
        let env: Envelope<MountEntry> = self
            .call_some::<(), _>(
                Method::GET,
                &format!("sys/internal/ui/mounts/{}", path.trim_start_matches('/')),
                None,
            )
            .await?;
        data_of(env, "mount preflight")
    }

    /// Reads the secret at a logical `path` of any engine, `None` when there is nothing
    /// there (404). On a KV v2 mount, `secret/app` is read as `secret/data/app` and the
    /// secret's fields are returned as `data`; everything else is read as it is (a
    /// `database/creds/app` read issues a credential with a lease).
    pub async fn read_secret(&self, path: &str) -> Result<Option<Secret>, ClientError> {
        let path = path.trim_start_matches('/');
        let mount = self.mount_info(path).await?;
        let read_path = match (mount.kv_version(), mount.path.as_deref()) {
            (Some(2), Some(prefix)) => {
                let rest = path
                    .strip_prefix(prefix)
                    .or_else(|| path.strip_prefix(prefix.trim_end_matches('/')))
                    .unwrap_or(path)
                    .trim_start_matches('/');
                Some(format!("{prefix}data/{rest}"))
            }
            _ => None,
        };
        let answer: Result<Option<Secret>, ClientError> = self
            .call::<(), _>(Method::GET, read_path.as_deref().unwrap_or(path), None)
            .await;
        let secret = match answer {
            Ok(secret) => secret,
            Err(ClientError::Api { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(match (read_path, secret) {
            (Some(_), Some(mut secret)) => {
                let inner = secret
                    .data
                    .as_mut()
                    .and_then(|d| d.remove("data"))
                    .and_then(|v| match v {
                        Value::Object(map) => Some(map),
                        _ => None,
                    });
                // A deleted or destroyed version reads as `data: null`: `None`.
                inner.map(|fields| Envelope {
                    data: Some(fields),
                    ..secret
                })
            }
            (_, secret) => secret,
        })
    }
}

/// A secret's path with the characters that would otherwise end the URL path (`?`, `#`)
/// or start an escape (`%`) percent-encoded, so any key name a LIST returns can be
/// read and written back. (The server decodes the path.)
fn escape(path: &str) -> String {
    path.trim_start_matches('/')
        .replace('%', "%25")
        .replace('#', "%23")
        .replace('?', "%3F")
}

/// `<mount>/<path>` with exactly one `/` between them (`path` may be empty).
fn kv1_path(mount: &str, path: &str) -> String {
    format!("{}/{}", mount.trim_matches('/'), escape(path))
}

/// `<mount>/<endpoint>/<path>` of a KV v2 mount.
fn kv2_path(mount: &str, endpoint: &str, path: &str) -> String {
    format!("{}/{endpoint}/{}", mount.trim_matches('/'), escape(path))
}

/// `Ok(None)` for a 404, the value otherwise.
fn none_if_404<T>(answer: Result<Option<T>, ClientError>) -> Result<Option<T>, ClientError> {
    match answer {
        Err(ClientError::Api { status: 404, .. }) => Ok(None),
        other => other,
    }
}

#[derive(Serialize)]
struct Versions<'a> {
    versions: &'a [u64],
}

impl Client {
    /// `LIST <path>`: the names under a folder of any engine or auth method, sub-folders
    /// ending in `/`. An empty or missing folder (404) is an empty list.
    pub async fn list(&self, path: &str) -> Result<Vec<String>, ClientError> {
        let path = format!("{}/", path.trim_matches('/'));
        keys_of(self.call::<(), _>(list_method()?, &path, None).await)
    }

    /// KV v1 `GET <mount>/<path>`: the secret, `None` when there is none.
    pub async fn kv1_read(&self, mount: &str, path: &str) -> Result<Option<Secret>, ClientError> {
        none_if_404(
            self.call::<(), _>(Method::GET, &kv1_path(mount, path), None)
                .await,
        )
    }

    /// KV v1 `POST <mount>/<path>`: replaces the secret with `data` (which must not be
    /// empty: the server refuses that with a 400).
    pub async fn kv1_write(
        &self,
        mount: &str,
        path: &str,
        data: &Map<String, Value>,
    ) -> Result<(), ClientError> {
        self.call_unit(Method::POST, &kv1_path(mount, path), Some(data))
            .await
    }

    /// KV v1 `DELETE <mount>/<path>` (succeeds when there was nothing to delete).
    pub async fn kv1_delete(&self, mount: &str, path: &str) -> Result<(), ClientError> {
        self.call_unit::<()>(Method::DELETE, &kv1_path(mount, path), None)
            .await
    }

    /// KV v1 `LIST <mount>/<path>`: the names in a folder (`""` = the mount's root),
    /// sub-folders ending in `/`; empty when there are none.
    pub async fn kv1_list(&self, mount: &str, path: &str) -> Result<Vec<String>, ClientError> {
        self.list(&kv1_path(mount, path)).await
    }

    /// KV v2 `GET <mount>/data/<path>[?version=N]` (`None` or `Some(0)` = the latest):
    /// the envelope whose `data` holds the version's fields and metadata. `Ok(None)` when
    /// the key or the version does not exist. A deleted or destroyed version is
    /// `Some`, with `data.data == None` and its metadata telling which.
    pub async fn kv2_read(
        &self,
        mount: &str,
        path: &str,
        version: Option<u64>,
    ) -> Result<Option<Envelope<KvV2Secret>>, ClientError> {
        let mut url = kv2_path(mount, "data", path);
        if let Some(v) = version.filter(|v| *v > 0) {
            url.push_str(&format!("?version={v}"));
        }
        let raw = self.raw(Method::GET, &url, None).await?;
        let deleted = raw.status.as_u16() == 404
            && raw
                .body
                .pointer("/data/metadata")
                .is_some_and(Value::is_object);
        if raw.status.is_success() || deleted {
            return serde_json::from_value(raw.body)
                .map(Some)
                .map_err(|e| ClientError::Decode(e.to_string()));
        }
        if raw.status.as_u16() == 404 {
            return Ok(None);
        }
        let errors = serde_json::from_value::<ErrorBody>(raw.body)
            .map(|b| b.errors)
            .unwrap_or_default();
        Err(ClientError::Api {
            status: raw.status.as_u16(),
            errors,
        })
    }

    /// KV v2 `POST <mount>/data/<path>`: writes `data` as a new version. With `cas`,
    /// only if the current version is `cas` (0 = only if the key does not exist yet);
    /// a mismatch is a 400. Returns the new version's metadata.
    pub async fn kv2_write(
        &self,
        mount: &str,
        path: &str,
        data: &Map<String, Value>,
        cas: Option<u64>,
    ) -> Result<KvVersionMetadata, ClientError> {
        let options = match cas {
            Some(cas) => json!({ "cas": cas }),
            None => json!({}),
        };
        let body = json!({ "data": data, "options": options });
        let env: Envelope<KvVersionMetadata> = self
            .call_some(Method::POST, &kv2_path(mount, "data", path), Some(&body))
            .await?;
        data_of(env, "kv write")
    }

    /// KV v2 `PATCH <mount>/data/<path>`: merges `patch` into the latest version as a
    /// JSON merge patch (RFC 7386: a `null` field removes that field) and writes the
    /// result as a new version, with the same `cas` rule as [`Client::kv2_write`]. A
    /// missing or deleted key is a 404 error. Returns the new version's metadata.
    pub async fn kv2_patch(
        &self,
        mount: &str,
        path: &str,
        patch: &Map<String, Value>,
        cas: Option<u64>,
    ) -> Result<KvVersionMetadata, ClientError> {
        let options = match cas {
            Some(cas) => json!({ "cas": cas }),
            None => json!({}),
        };
        let body = json!({ "data": patch, "options": options });
        let env: Envelope<KvVersionMetadata> = self
            .call_merge_patch(&kv2_path(mount, "data", path), &body)
            .await?
            .ok_or_else(|| ClientError::Decode("empty answer to a kv patch".into()))?;
        data_of(env, "kv patch")
    }

    /// KV v2 `DELETE <mount>/data/<path>`: soft-deletes the latest version.
    pub async fn kv2_delete(&self, mount: &str, path: &str) -> Result<(), ClientError> {
        self.call_unit::<()>(Method::DELETE, &kv2_path(mount, "data", path), None)
            .await
    }

    /// KV v2 `POST <mount>/delete/<path>`: soft-deletes the given versions.
    pub async fn kv2_delete_versions(
        &self,
        mount: &str,
        path: &str,
        versions: &[u64],
    ) -> Result<(), ClientError> {
        self.versions_call("delete", mount, path, versions).await
    }

    /// KV v2 `POST <mount>/undelete/<path>`: restores soft-deleted versions (versions
    /// that do not exist are ignored by the server).
    pub async fn kv2_undelete(
        &self,
        mount: &str,
        path: &str,
        versions: &[u64],
    ) -> Result<(), ClientError> {
        self.versions_call("undelete", mount, path, versions).await
    }

    /// KV v2 `POST <mount>/destroy/<path>`: erases the data of the given versions for good.
    pub async fn kv2_destroy(
        &self,
        mount: &str,
        path: &str,
        versions: &[u64],
    ) -> Result<(), ClientError> {
        self.versions_call("destroy", mount, path, versions).await
    }

    async fn versions_call(
        &self,
        endpoint: &str,
        mount: &str,
        path: &str,
        versions: &[u64],
    ) -> Result<(), ClientError> {
        self.call_unit(
            Method::POST,
            &kv2_path(mount, endpoint, path),
            Some(&Versions { versions }),
        )
        .await
    }

    /// KV v2 `GET <mount>/metadata/<path>`: the key's metadata and version history,
    /// `None` when the key does not exist.
    pub async fn kv2_read_metadata(
        &self,
        mount: &str,
        path: &str,
    ) -> Result<Option<KvMetadata>, ClientError> {
        let env: Option<Envelope<KvMetadata>> = none_if_404(
            self.call::<(), _>(Method::GET, &kv2_path(mount, "metadata", path), None)
                .await,
        )?;
        Ok(env.and_then(|e| e.data))
    }

    /// KV v2 `POST <mount>/metadata/<path>`: sets the fields of `update` that are
    /// `Some` (creating the key's metadata if needed, before any data).
    pub async fn kv2_write_metadata(
        &self,
        mount: &str,
        path: &str,
        update: &KvMetadataUpdate,
    ) -> Result<(), ClientError> {
        self.call_unit(
            Method::POST,
            &kv2_path(mount, "metadata", path),
            Some(update),
        )
        .await
    }

    /// KV v2 `DELETE <mount>/metadata/<path>`: removes the key with every version.
    pub async fn kv2_delete_metadata(&self, mount: &str, path: &str) -> Result<(), ClientError> {
        self.call_unit::<()>(Method::DELETE, &kv2_path(mount, "metadata", path), None)
            .await
    }

    /// KV v2 `LIST <mount>/metadata/<path>`: the keys in a folder (`""` = the mount's
    /// root), sub-folders ending in `/`; empty when there are none.
    pub async fn kv2_list(&self, mount: &str, path: &str) -> Result<Vec<String>, ClientError> {
        self.list(&kv2_path(mount, "metadata", path)).await
    }

    /// KV v2 `GET <mount>/config`: the mount-wide settings.
    pub async fn kv2_read_config(&self, mount: &str) -> Result<KvConfig, ClientError> {
        let env: Envelope<KvConfig> = self
            .call_some::<(), _>(Method::GET, &kv1_path(mount, "config"), None)
            .await?;
        data_of(env, "kv config")
    }

    /// KV v2 `POST <mount>/config`: sets every field of `config`.
    pub async fn kv2_write_config(
        &self,
        mount: &str,
        config: &KvConfig,
    ) -> Result<(), ClientError> {
        self.call_unit(Method::POST, &kv1_path(mount, "config"), Some(config))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_with_one_slash() {
        assert_eq!(kv1_path("kv/", "/a/b"), "kv/a/b");
        assert_eq!(kv1_path("kv", ""), "kv/");
        assert_eq!(kv2_path("/secret/", "data", "app/db"), "secret/data/app/db");
        assert_eq!(kv2_path("secret", "metadata", ""), "secret/metadata/");
        assert_eq!(kv1_path("kv", "a#b?c%d e"), "kv/a%23b%3Fc%25d e");
    }
}
