//! Token-bucket rate limits: per client IP on login paths (the core), and an optional
//! global request quota (the API layer). A refused request gets 429 with `Retry-After`.
//!
//! Buckets refill continuously at `per_second` up to `burst`. The per-IP table is
//! bounded: when it is full, buckets that have refilled completely (idle clients) are
//! dropped first, so a flood of source addresses cannot grow memory without bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A rate: `per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second (> 0).
    pub per_second: f64,
    /// Bucket size (≥ 1).
    pub burst: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn full(limit: &RateLimit, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(limit.burst.max(1)),
            last: now,
        }
    }

    /// Takes one token, or says how long until one is available.
    fn take(&mut self, limit: &RateLimit, now: Instant) -> Result<(), Duration> {
        let cap = f64::from(limit.burst.max(1));
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * limit.per_second).min(cap);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / limit.per_second.max(f64::MIN_POSITIVE);
            Err(Duration::from_secs_f64(wait.min(86_400.0)))
        }
    }

    fn is_full(&self, limit: &RateLimit, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * limit.per_second >= f64::from(limit.burst.max(1))
    }
}

/// Whole seconds to put in `Retry-After` (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Most client addresses tracked at once.
const MAX_KEYS: usize = 100_000;

/// One bucket per client address.
#[derive(Debug)]
pub struct PerClientLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl PerClientLimiter {
    /// A limiter with `limit` per address.
    pub fn new(limit: RateLimit) -> PerClientLimiter {
        PerClientLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one request from `addr`, or returns how long to wait.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(&addr) {
            let limit = self.limit;
            buckets.retain(|_, b| !b.is_full(&limit, now));
            if buckets.len() >= MAX_KEYS {
                // Every tracked client is active: refuse newcomers rather than forget
                // someone who is being limited.
                return Err(Duration::from_secs(1));
            }
        }
        buckets
            .entry(addr)
            .or_insert_with(|| Bucket::full(&self.limit, now))
            .take(&self.limit, now)
    }
}

/// One bucket for everything.
#[derive(Debug)]
pub struct GlobalLimiter {
    limit: RateLimit,
    bucket: Mutex<Bucket>,
}

impl GlobalLimiter {
    /// A limiter with `limit` for all requests together.
    pub fn new(limit: RateLimit) -> GlobalLimiter {
        GlobalLimiter {
            limit,
            bucket: Mutex::new(Bucket::full(&limit, Instant::now())),
        }
    }

    /// Admits one request, or returns how long to wait.
    pub fn check(&self) -> Result<(), Duration> {
        self.bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take(&self.limit, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limit = RateLimit {
            per_second: 1000.0,
            burst: 3,
        };
        let l = PerClientLimiter::new(limit);
        let a: IpAddr = "10.0.0.1".parse().unwrap_or(IpAddr::from([10, 0, 0, 1]));
        let b: IpAddr = IpAddr::from([10, 0, 0, 2]);
        for _ in 0..3 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).err();
        assert!(wait.is_some_and(|w| w <= Duration::from_millis(2)));
        assert!(l.check(b).is_ok(), "other clients are not affected");
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.check(a).is_ok(), "refilled");
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
    }

    #[test]
    fn global_quota() {
        let g = GlobalLimiter::new(RateLimit {
            per_second: 0.001,
            burst: 2,
        });
        assert!(g.check().is_ok());
        assert!(g.check().is_ok());
        let wait = g.check().err();
        assert!(wait.is_some_and(|w| w > Duration::from_secs(100)));
    }
}
