//! The core: the vault's lifecycle and the request pipeline.
//!
//! `api → core → {router, policy, auth, system} → barrier → storage`, and
//! `seal → barrier`. The lifecycle is a type, [`CoreState`]:
//! `Uninitialized → (init) → Sealed → (unseal) → Unsealed(Arc<Unsealed>) → (seal) → Sealed`.
//! Every request reads the state lock-free (`ArcSwap`); transitions (init, unseal, seal,
//! rekey) are serialised by one async mutex. Sealing drops the `Unsealed` value, and with
//! it the token store's derived key and cache; the barrier drops its keyring, whose keys
//! zeroize when the last in-flight request releases them.

pub mod duration;
pub mod fields;
pub mod request;

mod error;
pub mod expiration;
mod handle;
pub use handle::Caller;
mod lifecycle;
mod login;
mod rekey;
pub mod wrapping;

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use error::CoreError;
pub use lifecycle::{InitOutput, UnsealInput};
pub use rekey::{RekeyUpdate, RekeyVerifyUpdate};

use crate::auth::TokenStore;
use crate::barrier::Barrier;
use crate::mount::MountRegistry;
use crate::seal::{RekeyOperation, SealConfig, ShareProgress};

/// Server version reported by `sys/seal-status` and `sys/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Physical key of the cluster identity (inside the barrier).
const CLUSTER_KEY: &str = "core/cluster";

/// The cluster's name and id, chosen at init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// `vault-cluster-<8 hex>`.
    pub name: String,
    /// UUID.
    pub id: String,
}

impl ClusterInfo {
    fn generate() -> ClusterInfo {
        let id = uuid::Uuid::new_v4();
        ClusterInfo {
            name: format!("vault-cluster-{}", &id.simple().to_string()[..8]),
            id: id.to_string(),
        }
    }
}

/// What exists only while unsealed.
#[derive(Debug)]
pub struct Unsealed {
    /// The token store.
    pub tokens: TokenStore,
    /// The mount table.
    pub mounts: MountRegistry,
    /// Leases of engine secrets.
    pub leases: crate::lease::LeaseStore,
    /// Revocation backoff and wake-ups.
    pub expiration: expiration::Expiration,
    /// Live database connection pools.
    pub databases: crate::engines::database::Connections,
    /// Decoded transit keys (dropped, with the keys, on seal).
    pub transit: crate::engines::transit::KeyCache,
    /// Password policies (`sys/policies/password`).
    pub passwords: Arc<crate::password::PasswordPolicyStore>,
    /// Failed-login accounting (user lockout).
    pub lockout: crate::credential::lockout::Lockout,
    /// ACL policies and the compiled-ACL cache.
    pub policies: crate::policy::store::PolicyStore,
    /// Cluster identity.
    pub cluster: ClusterInfo,
    /// The seal configuration in force (replaced by a rekey).
    pub seal_config: ArcSwap<SealConfig>,
    /// When this node became active.
    pub active_since: OffsetDateTime,
    /// The enabled audit devices.
    pub audit: crate::audit::AuditBroker,
}

/// The vault's lifecycle.
#[derive(Debug)]
pub enum CoreState {
    /// No seal configuration stored yet.
    Uninitialized,
    /// Initialised, keys not in memory.
    Sealed(Arc<SealConfig>),
    /// Keys in memory; serving requests.
    Unsealed(Arc<Unsealed>),
}

/// Progress of lifecycle transitions; guarded by [`Core`]'s transition mutex.
#[derive(Debug, Default)]
struct Transitions {
    unseal: Option<ShareProgress>,
    rekey: Option<RekeyOperation>,
}

/// The vault.
pub struct Core {
    barrier: Arc<Barrier>,
    state: ArcSwap<CoreState>,
    transitions: tokio::sync::Mutex<Transitions>,
    options: CoreOptions,
    login_limiter: Option<crate::limits::PerClientLimiter>,
}

/// Settings of the core that come from the server configuration.
#[derive(Debug, Clone, Default)]
pub struct CoreOptions {
    /// User lockout after failed logins.
    pub lockout: crate::credential::lockout::LockoutPolicy,
    /// Per-client-IP rate of login requests (`None` = unlimited).
    pub login_rate: Option<crate::limits::RateLimit>,
    /// Audit devices declared in the configuration, and the API-creation rules.
    pub audit: crate::config::AuditConfig,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

impl Core {
    /// Opens the vault on a barrier: `Sealed` if a seal configuration is stored,
    /// `Uninitialized` otherwise. Never unseals by itself.
    pub async fn open(barrier: Arc<Barrier>) -> Result<Core, CoreError> {
        Core::open_with(barrier, CoreOptions::default()).await
    }

    /// Opens the vault with explicit options.
    pub async fn open_with(barrier: Arc<Barrier>, options: CoreOptions) -> Result<Core, CoreError> {
        let state = match lifecycle::load_seal_config(&barrier).await? {
            Some(config) => CoreState::Sealed(Arc::new(config)),
            None => CoreState::Uninitialized,
        };
        Ok(Core {
            barrier,
            state: ArcSwap::from_pointee(state),
            transitions: tokio::sync::Mutex::new(Transitions::default()),
            login_limiter: options.login_rate.map(crate::limits::PerClientLimiter::new),
            options,
        })
    }

    /// The current state (lock-free).
    pub fn state(&self) -> Arc<CoreState> {
        self.state.load_full()
    }

    /// The unsealed half, or `Sealed`.
    pub fn unsealed(&self) -> Result<Arc<Unsealed>, CoreError> {
        match &**self.state.load() {
            CoreState::Unsealed(u) => Ok(Arc::clone(u)),
            CoreState::Sealed(_) | CoreState::Uninitialized => Err(CoreError::Sealed),
        }
    }

    /// Whether the vault is sealed (or uninitialised).
    pub fn is_sealed(&self) -> bool {
        !matches!(&**self.state.load(), CoreState::Unsealed(_))
    }

    /// Whether the vault is initialised.
    pub fn is_initialized(&self) -> bool {
        !matches!(&**self.state.load(), CoreState::Uninitialized)
    }

    /// Name of the storage backend.
    pub fn storage_type(&self) -> &'static str {
        self.barrier.backend().kind_name()
    }

    /// The barrier.
    pub fn barrier(&self) -> &Arc<Barrier> {
        &self.barrier
    }

    /// SIGHUP: reopens every audit device's file (log rotation). Returns how many
    /// failed (each is logged); 0 while sealed.
    pub async fn reopen_audit_devices(&self) -> usize {
        match self.unsealed() {
            Ok(u) => u.audit.reopen().await,
            Err(_) => 0,
        }
    }
}
