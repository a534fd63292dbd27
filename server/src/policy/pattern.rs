//! Path patterns of the policy language, and their priority order.
//!
//! A pattern is parsed once from the string after `path` in a policy:
//!
//! * no wildcard: the request path must be equal to it;
//! * a trailing `*` (only as the *last* character; elsewhere `*` is an ordinary
//!   character): a prefix glob, `kv/app*` matches `kv/app`, `kv/apple`, `kv/app/x`;
//! * a segment that is exactly `+`: matches exactly one path segment, whatever it holds
//!   (`kv/+/conf` matches `kv/a/conf`, not `kv/a/b/conf`). With a trailing `*` the last
//!   segment is a prefix and anything may follow (`kv/+/co*` matches `kv/a/conf/x`).
//!   A `+` inside a longer segment (`kv/a+b`) is an ordinary character.
//!
//! One leading `/` is dropped (`/sys/seal` ≡ `sys/seal`), as Vault does. `+*` is refused
//! (Vault forbids it; it would mean neither one segment nor a prefix).
//!
//! Identity templates (`{{identity.entity.id}}` …) need the identity store, which this
//! server does not have: a templated pattern is kept (so the policy reads back and
//! parses) but never matches any request path.
//!
//! When several patterns match one path, the single one with the highest priority wins
//! ([`PathPattern::cmp_priority`]); see the rules there. An exact pattern outranks every
//! wildcard pattern that matches the same path.

use std::cmp::Ordering;
use std::fmt;

use super::PolicyError;

/// A parsed policy path pattern. Equality is equality of the pattern text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PathPattern {
    /// The pattern as written, minus one leading `/`.
    text: String,
    shape: Shape,
    /// Byte offset of the first `+` segment or of the trailing `*`; `usize::MAX` when
    /// there is none.
    first_wildcard: usize,
    /// Number of segments that are exactly `+`.
    plus_count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Shape {
    /// Equal strings only.
    Exact,
    /// `text` minus its trailing `*` is a prefix of the path.
    Prefix,
    /// Segment by segment; `prefix` when the pattern ends with `*`.
    Segments {
        segments: Box<[Segment]>,
        prefix: bool,
    },
    /// Contains an identity template: never matches (see the module docs).
    Templated,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    /// `+`: any single segment.
    Any,
    /// This exact text (or, as the last segment of a prefix pattern, this prefix).
    Literal(Box<str>),
}

impl PathPattern {
    /// Parses the pattern after `path` in a policy.
    pub fn parse(raw: &str) -> Result<PathPattern, PolicyError> {
        let text = raw.strip_prefix('/').unwrap_or(raw);
        if text.contains("+*") {
            return Err(PolicyError::PlusGlob {
                path: text.to_string(),
            });
        }
        let prefix = text.ends_with('*');
        let body = if prefix {
            &text[..text.len() - 1]
        } else {
            text
        };

        let mut first_wildcard = if prefix { body.len() } else { usize::MAX };
        let mut plus_count = 0;
        let mut offset = 0;
        for segment in body.split('/') {
            if segment == "+" {
                plus_count += 1;
                first_wildcard = first_wildcard.min(offset);
            }
            offset += segment.len() + 1;
        }

        let shape = if is_templated(text) {
            Shape::Templated
        } else if plus_count > 0 {
            let segments = body
                .split('/')
                .map(|s| match s {
                    "+" => Segment::Any,
                    literal => Segment::Literal(literal.into()),
                })
                .collect();
            Shape::Segments { segments, prefix }
        } else if prefix {
            Shape::Prefix
        } else {
            Shape::Exact
        };
        Ok(PathPattern {
            text: text.to_string(),
            shape,
            first_wildcard,
            plus_count,
        })
    }

    /// The pattern text (without a leading `/`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern has no wildcard (and no template).
    pub fn is_exact(&self) -> bool {
        self.shape == Shape::Exact
    }

    /// Whether the pattern ends with the `*` prefix glob.
    pub fn is_prefix(&self) -> bool {
        self.text.ends_with('*')
    }

    /// Number of `+` segments.
    pub fn plus_segments(&self) -> usize {
        self.plus_count
    }

    /// Whether the pattern holds an identity template (and so never matches).
    pub fn is_templated(&self) -> bool {
        self.shape == Shape::Templated
    }

    /// The pattern without its trailing `*`.
    fn body(&self) -> &str {
        self.text.strip_suffix('*').unwrap_or(&self.text)
    }

    /// Whether the request path (no leading `/`) matches. Never allocates.
    pub fn matches(&self, path: &str) -> bool {
        match &self.shape {
            Shape::Exact => self.text == path,
            Shape::Prefix => path.starts_with(self.body()),
            Shape::Segments { segments, prefix } => {
                let mut parts = path.split('/');
                let last = segments.len() - 1;
                for (i, segment) in segments.iter().enumerate() {
                    let Some(part) = parts.next() else {
                        return false;
                    };
                    let ok = match segment {
                        Segment::Any => true,
                        Segment::Literal(lit) if *prefix && i == last => part.starts_with(&**lit),
                        Segment::Literal(lit) => part == &**lit,
                    };
                    if !ok {
                        return false;
                    }
                }
                *prefix || parts.next().is_none()
            }
            Shape::Templated => false,
        }
    }

    /// Whether the pattern reaches below `mount` (a mount path such as `secret/`): its
    /// leading segments agree with the mount's (`+` agrees with any segment). Used to
    /// decide whether a token may see a mount at all; never allocates.
    pub(super) fn may_match_under(&self, mount: &str) -> bool {
        let mount = mount.strip_suffix('/').unwrap_or(mount);
        match &self.shape {
            Shape::Templated => false,
            // Patterns that cover the mount path itself (`sec*`) are found by looking the
            // mount path up; here only those that lie below it.
            Shape::Exact | Shape::Prefix => self
                .body()
                .strip_prefix(mount)
                .is_some_and(|rest| rest.starts_with('/')),
            Shape::Segments { segments, prefix } => {
                let last = segments.len() - 1;
                let mut parts = mount.split('/');
                for (i, segment) in segments.iter().enumerate() {
                    let Some(part) = parts.next() else {
                        // The mount is exhausted and everything so far agreed.
                        return true;
                    };
                    let ok = match segment {
                        Segment::Any => true,
                        Segment::Literal(lit) if *prefix && i == last => {
                            return part.starts_with(&**lit);
                        }
                        Segment::Literal(lit) => part == &**lit,
                    };
                    if !ok {
                        return false;
                    }
                }
                // Every pattern segment matched a mount segment: it matches the mount
                // path itself only if nothing is left over.
                parts.next().is_none()
            }
        }
    }

    /// Priority between two patterns that match the same path: `Greater` when `self`
    /// wins. The first rule that tells them apart decides; the loser is the one that
    ///
    /// 1. has its first `+` or `*` earlier (no wildcard at all counts as "never");
    /// 2. ends with `*` while the other does not;
    /// 3. has more `+` segments;
    /// 4. is shorter;
    /// 5. is lexicographically smaller.
    ///
    /// Rule 5 makes this a total order, equal only for equal patterns.
    pub fn cmp_priority(&self, other: &PathPattern) -> Ordering {
        self.first_wildcard
            .cmp(&other.first_wildcard)
            .then_with(|| other.is_prefix().cmp(&self.is_prefix()))
            .then_with(|| other.plus_count.cmp(&self.plus_count))
            .then_with(|| self.body().len().cmp(&other.body().len()))
            .then_with(|| self.text.cmp(&other.text))
    }

    /// Whether `a` outranks `b` (see [`PathPattern::cmp_priority`]).
    pub fn higher_priority(a: &PathPattern, b: &PathPattern) -> bool {
        a.cmp_priority(b) == Ordering::Greater
    }
}

/// Whether the text holds an identity template `{{ … }}`.
fn is_templated(text: &str) -> bool {
    text.find("{{")
        .is_some_and(|start| text[start + 2..].contains("}}"))
}

impl fmt::Debug for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathPattern({:?})", self.text)
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> PathPattern {
        PathPattern::parse(s).expect("valid pattern")
    }

    /// `a` outranks `b`, and the order is antisymmetric.
    fn outranks(a: &str, b: &str) {
        let (a, b) = (pat(a), pat(b));
        assert!(PathPattern::higher_priority(&a, &b), "{a} should beat {b}");
        assert!(
            !PathPattern::higher_priority(&b, &a),
            "{b} should lose to {a}"
        );
        assert_eq!(a.cmp_priority(&b), Ordering::Greater);
        assert_eq!(b.cmp_priority(&a), Ordering::Less);
    }

    #[test]
    fn exact() {
        let p = pat("secret/data/app");
        assert!(p.is_exact());
        assert!(p.matches("secret/data/app"));
        assert!(!p.matches("secret/data/app/"));
        assert!(!p.matches("secret/data/ap"));
        assert!(!p.matches("secret/data/apps"));
    }

    #[test]
    fn leading_slash_is_dropped() {
        let p = pat("/sys/seal");
        assert_eq!(p.as_str(), "sys/seal");
        assert!(p.matches("sys/seal"));
        assert_eq!(p, pat("sys/seal"));
    }

    #[test]
    fn trailing_star_is_a_prefix_glob() {
        let p = pat("kv/app*");
        assert!(p.is_prefix());
        assert!(!p.is_exact());
        for path in ["kv/app", "kv/apple", "kv/app/", "kv/app/x/y"] {
            assert!(p.matches(path), "{path}");
        }
        assert!(!p.matches("kv/ap"));
        assert!(!p.matches("kv/other"));
        let all = pat("*");
        assert!(all.matches(""));
        assert!(all.matches("anything/at/all"));
    }

    #[test]
    fn star_elsewhere_is_literal() {
        let p = pat("kv/*/x");
        assert!(p.is_exact());
        assert!(p.matches("kv/*/x"));
        assert!(!p.matches("kv/a/x"));
    }

    #[test]
    fn plus_matches_exactly_one_segment() {
        let p = pat("kv/+/plus");
        assert_eq!(p.plus_segments(), 1);
        assert!(p.matches("kv/zz/plus"));
        assert!(p.matches("kv//plus"));
        assert!(!p.matches("kv/zz/yy/plus"));
        assert!(!p.matches("kv/plus"));
        assert!(!p.matches("kv/zz/plus/"));
        assert!(!p.matches("kv/zz/plusx"));
        let two = pat("+/a/+");
        assert!(two.matches("x/a/y"));
        assert!(!two.matches("x/b/y"));
        assert!(!two.matches("x/a"));
    }

    #[test]
    fn plus_with_trailing_star() {
        let p = pat("kv/+/co*");
        assert!(p.is_prefix());
        assert!(p.matches("kv/a/co"));
        assert!(p.matches("kv/a/conf"));
        assert!(p.matches("kv/a/conf/deeper/still"));
        assert!(!p.matches("kv/a/x"));
        assert!(!p.matches("kv/a"));
        let dir = pat("kv/+/*");
        assert!(dir.matches("kv/a/"));
        assert!(dir.matches("kv/a/b/c"));
        assert!(!dir.matches("kv/a"));
    }

    #[test]
    fn plus_inside_a_segment_is_literal() {
        let p = pat("kv/a+b");
        assert!(p.is_exact());
        assert!(p.matches("kv/a+b"));
        assert!(!p.matches("kv/ab"));
    }

    #[test]
    fn plus_star_is_refused() {
        assert!(matches!(
            PathPattern::parse("kv/+*"),
            Err(PolicyError::PlusGlob { .. })
        ));
    }

    #[test]
    fn templates_never_match() {
        let p = pat("identity/entity/id/{{identity.entity.id}}");
        assert!(p.is_templated());
        assert!(!p.matches("identity/entity/id/{{identity.entity.id}}"));
        assert!(!p.matches("identity/entity/id/abc"));
        assert!(!pat("kv/{{x").is_templated());
    }

    #[test]
    fn rule_1_first_wildcard_earlier_loses() {
        // prefer foo/a* over foo/+
        outranks("foo/a*", "foo/+");
        // prefer foo/bar/+/baz over foo/+/bar/baz
        outranks("foo/bar/+/baz", "foo/+/bar/baz");
        // a longer prefix beats a shorter one
        outranks("kv/p/deeper*", "kv/p/*");
    }

    #[test]
    fn rule_2_trailing_star_loses() {
        // prefer foo/+/bar over foo/+/ba*
        outranks("foo/+/bar", "foo/+/ba*");
        // `foo/+` (one segment) vs `foo/*`: same first wildcard offset
        outranks("foo/+", "foo/*");
    }

    #[test]
    fn rule_3_more_plus_segments_lose() {
        outranks("foo/+/bar/baz", "foo/+/+/baz");
    }

    #[test]
    fn rule_4_shorter_loses() {
        outranks("foo/+/bar/ba*", "foo/+/bar/b*");
        outranks("foo/+/barbaz", "foo/+/bar");
    }

    #[test]
    fn rule_5_lexicographically_smaller_loses() {
        outranks("foo/+/bbb", "foo/+/aaa");
        assert_eq!(pat("a/+").cmp_priority(&pat("a/+")), Ordering::Equal);
    }

    #[test]
    fn exact_beats_every_matching_glob() {
        let exact = pat("kv/p/exact");
        for glob in [
            "kv/p/*",
            "kv/p/exact*",
            "kv/p/ex*",
            "kv/+/exact",
            "kv/p/+",
            "+/p/exact",
            "*",
        ] {
            let g = pat(glob);
            assert!(g.matches("kv/p/exact"), "{glob}");
            assert!(PathPattern::higher_priority(&exact, &g), "{glob}");
        }
        // Even a glob whose body equals the exact path.
        assert!(PathPattern::higher_priority(&pat("kv/"), &pat("kv/+")));
        assert!(pat("kv/+").matches("kv/"));
    }

    #[test]
    fn mount_visibility() {
        assert!(pat("secret/data/app/*").may_match_under("secret/"));
        assert!(pat("secret/data/app").may_match_under("secret/"));
        assert!(pat("secret/*").may_match_under("secret/"));
        assert!(!pat("sec*").may_match_under("secret/"));
        assert!(pat("+/data/x").may_match_under("secret/"));
        assert!(pat("secret/+/x").may_match_under("secret/"));
        assert!(!pat("secretive/x").may_match_under("secret/"));
        assert!(!pat("other/+/x").may_match_under("secret/"));
        assert!(!pat("kv/x").may_match_under("secret/"));
        assert!(pat("a/+/c").may_match_under("a/b/"));
        assert!(!pat("a/+").may_match_under("a/b/c/"));
    }
}
