//! Durations as Vault accepts them: integer seconds (`120`, `"90"`), Go durations
//! (`"1h"`, `"1m0s"`, `"1h30m"`, `"1.5h"`, `"300ms"`) and a `d` day suffix (`"1d"`).
//!
//! Parsed at the edge into whole seconds (sub-second parts are truncated, as Vault's
//! TTL fields do). Negative values are refused: no TTL in the API may be negative.

use serde_json::Value;

/// An invalid duration; the message is Go's (`time: invalid duration "bogus"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time: invalid duration {0:?}")]
pub struct DurationError(pub String);

/// Parses a duration string into seconds.
pub fn parse_seconds(text: &str) -> Result<u64, DurationError> {
    let s = text.trim();
    let err = || DurationError(text.to_string());
    if s.is_empty() {
        return Err(err());
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let mut rest = s;
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_end == 0 {
            return Err(err());
        }
        let (num, tail) = rest.split_at(num_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_end);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return Err(err()),
        };
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err());
        }
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| err())?
        };
        let mut value = int.checked_mul(unit_nanos).ok_or_else(err)?;
        if !frac_part.is_empty() {
            if !frac_part.bytes().all(|b| b.is_ascii_digit()) || frac_part.len() > 18 {
                return Err(err());
            }
            let frac: u128 = frac_part.parse().map_err(|_| err())?;
            let scale = 10u128.pow(u32::try_from(frac_part.len()).map_err(|_| err())?);
            value = value
                .checked_add(frac * unit_nanos / scale)
                .ok_or_else(err)?;
        }
        nanos = nanos.checked_add(value).ok_or_else(err)?;
        rest = next;
    }
    u64::try_from(nanos / 1_000_000_000).map_err(|_| err())
}

/// Seconds as a Go duration string (`0s`, `1m30s`, `720h0m0s`), as Vault renders them.
pub fn go_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// A duration as Vault prints it in TTL warnings: Go's form without zero units
/// (`768h`, `1h5s`, `15m`, `23h59m53s`, `0s`).
pub fn human_duration(secs: u64) -> String {
    let mut s = go_duration(secs);
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if let Some(i) = s.find("h0m") {
        s.replace_range(i + 1..i + 3, "");
    }
    s
}

/// A duration field: a JSON number of seconds or a duration string; `None` when absent,
/// null or the empty string (the Go CLI sends `""` for flags it was not given).
pub fn opt_duration(
    data: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<u64>, DurationError> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| DurationError(n.to_string())),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => parse_seconds(s).map(Some),
        Some(other) => Err(DurationError(other.to_string())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vault_forms() {
        assert_eq!(parse_seconds("120").unwrap(), 120);
        assert_eq!(parse_seconds(" 90 ").unwrap(), 90);
        assert_eq!(parse_seconds("1h").unwrap(), 3600);
        assert_eq!(parse_seconds("1m0s").unwrap(), 60);
        assert_eq!(parse_seconds("1h30m").unwrap(), 5400);
        assert_eq!(parse_seconds("1.5h").unwrap(), 5400);
        assert_eq!(parse_seconds("1d").unwrap(), 86400);
        assert_eq!(parse_seconds("0s").unwrap(), 0);
        assert_eq!(parse_seconds("1500ms").unwrap(), 1);
        assert_eq!(parse_seconds("768h").unwrap(), 2_764_800);
    }

    #[test]
    fn invalid_forms() {
        for bad in [
            "",
            "bogus",
            "-5",
            "-1h",
            "1x",
            "h",
            "1.2.3s",
            ".s",
            "1h 30m",
            "99999999999999999999999h",
        ] {
            assert!(parse_seconds(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_seconds("bogus").unwrap_err().to_string(),
            "time: invalid duration \"bogus\""
        );
    }

    #[test]
    fn empty_field_is_absent() {
        let data = serde_json::json!({"a": "", "b": null, "c": "1h", "d": 90, "e": "x"});
        let data = data.as_object().unwrap();
        assert_eq!(opt_duration(data, "a").unwrap(), None);
        assert_eq!(opt_duration(data, "b").unwrap(), None);
        assert_eq!(opt_duration(data, "c").unwrap(), Some(3600));
        assert_eq!(opt_duration(data, "d").unwrap(), Some(90));
        assert!(opt_duration(data, "e").is_err());
        assert_eq!(opt_duration(data, "missing").unwrap(), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = parse_seconds(&s);
        }

        #[test]
        fn seconds_round_trip(n in 0u64..10_000_000) {
            proptest::prop_assert_eq!(parse_seconds(&format!("{n}s")).unwrap(), n);
            proptest::prop_assert_eq!(parse_seconds(&n.to_string()).unwrap(), n);
        }
    }
}
