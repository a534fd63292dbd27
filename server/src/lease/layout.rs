//! Where leases live in the barrier: one entry key and a few empty index keys per lease.
//!
//! | key                                                  | value                    |
//! |------------------------------------------------------|--------------------------|
//! | `sys/expire/id/<lease id>`                           | the entry (JSON)         |
//! | `sys/expire/due/<20-digit unix seconds>/<lease id>`  | empty: when it is due    |
//! | `sys/expire/token/<owner token id hash>/<lease id>`  | empty: dies with the token |
//! | `sys/expire/irrevocable/<lease id>`                  | empty                    |
//!
//! The lease id contains `/`, so the entry keys nest like request paths and `list` of
//! `sys/expire/id/<folder>/` is Vault's `LIST sys/leases/lookup/<folder>/`. The due index
//! sorts by time because the seconds are zero-padded to 20 digits (any non-negative
//! `i64`), so a `scan` from its start yields leases earliest first.
//!
//! A lease is due at the first whole second not before the moment it needs attention
//! ([`due_second`] rounds up), so "due second ≤ now's second" implies "that moment has
//! passed": the scheduler never picks a lease up early.

use time::OffsetDateTime;

use super::id::LeaseId;

/// Entries, by lease id.
pub const ID_PREFIX: &str = "sys/expire/id/";
/// The due index.
pub const DUE_PREFIX: &str = "sys/expire/due/";
/// Leases by owner token.
pub const TOKEN_PREFIX: &str = "sys/expire/token/";
/// Leases whose revocation was given up.
pub const IRREVOCABLE_PREFIX: &str = "sys/expire/irrevocable/";
/// Revoked tokens whose leases are still to be scheduled for revocation.
pub const REVOKED_TOKEN_PREFIX: &str = "sys/expire/revoked-token/";

/// The entry key of `id`.
pub fn id_key(id: &LeaseId) -> String {
    format!("{ID_PREFIX}{id}")
}

/// The due-index key of `id` due at unix second `secs` (negative clamps to 0).
pub fn due_key(secs: i64, id: &LeaseId) -> String {
    format!("{DUE_PREFIX}{:020}/{id}", secs.max(0))
}

/// The folder of one owner token in the token index.
pub fn token_folder(token_hash: &str) -> String {
    format!("{TOKEN_PREFIX}{token_hash}/")
}

/// The token-index key of `id` owned by `token_hash`.
pub fn token_key(token_hash: &str, id: &LeaseId) -> String {
    format!("{TOKEN_PREFIX}{token_hash}/{id}")
}

/// The irrevocable-index key of `id`.
pub fn irrevocable_key(id: &LeaseId) -> String {
    format!("{IRREVOCABLE_PREFIX}{id}")
}

/// Splits a due-index key into its second and lease id; `None` for anything else.
pub fn parse_due_key(key: &str) -> Option<(i64, &str)> {
    let rest = key.strip_prefix(DUE_PREFIX)?;
    let (secs, id) = rest.split_once('/')?;
    if secs.len() != 20 || !secs.bytes().all(|b| b.is_ascii_digit()) || id.is_empty() {
        return None;
    }
    Some((secs.parse().ok()?, id))
}

/// The due second for a moment: the first whole second not before it (≥ 0).
pub fn due_second(at: OffsetDateTime) -> i64 {
    let secs = at.unix_timestamp();
    let secs = if at.nanosecond() > 0 { secs + 1 } else { secs };
    secs.max(0)
}

/// The moment a due second stands for.
pub fn second_to_time(secs: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn due_keys_sort_by_time() {
        let id = LeaseId::parse("a/b").unwrap();
        let early = due_key(9, &id);
        let late = due_key(10, &id);
        assert!(early < late, "{early} {late}");
        assert_eq!(early, "sys/expire/due/00000000000000000009/a/b");
        assert_eq!(parse_due_key(&early), Some((9, "a/b")));
        assert_eq!(due_key(-5, &id), due_key(0, &id));
        assert_eq!(
            parse_due_key(&due_key(i64::MAX, &id)),
            Some((i64::MAX, "a/b"))
        );
        for bad in [
            "sys/expire/due/9/a/b",
            "sys/expire/due/0000000000000000000x/a",
            "sys/expire/due/00000000000000000009/",
            "sys/expire/due/00000000000000000009",
            "sys/expire/id/00000000000000000009/a",
            "sys/expire/due/99999999999999999999/a",
        ] {
            assert_eq!(parse_due_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn due_second_rounds_up() {
        assert_eq!(
            due_second(datetime!(2026-01-01 0:00:10 UTC)),
            datetime!(2026-01-01 0:00:10 UTC).unix_timestamp()
        );
        assert_eq!(
            due_second(datetime!(2026-01-01 0:00:10.000000001 UTC)),
            datetime!(2026-01-01 0:00:11 UTC).unix_timestamp()
        );
        assert_eq!(due_second(datetime!(1960-01-01 0:00 UTC)), 0);
        assert_eq!(
            second_to_time(1_800_000_000).unwrap().unix_timestamp(),
            1_800_000_000
        );
    }

    #[test]
    fn other_keys() {
        let id = LeaseId::parse("database/creds/ro/X").unwrap();
        assert_eq!(id_key(&id), "sys/expire/id/database/creds/ro/X");
        assert_eq!(
            token_key("ab", &id),
            "sys/expire/token/ab/database/creds/ro/X"
        );
        assert!(token_key("ab", &id).starts_with(&token_folder("ab")));
        assert_eq!(
            irrevocable_key(&id),
            "sys/expire/irrevocable/database/creds/ro/X"
        );
    }
}
