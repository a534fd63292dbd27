//! Scrubbing passwords out of database error messages.
//!
//! A database echoes statement text in its errors (MySQL's syntax errors quote the text
//! near the error: `... near 'IDENTIFIED BY 'pa55word...' at line 1`), and a URL parser
//! may echo the URL. Every message a driver turns into a [`DriverError`](super::DriverError)
//! passes through [`Scrubber::scrub`] first, which replaces every password it was given
//! with `[redacted]` — and also any run of at least [`MIN_FRAGMENT`] bytes of one, because
//! servers truncate the echoed text (a cut password is still a leak). Messages are cut to
//! [`MAX_MESSAGE`] bytes first, which also bounds the work.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use zeroize::Zeroizing;

/// The replacement text.
pub(super) const REDACTED: &str = "[redacted]";
/// Shortest piece of a password that is redacted on its own (a whole password shorter
/// than this is redacted when it appears whole).
const MIN_FRAGMENT: usize = 4;
/// Longest message kept.
const MAX_MESSAGE: usize = 2048;

/// The secrets to remove from messages. Cloning copies them (into zeroizing buffers).
#[derive(Clone, Default)]
pub(super) struct Scrubber {
    secrets: Vec<Zeroizing<String>>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Scrubber {
    /// A scrubber for a connection's admin password (and its URL-escaped form, which is
    /// what a URL parser would echo).
    pub(super) fn for_admin(password: &str) -> Scrubber {
        let mut scrubber = Scrubber::default();
        scrubber.add(password);
        let escaped = Zeroizing::new(utf8_percent_encode(password, NON_ALPHANUMERIC).to_string());
        if escaped.as_str() != password {
            scrubber.add(&escaped);
        }
        scrubber
    }

    /// This scrubber plus one more secret (a statement's `{{password}}`).
    pub(super) fn with_extra(&self, secret: Option<&str>) -> Scrubber {
        let mut scrubber = self.clone();
        if let Some(secret) = secret {
            scrubber.add(secret);
        }
        scrubber
    }

    fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s.as_str() == secret) {
            self.secrets.push(Zeroizing::new(secret.to_string()));
        }
    }

    /// `message` with every secret, and every run of at least [`MIN_FRAGMENT`] bytes of
    /// one, replaced by `[redacted]`.
    pub(super) fn scrub(&self, original: &str) -> String {
        let message = truncate(original, MAX_MESSAGE);
        let bytes = message.as_bytes();
        let mut marked = vec![false; bytes.len()];
        for secret in &self.secrets {
            mark_secret(bytes, secret.as_bytes(), &mut marked);
        }
        let mut out = String::with_capacity(message.len());
        let mut in_redaction = false;
        for (i, c) in message.char_indices() {
            if marked[i..i + c.len_utf8()].iter().any(|m| *m) {
                if !in_redaction {
                    out.push_str(REDACTED);
                    in_redaction = true;
                }
            } else {
                in_redaction = false;
                out.push(c);
            }
        }
        if message.len() < original.len() {
            out.push('…');
        }
        out
    }
}

/// Marks every byte of `message` covered by a run of `secret` bytes long enough to
/// redact: the whole secret, or at least [`MIN_FRAGMENT`] bytes of it.
fn mark_secret(message: &[u8], secret: &[u8], marked: &mut [bool]) {
    if secret.is_empty() {
        return;
    }
    let min = secret.len().min(MIN_FRAGMENT);
    for start in 0..message.len() {
        let longest = (0..secret.len())
            .map(|j| common_prefix(&message[start..], &secret[j..]))
            .max()
            .unwrap_or(0);
        if longest >= min {
            for m in &mut marked[start..start + longest] {
                *m = true;
            }
        }
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_password_is_redacted() {
        let s = Scrubber::for_admin("s3cr3t-Pass");
        assert_eq!(
            s.scrub("login failed: password s3cr3t-Pass rejected"),
            "login failed: password [redacted] rejected"
        );
    }

    #[test]
    fn escaped_form_is_redacted() {
        let s = Scrubber::for_admin("p@ss:w/rd");
        let out = s.scrub("bad url postgresql://u:p%40ss%3Aw%2Frd@host");
        assert!(!out.contains("p%40ss"), "{out}");
        assert!(!out.contains("%2Frd"), "{out}");
        assert!(out.contains(REDACTED));
    }

    #[test]
    fn truncated_echo_is_redacted() {
        // MySQL echoes statement text cut at a fixed width: a password prefix remains.
        let s = Scrubber::default().with_extra(Some("Abcdefghij0123456789"));
        let out = s.scrub(
            "Error 1064 (42000): You have an error in your SQL syntax near 'IDENTIFIED BY 'Abcdefgh' at line 1",
        );
        assert!(!out.contains("Abcd"), "{out}");
        assert!(
            out.contains("IDENTIFIED BY '[redacted]' at line 1"),
            "{out}"
        );
    }

    #[test]
    fn suffix_fragment_is_redacted() {
        let s = Scrubber::default().with_extra(Some("xy'z-0123456789"));
        let out = s.scrub("syntax error at or near \"z-0123456789\"");
        assert!(!out.contains("0123"), "{out}");
    }

    #[test]
    fn short_passwords_only_whole() {
        let s = Scrubber::for_admin("ab");
        assert_eq!(s.scrub("a b ab abc"), "a b [redacted] [redacted]c");
    }

    #[test]
    fn nothing_to_scrub_and_unicode() {
        let s = Scrubber::default();
        assert_eq!(s.scrub("plain ünïcode"), "plain ünïcode");
        let s = Scrubber::for_admin("pässwörd");
        assert_eq!(s.scrub("x pässwörd y"), "x [redacted] y");
        assert!(!format!("{s:?}").contains("pässwörd"));
    }

    #[test]
    fn long_messages_are_cut() {
        let s = Scrubber::for_admin("secret-value");
        let long = "e".repeat(5000);
        let out = s.scrub(&long);
        assert!(out.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(out.ends_with('…'));
    }
}
