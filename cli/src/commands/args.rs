//! Value parsers for command-line flags shared by several commands: `KEY=VALUE` pairs
//! (`secrets enable -options`, `auth enable -options`, `audit enable`, `token create
//! -metadata`) and durations in whole seconds (`token create -ttl`, `token renew
//! -increment`, `lease renew -increment`).
//!
//! Pure functions returning `Result<_, String>`, the shape clap's `value_parser` takes;
//! clap adds the offending argument to the message.

/// Parses `KEY=VALUE` (the key non-empty and trimmed; the value verbatim, `=` allowed).
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err("expected KEY=VALUE".to_string()),
    }
}

/// A duration in whole seconds: digits alone are seconds; otherwise a sequence of
/// `<number><unit>` with units `s`, `m`, `h`, `d` (`1h30m`, `90s`, `2d`).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let invalid = || {
        format!("invalid duration {text:?}: use seconds (3600) or a number with s, m, h or d (30s, 5m, 1h30m)")
    };
    if text.is_empty() {
        return Err(invalid());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| invalid());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(invalid()),
        };
        let n: u64 = number.parse().map_err(|_| invalid())?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(invalid)?;
    }
    if !number.is_empty() {
        return Err(invalid());
    }
    Ok(total)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_values() {
        assert_eq!(
            parse_key_value("version=2").unwrap(),
            ("version".into(), "2".into())
        );
        assert_eq!(parse_key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_key_value(" k =v"), Ok(("k".into(), "v".into())));
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("novalue").is_err());
    }

    #[test]
    fn durations() {
        for (text, secs) in [
            ("90", 90),
            ("3600", 3600),
            ("30s", 30),
            ("45s", 45),
            ("5m", 300),
            ("1h", 3600),
            ("1h30m", 5400),
            ("2d", 172_800),
            ("1h0m0s", 3600),
            (" 0 ", 0),
        ] {
            assert_eq!(parse_duration(text), Ok(secs), "{text}");
        }
        for bad in ["", "h", "1x", "1h30", "-5", "1.5h", "99999999999999999999d"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("invalid duration"), "{bad}: {err}");
        }
    }
}
