//! Lease ids and the other names the lease store accepts from callers.
//!
//! A secret lease id is `<request path>/<24 base62 random>` (wire reference §10.1), e.g.
//! `database/creds/ro/EEIdmxfDnwauXliOcAAVbi2w`: the mount path is part of it, so a
//! prefix of ids is a prefix of request paths (`revoke-prefix`). The id becomes part of
//! storage keys (`sys/expire/id/<id>`), so it is parsed here, at the edge, into a
//! [`LeaseId`]: every [`LeaseId`] is a valid barrier key of at least two segments, at most
//! [`MAX_ID_LEN`] bytes, with no empty, `.` or `..` segment and no control character.
//! Strings that fail these rules are not lease ids: the store treats them as absent.
//!
//! Ids are not secrets (Vault shows them in responses and audit logs unhashed), so they
//! print as they are.

use std::fmt;

use super::LeaseError;
use crate::barrier::view::{validate_folder, validate_key};

/// Length of the random suffix: 24 base62 characters ≈ 143 bits.
pub const SUFFIX_LEN: usize = 24;
/// Longest lease id accepted, in bytes (keeps every index key far below the storage limit).
pub const MAX_ID_LEN: usize = 1024;
/// Longest owner token hash accepted, in bytes.
const MAX_TOKEN_HASH_LEN: usize = 256;

/// A well-formed lease id (see the module documentation).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseId(String);

impl LeaseId {
    /// Parses `id`; `None` if it is not a well-formed lease id.
    pub fn parse(id: &str) -> Option<LeaseId> {
        (id.len() <= MAX_ID_LEN && id.contains('/') && validate_key(id).is_ok())
            .then(|| LeaseId(id.to_owned()))
    }

    /// A fresh id under the request path `path` (no trailing `/`).
    pub fn generate(path: &str) -> Result<LeaseId, LeaseError> {
        if !valid_path(path) {
            return Err(LeaseError::InvalidPath);
        }
        Ok(LeaseId(format!("{path}/{}", random_base62(SUFFIX_LEN)?)))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The request path part (everything before the last `/`).
    pub fn path(&self) -> &str {
        self.0.rsplit_once('/').map_or("", |(path, _)| path)
    }
}

impl fmt::Display for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseId({:?})", self.0)
    }
}

/// Whether `path` can carry lease ids: a valid key with room for the suffix.
pub fn valid_path(path: &str) -> bool {
    path.len() + 1 + SUFFIX_LEN <= MAX_ID_LEN && validate_key(path).is_ok()
}

/// Whether `hash` (an owner token's id hash) is usable as one key segment.
pub fn valid_token_hash(hash: &str) -> bool {
    hash.len() <= MAX_TOKEN_HASH_LEN && !hash.contains('/') && validate_key(hash).is_ok()
}

/// Whether `prefix` is a lease-id folder for `list`: `""` or checked segments ending in `/`.
pub fn valid_folder(prefix: &str) -> bool {
    prefix.len() <= MAX_ID_LEN && validate_folder(prefix).is_ok()
}

/// Whether `prefix` is a raw string prefix of lease ids: a folder (as [`valid_folder`])
/// followed by the start of a name without control characters.
pub fn valid_prefix(prefix: &str) -> bool {
    let (folder, partial) = match prefix.rfind('/') {
        Some(i) => prefix.split_at(i + 1),
        None => ("", prefix),
    };
    prefix.len() <= MAX_ID_LEN && valid_folder(folder) && !partial.chars().any(char::is_control)
}

/// `len` uniform base62 characters from the OS RNG.
fn random_base62(len: usize) -> Result<String, LeaseError> {
    crate::encoding::random_base62(len).map_err(|_| LeaseError::Rng)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_vaults_shape() {
        let a = LeaseId::generate("database/creds/ro").unwrap();
        let b = LeaseId::generate("database/creds/ro").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.path(), "database/creds/ro");
        let suffix = a.as_str().strip_prefix("database/creds/ro/").unwrap();
        assert_eq!(suffix.len(), SUFFIX_LEN);
        assert!(suffix.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(LeaseId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.to_string(), a.as_str());
    }

    #[test]
    fn bad_paths_are_refused() {
        let long = "p/".repeat(MAX_ID_LEN / 2);
        for bad in ["", "/x", "a//b", "a/", "a/../b", "a\nb", long.as_str()] {
            assert!(
                matches!(LeaseId::generate(bad), Err(LeaseError::InvalidPath)),
                "{bad:?}"
            );
        }
        // A single-segment path is fine: the id still has two segments.
        assert_eq!(LeaseId::generate("kv").unwrap().path(), "kv");
    }

    #[test]
    fn parse_refuses_malformed_ids() {
        let long = format!("a/{}", "x".repeat(MAX_ID_LEN));
        for bad in [
            "",
            "noslash",
            "/abs/x",
            "a//b",
            "a/b/",
            "a/../b",
            "a/./b",
            "..",
            "a/b\0",
            "a/\u{1b}[0m",
            long.as_str(),
        ] {
            assert!(LeaseId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(LeaseId::parse("auth/userpass/login/alice/h1d1d0fe2").is_some());
    }

    #[test]
    fn folders_prefixes_and_owners() {
        for good in ["", "database/", "database/creds/ro/"] {
            assert!(valid_folder(good), "{good:?}");
        }
        for bad in ["database", "/", "a//", "../", "a/\0/"] {
            assert!(!valid_folder(bad), "{bad:?}");
        }
        for good in [
            "",
            "d",
            "database/creds/ro",
            "database/creds/ro/",
            "a/.",
            "a/..",
        ] {
            assert!(valid_prefix(good), "{good:?}");
        }
        for bad in ["a//b", "/a", "../x", "a/\u{7f}"] {
            assert!(!valid_prefix(bad), "{bad:?}");
        }
        assert!(valid_token_hash(&"a1".repeat(32)));
        for bad in ["", "a/b", "..", "a\0", &"x".repeat(300)] {
            assert!(!valid_token_hash(bad), "{bad:?}");
        }
    }
}
