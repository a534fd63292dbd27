//! [`LeaseKeeper`]: keeps leases and tokens alive in the background and says when it
//! no longer can.
//!
//! Each kept item (a lease, or a token) gets its own Tokio task, which renews it at about
//! two thirds of its TTL (less a small random jitter, so that many clients started
//! together do not renew in lock-step), asking each time for the TTL the item was issued
//! with. What happens is reported on the [`KeeperEvents`] channel:
//!
//! - [`KeeperEvent::Renewed`]: renewed for the full TTL asked for.
//! - [`KeeperEvent::RenewalImpossible`]: renewal is over for this item, with the
//!   [`StopReason`] and the time it has left: it is not renewable, it reached its maximum
//!   TTL (the server granted less than asked), the server refused (a 4xx: revoked,
//!   unknown, permission denied — it is then treated as gone, `remaining` is zero), or
//!   transient failures (connection errors, 5xx, 429, retried with exponential backoff)
//!   lasted until it expired.
//! - [`KeeperEvent::Expired`]: the item's time ran out (sent after `RenewalImpossible`
//!   when it still had time left).
//!
//! Every item ends with exactly one `RenewalImpossible`, unless it is released, revoked
//! through the keeper, or the keeper is stopped first. Dropping the keeper (or
//! [`LeaseKeeper::shutdown`]) stops every task; nothing is revoked implicitly — call
//! [`LeaseKeeper::revoke_all_leases`] for that.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::api::{AuthInfo, DatabaseCredentials, Envelope};
use crate::{Client, ClientError};

/// Longest wait between two attempts of a failing renewal.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What a keeper looks after.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kept {
    /// A lease, by lease id.
    Lease(String),
    /// A token, by accessor (lease ids and accessors are not secrets; tokens are).
    Token(String),
}

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kept::Lease(id) => write!(f, "lease {id}"),
            Kept::Token(accessor) => write!(f, "token with accessor {accessor}"),
        }
    }
}

/// Why an item can no longer be renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The item was issued as not renewable, or the server says it is not.
    NotRenewable,
    /// The server granted less than asked: the item reached its maximum TTL.
    MaxTtlReached,
    /// The server refused the renewal with a client error (4xx other than 429): the
    /// lease or token was revoked, is unknown, or may not be renewed by this token.
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's messages.
        errors: Vec<String>,
    },
    /// Renewal kept failing (connection errors, 5xx, 429) until the item expired.
    Failing(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::NotRenewable => f.write_str("it is not renewable"),
            StopReason::MaxTtlReached => f.write_str("it reached its maximum TTL"),
            StopReason::Refused { status, errors } => {
                write!(f, "the server refused ({status}: {})", errors.join("; "))
            }
            StopReason::Failing(last) => write!(f, "renewal kept failing: {last}"),
        }
    }
}

/// What happened to a kept item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeeperEvent {
    /// Renewed for `ttl` (the full TTL asked for).
    Renewed {
        /// The item.
        kept: Kept,
        /// Its new TTL.
        ttl: Duration,
    },
    /// The item will not be renewed again.
    RenewalImpossible {
        /// The item.
        kept: Kept,
        /// Why.
        reason: StopReason,
        /// How long it stays valid (zero when it is gone already).
        remaining: Duration,
    },
    /// The item's time ran out.
    Expired {
        /// The item.
        kept: Kept,
    },
}

impl KeeperEvent {
    /// The item the event is about.
    pub fn kept(&self) -> &Kept {
        match self {
            KeeperEvent::Renewed { kept, .. }
            | KeeperEvent::RenewalImpossible { kept, .. }
            | KeeperEvent::Expired { kept } => kept,
        }
    }
}

/// Errors of the keeper's own calls.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// The secret has no lease (`lease_id` is empty) or no TTL.
    #[error("the secret has no lease to keep")]
    NotLeased,
    /// Called outside a Tokio runtime.
    #[error("the lease keeper needs a Tokio runtime")]
    NoRuntime,
    /// A call to the server failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The receiving end of a keeper's events. Ends (`recv` returns `None`) once the keeper
/// is dropped or shut down.
#[derive(Debug)]
pub struct KeeperEvents(mpsc::UnboundedReceiver<KeeperEvent>);

impl KeeperEvents {
    /// The next event; `None` when the keeper is gone.
    pub async fn recv(&mut self) -> Option<KeeperEvent> {
        self.0.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<KeeperEvent> {
        self.0.try_recv().ok()
    }
}

/// Renews leases and tokens in the background (see the [module docs](self)).
///
/// ```no_run
/// use strongroom_client::{Client, KeeperEvent, LeaseKeeper};
///
/// # async fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder().from_env()?.build()?;
/// let creds = client.database_creds("database", "app").await?;
/// let (keeper, mut events) = LeaseKeeper::new(client.clone());
/// keeper.keep_credentials(&creds)?;
/// keeper.keep_client_token().await?; // the client's own token, when it expires
/// while let Some(event) = events.recv().await {
///     match event {
///         KeeperEvent::Renewed { .. } => {}
///         KeeperEvent::RenewalImpossible { kept, reason, remaining } => {
///             eprintln!("{kept} ends in {remaining:?}: {reason}; fetching new credentials");
///             break;
///         }
///         KeeperEvent::Expired { kept } => eprintln!("{kept} expired"),
///     }
/// }
/// keeper.revoke_all_leases().await; // drops the database account
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LeaseKeeper {
    client: Client,
    events: mpsc::UnboundedSender<KeeperEvent>,
    tasks: Mutex<HashMap<Kept, JoinHandle<()>>>,
}

/// What a task renews.
#[derive(Debug, Clone)]
enum Target {
    Lease { client: Client, id: String },
    Token { client: Client },
}

/// The outcome of one renewal, retries included.
enum Attempt {
    Renewed { granted: Duration, capped: bool },
    Refused { status: u16, errors: Vec<String> },
    GaveUp(String),
}

impl LeaseKeeper {
    /// A keeper renewing through `client` (whose token renews leases), and the channel
    /// its events arrive on.
    pub fn new(client: Client) -> (LeaseKeeper, KeeperEvents) {
        let (tx, rx) = mpsc::unbounded_channel();
        let keeper = LeaseKeeper {
            client,
            events: tx,
            tasks: Mutex::new(HashMap::new()),
        };
        (keeper, KeeperEvents(rx))
    }

    fn tasks(&self) -> MutexGuard<'_, HashMap<Kept, JoinHandle<()>>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps the lease of a secret read from any engine (e.g. `read_secret` of
    /// `database/creds/app`). Errors when it has no lease.
    pub fn keep_lease<T>(&self, secret: &Envelope<T>) -> Result<Kept, KeeperError> {
        self.keep_lease_id(
            &secret.lease_id,
            Duration::from_secs(secret.lease_duration),
            secret.renewable,
        )
    }

    /// Keeps the lease of database credentials.
    pub fn keep_credentials(&self, creds: &DatabaseCredentials) -> Result<Kept, KeeperError> {
        self.keep_lease_id(
            &creds.lease_id,
            Duration::from_secs(creds.lease_duration),
            creds.renewable,
        )
    }

    /// Keeps lease `lease_id`, which has `ttl` left; each renewal asks for `ttl` again
    /// (whole seconds). Keeping an id already kept starts over with the new TTL.
    pub fn keep_lease_id(
        &self,
        lease_id: &str,
        ttl: Duration,
        renewable: bool,
    ) -> Result<Kept, KeeperError> {
        if lease_id.is_empty() || ttl.is_zero() {
            return Err(KeeperError::NotLeased);
        }
        let target = Target::Lease {
            client: self.client.clone(),
            id: lease_id.to_string(),
        };
        self.spawn(Kept::Lease(lease_id.to_string()), target, ttl, renewable)
    }

    /// Keeps the token of a login or token-creation answer alive (renewing it with
    /// `renew-self` as itself). Returns `None` for a token that never expires
    /// (`lease_duration` 0), which needs no renewal.
    pub fn keep_token(&self, auth: &AuthInfo) -> Result<Option<Kept>, KeeperError> {
        if auth.lease_duration == 0 {
            return Ok(None);
        }
        let target = Target::Token {
            client: self.client.with_token(auth.client_token.as_str()),
        };
        self.spawn(
            Kept::Token(auth.accessor.clone()),
            target,
            Duration::from_secs(auth.lease_duration),
            auth.renewable,
        )
        .map(Some)
    }

    /// Keeps the keeper's own client token alive: looks it up (`lookup-self`) and
    /// renews it at 2/3 of its remaining TTL, each time by its period (periodic tokens)
    /// or its creation TTL. `None` for a token that never expires.
    pub async fn keep_client_token(&self) -> Result<Option<Kept>, KeeperError> {
        let me = self.client.lookup_self().await?;
        if me.ttl == 0 {
            return Ok(None);
        }
        let increment = me.period.filter(|p| *p > 0).unwrap_or(me.creation_ttl);
        let target = Target::Token {
            client: self.client.clone(),
        };
        let kept = Kept::Token(me.accessor.clone());
        self.spawn_with(
            kept,
            target,
            Duration::from_secs(me.ttl),
            increment.max(1),
            me.renewable,
        )
        .map(Some)
    }

    fn spawn(
        &self,
        kept: Kept,
        target: Target,
        ttl: Duration,
        renewable: bool,
    ) -> Result<Kept, KeeperError> {
        let increment = ttl.as_secs().max(1);
        self.spawn_with(kept, target, ttl, increment, renewable)
    }

    fn spawn_with(
        &self,
        kept: Kept,
        target: Target,
        ttl: Duration,
        increment: u64,
        renewable: bool,
    ) -> Result<Kept, KeeperError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| KeeperError::NoRuntime)?;
        let task = keep(
            kept.clone(),
            target,
            ttl,
            increment,
            renewable,
            self.events.clone(),
        );
        let handle = runtime.spawn(task);
        if let Some(old) = self.tasks().insert(kept.clone(), handle) {
            old.abort();
        }
        Ok(kept)
    }

    /// What is being kept (items whose renewal is over are left out).
    pub fn kept(&self) -> Vec<Kept> {
        let mut kept: Vec<Kept> = self
            .tasks()
            .iter()
            .filter(|(_, handle)| !handle.is_finished())
            .map(|(kept, _)| kept.clone())
            .collect();
        kept.sort();
        kept
    }

    /// Stops renewing `kept` without revoking it. Returns whether it was kept.
    pub fn release(&self, kept: &Kept) -> bool {
        match self.tasks().remove(kept) {
            Some(handle) => {
                handle.abort();
                true
            }
            None => false,
        }
    }

    /// Stops renewing lease `lease_id` and revokes it.
    pub async fn revoke_lease(&self, lease_id: &str) -> Result<(), ClientError> {
        self.release(&Kept::Lease(lease_id.to_string()));
        self.client.revoke_lease(lease_id).await
    }

    /// Stops renewing every lease and revokes them all (tokens are left alone). Returns
    /// the leases whose revocation failed, with the error.
    pub async fn revoke_all_leases(&self) -> Vec<(String, ClientError)> {
        let ids: Vec<String> = {
            let mut tasks = self.tasks();
            let ids: Vec<String> = tasks
                .keys()
                .filter_map(|k| match k {
                    Kept::Lease(id) => Some(id.clone()),
                    Kept::Token(_) => None,
                })
                .collect();
            for id in &ids {
                if let Some(handle) = tasks.remove(&Kept::Lease(id.clone())) {
                    handle.abort();
                }
            }
            ids
        };
        let mut failures = Vec::new();
        for id in ids {
            if let Err(e) = self.client.revoke_lease(&id).await {
                failures.push((id, e));
            }
        }
        failures
    }

    /// Stops every renewal task and waits until they are gone. Nothing is revoked.
    pub async fn shutdown(self) {
        let handles: Vec<JoinHandle<()>> = self.tasks().drain().map(|(_, h)| h).collect();
        for handle in &handles {
            handle.abort();
        }
        for handle in handles {
            let _ = handle.await;
        }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        for (_, handle) in self.tasks().drain() {
            handle.abort();
        }
    }
}

/// A pseudo-random number in `0..bound` (0 when `bound` is 0), for jitter.
fn random_below(bound: u64) -> u64 {
    if bound == 0 {
        return 0;
    }
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish() % bound
}

/// When to renew an item granted `ttl` at `granted_at`: at 2/3 of the TTL, minus a
/// jitter of up to 1/15 of it (so between 60 % and 67 %).
fn renew_at(granted_at: Instant, ttl: Duration) -> Instant {
    let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    let base = millis / 3 * 2;
    let jitter = random_below(millis / 15);
    granted_at + Duration::from_millis(base.saturating_sub(jitter))
}

/// The first wait after a failed attempt: a thirtieth of the TTL, between 250 ms and 5 s.
fn first_backoff(ttl: Duration) -> Duration {
    (ttl / 30).clamp(Duration::from_millis(250), Duration::from_secs(5))
}

fn is_transient(err: &ClientError) -> bool {
    match err {
        ClientError::Api { status, .. } => *status >= 500 || *status == 429,
        ClientError::Transport(_) | ClientError::Decode(_) => true,
        ClientError::Config(_) | ClientError::InvalidArgument(_) => false,
    }
}

fn says_not_renewable(errors: &[String]) -> bool {
    errors.iter().any(|e| e.contains("not renewable"))
}

async fn renew_once(target: &Target, increment: u64) -> Result<(u64, bool), ClientError> {
    match target {
        Target::Lease { client, id } => {
            let answer = client.renew_lease(id, Some(increment)).await?;
            let capped_warning = answer
                .warnings
                .iter()
                .flatten()
                .any(|w| w.contains("capped"));
            Ok((answer.lease_duration, capped_warning))
        }
        Target::Token { client } => {
            let auth = client.renew_self(Some(increment)).await?;
            Ok((auth.lease_duration, false))
        }
    }
}

/// One renewal, retrying transient failures with backoff while the item has time left.
async fn renew_with_retries(
    target: &Target,
    increment: u64,
    ttl: Duration,
    deadline: Instant,
) -> Attempt {
    let mut backoff = first_backoff(ttl);
    loop {
        match renew_once(target, increment).await {
            Ok((granted, capped_warning)) => {
                return Attempt::Renewed {
                    granted: Duration::from_secs(granted),
                    capped: capped_warning || granted < increment,
                }
            }
            Err(ClientError::Api { status, errors }) if !(status >= 500 || status == 429) => {
                return Attempt::Refused { status, errors }
            }
            Err(e) if is_transient(&e) => {
                if Instant::now() + backoff >= deadline {
                    return Attempt::GaveUp(e.to_string());
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => return Attempt::GaveUp(e.to_string()),
        }
    }
}

/// The task keeping one item.
async fn keep(
    kept: Kept,
    target: Target,
    ttl: Duration,
    increment: u64,
    renewable: bool,
    events: mpsc::UnboundedSender<KeeperEvent>,
) {
    let send = |event: KeeperEvent| {
        // The receiver may be gone; the app then does not care.
        let _ = events.send(event);
    };
    let mut granted_at = Instant::now();
    let mut ttl = ttl;
    let mut deadline = granted_at + ttl;
    let reason = if renewable {
        loop {
            tokio::time::sleep_until(renew_at(granted_at, ttl)).await;
            match renew_with_retries(&target, increment, ttl, deadline).await {
                Attempt::Renewed { granted, capped } => {
                    granted_at = Instant::now();
                    deadline = granted_at + granted;
                    if capped || granted.is_zero() {
                        break StopReason::MaxTtlReached;
                    }
                    ttl = granted;
                    send(KeeperEvent::Renewed {
                        kept: kept.clone(),
                        ttl,
                    });
                }
                Attempt::Refused { errors, .. } if says_not_renewable(&errors) => {
                    break StopReason::NotRenewable;
                }
                Attempt::Refused { status, errors } => {
                    send(KeeperEvent::RenewalImpossible {
                        kept,
                        reason: StopReason::Refused { status, errors },
                        remaining: Duration::ZERO,
                    });
                    return;
                }
                Attempt::GaveUp(last) => break StopReason::Failing(last),
            }
        }
    } else {
        StopReason::NotRenewable
    };
    send(KeeperEvent::RenewalImpossible {
        kept: kept.clone(),
        reason,
        remaining: deadline.saturating_duration_since(Instant::now()),
    });
    tokio::time::sleep_until(deadline).await;
    send(KeeperEvent::Expired { kept });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_due_between_60_and_67_percent_of_the_ttl() {
        let start = Instant::now();
        for _ in 0..200 {
            let at = renew_at(start, Duration::from_secs(300)) - start;
            assert!(at >= Duration::from_secs(180), "{at:?}");
            assert!(at <= Duration::from_secs(200), "{at:?}");
        }
        assert_eq!(renew_at(start, Duration::ZERO), start);
    }

    #[test]
    fn backoff_bounds_and_error_classes() {
        assert_eq!(
            first_backoff(Duration::from_secs(1)),
            Duration::from_millis(250)
        );
        assert_eq!(
            first_backoff(Duration::from_secs(3600)),
            Duration::from_secs(5)
        );
        let api = |status| ClientError::Api {
            status,
            errors: vec![],
        };
        assert!(is_transient(&api(503)));
        assert!(is_transient(&api(429)));
        assert!(!is_transient(&api(400)));
        assert!(!is_transient(&api(403)));
        assert!(says_not_renewable(&["lease is not renewable".into()]));
    }

    #[tokio::test]
    async fn not_leased_secrets_are_refused_and_shutdown_is_clean() {
        let client = Client::builder()
            .address("http://127.0.0.1:9")
            .build()
            .unwrap();
        let (keeper, mut events) = LeaseKeeper::new(client);
        assert!(matches!(
            keeper.keep_lease_id("", Duration::from_secs(5), true),
            Err(KeeperError::NotLeased)
        ));
        // A lease that is not renewable is reported at once, and expires.
        keeper
            .keep_lease_id("x/1", Duration::from_millis(1500), false)
            .unwrap();
        match events.recv().await.unwrap() {
            KeeperEvent::RenewalImpossible {
                kept,
                reason: StopReason::NotRenewable,
                remaining,
            } => {
                assert_eq!(kept, Kept::Lease("x/1".into()));
                assert!(remaining <= Duration::from_millis(1500));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(keeper.kept(), vec![Kept::Lease("x/1".into())]);
        assert!(matches!(
            events.recv().await.unwrap(),
            KeeperEvent::Expired { .. }
        ));
        // Unreachable server: transient failures until expiry.
        keeper
            .keep_lease_id("x/2", Duration::from_secs(2), true)
            .unwrap();
        match events.recv().await.unwrap() {
            KeeperEvent::RenewalImpossible {
                reason: StopReason::Failing(_),
                ..
            } => {}
            other => panic!("{other:?}"),
        }
        keeper.shutdown().await;
        // Events sent before the shutdown stay queued (on a loaded machine, x/2 may have
        // expired by now); after them the channel is closed.
        let drained = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(event) = events.recv().await {
                assert!(matches!(event, KeeperEvent::Expired { .. }), "{event:?}");
            }
        })
        .await;
        assert!(
            drained.is_ok(),
            "the event channel stays open after shutdown"
        );
    }
}
