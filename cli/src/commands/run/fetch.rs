//! Reading the secrets `strongroom run` injects: one read per distinct path (so the two
//! `database/creds/app` references share one credential and one lease), through
//! [`Client::read_secret`] (KV v2 aware). Only the referenced fields are kept, as
//! zeroizing strings; the rest of the answer is dropped at once.
//!
//! Field values: strings as they are, numbers and booleans as text, objects and arrays
//! as compact JSON. A missing path or field is an error naming the path and field (never
//! a value); a credential read for a path whose field turns out to be missing is
//! revoked before the error is returned.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use strongroom_client::{Client, ClientError};
use zeroize::Zeroizing;

/// A lease that came with a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Lease id.
    pub id: String,
    /// TTL when read.
    pub ttl: Duration,
    /// Whether it can be renewed.
    pub renewable: bool,
}

/// The referenced fields of one secret, and its lease if it has one.
#[derive(Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Field → value.
    pub fields: BTreeMap<String, Zeroizing<String>>,
    /// The lease (dynamic credentials), `None` for KV and other unleased secrets.
    pub lease: Option<Lease>,
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .field("lease", &self.lease)
            .finish()
    }
}

/// Why a read failed.
#[derive(Debug)]
pub enum FetchError {
    /// The server refused or could not be reached.
    Client {
        /// The path read.
        path: String,
        /// What went wrong.
        error: ClientError,
    },
    /// Nothing at the path (404, or a deleted KV version).
    Missing(String),
    /// The secret has no such field.
    MissingField {
        /// The path read.
        path: String,
        /// The field asked for.
        field: String,
    },
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Client { path, .. } => write!(f, "reading {path}"),
            FetchError::Missing(path) => write!(f, "no secret at {path}"),
            FetchError::MissingField { path, field } => {
                write!(f, "the secret at {path} has no field {field:?}")
            }
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Client { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn text_of(value: &Value) -> Zeroizing<String> {
    Zeroizing::new(match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Reads `path` once and keeps `fields` of it.
pub async fn fetch_path(
    client: &Client,
    path: &str,
    fields: &BTreeSet<&str>,
) -> Result<Fetched, FetchError> {
    let secret = client
        .read_secret(path)
        .await
        .map_err(|error| FetchError::Client {
            path: path.to_string(),
            error,
        })?
        .ok_or_else(|| FetchError::Missing(path.to_string()))?;
    let lease = (!secret.lease_id.is_empty()).then(|| Lease {
        id: secret.lease_id.clone(),
        ttl: Duration::from_secs(secret.lease_duration),
        renewable: secret.renewable,
    });
    let data = secret.data.unwrap_or_default();
    let mut out = BTreeMap::new();
    for field in fields {
        match data.get(*field) {
            Some(value) if !value.is_null() => {
                out.insert(field.to_string(), text_of(value));
            }
            _ => {
                if let Some(lease) = &lease {
                    if let Err(e) = client.revoke_lease(&lease.id).await {
                        eprintln!(
                            "strongroom run: could not revoke lease {} of {path}: {e}",
                            lease.id
                        );
                    }
                }
                return Err(FetchError::MissingField {
                    path: path.to_string(),
                    field: field.to_string(),
                });
            }
        }
    }
    Ok(Fetched { fields: out, lease })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_become_text_and_debug_hides_them() {
        assert_eq!(text_of(&Value::from("s3cr3t")).as_str(), "s3cr3t");
        assert_eq!(text_of(&Value::from(42)).as_str(), "42");
        assert_eq!(text_of(&Value::from(true)).as_str(), "true");
        assert_eq!(
            text_of(&serde_json::json!({"a": [1]})).as_str(),
            r#"{"a":[1]}"#
        );
        let fetched = Fetched {
            fields: BTreeMap::from([("password".to_string(), Zeroizing::new("s3cr3t".into()))]),
            lease: None,
        };
        let debug = format!("{fetched:?}");
        assert!(
            debug.contains("password") && !debug.contains("s3cr3t"),
            "{debug}"
        );
    }
}
