//! Capabilities: the verbs a policy path grants, and a small set of them.
//!
//! A [`Capability`] is parsed at the edge (policy text) into a closed enum; a path rule
//! holds a [`Capabilities`] bitset. Invariant of the set: `deny` absorbs everything, so a
//! set that contains [`Capability::Deny`] contains nothing else. That is how Vault
//! treats `deny` both inside one path stanza and when stanzas are merged, and it means
//! `contains(Read)` on a denied set is simply `false`.

use std::fmt;

/// One capability of the policy language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Write to an item that does not exist yet (backends with an existence check).
    Create,
    /// GET.
    Read,
    /// Write to an existing item (or any write, without an existence check).
    Update,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// LIST (checked against the path with a trailing `/`).
    List,
    /// The extra gate of root-protected endpoints.
    Sudo,
    /// Overrides everything else on the path.
    Deny,
    /// OpenBao only: SCAN (recursive list).
    Scan,
}

impl Capability {
    /// Every capability, in alphabetical order (the order Vault renders them in).
    pub const ALL: [Capability; 9] = [
        Capability::Create,
        Capability::Delete,
        Capability::Deny,
        Capability::List,
        Capability::Patch,
        Capability::Read,
        Capability::Scan,
        Capability::Sudo,
        Capability::Update,
    ];

    /// The name used in policy text and in API responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Patch => "patch",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Sudo => "sudo",
            Capability::Deny => "deny",
            Capability::Scan => "scan",
        }
    }

    /// Parses a capability name exactly as written in a policy (case-sensitive, as Vault).
    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of capabilities (a bitset; `Copy`). `deny` absorbs every other member.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u16);

impl Capabilities {
    /// The empty set (grants nothing; rendered as `["deny"]` by capabilities-self).
    pub const EMPTY: Capabilities = Capabilities(0);

    /// The set holding only `deny`.
    pub const DENY: Capabilities = Capabilities(1 << (Capability::Deny as u16));

    /// The set of the given capabilities (`deny` among them leaves only `deny`).
    pub fn of(caps: &[Capability]) -> Capabilities {
        caps.iter().fold(Capabilities::EMPTY, |set, &c| set.with(c))
    }

    /// This set plus one capability.
    #[must_use]
    pub fn with(self, cap: Capability) -> Capabilities {
        self.union(Capabilities(cap.bit()))
    }

    /// Both sets together; `deny` in either one leaves only `deny`.
    #[must_use]
    pub fn union(self, other: Capabilities) -> Capabilities {
        let both = self.0 | other.0;
        if both & Capability::Deny.bit() != 0 {
            Capabilities::DENY
        } else {
            Capabilities(both)
        }
    }

    /// Whether `cap` is a member.
    pub fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }

    /// Whether this set is `deny`.
    pub fn is_deny(self) -> bool {
        self.contains(Capability::Deny)
    }

    /// Whether the set has no member at all.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Members in alphabetical order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// Member names in alphabetical order, as Vault lists them (`deny` alone when denied;
    /// the empty set gives an empty list).
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Capability::as_str).collect()
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Capabilities {
        iter.into_iter()
            .fold(Capabilities::EMPTY, |set, c| set.with(c))
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for cap in Capability::ALL {
            assert_eq!(Capability::parse(cap.as_str()), Some(cap));
        }
        assert_eq!(Capability::parse("bogus"), None);
        assert_eq!(Capability::parse("Read"), None);
        assert_eq!(Capability::parse("root"), None);
    }

    #[test]
    fn all_is_sorted_and_complete() {
        let names: Vec<_> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        let distinct: std::collections::HashSet<_> = Capability::ALL.iter().collect();
        assert_eq!(distinct.len(), 9);
    }

    #[test]
    fn names_are_alphabetical() {
        let set = Capabilities::of(&[
            Capability::Update,
            Capability::Read,
            Capability::Create,
            Capability::Patch,
            Capability::List,
            Capability::Delete,
        ]);
        assert_eq!(
            set.names(),
            ["create", "delete", "list", "patch", "read", "update"]
        );
        assert_eq!(
            Capabilities::of(&[Capability::Update, Capability::Sudo]).names(),
            ["sudo", "update"]
        );
        assert!(Capabilities::EMPTY.names().is_empty());
    }

    #[test]
    fn deny_absorbs() {
        let set = Capabilities::of(&[Capability::Read, Capability::Deny, Capability::Sudo]);
        assert_eq!(set, Capabilities::DENY);
        assert_eq!(set.names(), ["deny"]);
        assert!(!set.contains(Capability::Read));
        let merged = Capabilities::of(&[Capability::Read]).union(Capabilities::DENY);
        assert!(merged.is_deny());
        assert!(!merged.contains(Capability::Read));
    }

    #[test]
    fn union_and_contains() {
        let a = Capabilities::of(&[Capability::Read]);
        let b = Capabilities::of(&[Capability::List, Capability::Scan]);
        let u = a.union(b);
        assert!(u.contains(Capability::Read));
        assert!(u.contains(Capability::List));
        assert!(u.contains(Capability::Scan));
        assert!(!u.contains(Capability::Update));
        assert!(!u.is_empty());
        assert!(Capabilities::EMPTY.is_empty());
        let collected: Capabilities = [Capability::Read, Capability::List].into_iter().collect();
        assert_eq!(
            collected,
            Capabilities::of(&[Capability::List, Capability::Read])
        );
        assert_eq!(format!("{u:?}"), "{List, Read, Scan}");
    }
}
