//! The password policy store: named policies inside the barrier.
//!
//! Each policy lives at `sys/password_policy/<name>` as JSON `{"policy": "<text>"}` (the
//! text as written, base64 bodies decoded). A write parses the text first: an invalid
//! policy is refused and nothing is stored. Reads parse again (policies are small and
//! read once per generated credential); an entry that no longer parses is reported as
//! corrupt rather than used.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{PasswordError, PasswordPolicy};
use crate::barrier::Barrier;

/// Where policies live in the barrier.
pub const STORAGE_PREFIX: &str = "sys/password_policy/";

/// A policy name, checked at the edge: 1 to [`PasswordPolicyName::MAX_LEN`] characters
/// from `[A-Za-z0-9_.-]`, not `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PasswordPolicyName(String);

impl PasswordPolicyName {
    /// Longest accepted name.
    pub const MAX_LEN: usize = 128;

    /// Checks a name from a URL or a connection's `password_policy`.
    pub fn parse(raw: &str) -> Result<PasswordPolicyName, PasswordError> {
        if raw.is_empty() {
            return Err(PasswordError::InvalidName("empty"));
        }
        if raw.len() > PasswordPolicyName::MAX_LEN {
            return Err(PasswordError::InvalidName("longer than 128 characters"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(PasswordError::InvalidName(
                "only letters, digits, '_', '.' and '-' are allowed",
            ));
        }
        if raw == "." || raw == ".." {
            return Err(PasswordError::InvalidName("must not be '.' or '..'"));
        }
        Ok(PasswordPolicyName(raw.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn storage_key(&self) -> String {
        format!("{STORAGE_PREFIX}{}", self.0)
    }
}

impl std::fmt::Display for PasswordPolicyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stored form.
#[derive(Serialize, Deserialize)]
struct Entry {
    policy: String,
}

/// Named password policies of an unsealed vault.
pub struct PasswordPolicyStore {
    barrier: Arc<Barrier>,
}

impl std::fmt::Debug for PasswordPolicyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPolicyStore")
            .finish_non_exhaustive()
    }
}

impl PasswordPolicyStore {
    /// A store over `barrier` (no I/O).
    pub fn new(barrier: Arc<Barrier>) -> PasswordPolicyStore {
        PasswordPolicyStore { barrier }
    }

    /// The policy's text and parsed form; `None` when there is no such policy.
    pub async fn get(&self, name: &str) -> Result<Option<(String, PasswordPolicy)>, PasswordError> {
        let name = PasswordPolicyName::parse(name)?;
        let Some(raw) = self.barrier.get(&name.storage_key()).await? else {
            return Ok(None);
        };
        let entry: Entry =
            serde_json::from_slice(&raw).map_err(|_| PasswordError::Corrupt(name.to_string()))?;
        let policy = PasswordPolicy::parse(&entry.policy).map_err(|e| {
            tracing::error!(policy = %name, error = %e, "stored password policy does not parse");
            PasswordError::Corrupt(name.to_string())
        })?;
        Ok(Some((entry.policy, policy)))
    }

    /// Creates or replaces a policy from its text (or base64 of it). Invalid text is
    /// refused and nothing is stored. Returns the parsed policy.
    pub async fn put(&self, name: &str, text: &str) -> Result<PasswordPolicy, PasswordError> {
        let name = PasswordPolicyName::parse(name)?;
        let (text, policy) = PasswordPolicy::parse_text_or_base64(text)?;
        let raw = serde_json::to_vec(&Entry { policy: text })
            .map_err(|_| PasswordError::Corrupt(name.to_string()))?;
        self.barrier.put(&name.storage_key(), &raw).await?;
        Ok(policy)
    }

    /// Deletes a policy (absent: nothing happens).
    pub async fn delete(&self, name: &str) -> Result<(), PasswordError> {
        let name = PasswordPolicyName::parse(name)?;
        self.barrier.delete(&name.storage_key()).await?;
        Ok(())
    }

    /// Every policy name, sorted.
    pub async fn list(&self) -> Result<Vec<String>, PasswordError> {
        let mut names: Vec<String> = self
            .barrier
            .list(STORAGE_PREFIX)
            .await?
            .into_iter()
            .filter(|n| !n.ends_with('/'))
            .collect();
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::barrier::testing::unsealed_barrier;

    const POLICY: &str =
        "length = 12\nrule \"charset\" {\n  charset = \"abc\"\n  min-chars = 1\n}\n";

    #[test]
    fn names() {
        for good in ["a", "db-creds_v1.2", &"x".repeat(128)] {
            assert!(PasswordPolicyName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(129)] {
            assert!(PasswordPolicyName::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn round_trip() {
        let (barrier, raw, _) = unsealed_barrier().await;
        let store = PasswordPolicyStore::new(barrier);
        assert!(store.get("p1").await.unwrap().is_none());
        assert!(store.list().await.unwrap().is_empty());

        let policy = store.put("p1", POLICY).await.unwrap();
        assert_eq!(policy.length(), 12);
        let (text, parsed) = store.get("p1").await.unwrap().unwrap();
        assert_eq!(text, POLICY);
        assert_eq!(parsed, policy);

        // base64 bodies are stored decoded.
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(POLICY);
        store.put("p0", &encoded).await.unwrap();
        assert_eq!(store.get("p0").await.unwrap().unwrap().0, POLICY);
        assert_eq!(store.list().await.unwrap(), vec!["p0", "p1"]);

        // Stored encrypted: the text is not in the raw store.
        assert!(raw
            .dump()
            .iter()
            .all(|(_, value)| !value.windows(7).any(|w| w == b"charset")));

        store.delete("p0").await.unwrap();
        store.delete("p0").await.unwrap();
        assert_eq!(store.list().await.unwrap(), vec!["p1"]);
    }

    #[tokio::test]
    async fn invalid_writes_store_nothing() {
        let (barrier, _, _) = unsealed_barrier().await;
        let store = PasswordPolicyStore::new(barrier);
        assert!(matches!(
            store.put("p", "length = 2").await,
            Err(PasswordError::Invalid(_))
        ));
        assert!(matches!(
            store.put("bad/name", POLICY).await,
            Err(PasswordError::InvalidName(_))
        ));
        assert!(store.get("p").await.unwrap().is_none());
        assert!(store.list().await.unwrap().is_empty());
    }
}
