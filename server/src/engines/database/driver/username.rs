//! Usernames: Vault's default templates for dynamic credentials, and the check for the
//! names an operator gives (static roles, the admin user).
//!
//! Default templates (wire reference §7.2), after the display name and role are reduced
//! to `[A-Za-z0-9_-]` (anything else becomes `_`):
//!
//! * PostgreSQL: `v-<display ≤8>-<role ≤8>-<20 random>-<unix seconds>`, cut to 63;
//! * MySQL: `v-<display ≤10>-<role ≤10>-<20 random>-<unix seconds>`, cut to 32;
//! * MySQL legacy/RDS/Aurora: `v-<role ≤4>-<20 random>`, cut to 16 (Vault's legacy
//!   template: the display name would leave almost no room for randomness).
//!
//! The random part is uniform over `[A-Za-z0-9]` (rejection sampling of OS random bytes).

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{DriverError, Plugin};

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Random characters in a generated name.
const RANDOM_LEN: usize = 20;

/// A username for a dynamic credential, from Vault's default template:
/// `v-<display name, ≤8>-<role, ≤8>-<20 random [A-Za-z0-9]>-<unix seconds>` for PostgreSQL
/// (≤10/≤10 for MySQL), truncated to the plugin's limit.
pub fn generate_username(plugin: Plugin, display_name: &str, role: &str) -> String {
    let random = random_alphanumeric(RANDOM_LEN);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut name = match plugin {
        Plugin::Postgres => format!(
            "v-{}-{}-{random}-{now}",
            sanitize(display_name, 8),
            sanitize(role, 8)
        ),
        Plugin::Mysql => format!(
            "v-{}-{}-{random}-{now}",
            sanitize(display_name, 10),
            sanitize(role, 10)
        ),
        Plugin::MysqlLegacy | Plugin::MysqlRds | Plugin::MysqlAurora => {
            format!("v-{}-{random}", sanitize(role, 4))
        }
    };
    // Every character is ASCII, so a byte cut is a character cut.
    name.truncate(plugin.max_username_len());
    name
}

/// Whether `username` is acceptable for a static role or admin user: 1..=max length,
/// letters, digits and `_ . - @ $`, no quotes or whitespace.
pub fn validate_username(plugin: Plugin, username: &str) -> Result<(), DriverError> {
    let max = plugin.max_username_len();
    if username.is_empty() || username.chars().count() > max {
        return Err(DriverError::Invalid(format!(
            "username must be 1 to {max} characters long"
        )));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@' | '$'))
    {
        return Err(DriverError::Invalid(
            "username may contain only letters, digits and the characters _ . - @ $".to_string(),
        ));
    }
    Ok(())
}

/// The first `max` characters of `s`, each outside `[A-Za-z0-9_-]` replaced by `_`.
fn sanitize(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `len` characters uniform over `[A-Za-z0-9]`.
fn random_alphanumeric(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        if getrandom::fill(&mut buf).is_err() {
            return fallback_alphanumeric(len);
        }
        // 248 = 4 × 62: bytes at or above it are rejected, so each kept byte is uniform.
        for b in buf.iter().filter(|b| **b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHANUMERIC[usize::from(*b % 62)]));
        }
    }
    out
}

/// Only when the OS random generator fails: a name still unique within this process
/// (a counter and the clock through SHA-256). Usernames are not secrets; the password
/// generator has no such fallback.
fn fallback_alphanumeric(len: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    tracing::error!("OS random generator failed; generated username uses a counter instead");
    let mut hasher = Sha256::new();
    hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    hasher.update(
        OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .to_be_bytes(),
    );
    hasher.update(std::process::id().to_be_bytes());
    hasher
        .finalize()
        .iter()
        .cycle()
        .take(len)
        .map(|b| char::from(ALPHANUMERIC[usize::from(*b % 62)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_part(name: &str, index: usize) -> String {
        name.split('-').nth(index).unwrap_or_default().to_string()
    }

    #[test]
    fn postgres_shape() {
        let name = generate_username(Plugin::Postgres, "token", "ro");
        assert!(name.starts_with("v-token-ro-"), "{name}");
        assert!(name.len() <= 63);
        let random = random_part(&name, 3);
        assert_eq!(random.len(), 20);
        assert!(random.chars().all(|c| c.is_ascii_alphanumeric()));
        let ts: i64 = random_part(&name, 4).parse().unwrap_or(0);
        assert!((ts - OffsetDateTime::now_utc().unix_timestamp()).abs() < 60);
        let long = generate_username(Plugin::Postgres, "userpass-alice", "a-very-long-role-name");
        assert!(long.starts_with("v-userpass-a-very-"), "{long}");
        assert!(long.len() <= 63);
    }

    #[test]
    fn mysql_shapes() {
        let name = generate_username(Plugin::Mysql, "token", "myro");
        assert!(name.starts_with("v-token-myro-"), "{name}");
        assert_eq!(name.len(), 32);
        for plugin in [Plugin::MysqlLegacy, Plugin::MysqlRds, Plugin::MysqlAurora] {
            let name = generate_username(plugin, "token", "readonly");
            assert!(name.starts_with("v-read-"), "{name}");
            assert_eq!(name.len(), 16);
        }
    }

    #[test]
    fn display_name_and_role_are_sanitised() {
        let name = generate_username(Plugin::Postgres, "a'b\"c d", "r;o");
        assert!(name.starts_with("v-a_b_c_d-r_o-"), "{name}");
        assert!(validate_username(Plugin::Postgres, &name).is_ok());
        let unicode = generate_username(Plugin::Mysql, "ünï", "röle");
        assert!(unicode.is_ascii());
        assert!(validate_username(Plugin::Mysql, &unicode).is_ok());
    }

    #[test]
    fn names_are_distinct_and_uniformish() {
        let mut seen = std::collections::HashSet::new();
        let mut counts = [0usize; 62];
        for _ in 0..500 {
            let random = random_alphanumeric(20);
            for b in random.bytes() {
                if let Some(i) = ALPHANUMERIC.iter().position(|a| *a == b) {
                    counts[i] += 1;
                }
            }
            assert!(seen.insert(random));
        }
        // 10,000 draws over 62 symbols: each ≈161; a broken sampler is far off.
        assert!(counts.iter().all(|c| (80..260).contains(c)), "{counts:?}");
        assert_eq!(fallback_alphanumeric(20).len(), 20);
    }

    #[test]
    fn validation() {
        assert!(validate_username(Plugin::Postgres, "staticuser").is_ok());
        assert!(validate_username(Plugin::Postgres, "app.user-1@corp$x_y").is_ok());
        assert!(validate_username(Plugin::Postgres, "").is_err());
        assert!(validate_username(Plugin::Postgres, &"a".repeat(63)).is_ok());
        assert!(validate_username(Plugin::Postgres, &"a".repeat(64)).is_err());
        assert!(validate_username(Plugin::Mysql, &"a".repeat(33)).is_err());
        assert!(validate_username(Plugin::MysqlLegacy, &"a".repeat(17)).is_err());
        for bad in ["a'b", "a\"b", "a b", "a;b", "a\\b", "é"] {
            assert!(validate_username(Plugin::Postgres, bad).is_err(), "{bad}");
        }
    }
}
