//! The token a client presented, parsed at the HTTP edge.
//!
//! A token is a bearer secret: it zeroizes on drop, prints as `ClientToken(..)`, and has
//! no `Serialize`. The only ways to read it are hashing it (token store) and echoing it
//! back to its own holder in `lookup-self`.

use zeroize::Zeroizing;

/// Longest token accepted (generous: Vault's SSCT tokens are ~100 characters).
pub const MAX_TOKEN_LEN: usize = 1024;

/// A token presented by a client.
#[derive(Clone)]
pub struct ClientToken(Zeroizing<String>);

impl ClientToken {
    /// Accepts a non-empty, bounded, visible-ASCII token; anything else is `None`
    /// (treated exactly like a missing token: 403).
    pub fn parse(raw: &str) -> Option<ClientToken> {
        let raw = raw.trim();
        let ok = !raw.is_empty()
            && raw.len() <= MAX_TOKEN_LEN
            && raw.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| ClientToken(Zeroizing::new(raw.to_string())))
    }

    /// Wraps a freshly generated token.
    pub(crate) fn from_generated(token: String) -> ClientToken {
        ClientToken(Zeroizing::new(token))
    }

    /// The secret itself. Callers: hashing, and responses to the token's own holder.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientToken(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rules() {
        assert!(ClientToken::parse("").is_none());
        assert!(ClientToken::parse("   ").is_none());
        assert!(ClientToken::parse("a b").is_none());
        assert!(ClientToken::parse("tok\u{7f}").is_none());
        assert!(ClientToken::parse(&"x".repeat(MAX_TOKEN_LEN + 1)).is_none());
        let t = ClientToken::parse(" hvs.abc ").map(|t| t.expose().to_string());
        assert_eq!(t.as_deref(), Some("hvs.abc"));
        let dbg = format!("{:?}", ClientToken::parse("hvs.secret"));
        assert!(!dbg.contains("secret"));
    }
}
