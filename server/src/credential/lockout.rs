//! User lockout (wire reference §5.2): after `threshold` failed logins within
//! `counter_reset`, a principal of a mount is locked for `duration`; while locked,
//! every login (even with the right credential) is refused with 403. A successful login
//! resets the counter; `sys/locked-users/:accessor/unlock/:alias` unlocks early.
//!
//! Principals are keyed by the mount accessor and the method's normalised alias
//! (userpass: the lower-cased user name), so case or whitespace variants of a name share
//! one counter. State is kept in memory: a restart clears lockouts (single node).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lockout settings (Vault's defaults: 5 attempts, 15 minutes, counter reset 15 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failed attempts that lock the principal.
    pub threshold: u32,
    /// How long a lockout lasts.
    pub duration: Duration,
    /// A failure older than this no longer counts.
    pub counter_reset: Duration,
    /// Lockout switched off.
    pub disabled: bool,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            threshold: 5,
            duration: Duration::from_secs(15 * 60),
            counter_reset: Duration::from_secs(15 * 60),
            disabled: false,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

/// Failed-login accounting for every auth mount.
#[derive(Debug, Default)]
pub struct Lockout {
    policy: LockoutPolicy,
    records: Mutex<HashMap<(String, String), Record>>,
}

/// Most principals tracked at once; beyond it, entries that no longer matter are pruned
/// first, so a flood of made-up names cannot grow memory without bound.
const MAX_TRACKED: usize = 100_000;

impl Lockout {
    /// A tracker with `policy`.
    pub fn new(policy: LockoutPolicy) -> Lockout {
        Lockout {
            policy,
            records: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Record>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `alias` on the mount `accessor` is locked out now.
    pub fn is_locked(&self, accessor: &str, alias: &str) -> bool {
        if self.policy.disabled {
            return false;
        }
        let now = Instant::now();
        self.lock()
            .get(&(accessor.to_string(), alias.to_string()))
            .and_then(|r| r.locked_until)
            .is_some_and(|until| until > now)
    }

    /// Records a failed login.
    pub fn failed(&self, accessor: &str, alias: &str) {
        if self.policy.disabled {
            return;
        }
        let now = Instant::now();
        let mut records = self.lock();
        if records.len() >= MAX_TRACKED {
            let policy = self.policy;
            records.retain(|_, r| !Self::stale(&policy, r, now));
        }
        let record = records
            .entry((accessor.to_string(), alias.to_string()))
            .or_insert(Record {
                failures: 0,
                last_failure: now,
                locked_until: None,
            });
        if now.duration_since(record.last_failure) > self.policy.counter_reset {
            record.failures = 0;
        }
        if record.locked_until.is_some_and(|until| until <= now) {
            record.failures = 0;
            record.locked_until = None;
        }
        record.failures = record.failures.saturating_add(1);
        record.last_failure = now;
        if record.failures >= self.policy.threshold {
            record.locked_until = Some(now + self.policy.duration);
        }
    }

    /// Records a successful login: the counter starts again.
    pub fn succeeded(&self, accessor: &str, alias: &str) {
        self.lock()
            .remove(&(accessor.to_string(), alias.to_string()));
    }

    /// Unlocks `alias` on `accessor`. `false` when it was not locked.
    pub fn unlock(&self, accessor: &str, alias: &str) -> bool {
        let now = Instant::now();
        self.lock()
            .remove(&(accessor.to_string(), alias.to_string()))
            .and_then(|r| r.locked_until)
            .is_some_and(|until| until > now)
    }

    /// The principals locked now, by mount accessor.
    pub fn locked(&self) -> BTreeMap<String, Vec<String>> {
        let now = Instant::now();
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ((accessor, alias), r) in self.lock().iter() {
            if r.locked_until.is_some_and(|until| until > now) {
                out.entry(accessor.clone()).or_default().push(alias.clone());
            }
        }
        for aliases in out.values_mut() {
            aliases.sort();
        }
        out
    }

    fn stale(policy: &LockoutPolicy, r: &Record, now: Instant) -> bool {
        match r.locked_until {
            Some(until) => until <= now,
            None => now.duration_since(r.last_failure) > policy.counter_reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_threshold_and_unlocks() {
        let l = Lockout::new(LockoutPolicy::default());
        for _ in 0..4 {
            l.failed("auth_userpass_1", "bob");
            assert!(!l.is_locked("auth_userpass_1", "bob"));
        }
        l.failed("auth_userpass_1", "bob");
        assert!(l.is_locked("auth_userpass_1", "bob"));
        assert!(!l.is_locked("auth_userpass_2", "bob"), "per mount");
        assert_eq!(
            l.locked().get("auth_userpass_1").cloned(),
            Some(vec!["bob".to_string()])
        );
        assert!(l.unlock("auth_userpass_1", "bob"));
        assert!(!l.is_locked("auth_userpass_1", "bob"));
        assert!(!l.unlock("auth_userpass_1", "bob"));
    }

    #[test]
    fn success_resets_and_disabled_never_locks() {
        let l = Lockout::new(LockoutPolicy::default());
        for _ in 0..4 {
            l.failed("a", "x");
        }
        l.succeeded("a", "x");
        for _ in 0..4 {
            l.failed("a", "x");
        }
        assert!(!l.is_locked("a", "x"));
        let off = Lockout::new(LockoutPolicy {
            disabled: true,
            ..LockoutPolicy::default()
        });
        for _ in 0..10 {
            off.failed("a", "x");
        }
        assert!(!off.is_locked("a", "x"));
    }

    #[test]
    fn expired_lockouts_end() {
        let l = Lockout::new(LockoutPolicy {
            threshold: 1,
            duration: Duration::from_millis(1),
            counter_reset: Duration::from_secs(60),
            disabled: false,
        });
        l.failed("a", "x");
        std::thread::sleep(Duration::from_millis(5));
        assert!(!l.is_locked("a", "x"));
        assert!(l.locked().is_empty());
    }
}
