//! When a static role's password changes: a fixed period, or a cron schedule with an
//! optional window; and the backoff after a failed rotation.
//!
//! - `rotation_period` (≥ 5 s): the next rotation is `period` after the last one.
//! - `rotation_schedule`: a standard 5-field cron expression (or `@hourly`-style alias),
//!   evaluated in UTC. The next rotation is the first occurrence after the last one.
//!   With `rotation_window` (≥ 1 h) a rotation may only happen within the window after an
//!   occurrence; one that could not start in time (the server was down, or retries ran
//!   out of window) waits for the next occurrence.
//! - A failed rotation is retried after 5 s, doubling up to 10 min; the old password
//!   stays valid and stored until a rotation succeeds.
//!
//! Everything here is pure arithmetic on [`OffsetDateTime`]s, so it is tested without a
//! database or a clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Shortest `rotation_period`, seconds.
pub(super) const MIN_PERIOD: u64 = 5;
/// Shortest `rotation_window`, seconds.
pub(super) const MIN_WINDOW: u64 = 3600;
/// First retry delay after a failed rotation.
const BACKOFF_START: Duration = Duration::from_secs(5);
/// Longest retry delay.
const BACKOFF_MAX: Duration = Duration::from_secs(600);

/// How a static role's password is rotated automatically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Rotation {
    /// Every `seconds`.
    Period {
        /// Seconds between rotations (≥ [`MIN_PERIOD`]).
        seconds: u64,
    },
    /// At every occurrence of a cron schedule, within `window` seconds of it if set.
    Schedule {
        /// The 5-field cron expression as the client wrote it.
        cron: String,
        /// Seconds after an occurrence during which the rotation may still run.
        window: Option<u64>,
    },
}

impl Rotation {
    /// A period, validated.
    pub(super) fn period(seconds: u64) -> Result<Rotation, String> {
        if seconds < MIN_PERIOD {
            return Err(format!(
                "rotation_period must be {MIN_PERIOD} seconds or more"
            ));
        }
        Ok(Rotation::Period { seconds })
    }

    /// A schedule, validated (the expression parses; the window is long enough).
    pub(super) fn schedule(cron: &str, window: Option<u64>) -> Result<Rotation, String> {
        parse_cron(cron)?;
        if let Some(w) = window {
            if w < MIN_WINDOW {
                return Err(format!(
                    "rotation_window must be {MIN_WINDOW} seconds or more"
                ));
            }
        }
        Ok(Rotation::Schedule {
            cron: cron.trim().to_string(),
            window,
        })
    }

    /// The first time a rotation is due strictly after `after` (a rotation, or the
    /// creation of the role). `None` only for a schedule that never fires again.
    pub(super) fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Rotation::Period { seconds } => Some(after + Duration::from_secs(*seconds)),
            Rotation::Schedule { cron, .. } => next_occurrence(&parse_cron(cron).ok()?, after),
        }
    }

    /// Whether the rotation scheduled at `scheduled` may no longer run at `now` (its
    /// window has closed). Periods and schedules without a window never miss.
    pub(super) fn window_missed(&self, scheduled: OffsetDateTime, now: OffsetDateTime) -> bool {
        match self {
            Rotation::Schedule {
                window: Some(w), ..
            } => now > scheduled + Duration::from_secs(*w),
            _ => false,
        }
    }
}

/// Parses a standard 5-field cron expression (no seconds, no years).
pub(super) fn parse_cron(expr: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr.trim())
        .map_err(|e| format!("could not parse rotation_schedule: {e}"))
}

/// The first occurrence of `cron` strictly after `after`.
fn next_occurrence(cron: &Cron, after: OffsetDateTime) -> Option<OffsetDateTime> {
    let nanos = after.nanosecond();
    let start: DateTime<Utc> = DateTime::from_timestamp(after.unix_timestamp(), nanos)?;
    let next = cron.find_next_occurrence(&start, false).ok()?;
    OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()
}

/// Delay before retry number `failures` (1 = after the first failure): 5 s doubling,
/// at most 10 min.
pub(super) fn backoff(failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(16);
    BACKOFF_START.saturating_mul(1 << shift).min(BACKOFF_MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn period_validation_and_next() {
        assert_eq!(
            Rotation::period(4).unwrap_err(),
            "rotation_period must be 5 seconds or more"
        );
        let r = Rotation::period(3600).unwrap();
        let t = datetime!(2026-01-01 10:00:00.5 UTC);
        assert_eq!(
            r.next_after(t).unwrap(),
            datetime!(2026-01-01 11:00:00.5 UTC)
        );
        assert!(!r.window_missed(t, t + Duration::from_secs(86_400)));
    }

    #[test]
    fn cron_parse_errors() {
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "61 * * * *",
            "bogus",
            "* * * * * * *",
        ] {
            assert!(Rotation::schedule(bad, None).is_err(), "{bad:?}");
        }
        assert!(Rotation::schedule("0 * * * *", None).is_ok());
        assert!(Rotation::schedule("@daily", None).is_ok());
        assert!(Rotation::schedule("*/15 2 * * MON-FRI", None).is_ok());
        assert_eq!(
            Rotation::schedule("0 * * * *", Some(60)).unwrap_err(),
            "rotation_window must be 3600 seconds or more"
        );
        assert!(Rotation::schedule("0 * * * *", Some(3600)).is_ok());
    }

    #[test]
    fn cron_next_and_window() {
        // Every day at 02:00 UTC, rotation allowed until 03:00.
        let r = Rotation::schedule("0 2 * * *", Some(3600)).unwrap();
        let created = datetime!(2026-03-10 15:30:00 UTC);
        let next = r.next_after(created).unwrap();
        assert_eq!(next, datetime!(2026-03-11 02:00:00 UTC));
        // Exactly at an occurrence: the next one, not the same.
        assert_eq!(
            r.next_after(next).unwrap(),
            datetime!(2026-03-12 02:00:00 UTC)
        );
        assert!(!r.window_missed(next, next));
        assert!(!r.window_missed(next, datetime!(2026-03-11 03:00:00 UTC)));
        assert!(r.window_missed(next, datetime!(2026-03-11 03:00:01 UTC)));
        // Without a window nothing is missed.
        let r = Rotation::schedule("0 2 * * *", None).unwrap();
        assert!(!r.window_missed(next, next + Duration::from_secs(86_400 * 3)));
        // Every 15 minutes.
        let r = Rotation::schedule("*/15 * * * *", None).unwrap();
        assert_eq!(
            r.next_after(datetime!(2026-03-10 15:31:12.3 UTC)).unwrap(),
            datetime!(2026-03-10 15:45:00 UTC)
        );
    }

    #[test]
    fn backoff_doubles_to_ten_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(5));
        assert_eq!(backoff(2), Duration::from_secs(10));
        assert_eq!(backoff(3), Duration::from_secs(20));
        assert_eq!(backoff(8), Duration::from_secs(600));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(600));
        assert_eq!(backoff(0), Duration::from_secs(5));
    }
}
