//! Lease expiration: putting engine secrets on leases, renewing them, and revoking them
//! on request, with their token, or when they expire.
//!
//! The persistence is [`LeaseStore`](crate::lease::LeaseStore) (rows indexed by due
//! time); this module is the policy around it. Revocation of due leases runs in passes
//! of at most [`PASS_LIMIT`] leases on a bounded pool of [`WORKERS`] concurrent
//! revocations. A failure backs off twice over: the lease's next attempt moves out
//! exponentially ([`retry_delay`]) and its *target* (one database connection) is left
//! alone until then, so the other leases of an unreachable database wait without an
//! attempt each and nothing else is held up. After [`MAX_ATTEMPTS`] failures the lease is
//! marked irrevocable: logged, counted, shown by `sys/leases/lookup`, never retried in a
//! loop, and never a reason to seal.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use time::OffsetDateTime;

use super::{Core, CoreError, Unsealed};
use crate::engines::{self, MountContext, NewSecret};
use crate::lease::{ttl, LeaseEntry, NewLease};
use crate::mount::{MountEntry, MountType, ResolvedMount};

/// Concurrent revocations at most.
pub const WORKERS: usize = 16;
/// Leases taken from the due index per pass.
pub const PASS_LIMIT: usize = 512;
/// Failed attempts before a lease is marked irrevocable (≈ 47 minutes of backoff).
pub const MAX_ATTEMPTS: u32 = 14;

/// Delay before attempt `attempts + 1`: 1 s doubling to at most 10 minutes.
pub fn retry_delay(attempts: u32) -> Duration {
    let secs = 1u64 << attempts.saturating_sub(1).min(10);
    Duration::from_secs(secs.min(600))
}

/// In-memory state of the expiration machinery (small: one entry per failing target).
#[derive(Debug, Default)]
pub struct Expiration {
    /// Targets in backoff: not attempted before the instant.
    backoff: Mutex<HashMap<String, OffsetDateTime>>,
    /// Wakes the background pass early (a token's leases were scheduled).
    wake: tokio::sync::Notify,
    /// Leases marked irrevocable since unseal.
    irrevocable_total: AtomicU64,
    /// Successful revocations since unseal.
    revoked_total: AtomicU64,
    /// Failed revocation attempts since unseal.
    failures_total: AtomicU64,
}

impl Expiration {
    /// Waits until a pass is requested early (or forever).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Requests an early pass.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// (revoked, failed attempts, marked irrevocable) since unseal.
    pub fn counters(&self) -> (u64, u64, u64) {
        (
            self.revoked_total.load(Ordering::Relaxed),
            self.failures_total.load(Ordering::Relaxed),
            self.irrevocable_total.load(Ordering::Relaxed),
        )
    }

    fn backing_off(&self, target: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let mut map = self.backoff.lock().ok()?;
        match map.get(target) {
            Some(until) if *until > now => Some(*until),
            Some(_) => {
                map.remove(target);
                None
            }
            None => None,
        }
    }

    fn back_off(&self, target: &str, until: OffsetDateTime) {
        if let Ok(mut map) = self.backoff.lock() {
            let slot = map.entry(target.to_string()).or_insert(until);
            if *slot < until {
                *slot = until;
            }
        }
    }

    fn recovered(&self, target: &str) {
        if let Ok(mut map) = self.backoff.lock() {
            map.remove(target);
        }
    }
}

/// A lease granted for a new secret, for the response envelope.
#[derive(Debug)]
pub struct Granted {
    /// The lease id.
    pub lease_id: String,
    /// Whether it can be renewed.
    pub renewable: bool,
    /// Its TTL, seconds.
    pub ttl: u64,
    /// The cap warning, if the backend TTL exceeded the maximum.
    pub warning: Option<String>,
}

/// How a revocation request treats failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeMode {
    /// Revoke now; a failure is the caller's error and the lease stays.
    Sync,
    /// Schedule for the background pass and return.
    Async,
    /// Revoke now; on failure delete the lease anyway (`revoke-force`).
    Force,
}

impl Core {
    /// Registers the lease of a secret an engine just issued for `path`, owned by the
    /// token `owner`. If the lease cannot be stored the secret is revoked again.
    pub(super) async fn register_lease(
        &self,
        unsealed: &Unsealed,
        mount: &ResolvedMount,
        path: &str,
        secret: NewSecret,
        owner: &str,
        ctx: &MountContext,
    ) -> Result<Granted, CoreError> {
        let now = OffsetDateTime::now_utc();
        let outcome = ttl::calculate(&ttl::TtlInput {
            requested: 0,
            backend_ttl: secret.default_ttl,
            backend_max: secret.max_ttl,
            mount_default: ctx.default_lease_ttl,
            mount_max: ctx.max_lease_ttl,
            issue_time: now,
            now,
        })
        .map_err(CoreError::from)?;
        let max_ttl = match secret.max_ttl {
            0 => ctx.max_lease_ttl,
            m => m.min(ctx.max_lease_ttl),
        };
        let new = NewLease {
            path: path.trim_end_matches('/').to_string(),
            mount_uuid: mount.entry.uuid.clone(),
            target: secret.target.clone(),
            internal: secret.internal.clone(),
            ttl: outcome.ttl,
            max_ttl,
            renewable: secret.renewable,
            token: Some(owner.to_string()),
        };
        match unsealed.leases.create(new).await {
            Ok(lease) => Ok(Granted {
                lease_id: lease.id,
                renewable: lease.renewable,
                ttl: outcome.ttl,
                warning: outcome.warning,
            }),
            Err(e) => {
                tracing::error!(error = %e, path, "storing a lease failed; revoking its secret");
                if let Err(revoke) =
                    engine_revoke(unsealed, &mount.entry, ctx, &secret.internal).await
                {
                    tracing::error!(error = %revoke, path, "revoking an unleased secret failed");
                }
                Err(e.into())
            }
        }
    }

    /// Hands the leases of revoked tokens to the expiration pass: one marker per token
    /// that owns any (the pass schedules them, concurrently), so revoking a token with
    /// thousands of leases stays a quick request.
    pub(super) async fn expire_token_leases(
        &self,
        unsealed: &Unsealed,
        tokens: &[String],
    ) -> Result<(), CoreError> {
        if unsealed.leases.mark_tokens_revoked(tokens).await? > 0 {
            unsealed.expiration.wake();
        }
        Ok(())
    }

    /// Revokes one lease. Unknown ids are not an error (Vault answers 204). A failed
    /// revocation is a 400 in OpenBao's words (`failed to revoke entry: …`).
    pub async fn revoke_lease(
        &self,
        unsealed: &Unsealed,
        id: &str,
        mode: RevokeMode,
    ) -> Result<(), CoreError> {
        match self.try_revoke_lease(unsealed, id, mode).await? {
            None => Ok(()),
            Some(failure) => Err(CoreError::Invalid(failure)),
        }
    }

    /// [`Self::revoke_lease`], with the engine's failure (already worded for the client)
    /// as `Some` and only the lease store's own failures as errors.
    async fn try_revoke_lease(
        &self,
        unsealed: &Unsealed,
        id: &str,
        mode: RevokeMode,
    ) -> Result<Option<String>, CoreError> {
        let Some(lease) = unsealed.leases.get(id).await? else {
            return Ok(None);
        };
        if mode == RevokeMode::Async {
            unsealed.leases.schedule_now(id).await?;
            unsealed.expiration.wake();
            return Ok(None);
        }
        match revoke_in_engine(unsealed, &lease).await {
            Ok(()) => {
                unsealed.leases.delete(id).await?;
                unsealed
                    .expiration
                    .revoked_total
                    .fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) if mode == RevokeMode::Force => {
                tracing::warn!(lease_id = id, error = %e, "revoke-force: deleting a lease whose revocation failed");
                unsealed.leases.delete(id).await?;
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(lease_id = id, error = %e, "lease revocation failed");
                Ok(Some(format!("{}{}", failed_entry("revoke"), public(&e))))
            }
        }
    }

    /// Revokes every lease whose id starts with `prefix` (a folder: `/` is appended), and
    /// every token created under it. Returns how many leases were revoked. The first
    /// failure stops it, as OpenBao words it: `failed to revoke "<id>" (<n> / <total>): …`.
    pub async fn revoke_lease_prefix(
        &self,
        unsealed: &Unsealed,
        prefix: &str,
        mode: RevokeMode,
    ) -> Result<usize, CoreError> {
        let folder = format!("{}/", prefix.trim_end_matches('/'));
        // Tokens are created under `auth/…` only; anything else would be a walk over every
        // token for nothing (an unmount of a secrets engine comes through here).
        if folder.starts_with("auth/") {
            let tokens = unsealed.tokens.revoke_by_path_prefix(&folder).await?;
            self.after_token_revocation(unsealed, &tokens).await?;
        }
        // The total for the message; a page at a time, so no list of ids is held.
        let total = count_with_prefix(unsealed, &folder).await?;
        let mut count = 0;
        let mut after = String::new();
        loop {
            let ids = unsealed
                .leases
                .ids_with_prefix(&folder, &after, PASS_LIMIT)
                .await?;
            let Some(last) = ids.last() else {
                break;
            };
            after = last.clone();
            for id in &ids {
                if let Some(failure) = self.try_revoke_lease(unsealed, id, mode).await? {
                    return Err(CoreError::Invalid(format!(
                        "failed to revoke {id:?} ({} / {}): {failure}",
                        count + 1,
                        total.max(count + 1)
                    )));
                }
                count += 1;
            }
        }
        Ok(count)
    }

    /// Renews a lease by `increment` seconds from now (0: the backend default), capped
    /// by its maximum. Returns the entry and the TTL granted, with the cap warning.
    pub async fn renew_lease(
        &self,
        unsealed: &Unsealed,
        id: &str,
        increment: u64,
    ) -> Result<(LeaseEntry, u64, Option<String>), CoreError> {
        let lease = unsealed
            .leases
            .get(id)
            .await?
            .ok_or_else(|| CoreError::Invalid("lease not found".into()))?;
        let now = OffsetDateTime::now_utc();
        // Vault's words for each case.
        if lease.revocation.irrevocable {
            return Err(CoreError::Invalid("lease is expired".into()));
        }
        if lease.expire_time <= now {
            return Err(CoreError::Invalid("lease expired".into()));
        }
        if !lease.renewable {
            return Err(CoreError::Invalid("lease is not renewable".into()));
        }
        let mount = mount_by_uuid(unsealed, &lease.mount_uuid)
            .ok_or_else(|| CoreError::Invalid("lease not found".into()))?;
        let ctx = mount_ctx(unsealed, &mount)?;
        let (backend_ttl, backend_max) = match mount.mount_type {
            MountType::Database => {
                let ttls = engines::database::role_ttls(&ctx, &lease.internal)
                    .await
                    .map_err(renew_failure)?;
                (ttls.default_ttl, ttls.max_ttl)
            }
            _ => return Err(CoreError::Invalid("lease is not renewable".into())),
        };
        let outcome = ttl::calculate(&ttl::TtlInput {
            requested: increment,
            backend_ttl,
            backend_max,
            mount_default: ctx.default_lease_ttl,
            mount_max: ctx.max_lease_ttl,
            issue_time: lease.issue_time,
            now,
        })?;
        let expiration = now + Duration::from_secs(outcome.ttl);
        engines::database::renew(&ctx, &unsealed.databases, &lease.internal, expiration)
            .await
            .map_err(renew_failure)?;
        let renewed = unsealed
            .leases
            .renewed(id, expiration, now)
            .await?
            .ok_or_else(|| CoreError::Invalid("lease not found".into()))?;
        Ok((renewed, outcome.ttl, outcome.warning))
    }

    /// One background pass: revokes the leases that are due, on a bounded pool. Returns
    /// whether it was a full pass that dealt with every lease it took (then more may be
    /// due at once). A no-op while sealed.
    pub async fn revoke_due_leases(&self) -> Result<bool, CoreError> {
        let Ok(unsealed) = self.unsealed() else {
            return Ok(false);
        };
        let more_tokens = schedule_revoked_tokens(&unsealed).await?;
        let now = OffsetDateTime::now_utc();
        let due = unsealed.leases.due(now, PASS_LIMIT).await?;
        let seen = due.len();
        let handled = AtomicU64::new(0);
        futures_util::stream::iter(due)
            .for_each_concurrent(WORKERS, |id| {
                let (unsealed, handled) = (&unsealed, &handled);
                async move {
                    match revoke_due(unsealed, &id, now).await {
                        Ok(()) => {
                            handled.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            tracing::warn!(lease_id = %id, error = %e, "lease expiration pass failed");
                        }
                    }
                }
            })
            .await;
        // Anything not dealt with is still due: the next pass waits, never a hot loop.
        Ok(more_tokens
            || (seen == PASS_LIMIT && handled.load(Ordering::Relaxed) == PASS_LIMIT as u64))
    }

    /// The static-rotation pass over every database mount. Returns the roles rotated.
    pub async fn rotate_static_roles(&self) -> Result<usize, CoreError> {
        let Ok(unsealed) = self.unsealed() else {
            return Ok(0);
        };
        let now = OffsetDateTime::now_utc();
        let mut rotated = 0;
        for entry in unsealed.mounts.list() {
            if entry.mount_type != MountType::Database {
                continue;
            }
            let ctx = mount_ctx(&unsealed, &entry)?;
            match engines::database::rotate_due_static_roles(&ctx, &unsealed.databases, now).await {
                Ok(report) => rotated += report.rotated,
                Err(e) => {
                    tracing::warn!(mount = %entry.path, error = %e, "static role rotation pass failed");
                }
            }
        }
        Ok(rotated)
    }

    /// One pass of transit key auto-rotation over every transit mount; returns how many
    /// keys were rotated. A no-op while sealed.
    pub async fn rotate_transit_keys(&self) -> Result<usize, CoreError> {
        let Ok(unsealed) = self.unsealed() else {
            return Ok(0);
        };
        let now = OffsetDateTime::now_utc();
        let mut rotated = 0;
        for entry in unsealed.mounts.list() {
            if entry.mount_type != MountType::Transit {
                continue;
            }
            let ctx = mount_ctx(&unsealed, &entry)?;
            match engines::transit::rotate_due_keys(&ctx, &unsealed.transit, now).await {
                Ok(n) => rotated += n,
                Err(e) => {
                    tracing::warn!(mount = %entry.path, error = %e, "transit key rotation pass failed");
                }
            }
        }
        Ok(rotated)
    }
}

/// Schedules (due now) up to [`PASS_LIMIT`] leases of revoked tokens, concurrently, and
/// forgets the tokens that have none left. `true` when a full page was scheduled (more
/// may be waiting).
async fn schedule_revoked_tokens(unsealed: &Unsealed) -> Result<bool, CoreError> {
    let mut budget = PASS_LIMIT;
    for token in unsealed.leases.revoked_tokens(WORKERS).await? {
        let ids = unsealed.leases.by_token_after(&token, "", budget).await?;
        if ids.is_empty() {
            unsealed.leases.clear_revoked_token(&token).await?;
            continue;
        }
        budget -= ids.len();
        let failed = AtomicU64::new(0);
        futures_util::stream::iter(ids)
            .for_each_concurrent(WORKERS, |id| {
                let failed = &failed;
                async move {
                    if let Err(e) = unsealed.leases.schedule_now(&id).await {
                        failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(lease_id = %id, error = %e, "scheduling a revoked token's lease failed");
                    }
                }
            })
            .await;
        if failed.load(Ordering::Relaxed) > 0 || budget == 0 {
            // A failure waits for the next pass (no hot loop); a full page goes on at once.
            return Ok(budget == 0 && failed.load(Ordering::Relaxed) == 0);
        }
    }
    Ok(false)
}

/// One due lease: revoke it, or defer it while its target backs off, or record the
/// failure (irrevocable after [`MAX_ATTEMPTS`]).
async fn revoke_due(unsealed: &Unsealed, id: &str, now: OffsetDateTime) -> Result<(), CoreError> {
    let Some(lease) = unsealed.leases.get(id).await? else {
        // Revoked meanwhile, or an index that outlived its entry: drop any such index.
        unsealed.leases.forget_stray_due(id, now).await?;
        return Ok(());
    };
    let exp = &unsealed.expiration;
    if let Some(until) = exp.backing_off(&lease.target, now) {
        unsealed.leases.defer(id, until).await?;
        return Ok(());
    }
    match revoke_in_engine(unsealed, &lease).await {
        Ok(()) => {
            exp.recovered(&lease.target);
            unsealed.leases.delete(id).await?;
            exp.revoked_total.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(lease_id = id, "lease revoked");
        }
        Err(e) => {
            exp.failures_total.fetch_add(1, Ordering::Relaxed);
            let attempts = lease.revocation.attempts + 1;
            let message = public(&e);
            if attempts >= MAX_ATTEMPTS {
                unsealed.leases.mark_irrevocable(id, &message).await?;
                exp.irrevocable_total.fetch_add(1, Ordering::Relaxed);
                tracing::error!(lease_id = id, attempts, error = %e, "lease marked irrevocable after repeated revocation failures");
            } else {
                let retry_at = OffsetDateTime::now_utc() + retry_delay(attempts);
                unsealed
                    .leases
                    .record_failure(id, &message, retry_at)
                    .await?;
                exp.back_off(&lease.target, retry_at);
                tracing::warn!(lease_id = id, attempts, error = %e, "lease revocation failed; will retry");
            }
        }
    }
    Ok(())
}

/// Revokes a lease's secret in the engine of the mount that issued it.
async fn revoke_in_engine(unsealed: &Unsealed, lease: &LeaseEntry) -> Result<(), CoreError> {
    let Some(mount) = mount_by_uuid(unsealed, &lease.mount_uuid) else {
        return Err(CoreError::Invalid(format!(
            "the mount that issued lease {} no longer exists",
            lease.id
        )));
    };
    let ctx = mount_ctx(unsealed, &mount)?;
    engine_revoke(unsealed, &mount, &ctx, &lease.internal).await
}

async fn engine_revoke(
    unsealed: &Unsealed,
    mount: &MountEntry,
    ctx: &MountContext,
    internal: &serde_json::Value,
) -> Result<(), CoreError> {
    match mount.mount_type {
        MountType::Database => {
            Ok(engines::database::revoke(ctx, &unsealed.databases, internal).await?)
        }
        // Nothing else issues leased secrets.
        MountType::Kv
        | MountType::Cubbyhole
        | MountType::Transit
        | MountType::System
        | MountType::Token
        | MountType::Userpass
        | MountType::Approle
        | MountType::Cert => Ok(()),
    }
}

/// The context of a mount's engine outside a request (no caller: never a cubbyhole).
fn mount_ctx(unsealed: &Unsealed, entry: &MountEntry) -> Result<MountContext, CoreError> {
    Ok(MountContext::for_mount(
        unsealed.mounts.barrier().view(&entry.data_prefix())?,
        entry,
    ))
}

fn mount_by_uuid(unsealed: &Unsealed, uuid: &str) -> Option<std::sync::Arc<MountEntry>> {
    unsealed.mounts.list().into_iter().find(|m| m.uuid == uuid)
}

/// A failure as the client (and the lease's lookup) may see it.
fn public(e: &CoreError) -> String {
    e.public_messages().join("; ")
}

/// How OpenBao introduces a backend's failure to revoke or renew a lease (the Go
/// rendering of its nil response included, since clients see exactly this).
fn failed_entry(what: &str) -> String {
    format!("failed to {what} entry: resp: (*logical.Response)(nil) err: ")
}

/// An engine's failure to renew, as the 400 OpenBao answers; storage failures keep
/// their own kind.
fn renew_failure(e: engines::EngineError) -> CoreError {
    match e {
        engines::EngineError::Barrier(b) => CoreError::Barrier(b),
        e => CoreError::Invalid(format!(
            "{}{}",
            failed_entry("renew"),
            e.public_messages().join("; ")
        )),
    }
}

/// How many leases have ids under `folder`.
async fn count_with_prefix(unsealed: &Unsealed, folder: &str) -> Result<usize, CoreError> {
    let mut total = 0;
    let mut after = String::new();
    loop {
        let ids = unsealed
            .leases
            .ids_with_prefix(folder, &after, PASS_LIMIT)
            .await?;
        let Some(last) = ids.last() else {
            return Ok(total);
        };
        total += ids.len();
        after = last.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_in_openbao_words() {
        assert_eq!(
            failed_entry("revoke"),
            "failed to revoke entry: resp: (*logical.Response)(nil) err: "
        );
        let e = renew_failure(engines::EngineError::Invalid(
            "error during renew: could not find role with name \"r\"".into(),
        ));
        assert_eq!(e.kind(), crate::error::ErrorKind::Invalid);
        assert_eq!(
            e.to_string(),
            "failed to renew entry: resp: (*logical.Response)(nil) err: error during renew: \
             could not find role with name \"r\""
        );
        let e = renew_failure(engines::EngineError::Barrier(
            crate::barrier::BarrierError::Sealed,
        ));
        assert!(matches!(e, CoreError::Barrier(_)));
    }

    #[test]
    fn retry_delay_doubles_and_is_capped() {
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(2), Duration::from_secs(2));
        assert_eq!(retry_delay(5), Duration::from_secs(16));
        assert_eq!(retry_delay(30), Duration::from_secs(600));
        let total: u64 = (1..MAX_ATTEMPTS).map(|a| retry_delay(a).as_secs()).sum();
        assert!(
            total > 1800,
            "irrevocable only after half an hour of retries: {total}"
        );
    }
}
