//! One enabled audit device: its definition, salt, sink and hash chain.
//!
//! Invariant: a device's lines never interleave and its chain never forks: the sink and
//! the chain head sit behind one lock, and only its holder chains and writes. Writes are
//! combined (group write): a request queues its rendered entry, then tries to take the
//! lock; the holder writes **every** queued entry in one `write`, tells each waiting
//! request the outcome, releases the lock and looks at the queue again. A request that
//! finds the lock taken just awaits its answer: no thread blocks on the lock, no `.await`
//! happens under it, and under load one syscall carries many lines. The head advances
//! only when the write succeeded.

use std::sync::Mutex;

use serde_json::{json, Value};
use strongroom_client::audit_chain;
use tokio::sync::oneshot;

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

type Reply = oneshot::Sender<Result<(), std::io::Error>>;

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
    /// Rendered entries waiting to be written, with whoever waits for each.
    queue: Mutex<Vec<(String, Reply)>>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    sink: Sink,
    /// The link of the last line written ("" before the first).
    head: String,
    /// Reused output buffer.
    buf: String,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
    ) -> Result<Device, AuditError> {
        let (sink, head) = Sink::open(&spec.target);
        Ok(Device {
            chain_key: salt.chain_key(),
            path,
            spec,
            description,
            local,
            origin,
            salt,
            queue: Mutex::new(Vec::new()),
            state: Mutex::new(State {
                sink,
                head,
                buf: String::new(),
            }),
        })
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
        let head = lock(&self.state).head.clone();
        (self.chain_key.to_hex(), head)
    }

    /// Chains and writes one entry (`body`: the compact JSON of the entry); returns once
    /// the line was written (or failed).
    pub async fn write(&self, body: String) -> Result<(), AuditError> {
        let (reply, answer) = oneshot::channel();
        lock(&self.queue).push((body, reply));
        self.combine();
        match answer.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(AuditError::Corrupt(
                "an audit entry was dropped unwritten".into(),
            )),
        }
    }

    /// Writes what is queued unless another caller holds the lock (it will, then: every
    /// holder looks at the queue again after releasing the lock, so an entry queued by a
    /// caller that found the lock taken is never stranded).
    fn combine(&self) {
        loop {
            {
                let mut state = match self.state.try_lock() {
                    Ok(state) => state,
                    Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => return,
                };
                while self.flush(&mut state) {}
            }
            if lock(&self.queue).is_empty() {
                return;
            }
        }
    }

    /// Writes every queued entry in one `write`; false when the queue was empty.
    fn flush(&self, state: &mut State) -> bool {
        let jobs = std::mem::take(&mut *lock(&self.queue));
        if jobs.is_empty() {
            return false;
        }
        let State { sink, head, buf } = state;
        buf.clear();
        let mut prev = head.clone();
        let mut waiting = Vec::with_capacity(jobs.len());
        for (mut body, reply) in jobs {
            match audit_chain::chain_in_place(self.chain_key.expose(), &prev, &mut body) {
                Some(link) => {
                    buf.push_str(&self.spec.prefix);
                    buf.push_str(&body);
                    prev = link;
                    waiting.push(reply);
                }
                None => {
                    let _ = reply.send(Err(std::io::Error::other(
                        "an audit entry is not a JSON object",
                    )));
                }
            }
        }
        if waiting.is_empty() {
            return true;
        }
        match sink.write_line(buf.as_bytes()) {
            Ok(()) => {
                *head = prev;
                for reply in waiting {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(e) => {
                // Not written: the chain continues from the last written line.
                for reply in waiting {
                    let _ = reply.send(Err(std::io::Error::new(e.kind(), e.to_string())));
                }
            }
        }
        if buf.capacity() > 1 << 20 {
            *buf = String::new();
        }
        true
    }

    /// Reopens the sink (SIGHUP: log rotation) after writing what is queued. The chain
    /// continues in the new file.
    pub async fn reopen(&self) -> Result<(), AuditError> {
        let reopened = {
            let mut state = lock(&self.state);
            while self.flush(&mut state) {}
            state.sink.reopen()
        };
        self.combine();
        Ok(reopened?)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;

    fn file_device(path: &std::path::Path) -> Device {
        let options =
            BTreeMap::from([("file_path".to_string(), path.to_str().unwrap().to_string())]);
        Device::open(
            AuditPath::parse("t").unwrap(),
            DeviceSpec::parse("file", &options).unwrap(),
            String::new(),
            false,
            Origin::Config,
            Salt::from_text("salt"),
        )
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_form_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let device = Arc::new(file_device(&path));
        let tasks: Vec<_> = (0..300)
            .map(|i| {
                let d = Arc::clone(&device);
                tokio::spawn(async move { d.write(format!("{{\"n\":{i}}}")).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let (key_hex, head) = device.chain_info();
        let key = hex::decode(key_hex).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 300);
        let report = audit_chain::verify_lines(&key, text.lines(), Some(&head));
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.head_is_last, Some(true));
        // Reopened (restart): the chain continues from the file's last line.
        drop(device);
        let again = file_device(&path);
        assert_eq!(again.chain_info().1, head);
        again.write("{}".into()).await.unwrap();
        again.reopen().await.unwrap();
        again.write("{\"after\":1}".into()).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let report = audit_chain::verify_lines(&key, text.lines(), Some(&again.chain_info().1));
        assert!(report.is_intact(), "{report:?}");
    }

    #[tokio::test]
    async fn a_failed_write_is_reported_and_does_not_advance_the_head() {
        let device = file_device(std::path::Path::new("/dev/full"));
        assert!(device.write("{}".into()).await.is_err());
        assert_eq!(device.chain_info().1, "");
    }
}
