//! Typed calls, one file per resource, each an `impl Client` block over
//! [`Client::call`](crate::Client) and friends, and the few answer-unpacking helpers
//! they all share ([`data_of`], [`keys_of`], [`body_of`], [`list_method`],
//! `Client::call_unit`).

mod auth;
mod database;
mod kv;
mod lease;
mod sys;
mod token;
mod transit;

pub use kv::Secret;
pub use transit::{DataKey, DecryptItem, EncryptItem};

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::api::{Envelope, KeyList};
use crate::{Client, ClientError};

impl Client {
    /// A call whose answer (if any) is not needed: `Ok(())` once the server accepted it.
    pub(crate) async fn call_unit<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), ClientError> {
        self.call::<B, Value>(method, path, body).await.map(|_| ())
    }
}

/// The `data` of an envelope, or a decode error naming `what` (`"{what} answer without
/// data"`).
pub(crate) fn data_of<T>(env: Envelope<T>, what: &str) -> Result<T, ClientError> {
    env.data
        .ok_or_else(|| ClientError::Decode(format!("{what} answer without data")))
}

/// The `keys` of a list answer: an empty answer, an answer without `data` or a 404
/// (nothing there) is an empty list; any other error is passed on.
pub(crate) fn keys_of(
    answer: Result<Option<Envelope<KeyList>>, ClientError>,
) -> Result<Vec<String>, ClientError> {
    match answer {
        Ok(env) => Ok(env.and_then(|e| e.data).map(|d| d.keys).unwrap_or_default()),
        Err(ClientError::Api { status: 404, .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// `value` as a JSON request body (to add fields to), or a decode error naming `what`.
pub(crate) fn body_of<T: Serialize>(value: &T, what: &str) -> Result<Value, ClientError> {
    serde_json::to_value(value).map_err(|e| ClientError::Decode(format!("{what}: {e}")))
}

/// The LIST verb (the API's `LIST`, equivalent to `GET ?list=true`).
pub(crate) fn list_method() -> Result<Method, ClientError> {
    Method::from_bytes(b"LIST").map_err(|e| ClientError::Config(e.to_string()))
}
