//! Init, unseal and seal: the transitions of [`CoreState`].
//!
//! Init is crash-safe by ordering: the barrier records go first, then (through the
//! briefly unsealed barrier) the cluster identity and the root token, and only last the
//! seal configuration, which is what marks the vault initialised. A crash before that
//! last write leaves an uninitialised vault that can simply be initialised again.

use std::sync::Arc;

use arc_swap::ArcSwap;
use strongroom_client::api::SealStatus;
use time::OffsetDateTime;

use super::{ClusterInfo, Core, CoreError, CoreState, Unsealed, CLUSTER_KEY, VERSION};
use crate::auth::{ClientToken, TokenStore};
use crate::barrier::{Barrier, BarrierError, UnsealKey};
use crate::credential::lockout::Lockout;
use crate::mount::MountRegistry;
use crate::policy::store::PolicyStore;
use crate::seal::config::{Shape, SEAL_CONFIG_KEY};
use crate::seal::{shamir, KeyShare, SealConfig, SealError, ShareOutcome, ShareProgress};

/// Build date reported by `sys/seal-status` (set by `build.rs`).
const BUILD_DATE: &str = env!("STRONGROOM_BUILD_DATE");

/// What `sys/init` hands back once: the shares and the root token.
#[derive(Debug)]
pub struct InitOutput {
    /// Unseal key shares (one whole key for 1-of-1).
    pub shares: Vec<KeyShare>,
    /// The initial root token.
    pub root_token: ClientToken,
}

/// A parsed `sys/unseal` request.
#[derive(Debug)]
pub enum UnsealInput {
    /// Discard the progress of the current attempt.
    Reset,
    /// One share, as the operator typed it (hex or base64).
    Key(String),
}

pub(super) async fn load_seal_config(barrier: &Barrier) -> Result<Option<SealConfig>, CoreError> {
    match barrier.backend().get(SEAL_CONFIG_KEY).await? {
        Some(bytes) => Ok(Some(SealConfig::decode(&bytes)?)),
        None => Ok(None),
    }
}

impl Core {
    /// `GET sys/seal-status`.
    pub async fn seal_status(&self) -> SealStatus {
        let transitions = self.transitions.lock().await;
        let state = self.state.load_full();
        let (initialized, sealed, t, n, cluster) = match &*state {
            CoreState::Uninitialized => (false, true, 0, 0, None),
            CoreState::Sealed(c) => (true, true, c.secret_threshold, c.secret_shares, None),
            CoreState::Unsealed(u) => {
                let c = u.seal_config.load();
                (
                    true,
                    false,
                    c.secret_threshold,
                    c.secret_shares,
                    Some(u.cluster.clone()),
                )
            }
        };
        let (progress, nonce) = match (&transitions.unseal, sealed) {
            (Some(p), true) => (p.count(), p.nonce().to_string()),
            _ => (0, String::new()),
        };
        SealStatus {
            seal_type: "shamir".to_string(),
            initialized,
            sealed,
            t: t.into(),
            n: n.into(),
            progress,
            nonce,
            version: VERSION.to_string(),
            build_date: BUILD_DATE.to_string(),
            migration: false,
            recovery_seal: false,
            storage_type: self.storage_type().to_string(),
            cluster_name: cluster.as_ref().map(|c| c.name.clone()),
            cluster_id: cluster.map(|c| c.id),
        }
    }

    /// `PUT sys/init`.
    pub async fn init(&self, shares: u32, threshold: u32) -> Result<InitOutput, CoreError> {
        let _transitions = self.transitions.lock().await;
        if self.is_initialized() || load_seal_config(&self.barrier).await?.is_some() {
            return Err(CoreError::AlreadyInitialized);
        }
        let shape = Shape::new(shares, threshold)?;
        let unseal_key = UnsealKey::generate()?;
        let key_shares = shamir::split(unseal_key.expose(), shape.shares(), shape.threshold())?;
        let config = SealConfig::for_shares(shape, &key_shares)?;

        let records = Barrier::initialize_records(&unseal_key)?;
        self.barrier.backend().write_batch(records).await?;
        self.barrier.unseal(&unseal_key).await?;
        let inside = self.init_inside_barrier().await;
        self.barrier.seal();
        let root_token = inside?;
        self.barrier
            .backend()
            .put(SEAL_CONFIG_KEY, config.encode())
            .await?;
        self.state
            .store(Arc::new(CoreState::Sealed(Arc::new(config))));
        tracing::info!(shares, threshold, "vault initialized");
        Ok(InitOutput {
            shares: key_shares,
            root_token,
        })
    }

    async fn init_inside_barrier(&self) -> Result<ClientToken, CoreError> {
        let cluster = ClusterInfo::generate();
        let encoded =
            serde_json::to_vec(&cluster).map_err(|e| CoreError::Invalid(e.to_string()))?;
        self.barrier.put(CLUSTER_KEY, &encoded).await?;
        MountRegistry::load(Arc::clone(&self.barrier)).await?;
        PolicyStore::open(Arc::clone(&self.barrier))
            .await
            .map_err(|e| CoreError::Policy(Box::new(e)))?;
        let tokens = TokenStore::new(Arc::clone(&self.barrier))?;
        let (root_token, _) = tokens.create_root().await?;
        Ok(root_token)
    }

    /// `PUT sys/unseal`.
    pub async fn unseal(&self, input: UnsealInput) -> Result<(), CoreError> {
        let mut transitions = self.transitions.lock().await;
        let state = self.state.load_full();
        let config = match (&*state, &input) {
            (CoreState::Uninitialized, _) => return Err(CoreError::NotInitialized),
            (CoreState::Unsealed(_), UnsealInput::Reset) => return Err(CoreError::AlreadyUnsealed),
            (CoreState::Unsealed(_), UnsealInput::Key(_)) => return Ok(()),
            (CoreState::Sealed(config), _) => Arc::clone(config),
        };
        let text = match input {
            UnsealInput::Reset => {
                transitions.unseal = None;
                return Ok(());
            }
            UnsealInput::Key(text) => text,
        };
        let share = KeyShare::parse(&text)?;
        drop(text);
        config.check_share(&share)?;
        let progress = transitions
            .unseal
            .get_or_insert_with(|| ShareProgress::new(config.secret_threshold));
        if progress.add(share) != ShareOutcome::ThresholdReached {
            return Ok(());
        }
        // Threshold reached: this attempt ends here, whatever the outcome.
        let Some(progress) = transitions.unseal.take() else {
            return Ok(());
        };
        let secret = shamir::combine(progress.shares(), config.secret_threshold)?;
        drop(progress);
        let key = UnsealKey::from_bytes(&secret)?;
        drop(secret);
        match self.barrier.unseal(&key).await {
            Ok(()) => {}
            Err(BarrierError::Decrypt) => return Err(CoreError::WrongUnsealKey),
            Err(e) => return Err(e.into()),
        }
        match self.load_unsealed(&config).await {
            Ok(unsealed) => {
                self.state
                    .store(Arc::new(CoreState::Unsealed(Arc::new(unsealed))));
                tracing::info!("vault unsealed");
                Ok(())
            }
            Err(e) => {
                self.barrier.seal();
                Err(e)
            }
        }
    }

    async fn load_unsealed(&self, config: &SealConfig) -> Result<Unsealed, CoreError> {
        let cluster = match self.barrier.get(CLUSTER_KEY).await? {
            Some(raw) => serde_json::from_slice(&raw).map_err(|_| SealError::CorruptConfig)?,
            None => return Err(SealError::CorruptConfig.into()),
        };
        let passwords = Arc::new(crate::password::PasswordPolicyStore::new(Arc::clone(
            &self.barrier,
        )));
        Ok(Unsealed {
            tokens: TokenStore::new(Arc::clone(&self.barrier))?,
            leases: crate::lease::LeaseStore::new(Arc::clone(&self.barrier)),
            expiration: super::expiration::Expiration::default(),
            databases: crate::engines::database::Connections::new(Arc::clone(&passwords)),
            transit: crate::engines::transit::KeyCache::new(),
            passwords,
            mounts: MountRegistry::load(Arc::clone(&self.barrier)).await?,
            policies: PolicyStore::open(Arc::clone(&self.barrier))
                .await
                .map_err(|e| CoreError::Policy(Box::new(e)))?,
            lockout: Lockout::new(self.options.lockout),
            cluster,
            seal_config: ArcSwap::from_pointee(config.clone()),
            active_since: OffsetDateTime::now_utc(),
            audit: crate::audit::AuditBroker::open(Arc::clone(&self.barrier), &self.options.audit)
                .await?,
        })
    }

    /// Seals: every key leaves memory. Idempotent.
    pub async fn seal(&self) -> Result<(), CoreError> {
        let mut transitions = self.transitions.lock().await;
        let state = self.state.load_full();
        if let CoreState::Unsealed(unsealed) = &*state {
            let config = Arc::new(SealConfig::clone(&unsealed.seal_config.load()));
            transitions.rekey = None;
            transitions.unseal = None;
            self.state.store(Arc::new(CoreState::Sealed(config)));
            self.barrier.seal();
            tracing::info!("vault sealed");
        }
        Ok(())
    }
}
