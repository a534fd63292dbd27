//! `AuditPath`: where a device is enabled (`file/`, `audit/main/`), parsed at the edge.

use super::AuditError;

/// A clean device path: non-empty segments of `[A-Za-z0-9_.-]` (no `.`/`..`), stored with
/// a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditPath(String);

/// Longest accepted path.
const MAX_LEN: usize = 128;

impl AuditPath {
    /// Parses `file`, `file/`, `/a/b/`.
    pub fn parse(raw: &str) -> Result<AuditPath, AuditError> {
        let trimmed = raw.trim_matches('/');
        let ok = !trimmed.is_empty()
            && trimmed.len() <= MAX_LEN
            && trimmed.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            });
        if !ok {
            return Err(AuditError::Invalid(format!(
                "invalid audit device path {raw:?}: use letters, digits, '-', '_' and '.' \
                 in '/'-separated segments"
            )));
        }
        Ok(AuditPath(format!("{trimmed}/")))
    }

    /// With its trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(AuditPath::parse("file").unwrap().as_str(), "file/");
        assert_eq!(AuditPath::parse("/a/b/").unwrap().as_str(), "a/b/");
        for bad in ["", "/", "a//b", "..", "a/../b", "a b", "x\n"] {
            assert!(AuditPath::parse(bad).is_err(), "{bad:?}");
        }
    }
}
