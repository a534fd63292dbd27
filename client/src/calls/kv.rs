//! Typed calls of the KV engine (v1 and v2) and the mount preflight that tells them
//! apart (`sys/internal/ui/mounts/:path`, as the `bao` CLI does).

use reqwest::Method;
use serde_json::{Map, Value};

use crate::api::{Envelope, MountEntry};
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
        env.data
            .ok_or_else(|| ClientError::Decode("mount preflight without data".into()))
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
                match inner {
                    Some(fields) => Some(Envelope {
                        data: Some(fields),
                        ..secret
                    }),
                    // A deleted or destroyed version reads as `data: null`.
                    None => None,
                }
            }
            (_, secret) => secret,
        })
    }
}
