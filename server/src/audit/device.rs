//! One enabled audit device: its definition, salt, chain state and sink.
//!
//! Invariant: a device's lines never interleave and its chain never forks: the chain head
//! and the sink sit behind one lock, held only for the (synchronous) write of one line.
//! The head advances only when the line was written.

use std::sync::Mutex;

use serde_json::{json, Value};
use strongroom_client::audit_chain;

use super::entry::Hasher;
use super::path::AuditPath;
use super::salt::{ChainKey, Salt};
use super::sink::Sink;
use super::spec::DeviceSpec;
use super::AuditError;

/// Where the device came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `[[audit]]` in the server configuration (cannot be disabled through the API).
    Config,
    /// `PUT sys/audit/:path` (persisted in the audit table).
    Api,
}

/// An enabled device.
#[derive(Debug)]
pub struct Device {
    /// Where it is enabled.
    pub path: AuditPath,
    /// What it is.
    pub spec: DeviceSpec,
    /// Free text.
    pub description: String,
    /// Vault's `local` flag (kept and listed; there is no replication).
    pub local: bool,
    /// Config or API.
    pub origin: Origin,
    salt: Salt,
    chain_key: ChainKey,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    sink: Sink,
    /// The link of the last line written ("" before the first).
    head: String,
}

impl Device {
    /// Opens the device's sink; an existing file's chain is continued from its last
    /// complete line.
    pub fn open(
        path: AuditPath,
        spec: DeviceSpec,
        description: String,
        local: bool,
        origin: Origin,
        salt: Salt,
    ) -> Device {
        let (sink, head) = Sink::open(&spec.target);
        let chain_key = salt.chain_key();
        Device {
            path,
            spec,
            description,
            local,
            origin,
            salt,
            chain_key,
            state: Mutex::new(State { sink, head }),
        }
    }

    /// How this device renders values.
    pub fn hasher(&self) -> Hasher<'_> {
        Hasher::new(
            (!self.spec.log_raw).then_some(&self.salt),
            self.spec.hmac_accessor,
        )
    }

    /// `sys/audit-hash`: the device's HMAC of `input` (also with `log_raw`, as Vault).
    pub fn hash(&self, input: &str) -> String {
        self.salt.hash(input)
    }

    /// The chain key (hex) and the current head.
    pub fn chain_info(&self) -> (String, String) {
        let head = self.lock().head.clone();
        (self.chain_key.to_hex(), head)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Chains and writes one entry (`body`: the compact JSON of the entry), in one
    /// `write` under the device's lock.
    pub fn write(&self, mut body: String) -> Result<(), AuditError> {
        let mut state = self.lock();
        let link = audit_chain::chain_in_place(self.chain_key.expose(), &state.head, &mut body)
            .ok_or_else(|| AuditError::Corrupt("an audit entry is not a JSON object".into()))?;
        if !self.spec.prefix.is_empty() {
            body.insert_str(0, &self.spec.prefix);
        }
        state.sink.write_line(body.as_bytes())?;
        state.head = link;
        Ok(())
    }

    /// Reopens the sink (SIGHUP: log rotation). The chain continues in the new file.
    pub fn reopen(&self) -> std::io::Result<()> {
        self.lock().sink.reopen()
    }

    /// The `sys/audit` listing of this device.
    pub fn to_wire(&self) -> Value {
        json!({
            "type": self.spec.device_type.as_str(),
            "description": self.description,
            "options": self.spec.options,
            "path": self.path.as_str(),
            "local": self.local,
        })
    }
}
