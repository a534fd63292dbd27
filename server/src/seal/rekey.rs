//! A rekey (new unseal shares for the same root key) as a typed lifecycle.
//!
//! `Collecting` old shares → (threshold reached, old key proven against the stored root
//! key) → either committed at once, or `Verifying`: the new shares were handed out and
//! the operators must prove they hold a threshold of them before anything changes on
//! disk. The commit itself (new seal config + root key re-wrapped under the new unseal
//! key) is one atomic storage batch, so a crash leaves either the old or the new shares
//! valid, never neither. Nothing of a rekey in progress is persisted.

use super::config::{SealConfig, Shape};
use super::progress::ShareProgress;
use crate::barrier::UnsealKey;

/// Where a rekey stands.
#[derive(Debug)]
pub enum RekeyStage {
    /// Collecting shares of the current unseal key.
    Collecting(ShareProgress),
    /// New shares were issued; waiting for a threshold of them.
    Verifying {
        /// The new unseal key (not yet in effect).
        new_key: UnsealKey,
        /// The configuration that takes effect after verification.
        new_config: SealConfig,
        /// New shares collected so far; its nonce is the verification nonce.
        progress: ShareProgress,
    },
}

/// One rekey operation.
#[derive(Debug)]
pub struct RekeyOperation {
    nonce: String,
    new_shape: Shape,
    require_verification: bool,
    /// The current stage.
    pub stage: RekeyStage,
}

impl RekeyOperation {
    /// Starts a rekey towards `new_shape`, collecting `old_threshold` current shares.
    pub fn start(new_shape: Shape, require_verification: bool, old_threshold: u8) -> Self {
        RekeyOperation {
            nonce: uuid::Uuid::new_v4().to_string(),
            new_shape,
            require_verification,
            stage: RekeyStage::Collecting(ShareProgress::new(old_threshold)),
        }
    }

    /// The operation's nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The requested shape.
    pub fn new_shape(&self) -> Shape {
        self.new_shape
    }

    /// Whether the new shares must be verified before they take effect.
    pub fn require_verification(&self) -> bool {
        self.require_verification
    }

    /// Old shares collected (0 once verifying).
    pub fn progress(&self) -> u32 {
        match &self.stage {
            RekeyStage::Collecting(p) => p.count(),
            RekeyStage::Verifying { .. } => 0,
        }
    }

    /// The verification nonce and progress, when verifying.
    pub fn verification(&self) -> Option<(&str, u32)> {
        match &self.stage {
            RekeyStage::Verifying { progress, .. } => Some((progress.nonce(), progress.count())),
            RekeyStage::Collecting(_) => None,
        }
    }

    /// Restarts verification with a fresh nonce (DELETE sys/rekey/verify).
    pub fn restart_verification(&mut self) -> bool {
        match &mut self.stage {
            RekeyStage::Verifying { progress, .. } => {
                *progress = ShareProgress::new(self.new_shape.threshold());
                true
            }
            RekeyStage::Collecting(_) => false,
        }
    }
}
