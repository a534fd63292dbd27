//! One enabled audit device: its definition, salt, and the writer thread that owns its
//! sink and its hash chain.
//!
//! Invariant: a device's lines never interleave and its chain never forks. Both follow
//! from one owner: a dedicated thread receives rendered entries through a bounded
//! channel, chains them in arrival order and writes every entry that is waiting in
//! **one** `write` (group write: under load one syscall carries many lines), then tells
//! each request whether its line was written. Requests await that answer (fail closed)
//! without holding a lock or blocking a runtime thread. The head advances only when the
//! write succeeded. The thread ends when the device is dropped (disabled, or sealed) and
//! the last in-flight request released it.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use strongroom_client::audit_chain;
use tokio::sync::{mpsc, oneshot};

use super::entry::Hasher;
use super::path::AuditPath;
use super::salt::{ChainKey, Salt};
use super::sink::Sink;
use super::spec::DeviceSpec;
use super::AuditError;

/// Entries that may wait for the writer thread before requests wait to enqueue.
const QUEUE: usize = 4096;
/// Most entries written in one `write`.
const MAX_BATCH: usize = 512;

/// Where the device came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `[[audit]]` in the server configuration (cannot be disabled through the API).
    Config,
    /// `PUT sys/audit/:path` (persisted in the audit table).
    Api,
}

type Reply = oneshot::Sender<Result<(), std::io::Error>>;

/// Work for the writer thread.
enum Job {
    /// Chain and write one entry (compact JSON).
    Write(String, Reply),
    /// Reopen the sink (log rotation), after everything queued before.
    Reopen(Reply),
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
    /// The link of the last line written ("" before the first); written by the thread.
    head: Arc<Mutex<String>>,
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Write(..) => "Write(..)",
            Job::Reopen(_) => "Reopen",
        })
    }
}

impl Device {
    /// Opens the device's sink (an existing file's chain continues from its last complete
    /// line) and starts its writer thread.
    pub fn open(
        path: AuditPath,
        spec: DeviceSpec,
        description: String,
        local: bool,
        origin: Origin,
        salt: Salt,
    ) -> Result<Device, AuditError> {
        let (sink, head) = Sink::open(&spec.target);
        let head = Arc::new(Mutex::new(head));
        let (jobs, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            sink,
            key: salt.chain_key(),
            prefix: spec.prefix.clone(),
            head: Arc::clone(&head),
        };
        std::thread::Builder::new()
            .name(format!("audit-{}", path.as_str().trim_end_matches('/')))
            .spawn(move || writer.run(rx))?;
        Ok(Device {
            chain_key: salt.chain_key(),
            path,
            spec,
            description,
            local,
            origin,
            salt,
            head,
            jobs,
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
        let head = lock(&self.head).clone();
        (self.chain_key.to_hex(), head)
    }

    async fn submit(&self, job: impl FnOnce(Reply) -> Job) -> Result<(), AuditError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(job(reply))
            .await
            .map_err(|_| AuditError::Corrupt("the audit writer thread is gone".into()))?;
        match answer.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(AuditError::Corrupt(
                "the audit writer thread is gone".into(),
            )),
        }
    }

    /// Chains and writes one entry (`body`: the compact JSON of the entry); returns once
    /// the line was written (or failed).
    pub async fn write(&self, body: String) -> Result<(), AuditError> {
        self.submit(|reply| Job::Write(body, reply)).await
    }

    /// Reopens the sink (SIGHUP: log rotation) after the entries queued before. The chain
    /// continues in the new file.
    pub async fn reopen(&self) -> Result<(), AuditError> {
        self.submit(Job::Reopen).await
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

fn lock(head: &Mutex<String>) -> std::sync::MutexGuard<'_, String> {
    head.lock().unwrap_or_else(|p| p.into_inner())
}

/// The writer thread's state.
struct Writer {
    sink: Sink,
    key: ChainKey,
    prefix: String,
    head: Arc<Mutex<String>>,
}

/// Lines chained but not yet written, and who waits for them.
struct Batch {
    buf: String,
    waiting: Vec<Reply>,
    /// The head after the lines in `buf`.
    prev: String,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = Batch {
                buf: String::new(),
                waiting: Vec::new(),
                prev: lock(&self.head).clone(),
            };
            let mut next = Some(first);
            let mut taken = 0;
            while let Some(job) = next.take() {
                taken += 1;
                match job {
                    Job::Write(mut body, reply) => {
                        match audit_chain::chain_in_place(self.key.expose(), &batch.prev, &mut body)
                        {
                            Some(link) => {
                                batch.buf.push_str(&self.prefix);
                                batch.buf.push_str(&body);
                                batch.prev = link;
                                batch.waiting.push(reply);
                            }
                            None => {
                                let _ = reply.send(Err(std::io::Error::other(
                                    "an audit entry is not a JSON object",
                                )));
                            }
                        }
                    }
                    Job::Reopen(reply) => {
                        self.flush(&mut batch);
                        let _ = reply.send(self.sink.reopen());
                    }
                }
                if taken < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            self.flush(&mut batch);
        }
    }

    /// One `write` for every line in the batch; everyone waiting learns the outcome.
    fn flush(&mut self, batch: &mut Batch) {
        if batch.waiting.is_empty() {
            return;
        }
        match self.sink.write_line(batch.buf.as_bytes()) {
            Ok(()) => {
                *lock(&self.head) = batch.prev.clone();
                for reply in batch.waiting.drain(..) {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(e) => {
                // Not written: the chain continues from the last written line.
                batch.prev = lock(&self.head).clone();
                for reply in batch.waiting.drain(..) {
                    let _ = reply.send(Err(std::io::Error::new(e.kind(), e.to_string())));
                }
            }
        }
        batch.buf.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

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
