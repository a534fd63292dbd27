//! Audit devices: every request and response, HMAC'd, on every enabled device; fail closed.
//!
//! Flow (DESIGN.md §3): the core logs a `request` entry once the route and the token are
//! known and before anything runs, and a `response` entry after response wrapping. If at
//! least one device is enabled and none records an entry, the request is refused (the
//! request entry) or its response withheld (the response entry): 500, nothing secret
//! leaves unaudited. One device failing among several is logged and tolerated.
//!
//! Each device has its own salt (Vault's hashing, [`salt`]) and its own hash chain
//! (`strongroom_client::audit_chain`). The device list is copy-on-write (`ArcSwap`): the
//! hot path loads it without a lock; enable/disable are serialised by one async mutex.
//! Devices come from `[[audit]]` in the configuration (enabled at every unseal, cannot be
//! disabled through the API) and from `sys/audit` (persisted in the audit table).

mod device;
mod entry;
mod path;
mod salt;
mod sink;
pub mod spec;
mod table;

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

pub use device::{Device, Origin};
pub use entry::{AuditTrail, Hasher};
pub use path::AuditPath;
pub use salt::{Salt, HASH_PREFIX};
pub use spec::DeviceSpec;

use crate::barrier::{Barrier, BarrierError};
use crate::config::{AuditApiConfig, AuditConfig};
use crate::core::request::{LogicalRequest, LogicalResponse};
use crate::core::CoreError;
use crate::error::ErrorKind;
use crate::mount::MountRegistry;

/// Failures of audit devices and their management.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// API creation is not allowed by the configuration (OpenBao's wording).
    #[error("cannot enable audit device via API; use declarative, config-based audit device management instead")]
    ApiDisabled,
    /// A bad path, type or option.
    #[error("{0}")]
    Invalid(String),
    /// Something is already enabled there.
    #[error("path already in use at {0}")]
    PathInUse(String),
    /// No device at the path.
    #[error("unknown audit device {0}")]
    Unknown(String),
    /// A config-declared device cannot be disabled through the API.
    #[error("audit device {0} is declared in the server configuration; remove it there")]
    Declared(String),
    /// The probe entry of a new device could not be written.
    #[error("audit device failed test message: {0}")]
    TestFailed(String),
    /// No enabled device recorded the entry: the request is refused.
    #[error("no audit device could record the entry")]
    Unrecorded,
    /// Stored audit state does not decode.
    #[error("corrupt audit state: {0}")]
    Corrupt(String),
    /// A device's write failed.
    #[error("audit write failed: {0}")]
    Io(#[from] std::io::Error),
    /// The barrier.
    #[error(transparent)]
    Barrier(#[from] BarrierError),
}

impl AuditError {
    /// The kind, hence the status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuditError::ApiDisabled
            | AuditError::Invalid(_)
            | AuditError::PathInUse(_)
            | AuditError::Unknown(_)
            | AuditError::Declared(_)
            | AuditError::TestFailed(_) => ErrorKind::Invalid,
            AuditError::Unrecorded | AuditError::Corrupt(_) | AuditError::Io(_) => {
                ErrorKind::Internal
            }
            AuditError::Barrier(e) => e.kind(),
        }
    }
}

/// The enabled devices of an unsealed vault.
#[derive(Debug)]
pub struct AuditBroker {
    barrier: Arc<Barrier>,
    api: AuditApiConfig,
    devices: ArcSwap<Vec<Arc<Device>>>,
    changes: tokio::sync::Mutex<()>,
}

impl AuditBroker {
    /// At unseal: the config-declared devices, then the audit table's.
    pub async fn open(
        barrier: Arc<Barrier>,
        config: &AuditConfig,
    ) -> Result<AuditBroker, AuditError> {
        let mut devices: Vec<Arc<Device>> = Vec::new();
        for declared in &config.devices {
            let salt = salt::load_or_create(&barrier, &declared.path).await?;
            devices.push(Arc::new(Device::open(
                declared.path.clone(),
                declared.spec.clone(),
                declared.description.clone(),
                declared.local,
                Origin::Config,
                salt,
            )?));
        }
        for stored in table::load(&barrier).await? {
            let path = AuditPath::parse(&stored.path)?;
            if devices.iter().any(|d| d.path == path) {
                tracing::warn!(path = %path.as_str(), "audit table device shadowed by a declared device of the same path");
                continue;
            }
            let spec = DeviceSpec::parse(&stored.device_type, &stored.options)?;
            let spec = match spec.clone().restrict_for_api(&config.api) {
                Ok(s) => s,
                Err(e) => {
                    // Still enabled (fail closed beats silently dropping a device), but
                    // the operator should know the configuration no longer allows it.
                    tracing::warn!(path = %path.as_str(), error = %e, "API-enabled audit device no longer allowed by [audit_api]");
                    spec
                }
            };
            let salt = salt::load_or_create(&barrier, &path).await?;
            devices.push(Arc::new(Device::open(
                path,
                spec,
                stored.description,
                stored.local,
                Origin::Api,
                salt,
            )?));
        }
        if !devices.is_empty() {
            tracing::info!(devices = devices.len(), "audit devices enabled");
        }
        Ok(AuditBroker {
            barrier,
            api: config.api.clone(),
            devices: ArcSwap::from_pointee(devices),
            changes: tokio::sync::Mutex::new(()),
        })
    }

    /// The enabled devices.
    pub fn devices(&self) -> Arc<Vec<Arc<Device>>> {
        self.devices.load_full()
    }

    /// One device.
    pub fn get(&self, path: &AuditPath) -> Result<Arc<Device>, AuditError> {
        self.devices
            .load()
            .iter()
            .find(|d| d.path == *path)
            .cloned()
            .ok_or_else(|| AuditError::Unknown(path.as_str().to_string()))
    }

    /// `GET sys/audit`: `{"<path>": {...}}`.
    pub fn list(&self) -> Map<String, Value> {
        self.devices
            .load()
            .iter()
            .map(|d| (d.path.as_str().to_string(), d.to_wire()))
            .collect()
    }

    /// `PUT sys/audit/:path`.
    pub async fn enable(
        &self,
        path: AuditPath,
        device_type: &str,
        description: String,
        options: BTreeMap<String, String>,
        local: bool,
    ) -> Result<(), AuditError> {
        let spec = DeviceSpec::parse(device_type, &options)?.restrict_for_api(&self.api)?;
        let _changing = self.changes.lock().await;
        if self.get(&path).is_ok() {
            return Err(AuditError::PathInUse(path.as_str().to_string()));
        }
        let salt = salt::load_or_create(&self.barrier, &path).await?;
        let device = Arc::new(Device::open(
            path.clone(),
            spec,
            description,
            local,
            Origin::Api,
            salt,
        )?);
        if !device.spec.skip_test {
            if let Err(e) = device.write(entry::probe(&entry::now())).await {
                salt::delete(&self.barrier, &path).await?;
                return Err(AuditError::TestFailed(e.to_string()));
            }
        }
        let mut stored = table::load(&self.barrier).await?;
        stored.retain(|e| e.path != path.as_str());
        stored.push(table::TableEntry {
            path: path.as_str().to_string(),
            device_type: device.spec.device_type.as_str().to_string(),
            description: device.description.clone(),
            options: options
                .into_iter()
                .filter(|(k, _)| k != "skip_test")
                .collect(),
            local,
        });
        table::save(&self.barrier, &stored).await?;
        let mut next = Vec::clone(&self.devices.load());
        next.push(device);
        self.devices.store(Arc::new(next));
        tracing::info!(path = %path.as_str(), "audit device enabled");
        Ok(())
    }

    /// `DELETE sys/audit/:path`: gone from the table, salt deleted. Absent: no-op.
    pub async fn disable(&self, path: &AuditPath) -> Result<(), AuditError> {
        let _changing = self.changes.lock().await;
        let Ok(device) = self.get(path) else {
            return Ok(());
        };
        if device.origin == Origin::Config {
            return Err(AuditError::Declared(path.as_str().to_string()));
        }
        let mut stored = table::load(&self.barrier).await?;
        stored.retain(|e| e.path != path.as_str());
        table::save(&self.barrier, &stored).await?;
        let next: Vec<Arc<Device>> = self
            .devices
            .load()
            .iter()
            .filter(|d| d.path != *path)
            .cloned()
            .collect();
        self.devices.store(Arc::new(next));
        salt::delete(&self.barrier, path).await?;
        tracing::info!(path = %path.as_str(), "audit device disabled");
        Ok(())
    }

    /// SIGHUP: reopens every device's file. Returns how many failed (each is logged).
    pub async fn reopen(&self) -> usize {
        let mut failed = 0;
        for d in self.devices.load_full().iter() {
            if let Err(e) = d.reopen().await {
                failed += 1;
                tracing::error!(path = %d.path.as_str(), error = %e, "reopening audit device failed");
            }
        }
        failed
    }

    /// Logs the request entry on every enabled device. `Err(Unrecorded)`: devices are
    /// enabled and none recorded it; the request must not run.
    pub async fn log_request(
        &self,
        req: &LogicalRequest,
        trail: &mut AuditTrail,
        mounts: &MountRegistry,
    ) -> Result<(), AuditError> {
        let devices = self.devices.load_full();
        if !devices.is_empty() && trail.mount.is_none() {
            trail.mount = mounts.resolve(&req.path).map(|m| m.entry);
        }
        let mut memos: Vec<Option<entry::Memo>> = Vec::with_capacity(devices.len());
        memos.resize_with(devices.len(), || None);
        let time = entry::now();
        let bodies: Vec<String> = devices
            .iter()
            .zip(memos.iter_mut())
            .map(|(device, memo)| entry::render_for(device, memo, &time, req, trail, None))
            .collect();
        trail.memos = memos.into_iter().map(Option::unwrap_or_default).collect();
        let result = write_all(&devices, "request", bodies).await;
        trail.devices = Some(devices);
        if result.is_err() {
            trail.refused = true;
        }
        result
    }

    /// Logs the response entry on the devices that took the request entry.
    /// `Err(Unrecorded)`: none recorded it; the response must be withheld.
    pub async fn log_response(
        &self,
        req: &LogicalRequest,
        trail: &AuditTrail,
        outcome: &Result<LogicalResponse, CoreError>,
    ) -> Result<(), AuditError> {
        let Some(devices) = &trail.devices else {
            return Ok(());
        };
        if devices.is_empty() {
            return Ok(());
        }
        let time = entry::now();
        let bodies: Vec<String> = devices
            .iter()
            .enumerate()
            .map(|(i, device)| match trail.memos.get(i) {
                Some(memo) => {
                    entry::render(&device.hasher(), memo, &time, req, trail, Some(outcome))
                }
                None => entry::render_for(device, &mut None, &time, req, trail, Some(outcome)),
            })
            .collect();
        write_all(devices, "response", bodies).await
    }
}

/// Writes one entry (rendered per device: each has its own salt) to every device (each
/// combines concurrent writes; see `device`). `Err(Unrecorded)` when none recorded it.
async fn write_all(
    devices: &[Arc<Device>],
    what: &str,
    bodies: Vec<String>,
) -> Result<(), AuditError> {
    if devices.is_empty() {
        return Ok(());
    }
    let mut recorded = 0usize;
    let writes = devices
        .iter()
        .zip(bodies)
        .map(|(device, body)| device.write(body));
    let results = futures_util::future::join_all(writes).await;
    for (device, result) in devices.iter().zip(results) {
        match result {
            Ok(()) => recorded += 1,
            Err(e) => {
                tracing::error!(device = %device.path.as_str(), entry = what, error = %e, "audit device failed");
            }
        }
    }
    if recorded == 0 {
        tracing::error!(entry = what, "no audit device recorded the entry: refusing");
        return Err(AuditError::Unrecorded);
    }
    Ok(())
}
