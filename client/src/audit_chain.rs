//! The audit hash chain: one implementation for the server that writes it and the CLI
//! (`strongroom audit verify`) that checks it.
//!
//! Every audit device keeps its own chain. The chain key is
//! `K = SHA-256("strongroom audit chain v1\0" || salt)`, deliberately not an HMAC under the
//! salt: `sys/audit-hash` is an HMAC oracle for the salt and must not be able to forge
//! links. For an entry whose compact JSON (without chain fields) is `B`,
//! `link = hex(HMAC-SHA256(K, prev || "\n" || B))`, where `prev` is the previous entry's
//! link (`""` for the first entry ever). The written line is `B` with its final `}`
//! replaced by `,"prev_hmac":"<prev>","entry_hmac":"<link>"}` (plus an optional prefix
//! before `B`, and a newline).
//!
//! What the chain proves: with `K`, nobody without `K` can edit, insert, delete or reorder
//! lines without a broken link. What it cannot prove alone: that the tail was not cut
//! off. For that the verifier compares with the server's current head
//! (`GET sys/audit-chain/<device>`).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Domain separation of the chain key.
pub const CHAIN_KEY_CONTEXT: &[u8] = b"strongroom audit chain v1\0";

/// The member names the chain adds to each entry.
const PREV_MARK: &str = ",\"prev_hmac\":\"";
const LINK_MARK: &str = "\",\"entry_hmac\":\"";

/// Length of a link in hex.
pub const LINK_HEX_LEN: usize = 64;

/// The chain key of a device whose salt is `salt`.
pub fn chain_key(salt: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CHAIN_KEY_CONTEXT);
    h.update(salt);
    h.finalize().into()
}

/// `hex(HMAC-SHA256(key, prev || "\n" || body))`.
pub fn compute_link(key: &[u8], prev: &str, body: &str) -> String {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(prev.as_bytes());
    mac.update(b"\n");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Appends the chain fields to `body` (compact JSON of an object, ending in `}`) and
/// returns the line (with its trailing newline) and the new link. `None` when `body` is
/// not an object's JSON.
pub fn chain_line(key: &[u8], prev: &str, body: &str) -> Option<(String, String)> {
    let mut line = String::with_capacity(body.len() + prev.len() + LINK_HEX_LEN + 40);
    line.push_str(body);
    let link = chain_in_place(key, prev, &mut line)?;
    Some((line, link))
}

/// [`chain_line`] without a copy: turns `body` into the line (newline included) and
/// returns the new link. `None` (and `body` untouched) when `body` is not an object's JSON.
pub fn chain_in_place(key: &[u8], prev: &str, body: &mut String) -> Option<String> {
    if !body.starts_with('{') || !body.ends_with('}') {
        return None;
    }
    let link = compute_link(key, prev, body);
    let empty = body.len() == 2;
    body.pop();
    if empty {
        // `{}`: no member before ours, so no leading comma.
        body.push_str(&PREV_MARK[1..]);
    } else {
        body.push_str(PREV_MARK);
    }
    body.push_str(prev);
    body.push_str(LINK_MARK);
    body.push_str(&link);
    body.push_str("\"}\n");
    Some(link)
}

/// One chained line, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedLine {
    /// The entry without the chain fields (what the link covers).
    pub body: String,
    /// The previous link the line claims.
    pub prev: String,
    /// The line's own link.
    pub link: String,
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Splits a line (without or with its newline; an optional prefix before the first `{`
/// is ignored) into body, prev and link. `None`: not a chained entry.
pub fn split_line(line: &str) -> Option<ChainedLine> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let start = line.find('{')?;
    let line = &line[start..];
    let rest = line.strip_suffix("\"}")?;
    if rest.len() < LINK_HEX_LEN {
        return None;
    }
    let (rest, link) = rest.split_at(rest.len() - LINK_HEX_LEN);
    if !is_hex(link) {
        return None;
    }
    let rest = rest.strip_suffix(LINK_MARK)?;
    let (before, prev) = match rest.rfind(PREV_MARK) {
        Some(at) => (&rest[..at], &rest[at + PREV_MARK.len()..]),
        None => {
            // An entry that was `{}`.
            let prev = rest.strip_prefix(&format!("{{{}", &PREV_MARK[1..]))?;
            ("{", prev)
        }
    };
    if !(prev.is_empty() || (prev.len() == LINK_HEX_LEN && is_hex(prev))) {
        return None;
    }
    let mut body = String::with_capacity(before.len() + 1);
    body.push_str(before);
    body.push('}');
    Some(ChainedLine {
        body,
        prev: prev.to_string(),
        link: link.to_string(),
    })
}

/// What is wrong with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The line's `entry_hmac` does not match its content (edited, or a forged link).
    Edited,
    /// The line's `prev_hmac` is not the previous line's `entry_hmac`: a line is missing
    /// before it, or lines were reordered or inserted.
    Discontinuity,
    /// The line is not a chained audit entry.
    NotChained,
}

impl BreakKind {
    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            BreakKind::Edited => "entry_hmac does not match the line's content (edited line)",
            BreakKind::Discontinuity => {
                "prev_hmac does not match the previous line (missing, inserted or reordered line)"
            }
            BreakKind::NotChained => "not a chained audit entry",
        }
    }
}

/// One broken link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Break {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub kind: BreakKind,
}

/// The outcome of [`verify_lines`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Lines examined (an unterminated last line included).
    pub lines: usize,
    /// Every broken link, in order; the first is where trust ends.
    pub breaks: Vec<Break>,
    /// The first line continues an earlier chain (its `prev_hmac` is not empty): the file
    /// was rotated. Information, not a break.
    pub starts_mid_chain: bool,
    /// The link of the last valid line.
    pub last_link: Option<String>,
    /// With a head to look for: whether a valid line of the file carries it.
    pub head_found: Option<bool>,
    /// With a head: whether it is the last line's link (nothing was written after the
    /// file's end, or the server has written more since the head was fetched).
    pub head_is_last: Option<bool>,
}

impl Report {
    /// No broken link, and the head (when one was given) is in the file.
    pub fn is_intact(&self) -> bool {
        self.breaks.is_empty() && self.head_found != Some(false)
    }

    /// The first broken link.
    pub fn first_break(&self) -> Option<Break> {
        self.breaks.first().copied()
    }
}

/// Verifies a sequence of lines under `key`; `head`: the server's current link, to
/// detect a truncated tail (or a file that is not the newest one). Empty lines are
/// skipped (but counted for numbering).
pub fn verify_lines<'a>(
    key: &[u8],
    lines: impl IntoIterator<Item = &'a str>,
    head: Option<&str>,
) -> Report {
    let mut report = Report::default();
    let mut expected: Option<String> = None;
    let mut seen_any = false;
    let mut head_found = false;
    for (i, line) in lines.into_iter().enumerate() {
        let number = i + 1;
        report.lines = number;
        if line.trim().is_empty() {
            continue;
        }
        let Some(parsed) = split_line(line) else {
            report.breaks.push(Break {
                line: number,
                kind: BreakKind::NotChained,
            });
            continue;
        };
        let computed = compute_link(key, &parsed.prev, &parsed.body);
        let edited = !constant_time_eq(computed.as_bytes(), parsed.link.as_bytes());
        if edited {
            report.breaks.push(Break {
                line: number,
                kind: BreakKind::Edited,
            });
        }
        match &expected {
            None if !seen_any => report.starts_mid_chain = !parsed.prev.is_empty(),
            None => {}
            Some(prev) if *prev != parsed.prev && !edited => report.breaks.push(Break {
                line: number,
                kind: BreakKind::Discontinuity,
            }),
            Some(_) => {}
        }
        seen_any = true;
        if !edited {
            if head == Some(parsed.link.as_str()) {
                head_found = true;
            }
            report.last_link = Some(parsed.link.clone());
        }
        // Continue from the link the line claims, so one bad line is one break.
        expected = Some(parsed.link);
    }
    if let Some(head) = head {
        report.head_found = Some(head_found);
        report.head_is_last = Some(report.last_link.as_deref() == Some(head));
    }
    report
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn chain(key: &[u8], bodies: &[&str]) -> Vec<String> {
        let mut prev = String::new();
        bodies
            .iter()
            .map(|b| {
                let (line, link) = chain_line(key, &prev, b).unwrap();
                prev = link;
                line
            })
            .collect()
    }

    fn verify(key: &[u8], lines: &[String], head: Option<&str>) -> Report {
        verify_lines(key, lines.iter().map(|l| l.trim_end_matches('\n')), head)
    }

    #[test]
    fn key_and_link_are_fixed() {
        let key = chain_key(b"salt");
        let mut h = Sha256::new();
        h.update(b"strongroom audit chain v1\0salt");
        assert_eq!(key.to_vec(), h.finalize().to_vec());
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(b"\n{\"a\":1}");
        assert_eq!(
            compute_link(&key, "", "{\"a\":1}"),
            hex::encode(mac.finalize().into_bytes())
        );
    }

    #[test]
    fn line_shape_and_split_round_trip() {
        let key = chain_key(b"s");
        let (line, link) = chain_line(&key, "", r#"{"type":"request"}"#).unwrap();
        assert_eq!(
            line,
            format!("{{\"type\":\"request\",\"prev_hmac\":\"\",\"entry_hmac\":\"{link}\"}}\n")
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["entry_hmac"], link.as_str());
        let split = split_line(&line).unwrap();
        assert_eq!(split.body, r#"{"type":"request"}"#);
        assert_eq!(split.prev, "");
        assert_eq!(split.link, link);
        let (line2, _) = chain_line(&key, &link, "{}").unwrap();
        let split = split_line(&line2).unwrap();
        assert_eq!(split.body, "{}");
        assert_eq!(split.prev, link);
        // A prefix before the JSON is ignored.
        let split = split_line(&format!("audit: {line}")).unwrap();
        assert_eq!(split.link, link);
        assert!(split_line("{\"type\":\"request\"}").is_none());
        assert!(split_line("garbage").is_none());
        assert!(chain_line(&key, "", "[1]").is_none());
    }

    #[test]
    fn intact_chain_verifies_and_finds_head() {
        let key = chain_key(b"salt");
        let lines = chain(&key, &[r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]);
        let head = split_line(&lines[2]).unwrap().link;
        let r = verify(&key, &lines, Some(&head));
        assert!(r.is_intact(), "{r:?}");
        assert_eq!(r.lines, 3);
        assert!(!r.starts_mid_chain);
        assert_eq!(r.head_is_last, Some(true));
        // Another key: every line is "edited".
        let r = verify(&chain_key(b"other"), &lines, None);
        assert_eq!(r.first_break().unwrap().line, 1);
        assert_eq!(r.first_break().unwrap().kind, BreakKind::Edited);
    }

    #[test]
    fn edited_deleted_reordered_lines_are_found() {
        let key = chain_key(b"salt");
        let bodies = [
            r#"{"n":1,"v":"a"}"#,
            r#"{"n":2,"v":"b"}"#,
            r#"{"n":3,"v":"c"}"#,
            r#"{"n":4,"v":"d"}"#,
        ];
        let lines = chain(&key, &bodies);

        let mut edited = lines.clone();
        edited[1] = edited[1].replace("\"b\"", "\"x\"");
        let r = verify(&key, &edited, None);
        assert_eq!(
            r.breaks,
            vec![Break {
                line: 2,
                kind: BreakKind::Edited
            }]
        );

        let mut deleted = lines.clone();
        deleted.remove(2);
        let r = verify(&key, &deleted, None);
        assert_eq!(
            r.first_break(),
            Some(Break {
                line: 3,
                kind: BreakKind::Discontinuity
            })
        );

        let mut reordered = lines.clone();
        reordered.swap(1, 2);
        let r = verify(&key, &reordered, None);
        assert_eq!(r.first_break().unwrap().line, 2);
        assert_eq!(r.first_break().unwrap().kind, BreakKind::Discontinuity);

        let mut junk = lines.clone();
        junk.insert(1, "not json".into());
        let r = verify(&key, &junk, None);
        assert_eq!(r.first_break().unwrap().kind, BreakKind::NotChained);
        assert_eq!(r.breaks.len(), 1);

        // Truncated tail: the chain is fine, but the server's head is not in the file.
        let head = split_line(&lines[3]).unwrap().link;
        let r = verify(&key, &lines[..3], Some(&head));
        assert!(r.breaks.is_empty());
        assert_eq!(r.head_found, Some(false));
        assert!(!r.is_intact());
    }

    #[test]
    fn rotated_file_starts_mid_chain() {
        let key = chain_key(b"salt");
        let lines = chain(&key, &[r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]);
        let r = verify(&key, &lines[1..], None);
        assert!(r.is_intact());
        assert!(r.starts_mid_chain);
    }
}
