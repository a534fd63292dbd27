//! The policy store: named ACL policies kept inside the barrier, and the compiled-ACL
//! cache in front of them.
//!
//! Every policy lives at `sys/policy/<name>` as JSON (name, text, version, cas_required,
//! modified). All of them are loaded and parsed at unseal into an immutable map that is
//! swapped whole on every change (copy-on-write, like the mount table), so a request
//! never reads storage for its ACL. Compiled ACLs are cached per policy set; the cache is
//! emptied on every policy write or delete. `root` is virtual (never stored); `default`
//! is stored at first unseal from the built-in text and may be edited but not deleted.
//! A token naming a policy that does not exist gets nothing from it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::acl::Acl;
use super::builtin::DEFAULT_POLICY_HCL;
use super::parse::{parse, Policy, PolicyName};
use super::PolicyError;
use crate::barrier::{Barrier, BarrierError};
use crate::error::ErrorKind;

const PREFIX: &str = "sys/policy/";
/// Most compiled ACLs kept; the cache is simply emptied when it is full.
const MAX_CACHED_ACLS: usize = 4096;

/// Failures of the policy store.
#[derive(Debug, thiserror::Error)]
pub enum PolicyStoreError {
    /// The name or the text was refused.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// `root` cannot be written.
    #[error("cannot update root policy")]
    RootImmutable,
    /// `root` cannot be deleted.
    #[error("cannot delete \"root\" policy")]
    DeleteRoot,
    /// `default` cannot be deleted.
    #[error("cannot delete default policy")]
    DeleteDefault,
    /// Check-and-set mismatch.
    #[error("check-and-set parameter did not match the current version")]
    CasMismatch,
    /// `cas_required` is set and no `cas` was given.
    #[error("check-and-set parameter required for this call")]
    CasRequired,
    /// Storage or decryption failed.
    #[error(transparent)]
    Barrier(#[from] BarrierError),
    /// A stored record could not be read.
    #[error("policy store: corrupt entry {0:?}")]
    Corrupt(String),
}

impl PolicyStoreError {
    /// How this failure is reported to a client.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PolicyStoreError::Policy(e) => e.kind(),
            PolicyStoreError::RootImmutable
            | PolicyStoreError::DeleteRoot
            | PolicyStoreError::DeleteDefault
            | PolicyStoreError::CasMismatch
            | PolicyStoreError::CasRequired => ErrorKind::Invalid,
            PolicyStoreError::Barrier(e) => e.kind(),
            PolicyStoreError::Corrupt(_) => ErrorKind::Internal,
        }
    }
}

/// One stored policy, as persisted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PolicyRecord {
    /// Normalised name.
    pub name: String,
    /// The text as written (base64 bodies decoded).
    pub policy: String,
    /// 1 on creation, +1 per write.
    pub version: u64,
    /// Whether writes must carry `cas`.
    pub cas_required: bool,
    /// Last write, RFC 3339.
    pub modified: String,
}

/// A loaded policy: its record and its parsed form.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The record.
    pub record: PolicyRecord,
    /// Parsed rules.
    pub parsed: Arc<Policy>,
}

/// What a write asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWrite {
    /// The policy text.
    pub text: String,
    /// Expected current version (`Some(0)` / -1 semantics: must not exist).
    pub cas: Option<Cas>,
    /// New `cas_required` (unchanged when `None`).
    pub cas_required: Option<bool>,
}

/// A check-and-set expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    /// `cas = -1`: the policy must not exist yet.
    MustNotExist,
    /// The current version must be this.
    Version(u64),
}

/// The policy store of an unsealed vault.
pub struct PolicyStore {
    barrier: Arc<Barrier>,
    policies: ArcSwap<BTreeMap<String, LoadedPolicy>>,
    acls: RwLock<HashMap<Vec<String>, Acl>>,
    writes: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for PolicyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyStore")
            .field("policies", &self.policies.load().len())
            .finish_non_exhaustive()
    }
}

fn now_rfc3339() -> String {
    crate::encoding::rfc3339(OffsetDateTime::now_utc())
}

/// Loads one stored policy. A record this version cannot parse (written by another
/// version, or damaged) must not stop the vault from unsealing: it is loaded as a policy
/// that grants nothing, and the failure is logged.
fn load_record(name: &str, raw: &[u8]) -> Result<LoadedPolicy, PolicyStoreError> {
    let record: PolicyRecord =
        serde_json::from_slice(raw).map_err(|_| PolicyStoreError::Corrupt(name.to_string()))?;
    let policy_name = PolicyName::parse(&record.name)?;
    let parsed = match parse(&policy_name, &record.policy) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::error!(policy = %policy_name, error = %e, "stored policy does not parse; it grants nothing until rewritten");
            Policy {
                name: policy_name,
                rules: Vec::new(),
                text: record.policy.clone(),
            }
        }
    };
    Ok(LoadedPolicy {
        record,
        parsed: Arc::new(parsed),
    })
}

impl PolicyStore {
    /// Loads every stored policy (and stores `default` the first time).
    pub async fn open(barrier: Arc<Barrier>) -> Result<PolicyStore, PolicyStoreError> {
        let mut map = BTreeMap::new();
        for name in barrier.list(PREFIX).await? {
            if name.ends_with('/') {
                continue;
            }
            if let Some(raw) = barrier.get(&format!("{PREFIX}{name}")).await? {
                match load_record(&name, &raw) {
                    Ok(loaded) => {
                        map.insert(name.clone(), loaded);
                    }
                    Err(e) => {
                        tracing::error!(policy = %name, error = %e, "stored policy skipped");
                    }
                }
            }
        }
        let store = PolicyStore {
            barrier,
            policies: ArcSwap::from_pointee(map),
            acls: RwLock::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
        };
        if !store.policies.load().contains_key("default") {
            store
                .write(
                    &PolicyName::default_policy(),
                    PolicyWrite {
                        text: DEFAULT_POLICY_HCL.to_string(),
                        cas: None,
                        cas_required: None,
                    },
                )
                .await?;
        }
        Ok(store)
    }

    /// Names of all policies, sorted, including the virtual `root`.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.policies.load().keys().cloned().collect();
        names.push("root".to_string());
        names.sort();
        names
    }

    /// One policy (`None`: not stored; `root` is answered by the caller).
    pub fn get(&self, name: &PolicyName) -> Option<LoadedPolicy> {
        self.policies.load().get(name.as_str()).cloned()
    }

    /// Whether a policy of this name exists (`root` always does).
    pub fn exists(&self, name: &str) -> bool {
        name == "root" || self.policies.load().contains_key(name)
    }

    /// Creates or replaces a policy. Returns the new record.
    pub async fn write(
        &self,
        name: &PolicyName,
        write: PolicyWrite,
    ) -> Result<PolicyRecord, PolicyStoreError> {
        if name.is_root() {
            return Err(PolicyStoreError::RootImmutable);
        }
        let parsed = parse(name, &write.text)?;
        let _guard = self.writes.lock().await;
        let current = self.policies.load().get(name.as_str()).cloned();
        let cas_required = write
            .cas_required
            .unwrap_or_else(|| current.as_ref().is_some_and(|c| c.record.cas_required));
        match (write.cas, &current) {
            (None, Some(c)) if c.record.cas_required || cas_required => {
                return Err(PolicyStoreError::CasRequired)
            }
            (None, None) if cas_required => return Err(PolicyStoreError::CasRequired),
            (Some(Cas::MustNotExist), Some(_)) => return Err(PolicyStoreError::CasMismatch),
            (Some(Cas::Version(v)), Some(c)) if c.record.version != v => {
                return Err(PolicyStoreError::CasMismatch)
            }
            (Some(Cas::Version(v)), None) if v != 0 => return Err(PolicyStoreError::CasMismatch),
            _ => {}
        }
        let record = PolicyRecord {
            name: name.as_str().to_string(),
            policy: parsed.text.clone(),
            version: current.as_ref().map_or(1, |c| c.record.version + 1),
            cas_required,
            modified: now_rfc3339(),
        };
        let body =
            serde_json::to_vec(&record).map_err(|_| PolicyStoreError::Corrupt(name.to_string()))?;
        self.barrier
            .put(&format!("{PREFIX}{}", name.as_str()), &body)
            .await?;
        let loaded = LoadedPolicy {
            record: record.clone(),
            parsed: Arc::new(parsed),
        };
        let mut next = (**self.policies.load()).clone();
        next.insert(name.as_str().to_string(), loaded);
        self.policies.store(Arc::new(next));
        self.clear_acls();
        Ok(record)
    }

    /// Deletes a policy (absent is fine).
    pub async fn delete(&self, name: &PolicyName) -> Result<(), PolicyStoreError> {
        if name.is_root() {
            return Err(PolicyStoreError::DeleteRoot);
        }
        if name.is_default() {
            return Err(PolicyStoreError::DeleteDefault);
        }
        let _guard = self.writes.lock().await;
        self.barrier
            .delete(&format!("{PREFIX}{}", name.as_str()))
            .await?;
        let mut next = (**self.policies.load()).clone();
        next.remove(name.as_str());
        self.policies.store(Arc::new(next));
        self.clear_acls();
        Ok(())
    }

    fn clear_acls(&self) {
        if let Ok(mut acls) = self.acls.write() {
            acls.clear();
        }
    }

    /// The compiled ACL of a token's policy list (cached per list).
    pub fn acl_for(&self, policies: &[String]) -> Acl {
        if policies.iter().any(|p| p == "root") {
            return Acl::root();
        }
        if let Some(acl) = self
            .acls
            .read()
            .ok()
            .and_then(|cache| cache.get(policies).cloned())
            // The clock is read only for ACLs that have an expiring stanza.
            .filter(|acl| {
                acl.stale_at()
                    .is_none_or(|at| at > OffsetDateTime::now_utc())
            })
        {
            return acl;
        }
        // Compile from one snapshot of the map and cache it only if the map is still that
        // snapshot while the cache lock is held. A writer swaps the map and then clears
        // the cache under the same lock, so a stale ACL is either never inserted or
        // cleared right after.
        let snapshot = self.policies.load_full();
        let set: Vec<Arc<Policy>> = policies
            .iter()
            .filter_map(|name| snapshot.get(name).map(|p| Arc::clone(&p.parsed)))
            .collect();
        let acl = Acl::compile(&set);
        if let Ok(mut cache) = self.acls.write() {
            if Arc::ptr_eq(&snapshot, &self.policies.load_full()) {
                if cache.len() >= MAX_CACHED_ACLS {
                    cache.clear();
                }
                cache.insert(policies.to_vec(), acl.clone());
            }
        }
        acl
    }
}
