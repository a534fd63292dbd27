//! A mount path, parsed at the edge: non-empty, clean segments, always ending in `/`.

use super::MountError;

/// Prefixes that belong to the server itself and cannot hold a user mount.
const RESERVED: &[&str] = &["sys/", "auth/", "cubbyhole/", "identity/"];

/// A validated mount path (`secret/`, `team/kv/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MountPath(String);

impl MountPath {
    /// Parses a user-supplied path (`kv2`, `kv2/`, `team/kv`).
    pub fn parse(raw: &str) -> Result<MountPath, MountError> {
        let trimmed = raw.trim_matches('/');
        if trimmed.is_empty() {
            return Err(MountError::Invalid("mount path cannot be empty".into()));
        }
        for seg in trimmed.split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                return Err(MountError::Invalid(format!(
                    "invalid mount path {raw:?}: empty, '.' or '..' segment"
                )));
            }
            if seg.chars().any(|c| c.is_control() || c == '*' || c == '+') {
                return Err(MountError::Invalid(format!(
                    "invalid mount path {raw:?}: control or wildcard character"
                )));
            }
        }
        Ok(MountPath(format!("{trimmed}/")))
    }

    /// An auth method's path: `userpass` → `auth/userpass/`.
    pub fn auth(raw: &str) -> Result<MountPath, MountError> {
        let inner = MountPath::parse(raw)?;
        Ok(MountPath(format!("auth/{}", inner.0)))
    }

    /// A built-in mount's path (no reservation check).
    pub(crate) fn builtin(path: &str) -> MountPath {
        MountPath(path.to_string())
    }

    /// Refuses paths under the server's own prefixes.
    pub fn check_not_reserved(&self) -> Result<(), MountError> {
        match RESERVED.iter().find(|r| self.0.starts_with(*r)) {
            Some(r) => Err(MountError::Invalid(format!("cannot mount under {r}"))),
            None => Ok(()),
        }
    }

    /// The path with its trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether one path is a prefix of the other (mounts may not nest).
    pub fn overlaps(&self, other: &MountPath) -> bool {
        self.0.starts_with(&other.0) || other.0.starts_with(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parsing_and_overlap() {
        assert_eq!(MountPath::parse("kv2").unwrap().as_str(), "kv2/");
        assert_eq!(MountPath::parse("/team/kv/").unwrap().as_str(), "team/kv/");
        assert!(MountPath::parse("").is_err());
        assert!(MountPath::parse("a//b").is_err());
        assert!(MountPath::parse("a/../b").is_err());
        assert!(MountPath::parse("a\u{1}").is_err());
        assert!(MountPath::parse("sys")
            .unwrap()
            .check_not_reserved()
            .is_err());
        assert!(MountPath::parse("auth/x")
            .unwrap()
            .check_not_reserved()
            .is_err());
        assert!(MountPath::parse("system")
            .unwrap()
            .check_not_reserved()
            .is_ok());
        let a = MountPath::parse("team").unwrap();
        let b = MountPath::parse("team/kv").unwrap();
        let c = MountPath::parse("teamx").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }
}
