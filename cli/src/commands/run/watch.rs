//! What `strongroom run` watches while the child runs: the signals it forwards, and the
//! polling of unleased secrets (KV, static credentials) for changes. Leased secrets are
//! watched through the [`LeaseKeeper`](strongroom_client::LeaseKeeper)'s events instead.

use std::collections::{BTreeMap, BTreeSet};

use strongroom_client::Client;
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::fetch::{fetch_path, Fetched};
use super::spec::ChildSignal;

/// The signals forwarded to the child, registered before the child starts.
#[derive(Debug)]
pub struct Signals {
    streams: Vec<(ChildSignal, Signal)>,
}

impl Signals {
    /// Installs the handlers (from now on these signals no longer end this process).
    pub fn install() -> std::io::Result<Signals> {
        let streams = ChildSignal::ALL
            .iter()
            .map(|s| Ok((*s, signal(SignalKind::from_raw(s.number()))?)))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Signals { streams })
    }

    /// The next signal received (cancel-safe).
    pub async fn recv(&mut self) -> ChildSignal {
        let futures = self.streams.iter_mut().map(|(sig, stream)| {
            let sig = *sig;
            Box::pin(async move {
                stream.recv().await;
                sig
            })
        });
        futures_select_all(futures).await
    }
}

/// The first of several futures to finish.
async fn futures_select_all<F>(futures: impl Iterator<Item = F>) -> ChildSignal
where
    F: std::future::Future<Output = ChildSignal> + Unpin,
{
    let mut futures: Vec<F> = futures.collect();
    std::future::poll_fn(move |cx| {
        for f in futures.iter_mut() {
            if let std::task::Poll::Ready(sig) = std::pin::Pin::new(f).poll(cx) {
                return std::task::Poll::Ready(sig);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Re-reads every unleased path and returns those whose referenced fields changed, with
/// their new values. A failed read is reported on stderr (without values) and skipped:
/// the child keeps its current values until a read succeeds.
pub async fn poll_unleased(
    client: &Client,
    paths: &BTreeMap<&str, BTreeSet<&str>>,
    current: &BTreeMap<String, Fetched>,
) -> Vec<(String, Fetched)> {
    let mut changed = Vec::new();
    for (path, fields) in paths {
        let Some(old) = current.get(*path) else {
            continue;
        };
        if old.lease.is_some() {
            continue;
        }
        match fetch_path(client, path, fields).await {
            Ok(new) if new.lease.is_none() && new.fields != old.fields => {
                changed.push((path.to_string(), new));
            }
            Ok(new) => {
                // An unleased secret that came back leased: do not leak the new lease.
                if let Some(lease) = new.lease {
                    let _ = client.revoke_lease(&lease.id).await;
                }
            }
            Err(e) => {
                let detail = std::error::Error::source(&e)
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default();
                eprintln!(
                    "strongroom run: checking for changes: {e}{detail}; keeping the current values"
                );
            }
        }
    }
    changed
}
