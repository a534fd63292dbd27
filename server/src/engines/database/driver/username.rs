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
//! The random part is uniform over `[A-Za-z0-9]` ([`crate::encoding::random_base62`]).

use time::OffsetDateTime;

use super::{DriverError, Plugin};
use crate::encoding::{random_base62, RngError};

/// Random characters in a generated name.
const RANDOM_LEN: usize = 20;

/// A username for a dynamic credential, from Vault's default template:
/// `v-<display name, ≤8>-<role, ≤8>-<20 random [A-Za-z0-9]>-<unix seconds>` for PostgreSQL
/// (≤10/≤10 for MySQL), truncated to the plugin's limit. Fails only when the OS random
/// number generator does.
pub fn generate_username(
    plugin: Plugin,
    display_name: &str,
    role: &str,
) -> Result<String, RngError> {
    let random = random_base62(RANDOM_LEN)?;
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
    Ok(name)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn random_part(name: &str, index: usize) -> String {
        name.split('-').nth(index).unwrap_or_default().to_string()
    }

    #[test]
    fn postgres_shape() {
        let name = generate_username(Plugin::Postgres, "token", "ro").unwrap();
        assert!(name.starts_with("v-token-ro-"), "{name}");
        assert!(name.len() <= 63);
        let random = random_part(&name, 3);
        assert_eq!(random.len(), 20);
        assert!(random.chars().all(|c| c.is_ascii_alphanumeric()));
        let ts: i64 = random_part(&name, 4).parse().unwrap_or(0);
        assert!((ts - OffsetDateTime::now_utc().unix_timestamp()).abs() < 60);
        let long =
            generate_username(Plugin::Postgres, "userpass-alice", "a-very-long-role-name").unwrap();
        assert!(long.starts_with("v-userpass-a-very-"), "{long}");
        assert!(long.len() <= 63);
    }

    #[test]
    fn mysql_shapes() {
        let name = generate_username(Plugin::Mysql, "token", "myro").unwrap();
        assert!(name.starts_with("v-token-myro-"), "{name}");
        assert_eq!(name.len(), 32);
        for plugin in [Plugin::MysqlLegacy, Plugin::MysqlRds, Plugin::MysqlAurora] {
            let name = generate_username(plugin, "token", "readonly").unwrap();
            assert!(name.starts_with("v-read-"), "{name}");
            assert_eq!(name.len(), 16);
        }
    }

    #[test]
    fn display_name_and_role_are_sanitised() {
        let name = generate_username(Plugin::Postgres, "a'b\"c d", "r;o").unwrap();
        assert!(name.starts_with("v-a_b_c_d-r_o-"), "{name}");
        assert!(validate_username(Plugin::Postgres, &name).is_ok());
        let unicode = generate_username(Plugin::Mysql, "ünï", "röle").unwrap();
        assert!(unicode.is_ascii());
        assert!(validate_username(Plugin::Mysql, &unicode).is_ok());
    }

    #[test]
    fn names_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let name = generate_username(Plugin::Postgres, "t", "r").unwrap();
            assert!(seen.insert(name));
        }
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
