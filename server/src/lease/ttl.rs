//! The TTL arithmetic of a lease (wire reference §10.2), as one pure function.
//!
//! Used when a lease is issued (requested = the request's `ttl`, if any) and when it is
//! renewed (requested = the `increment`). Periods and explicit max TTLs are token
//! concerns and are left out here.
//!
//! ```text
//! max      = mount_max, lowered to backend_max when 0 < backend_max < mount_max
//! ttl      = requested if > 0, else backend_ttl if > 0, else mount_default
//! deadline = issue_time + max           (both times truncated to whole seconds)
//! remaining = deadline - now            (≤ 0 → "past the max TTL, cannot renew")
//! ttl > remaining → ttl = remaining, with Vault's warning
//! ```
//!
//! Consequences (verified live against OpenBao): increments are measured from now and
//! may shorten a lease; renewing near the max returns less than asked, with a warning;
//! a role default above the max is capped at issue, with the same warning.
//!
//! Invariants: the mount values are the *effective* ones
//! (`MountEntry::effective_default_ttl` / `effective_max_ttl`), so `mount_max` is never 0
//! in practice; if it is, this refuses rather than granting an unbounded lease.

use time::OffsetDateTime;

use super::LeaseError;
use crate::core::duration::human_duration;

/// Everything the TTL of a lease depends on. Seconds; 0 = not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlInput {
    /// The renewal increment or the TTL asked for at creation.
    pub requested: u64,
    /// The backend's TTL (role `default_ttl`).
    pub backend_ttl: u64,
    /// The backend's max TTL (role `max_ttl`).
    pub backend_max: u64,
    /// The mount's effective default lease TTL.
    pub mount_default: u64,
    /// The mount's effective max lease TTL.
    pub mount_max: u64,
    /// When the lease was (or is being) issued.
    pub issue_time: OffsetDateTime,
    /// The current time.
    pub now: OffsetDateTime,
}

/// The TTL to grant, and the warning to return when it was capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlOutcome {
    /// Seconds from now.
    pub ttl: u64,
    /// `TTL of "…" exceeded the effective max_ttl of "…"; TTL value is capped accordingly`.
    pub warning: Option<String>,
}

/// Computes the TTL of a lease (see the module documentation).
pub fn calculate(input: &TtlInput) -> Result<TtlOutcome, LeaseError> {
    let mut max = input.mount_max;
    if input.backend_max > 0 && input.backend_max < max {
        max = input.backend_max;
    }
    if max == 0 {
        return Err(LeaseError::NoMaxTtl);
    }
    let wanted = if input.requested > 0 {
        input.requested
    } else if input.backend_ttl > 0 {
        input.backend_ttl
    } else {
        input.mount_default
    };
    // Whole seconds, as Vault truncates both times before comparing.
    let now = input.now.unix_timestamp();
    let deadline = input
        .issue_time
        .unix_timestamp()
        .saturating_add(i64::try_from(max).unwrap_or(i64::MAX));
    let remaining = deadline.saturating_sub(now);
    let remaining = match u64::try_from(remaining) {
        Ok(r) if r > 0 => r,
        _ => return Err(LeaseError::PastMaxTtl),
    };
    if wanted > remaining {
        return Ok(TtlOutcome {
            ttl: remaining,
            warning: Some(format!(
                "TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped accordingly",
                human_duration(wanted),
                human_duration(remaining)
            )),
        });
    }
    Ok(TtlOutcome {
        ttl: wanted,
        warning: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::macros::datetime;
    use time::Duration;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-22 13:17:48 UTC);

    fn input(requested: u64, issue_time: OffsetDateTime, now: OffsetDateTime) -> TtlInput {
        TtlInput {
            requested,
            backend_ttl: 0,
            backend_max: 0,
            mount_default: 2_764_800,
            mount_max: 2_764_800,
            issue_time,
            now,
        }
    }

    #[test]
    fn mount_tuned_default_applies_when_the_role_has_no_ttl() {
        let mut i = input(0, T0, T0);
        i.mount_default = 1800;
        i.mount_max = 7200;
        assert_eq!(
            calculate(&i).unwrap(),
            TtlOutcome {
                ttl: 1800,
                warning: None
            }
        );
        // Untuned: the system default of 768h.
        assert_eq!(calculate(&input(0, T0, T0)).unwrap().ttl, 2_764_800);
    }

    #[test]
    fn renewal_past_the_max_is_capped_with_warning() {
        // Increment 10h, 2h max (from the mount), renewed 1 s after issue.
        let mut i = input(36_000, T0, T0 + Duration::seconds(1));
        i.mount_default = 1800;
        i.mount_max = 7200;
        let out = calculate(&i).unwrap();
        assert_eq!(out.ttl, 7199);
        assert_eq!(
            out.warning.as_deref(),
            Some(
                "TTL of \"10h\" exceeded the effective max_ttl of \"1h59m59s\"; TTL value is capped accordingly"
            )
        );
        // The same with the 2h max coming from the role.
        let mut i = input(36_000, T0, T0 + Duration::seconds(1));
        i.backend_max = 7200;
        assert_eq!(calculate(&i).unwrap().ttl, 7199);
    }

    #[test]
    fn vaults_24h_example() {
        // `lease_duration` 86393 for a 24h max after 7 s, increment 999h.
        let mut i = input(999 * 3600, T0, T0 + Duration::seconds(7));
        i.backend_max = 86_400;
        let out = calculate(&i).unwrap();
        assert_eq!(out.ttl, 86_393);
        assert_eq!(
            out.warning.unwrap(),
            "TTL of \"999h\" exceeded the effective max_ttl of \"23h59m53s\"; TTL value is capped accordingly"
        );
    }

    #[test]
    fn increments_are_measured_from_now_and_may_shorten() {
        let issue = T0;
        let now = T0 + Duration::minutes(30);
        let out = calculate(&input(60, issue, now)).unwrap();
        assert_eq!(out.ttl, 60);
        assert_eq!(out.warning, None);
        // Not from the previous expiry, and not added to what is left.
        let out = calculate(&input(3600, issue, now)).unwrap();
        assert_eq!(out.ttl, 3600);
    }

    #[test]
    fn precedence_of_requested_backend_and_mount() {
        let mut i = input(0, T0, T0);
        i.backend_ttl = 600;
        assert_eq!(calculate(&i).unwrap().ttl, 600);
        i.requested = 120;
        assert_eq!(calculate(&i).unwrap().ttl, 120);
        // A backend max above the mount max does not raise it.
        let mut i = input(0, T0, T0);
        i.mount_max = 3600;
        i.mount_default = 3600;
        i.backend_max = 7200;
        i.requested = 5000;
        let out = calculate(&i).unwrap();
        assert_eq!(out.ttl, 3600);
        assert!(out.warning.is_some());
        // A mount max above the system max is honoured.
        let mut i = input(4_000_000, T0, T0);
        i.mount_max = 5_000_000;
        assert_eq!(calculate(&i).unwrap().ttl, 4_000_000);
    }

    #[test]
    fn a_role_default_above_the_max_is_capped_at_issue() {
        let mut i = input(0, T0, T0);
        i.backend_ttl = 3 * 3600;
        i.backend_max = 3600;
        let out = calculate(&i).unwrap();
        assert_eq!(out.ttl, 3600);
        assert_eq!(
            out.warning.unwrap(),
            "TTL of \"3h\" exceeded the effective max_ttl of \"1h\"; TTL value is capped accordingly"
        );
    }

    #[test]
    fn past_the_max_cannot_renew() {
        let mut i = input(60, T0, T0 + Duration::hours(2));
        i.mount_max = 7200;
        let err = calculate(&i).unwrap_err();
        assert!(matches!(err, LeaseError::PastMaxTtl));
        assert_eq!(err.to_string(), "past the max TTL, cannot renew");
        i.now = T0 + Duration::hours(3);
        assert!(matches!(calculate(&i), Err(LeaseError::PastMaxTtl)));
        // One second before the deadline there is one second left.
        i.now = T0 + Duration::seconds(7199);
        let out = calculate(&i).unwrap();
        assert_eq!(out.ttl, 1);
        assert_eq!(
            out.warning.unwrap(),
            "TTL of \"1m\" exceeded the effective max_ttl of \"1s\"; TTL value is capped accordingly"
        );
    }

    #[test]
    fn times_are_truncated_to_seconds() {
        // Issued at 0.9 s, renewed at 2.1 s: counted as 0 and 2, so 2 s have passed, not 1.2.
        let issue = T0 + Duration::milliseconds(900);
        let now = T0 + Duration::milliseconds(2100);
        let mut i = input(10_000, issue, now);
        i.mount_max = 7200;
        assert_eq!(calculate(&i).unwrap().ttl, 7198);
    }

    #[test]
    fn no_max_is_refused() {
        let mut i = input(60, T0, T0);
        i.mount_max = 0;
        assert!(matches!(calculate(&i), Err(LeaseError::NoMaxTtl)));
        // Huge values saturate instead of overflowing.
        let mut i = input(u64::MAX, T0, T0);
        i.mount_max = u64::MAX;
        assert!(calculate(&i).unwrap().warning.is_some());
    }

    #[test]
    fn human_durations_drop_zero_units() {
        for (secs, want) in [
            (0, "0s"),
            (1, "1s"),
            (60, "1m"),
            (61, "1m1s"),
            (900, "15m"),
            (3600, "1h"),
            (3605, "1h5s"),
            (3660, "1h1m"),
            (7199, "1h59m59s"),
            (86_393, "23h59m53s"),
            (2_764_800, "768h"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }
}
