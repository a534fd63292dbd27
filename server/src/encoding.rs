//! Small encoders, string checks and random identifiers shared across the server.
//!
//! `hex::encode` builds its string one `char` at a time; token hashes and kv v2 version
//! keys are hex-encoded on every request, so they go through a table instead; paths and
//! storage keys are checked for control characters on bytes, not decoded chars.

const DIGITS: &[u8; 16] = b"0123456789abcdef";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The operating system's random number generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RngError;

/// `len` characters uniform over `[0-9A-Za-z]` from the OS RNG (token ids, accessors,
/// lease ids, generated usernames).
pub fn random_base62(len: usize) -> Result<String, RngError> {
    // Rejection sampling: bytes >= 248 (= 4 * 62) are discarded, so every symbol is uniform.
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|_| RngError)?;
        for b in buf {
            if b < 248 && out.len() < len {
                out.push(char::from(BASE62[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

/// RFC 3339 in UTC with Go's trimmed nanoseconds, as Vault prints times
/// (`2026-11-22T14:17:48.627649221Z`).
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Lower-case hex of `bytes`.
pub fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether `s` holds a Unicode control character (category Cc: U+0000..=U+001F,
/// U+007F, U+0080..=U+009F), checked on bytes: in UTF-8 the C1 range is exactly 0xC2
/// followed by 0x80..=0x9F, and 0xC2 is never a continuation byte.
pub fn has_control_char(s: &str) -> bool {
    let mut prev = 0u8;
    s.as_bytes().iter().any(|&b| {
        let control = is_control_byte(prev, b);
        prev = b;
        control
    })
}

/// Whether byte `b`, following byte `prev` (0 at the start), completes a control
/// character: C0 and DEL are single bytes, C1 is 0xC2 then 0x80..=0x9F. For scanners
/// that check other things in the same pass (storage keys).
pub fn is_control_byte(prev: u8, b: u8) -> bool {
    b < 0x20 || b == 0x7F || (prev == 0xC2 && (0x80..=0x9F).contains(&b))
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
pub fn star_glob(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        // No `*`: an exact match.
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn random_base62_is_uniform_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        let mut counts = [0usize; 62];
        for _ in 0..500 {
            let random = random_base62(20).unwrap();
            for b in random.bytes() {
                counts[BASE62.iter().position(|a| *a == b).unwrap()] += 1;
            }
            assert!(seen.insert(random));
        }
        // 10,000 draws over 62 symbols: each ≈161; a biased sampler is far off.
        assert!(counts.iter().all(|c| (80..260).contains(c)), "{counts:?}");
    }

    #[test]
    fn matches_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_lower(&bytes), hex::encode(&bytes));
        assert_eq!(hex_lower(&[]), "");
    }

    #[test]
    fn control_chars_match_char_is_control() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let s = format!("a{c}\u{a0}b");
            assert_eq!(has_control_char(&s), c.is_control(), "{c:?}");
        }
    }
}
