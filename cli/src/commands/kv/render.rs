//! Table pieces shared by the KV and generic commands: `== Title ==` section headers,
//! raw field output and server warnings (durations are [`crate::output::duration`]).
//! Pure functions except [`print_raw`] and [`print_warnings`].

use std::io::{IsTerminal, Write};

use serde_json::Value;

/// `== Title ==`, the header bao prints above each table of a multi-part answer.
pub fn section(title: &str) -> String {
    format!("== {title} ==\n")
}

/// A field's value as `-field` prints it: strings verbatim, anything else as JSON.
pub fn raw_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes a `-field` value to stdout: verbatim, with a final newline only when stdout is
/// a terminal (so `$(strongroom kv get -field=x …)` and pipes get the exact value).
pub fn print_raw(value: &Value) -> anyhow::Result<()> {
    let text = zeroize::Zeroizing::new(raw_value(value));
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if out.is_terminal() {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// The server's warnings (an envelope's `warnings`), as bao shows them.
pub fn warnings_text(envelope: &Value) -> Option<String> {
    let list: Vec<&str> = envelope
        .get("warnings")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if list.is_empty() {
        return None;
    }
    let mut out = String::from("WARNING! The following warnings were returned from the server:\n");
    for w in list {
        out.push_str(&format!("  * {w}\n"));
    }
    Some(out)
}

/// Prints the envelope's warnings, if any, to stderr.
pub fn print_warnings(envelope: &Value) {
    if let Some(text) = warnings_text(envelope) {
        eprint!("{text}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_values_and_warnings() {
        assert_eq!(raw_value(&json!("a b")), "a b");
        assert_eq!(raw_value(&json!({"n": 1})), "{\"n\":1}");
        assert_eq!(warnings_text(&json!({"warnings": null})), None);
        let w = warnings_text(&json!({"warnings": ["x"]})).unwrap();
        assert!(w.ends_with("  * x\n"), "{w}");
    }
}
