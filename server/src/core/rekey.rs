//! Rekey: replace the unseal shares, keep the root key and all data.
//!
//! Serves both the legacy unauthenticated `sys/rekey/*` endpoints and OpenBao's
//! authenticated `sys/rotate/root/*`. The commit is one atomic storage batch (new seal
//! configuration + root key re-wrapped under the new unseal key): after a crash the vault
//! unseals with either the old or the new shares.

use std::sync::Arc;

use strongroom_client::api::{RekeyStatus, RekeyVerifyStatus};
use subtle::ConstantTimeEq;

use super::{Core, CoreError, Unsealed};
use crate::barrier::{BarrierError, UnsealKey};
use crate::seal::config::{Shape, SEAL_CONFIG_KEY};
use crate::seal::{
    shamir, KeyShare, RekeyOperation, RekeyStage, SealConfig, ShareOutcome, ShareProgress,
};
use crate::storage::WriteOp;

/// Result of one `rekey/update`.
#[derive(Debug)]
pub enum RekeyUpdate {
    /// More old shares are needed.
    Progress(RekeyStatus),
    /// New shares were generated.
    Complete {
        /// Operation nonce.
        nonce: String,
        /// The new shares.
        shares: Vec<KeyShare>,
        /// When verification is required: its nonce (the shares are not in effect yet).
        verification_nonce: Option<String>,
    },
}

/// Result of one `rekey/verify` update.
#[derive(Debug)]
pub enum RekeyVerifyUpdate {
    /// More new shares are needed.
    Progress(RekeyVerifyStatus),
    /// Verified; the new shares are in effect.
    Complete {
        /// Verification nonce.
        nonce: String,
    },
}

fn status(op: Option<&RekeyOperation>, required: u8) -> RekeyStatus {
    match op {
        None => RekeyStatus {
            nonce: String::new(),
            started: false,
            t: 0,
            n: 0,
            progress: 0,
            required: required.into(),
            pgp_fingerprints: None,
            backup: false,
            verification_required: false,
        },
        Some(op) => RekeyStatus {
            nonce: op.nonce().to_string(),
            started: true,
            t: op.new_shape().threshold().into(),
            n: op.new_shape().shares().into(),
            progress: op.progress(),
            required: required.into(),
            pgp_fingerprints: None,
            backup: false,
            verification_required: op.require_verification(),
        },
    }
}

fn verify_status(op: Option<&RekeyOperation>) -> RekeyVerifyStatus {
    match op.and_then(|op| op.verification().map(|v| (op, v))) {
        Some((op, (nonce, progress))) => RekeyVerifyStatus {
            nonce: nonce.to_string(),
            started: true,
            t: op.new_shape().threshold().into(),
            n: op.new_shape().shares().into(),
            progress,
        },
        None => RekeyVerifyStatus {
            nonce: String::new(),
            started: false,
            t: 0,
            n: 0,
            progress: 0,
        },
    }
}

impl Core {
    fn current_threshold(unsealed: &Unsealed) -> u8 {
        unsealed.seal_config.load().secret_threshold
    }

    /// `GET sys/rekey/init`.
    pub async fn rekey_status(&self) -> Result<RekeyStatus, CoreError> {
        let transitions = self.transitions.lock().await;
        let unsealed = self.unsealed()?;
        Ok(status(
            transitions.rekey.as_ref(),
            Self::current_threshold(&unsealed),
        ))
    }

    /// `PUT sys/rekey/init`.
    pub async fn rekey_init(
        &self,
        shares: u32,
        threshold: u32,
        require_verification: bool,
    ) -> Result<RekeyStatus, CoreError> {
        let mut transitions = self.transitions.lock().await;
        let unsealed = self.unsealed()?;
        if transitions.rekey.is_some() {
            return Err(CoreError::Invalid("rekey already in progress".to_string()));
        }
        let shape = Shape::new(shares, threshold)?;
        let required = Self::current_threshold(&unsealed);
        let op = RekeyOperation::start(shape, require_verification, required);
        let out = status(Some(&op), required);
        transitions.rekey = Some(op);
        tracing::info!(shares, threshold, require_verification, "rekey started");
        Ok(out)
    }

    /// `DELETE sys/rekey/init`: cancels any rekey in progress.
    pub async fn rekey_cancel(&self) -> Result<(), CoreError> {
        let mut transitions = self.transitions.lock().await;
        self.unsealed()?;
        if transitions.rekey.take().is_some() {
            tracing::info!("rekey cancelled");
        }
        Ok(())
    }

    /// `PUT sys/rekey/update`: one share of the current key.
    pub async fn rekey_update(&self, key: &str, nonce: &str) -> Result<RekeyUpdate, CoreError> {
        let mut transitions = self.transitions.lock().await;
        let unsealed = self.unsealed()?;
        let config = SealConfig::clone(&unsealed.seal_config.load());
        let Some(op) = transitions.rekey.as_mut() else {
            return Err(CoreError::Invalid("no rekey in progress".to_string()));
        };
        if nonce != op.nonce() {
            return Err(CoreError::Invalid(format!(
                "incorrect nonce supplied; nonce for this rekey operation is {:?}",
                op.nonce()
            )));
        }
        let RekeyStage::Collecting(progress) = &mut op.stage else {
            return Err(CoreError::Invalid(
                "rekey is awaiting verification of the new shares; use sys/rekey/verify"
                    .to_string(),
            ));
        };
        let share = KeyShare::parse(key)?;
        config.check_share(&share)?;
        if progress.add(share) != ShareOutcome::ThresholdReached {
            return Ok(RekeyUpdate::Progress(status(
                Some(op),
                config.secret_threshold,
            )));
        }
        // Threshold reached: prove the old key, whatever happens the old shares are spent.
        let old = std::mem::replace(progress, ShareProgress::new(config.secret_threshold));
        let secret = shamir::combine(old.shares(), config.secret_threshold)?;
        drop(old);
        let old_key = UnsealKey::from_bytes(&secret)?;
        match self.barrier.verify_unseal_key(&old_key).await {
            Ok(()) => {}
            Err(BarrierError::Decrypt) => return Err(CoreError::WrongUnsealKey),
            Err(e) => return Err(e.into()),
        }
        let shape = op.new_shape();
        let new_key = UnsealKey::generate()?;
        let new_shares = shamir::split(new_key.expose(), shape.shares(), shape.threshold())?;
        let new_config = SealConfig::for_shares(shape, &new_shares)?;
        let nonce = op.nonce().to_string();
        if op.require_verification() {
            let progress = ShareProgress::new(shape.threshold());
            let verification_nonce = progress.nonce().to_string();
            op.stage = RekeyStage::Verifying {
                new_key,
                new_config,
                progress,
            };
            return Ok(RekeyUpdate::Complete {
                nonce,
                shares: new_shares,
                verification_nonce: Some(verification_nonce),
            });
        }
        self.commit_rekey(&unsealed, &new_key, new_config).await?;
        transitions.rekey = None;
        Ok(RekeyUpdate::Complete {
            nonce,
            shares: new_shares,
            verification_nonce: None,
        })
    }

    /// `GET sys/rekey/verify`.
    pub async fn rekey_verify_status(&self) -> Result<RekeyVerifyStatus, CoreError> {
        let transitions = self.transitions.lock().await;
        self.unsealed()?;
        Ok(verify_status(transitions.rekey.as_ref()))
    }

    /// `DELETE sys/rekey/verify`: restarts verification with a fresh nonce.
    pub async fn rekey_verify_restart(&self) -> Result<RekeyVerifyStatus, CoreError> {
        let mut transitions = self.transitions.lock().await;
        self.unsealed()?;
        let restarted = transitions
            .rekey
            .as_mut()
            .is_some_and(RekeyOperation::restart_verification);
        if !restarted {
            return Err(CoreError::Invalid(
                "no rekey verification in progress".to_string(),
            ));
        }
        Ok(verify_status(transitions.rekey.as_ref()))
    }

    /// `PUT sys/rekey/verify`: one of the NEW shares.
    pub async fn rekey_verify_update(
        &self,
        key: &str,
        nonce: &str,
    ) -> Result<RekeyVerifyUpdate, CoreError> {
        let mut transitions = self.transitions.lock().await;
        let unsealed = self.unsealed()?;
        let Some(op) = transitions.rekey.as_mut() else {
            return Err(CoreError::Invalid("no rekey in progress".to_string()));
        };
        let threshold = op.new_shape().threshold();
        let RekeyStage::Verifying {
            new_key,
            new_config,
            progress,
        } = &mut op.stage
        else {
            return Err(CoreError::Invalid(
                "no rekey verification in progress".to_string(),
            ));
        };
        if nonce != progress.nonce() {
            return Err(CoreError::Invalid(format!(
                "incorrect nonce supplied; nonce for this verify operation is {:?}",
                progress.nonce()
            )));
        }
        let share = KeyShare::parse(key)?;
        new_config.check_share(&share)?;
        if progress.add(share) != ShareOutcome::ThresholdReached {
            return Ok(RekeyVerifyUpdate::Progress(verify_status(Some(op))));
        }
        let done = std::mem::replace(progress, ShareProgress::new(threshold));
        let verify_nonce = done.nonce().to_string();
        let secret = shamir::combine(done.shares(), threshold)?;
        drop(done);
        let matches: bool = secret.as_slice().ct_eq(new_key.expose().as_slice()).into();
        drop(secret);
        if !matches {
            return Err(CoreError::Invalid(
                "the supplied shares do not reconstruct the new unseal key".to_string(),
            ));
        }
        let config = new_config.clone();
        let Some(RekeyOperation {
            stage: RekeyStage::Verifying { new_key, .. },
            ..
        }) = transitions.rekey.take()
        else {
            return Err(CoreError::Invalid(
                "no rekey verification in progress".to_string(),
            ));
        };
        self.commit_rekey(&unsealed, &new_key, config).await?;
        Ok(RekeyVerifyUpdate::Complete {
            nonce: verify_nonce,
        })
    }

    async fn commit_rekey(
        &self,
        unsealed: &Unsealed,
        new_key: &UnsealKey,
        new_config: SealConfig,
    ) -> Result<(), CoreError> {
        let root = self.barrier.rewrap_root_key(new_key).await?;
        let config_write = WriteOp::Put {
            key: SEAL_CONFIG_KEY.to_string(),
            value: new_config.encode(),
        };
        self.barrier
            .backend()
            .write_batch(vec![root, config_write])
            .await?;
        tracing::info!(
            shares = new_config.secret_shares,
            threshold = new_config.secret_threshold,
            "rekey committed: new unseal shares in effect"
        );
        unsealed.seal_config.store(Arc::new(new_config));
        Ok(())
    }
}
