//! Typed calls of the system backend: init, seal/unseal, health, leader, key status,
//! rotate and rekey.

use reqwest::Method;
use serde_json::Value;

use crate::api::{
    Envelope, HealthResponse, InitRequest, InitResponse, InitStatus, KeyStatus, LeaderResponse,
    RekeyInitRequest, RekeyStatus, RekeyUpdateRequest, RekeyVerifyStatus, SealStatus,
    UnsealRequest,
};
use crate::{Client, ClientError};

impl Client {
    /// `GET sys/init`.
    pub async fn init_status(&self) -> Result<InitStatus, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/init", None).await
    }

    /// `PUT sys/init`.
    pub async fn init(&self, shares: u32, threshold: u32) -> Result<InitResponse, ClientError> {
        let req = InitRequest {
            secret_shares: shares,
            secret_threshold: threshold,
        };
        self.call_some(Method::PUT, "sys/init", Some(&req)).await
    }

    /// `GET sys/seal-status`.
    pub async fn seal_status(&self) -> Result<SealStatus, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/seal-status", None)
            .await
    }

    /// `PUT sys/unseal` with one share.
    pub async fn unseal(&self, key: &str) -> Result<SealStatus, ClientError> {
        let req = UnsealRequest {
            key: Some(key.to_string()),
            ..Default::default()
        };
        self.call_some(Method::PUT, "sys/unseal", Some(&req)).await
    }

    /// `PUT sys/unseal {"reset": true}`.
    pub async fn unseal_reset(&self) -> Result<SealStatus, ClientError> {
        let req = UnsealRequest {
            reset: true,
            ..Default::default()
        };
        self.call_some(Method::PUT, "sys/unseal", Some(&req)).await
    }

    /// `PUT sys/seal` (needs root/sudo).
    pub async fn seal(&self) -> Result<(), ClientError> {
        self.call::<(), Value>(Method::PUT, "sys/seal", None)
            .await
            .map(|_| ())
    }

    /// `GET sys/health`: returns the status code too, since health is status-driven.
    pub async fn health(&self) -> Result<(u16, HealthResponse), ClientError> {
        let raw = self.raw(Method::GET, "sys/health", None).await?;
        let body =
            serde_json::from_value(raw.body).map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok((raw.status.as_u16(), body))
    }

    /// `GET sys/leader`.
    pub async fn leader(&self) -> Result<LeaderResponse, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/leader", None)
            .await
    }

    /// `GET sys/key-status`.
    pub async fn key_status(&self) -> Result<KeyStatus, ClientError> {
        let env: Envelope<KeyStatus> = self
            .call_some::<(), _>(Method::GET, "sys/key-status", None)
            .await?;
        env.data
            .ok_or_else(|| ClientError::Decode("key-status without data".into()))
    }

    /// `PUT sys/rotate`: adds a keyring term.
    pub async fn rotate(&self) -> Result<(), ClientError> {
        self.call::<(), Value>(Method::PUT, "sys/rotate", None)
            .await
            .map(|_| ())
    }

    /// `PUT sys/rekey/init`: starts a rekey to `shares`/`threshold`.
    pub async fn rekey_init(
        &self,
        shares: u32,
        threshold: u32,
        require_verification: bool,
    ) -> Result<RekeyStatus, ClientError> {
        let req = RekeyInitRequest {
            secret_shares: shares,
            secret_threshold: threshold,
            require_verification,
        };
        self.call_some(Method::PUT, "sys/rekey/init", Some(&req))
            .await
    }

    /// `GET sys/rekey/init`: the rekey in progress (`started: false` when there is none).
    pub async fn rekey_status(&self) -> Result<RekeyStatus, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/rekey/init", None)
            .await
    }

    /// `DELETE sys/rekey/init`: cancels the rekey in progress (a no-op when there is none).
    /// Shares already supplied are forgotten; the current unseal keys stay valid.
    pub async fn rekey_cancel(&self) -> Result<(), ClientError> {
        self.call::<(), Value>(Method::DELETE, "sys/rekey/init", None)
            .await
            .map(|_| ())
    }

    /// `GET sys/rekey/verify`: the pending verification of new shares (`started: false`
    /// when there is none).
    pub async fn rekey_verify_status(&self) -> Result<RekeyVerifyStatus, ClientError> {
        self.call_some::<(), _>(Method::GET, "sys/rekey/verify", None)
            .await
    }

    /// `PUT sys/rekey/update` with one old share. Returns the raw JSON: a status while in
    /// progress, the new keys once complete.
    pub async fn rekey_update(&self, key: &str, nonce: &str) -> Result<Value, ClientError> {
        let req = RekeyUpdateRequest {
            key: key.to_string(),
            nonce: nonce.to_string(),
        };
        self.call_some(Method::PUT, "sys/rekey/update", Some(&req))
            .await
    }

    /// `PUT sys/rekey/verify` with one new share. Returns the raw JSON.
    pub async fn rekey_verify(&self, key: &str, nonce: &str) -> Result<Value, ClientError> {
        let req = RekeyUpdateRequest {
            key: key.to_string(),
            nonce: nonce.to_string(),
        };
        self.call_some(Method::PUT, "sys/rekey/verify", Some(&req))
            .await
    }
}
