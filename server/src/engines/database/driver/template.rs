//! Statement templates: filling `{{name}}`, `{{username}}`, `{{password}}` and
//! `{{expiration}}`, and splitting the result into statements.
//!
//! Filling is one pass over the template: a value is never scanned again, so a value
//! that happens to contain `{{password}}` stays literal text. Unknown placeholders, and
//! placeholders whose value is absent, are left as written (as Vault does). The values go
//! inside SQL quotes (`'{{password}}'`, `"{{name}}"`), so [`check_vars`] refuses values
//! that could close those quotes: that is the only defence a plain-text template allows.
//! Splitting is Vault's: a plain split on `;`, empty pieces dropped.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};
use zeroize::Zeroizing;

use super::{DriverError, Vars};

/// PostgreSQL's timestamp form, Go's `2006-01-02 15:04:05-0700`.
const EXPIRATION_FORMAT: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day] [hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
);

/// `expiration` as Vault writes it into statements (in UTC: `2026-11-22 14:17:53+0000`).
pub(super) fn format_expiration(expiration: OffsetDateTime) -> String {
    expiration
        .to_offset(UtcOffset::UTC)
        .format(EXPIRATION_FORMAT)
        .unwrap_or_default()
}

/// Refuses values that cannot be placed inside SQL quotes safely: quotes of any kind and
/// backslashes in the name; single quotes and backslashes in the password; control
/// characters in either.
pub(super) fn check_vars(vars: &Vars<'_>) -> Result<(), DriverError> {
    if vars.name.is_empty()
        || vars
            .name
            .chars()
            .any(|c| matches!(c, '\'' | '"' | '`' | '\\') || c.is_control())
    {
        return Err(DriverError::Invalid(
            "the username is empty or contains a quote, a backslash or a control character"
                .to_string(),
        ));
    }
    if vars.password.is_some_and(|p| {
        p.chars()
            .any(|c| matches!(c, '\'' | '\\') || c.is_control())
    }) {
        return Err(DriverError::Invalid(
            "the password contains a single quote, a backslash or a control character, which \
             cannot be placed in a statement safely; adjust the password policy"
                .to_string(),
        ));
    }
    Ok(())
}

/// `template` with the placeholders filled from `vars`.
pub(super) fn render(template: &str, vars: &Vars<'_>) -> Zeroizing<String> {
    let expiration = vars.expiration.map(format_expiration);
    fill(template, |key| match key {
        "name" | "username" => Some(vars.name),
        "password" => vars.password,
        "expiration" => expiration.as_deref(),
        _ => None,
    })
}

/// One pass over `template`, replacing each `{{key}}` for which `value(key)` is `Some`.
pub(super) fn fill<'v>(
    template: &str,
    value: impl Fn(&str) -> Option<&'v str>,
) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(template.len() + 64));
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                let key = &after[..close];
                match value(key) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push_str("{{");
                        out.push_str(key);
                        out.push_str("}}");
                    }
                }
                rest = &after[close + 2..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The statements of a rendered template: split on `;`, trimmed, empty pieces dropped.
pub(super) fn split_statements(rendered: &str) -> impl Iterator<Item = &str> {
    rendered.split(';').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn vars<'a>(name: &'a str, password: Option<&'a str>) -> Vars<'a> {
        Vars {
            name,
            password,
            expiration: Some(datetime!(2026-11-22 15:17:53 +1)),
        }
    }

    #[test]
    fn expiration_is_postgres_form_in_utc() {
        assert_eq!(
            format_expiration(datetime!(2026-11-22 14:17:53 UTC)),
            "2026-11-22 14:17:53+0000"
        );
        assert_eq!(
            format_expiration(datetime!(2026-11-22 15:17:53 +1)),
            "2026-11-22 14:17:53+0000"
        );
    }

    #[test]
    fn renders_all_placeholders() {
        let out = render(
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT x TO \"{{username}}\";",
            &vars("v-tok-ro-abc", Some("pw-1")),
        );
        assert_eq!(
            out.as_str(),
            "CREATE ROLE \"v-tok-ro-abc\" WITH LOGIN PASSWORD 'pw-1' VALID UNTIL '2026-11-22 14:17:53+0000'; GRANT x TO \"v-tok-ro-abc\";"
        );
    }

    #[test]
    fn values_are_not_rescanned_and_unknowns_stay() {
        let out = render(
            "{{name}} {{password}} {{other}} {{ name }} {{unclosed",
            &vars("{{password}}", Some("{{name}}")),
        );
        assert_eq!(
            out.as_str(),
            "{{password}} {{name}} {{other}} {{ name }} {{unclosed"
        );
        let no_password = render(
            "'{{password}}' {{expiration}}",
            &Vars {
                name: "u",
                password: None,
                expiration: None,
            },
        );
        assert_eq!(no_password.as_str(), "'{{password}}' {{expiration}}");
    }

    #[test]
    fn splits_like_vault() {
        let parts: Vec<&str> = split_statements(" A ;; B;\n C ; ").collect();
        assert_eq!(parts, vec!["A", "B", "C"]);
        assert_eq!(split_statements(" ; ").count(), 0);
    }

    #[test]
    fn unsafe_values_are_refused() {
        assert!(check_vars(&vars("v-ok_1.x@y$z", Some("Ab-9!@#$%^&*()\"x"))).is_ok());
        for bad in ["a'b", "a\"b", "a`b", "a\\b", "a\nb", ""] {
            assert!(check_vars(&vars(bad, None)).is_err(), "{bad:?}");
        }
        for bad in ["p'w", "p\\w", "p\0w"] {
            let err = check_vars(&vars("u", Some(bad)))
                .err()
                .map(|e| e.to_string());
            assert!(err.is_some_and(|m| !m.contains(bad)), "{bad:?}");
        }
    }
}
